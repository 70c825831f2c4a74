"""Administrators stepping down at the same moment on PostgreSQL: one active administrator always remains
(the check locks the administrators' rows; the last one gets a clear refusal, not a 500). A password link used
twice at the same moment sets the password once."""
import pytest

from tests import factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import _first_holds_second_waits, _run_together
from training_app.extensions import db
from training_app.models import User
from training_app.services import ServiceError, users

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
