"""The version of a record that office staff edit with a full form (optimistic locking:
services/edit_versions.py)."""
from sqlalchemy import Integer, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def _counter():
    return mapped_column(Integer, default=1, server_default=text("1"))


class EditVersioned:
    """A `version` counter, moved by one at each saved edit form (services/edit_versions.py, which checks it
    under the row lock), never by the other paths that update the row (enrolment status, erasure, locks...).

    Used alone on the tables that other paths load FOR UPDATE / FOR SHARE (sessions, trainees, staff
    accounts, questions, convocation texts): with SQLAlchemy's version_id_col, such a load of a row already in
    the session raises StaleDataError whenever a form was saved in between, and a partial refresh must name the
    column."""

    edit_version_key = "version"  # the attribute holding the counter (services/edit_versions reads it)
    version: Mapped[int] = _counter()


class EditVersionedAside:
    """EditVersioned on a table whose `version` already says something else (questionnaires: which version of
    a questionnaire the trainees answered): the counter is `edit_version`."""

    edit_version_key = "edit_version"
    edit_version: Mapped[int] = _counter()


class EditVersionChecked(EditVersioned):
    """EditVersioned, and SQLAlchemy checks it on every UPDATE of the row (`version_id_col`:
    `WHERE version = <the one loaded>`): a write whose row was saved by an edit form since it was loaded
    raises StaleDataError instead of overwriting it. `version_id_generator=False`: the ORM never moves it."""

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version, "version_id_generator": False}
