"""Optimistic locking of the records office staff edit with a full form (programmes, sessions, trainees,
employers, funders, funding agreements, the organisation, staff accounts, questionnaires and their questions,
convocation texts: models/edit_version.py).

An edit form carries the version of the record it was opened at. Saving it locks the row (FOR UPDATE, held
until the commit) and compares: a record saved by someone else since is refused (StaleEdit), nothing written,
so that nobody silently undoes another's changes; otherwise the changes are made and the version moves by one,
with `UPDATE ... SET version = n + 1 WHERE id = ... AND version = n`, which also refuses a save that raced
past the check where rows are not locked (SQLite). Only these saves move it: status changes, enrolment locks,
erasure and the other paths that update the row leave it alone, so they never make an open form stale; a save
that changes nothing leaves it alone too. One exception: an erasure that takes a person's name out of a text the
form edits (a session's notes, an agreement's: personal_data._without_names_in) moves it, so that the form opened
before does not write the name back."""
from flask_babel import gettext as _
from sqlalchemy import event, inspect, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm.attributes import set_committed_value

from training_app.extensions import db
from training_app.services import ServiceError


class StaleEdit(ServiceError):
    """The record was saved by someone else since the form was opened at `opened_version`. `message`: another
    wording of stale_message(), for a page that is not one record's form (the assessment grid)."""

    def __init__(self, record, opened_version, message: str | None = None):
        super().__init__(message or stale_message())
        self.record = record
        self.opened_version = opened_version


def stale_message() -> str:
    return _("Cette fiche a été modifiée par quelqu'un d'autre depuis que vous l'avez ouverte ; vos modifications "
             "n'ont pas été enregistrées. Les valeurs enregistrées entre-temps sont indiquées ci-dessous : "
             "vérifiez le formulaire, puis enregistrez à nouveau pour remplacer la fiche par votre version.")


def version_of(record) -> int:
    """The edit version of `record` (what its edit form carries); 1 for a record not stored yet (the column's
    default: a form opened before the first save, such as a session's convocation texts)."""
    return getattr(record, type(record).edit_version_key) or 1


# {model: lock(record)} for the records whose service may lock other rows in an order of its own (a staff
# account: every active administrator's row, in id order, users._ensure_an_active_admin_remains): save() has
# `lock` take the record's row together with those, in that one order, before its own refresh, so that two
# saves, or a save and the same service called from another page, never each hold a row the other waits for.
_LOCKED_WITH = {}


def lock_with(model, lock) -> None:
    """Have save() call `lock(record)` for a record of `model` (see _LOCKED_WITH) before locking its row."""
    _LOCKED_WITH[model] = lock


def save(record, opened_version: int, operation):
    """Run `operation()` (a service call that changes `record`) if `record` is still at `opened_version`, under
    its row lock (taken with the rows its service locks, in their order: lock_with); move the version by one when
    the record changed. Returns what `operation` returned; raises StaleEdit when the record moved on (the caller
    rolls back: nothing is written)."""
    lock = _LOCKED_WITH.get(type(record))
    try:
        if lock is not None:
            lock(record)
        db.session.refresh(record, with_for_update=True)
    except InvalidRequestError:  # its row is gone since the page read it
        raise ServiceError(_("Cette fiche vient d'être supprimée : vos modifications n'ont pas été "
                             "enregistrées.")) from None
    if version_of(record) != opened_version:
        raise StaleEdit(record, opened_version)
    changed = []

    def note_change(session, *_flush):
        """Services flush half-way: a change is seen before each flush, and once more at the end."""
        if not changed and session.is_modified(record):
            changed.append(True)

    session = db.session()
    event.listen(session, "before_flush", note_change)
    try:
        result = operation()
        db.session.flush()
    finally:
        event.remove(session, "before_flush", note_change)
    if changed:
        _bump(record, opened_version)
    return result


def _bump(record, version: int) -> None:
    model = type(record)
    name = model.edit_version_key
    [key] = inspect(model).primary_key
    [identity] = inspect(record).identity
    moved = db.session.execute(
        update(model).where(key == identity, getattr(model, name) == version).values({name: version + 1})
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise StaleEdit(record, version)
    set_committed_value(record, name, version + 1)
