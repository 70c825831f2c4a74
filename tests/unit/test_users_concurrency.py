"""Administrators stepping down at the same moment on PostgreSQL: one active administrator always remains
(the check locks the administrators' rows; the last one gets a clear refusal, not a 500). Two administrators
changing each other's account at the same moment (the edit form, the activation button) queue, neither gets a 500.
A password link used twice at the same moment sets the password once."""
import threading

import pytest

from tests import factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import (_first_holds_second_waits, _look_until, _run_each,
                                                   _run_together, _someone_waits_for_a_row_lock)
from training_app.extensions import db
from training_app.models import User
from training_app.services import ServiceError, audit, edit_versions, users

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL (set TEST_DATABASE_URL)")


@pytest.mark.parametrize("step_down", ["role", "deactivation"])
def test_administrators_stepping_down_at_once_leave_one(app, step_down):
    ids = [factories.make_user("admin").id for _ in range(3)]
    db.session.remove()
    refused = []

    def leave(i):
        admin = db.session.get(User, ids[i])
        try:
            if step_down == "role":
                users.update_user(admin, name=admin.name, email=admin.email, role="trainer", actor=admin)
            else:
                users.set_active(admin, False)  # as the command line would, without an actor
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            refused.append(error)

    assert _run_together(app, len(ids), leave) == []
    remaining = db.session.scalars(db.select(User.id).where(User.role == "admin", User.active.is_(True))).all()
    assert len(remaining) == 1 and len(refused) == 1
    assert all("Il doit rester au moins un compte administrateur actif" in e.message for e in refused)


def _at_once(app, *actions) -> list[str]:
    """Run each action(meet) in its own thread, app context and transaction, then commit: "committed", the French
    refusal, or the unexpected exception (a deadlock: the 500 a page would give). `meet()` waits for the other
    actions to call it too, a few seconds at most: an action kept waiting for a lock never reaches it, and then
    the others go on alone."""
    barrier, outcomes = threading.Barrier(len(actions), timeout=3), [None] * len(actions)

    def meet():
        try:
            barrier.wait()
        except threading.BrokenBarrierError:  # another waits for our locks: it comes after us
            pass

    def run(i):
        with app.app_context():
            try:
                actions[i](meet)
                db.session.commit()
                outcomes[i] = "committed"
            except ServiceError as error:
                db.session.rollback()
                outcomes[i] = error.message
            except Exception as error:  # noqa: BLE001 - reported by the caller's assertion
                db.session.rollback()
                outcomes[i] = repr(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _edit_form_demotes(target_id, actor_id, before=lambda: None):
    """What the account's edit page does when saved with the role "Formateur·rice" (users.user_edit through
    edit_versions.save); `before()` runs as the form's service starts, under the save's row locks."""
    def action(meet):
        target, actor = db.session.get(User, target_id), db.session.get(User, actor_id)

        def operation():
            meet()
            before()
            users.update_user(target, name=target.name, email=target.email, role="trainer", actor=actor)
        edit_versions.save(target, target.version, operation)
    return action


def test_two_administrators_demoting_each_other_through_the_edit_form_at_once_both_succeed(app):
    """Each save locked the account it edits, then the check locked every administrator in id order: each held
    the row the other waited for (deadlock, a 500). The save now takes both in the same order."""
    alice, bob, _carol = (factories.make_user("admin").id for _ in range(3))
    db.session.remove()

    outcomes = _at_once(app, _edit_form_demotes(bob, alice), _edit_form_demotes(alice, bob))

    assert outcomes == ["committed", "committed"]
    assert [u.role for u in db.session.scalars(db.select(User).order_by(User.id))] == ["trainer", "trainer", "admin"]


def test_an_administrator_demoted_through_the_edit_form_while_deactivating_the_other_at_once(app):
    """The deactivation (users.user_toggle) locks the administrators in id order: the first, then the second,
    held by the edit form saving the second's account, which then wanted the first's (deadlock, a 500)."""
    alice, bob, _carol = (factories.make_user("admin").id for _ in range(3))
    db.session.remove()

    def deactivate(meet):
        meet()
        users.set_active(db.session.get(User, alice), False, actor=db.session.get(User, bob))

    # The form's save holds its locks until the deactivation waits for one of them.
    outcomes = _at_once(app, _edit_form_demotes(bob, alice, before=lambda: _look_until(_someone_waits_for_a_row_lock)),
                        deactivate)

    assert outcomes == ["committed", "committed"]
    accounts = db.session.scalars(db.select(User).order_by(User.id)).all()
    assert [(u.role, u.active) for u in accounts] == [("admin", False), ("trainer", True), ("admin", True)]


def test_an_account_edited_while_another_administrator_deactivates_it_queue(app, monkeypatch):
    """Bob deactivates the trainer (his UPDATE holds the trainer's row) while Alice saves the trainer's edit form,
    which locks the administrators' rows with the trainer's and waits for the trainer's. Bob's audit entry names
    him: its foreign key needs a share of his row, which Alice's save held FOR UPDATE (deadlock, a 500). The save
    now locks the administrators FOR NO KEY UPDATE, which foreign keys pass."""
    alice, bob, tom = (factories.make_user(role).id for role in ("admin", "admin", "trainer"))
    db.session.remove()
    original, updated = audit.record, threading.Event()

    def record(entity, action, **values):
        if threading.current_thread().name == "deactivation":
            db.session.flush()  # the trainer's row is now Bob's
            updated.set()
            _look_until(_someone_waits_for_a_row_lock)  # Alice's save waits for it
        return original(entity, action, **values)
    monkeypatch.setattr(audit, "record", record)

    def deactivate():
        users.set_active(db.session.get(User, tom), False, actor=db.session.get(User, bob))

    def edit():
        updated.wait(10)
        trainer, actor = db.session.get(User, tom), db.session.get(User, alice)
        edit_versions.save(trainer, trainer.version, lambda: users.update_user(
            trainer, name="Tom Nouveau", email=trainer.email, role="trainer", actor=actor))

    outcomes = _run_each(app, {"deactivation": deactivate, "edit": edit})
    assert outcomes == {"deactivation": "committed", "edit": "committed"}
    trainer = db.session.get(User, tom)
    assert (trainer.name, trainer.active) == ("Tom Nouveau", False)


def test_a_password_link_used_twice_at_once_sets_the_password_once(app):
    """Both requests read the account before either wrote: both found the link valid, and the second
    password replaced the first. The second now waits for the first's row lock, then finds the link used."""
    trainer = factories.make_user("trainer")
    trainer_id, token = trainer.id, users.make_reset_link_token(trainer)
    db.session.remove()
    outcome = _first_holds_second_waits(app, lambda: users.set_password_from_link(token, "le-premier-mot-de-passe"),
                                        lambda: users.set_password_from_link(token, "le-second-mot-de-passe"))
    assert outcome["waited"] and outcome["first"] == "committed"
    assert outcome["second"].startswith("Ce lien n'est plus valable")
    assert db.session.get(User, trainer_id).check_password("le-premier-mot-de-passe")
