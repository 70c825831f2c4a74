"""Finding or creating the person who asks for a place (services/registrations.py)."""
import pytest

from tests import factories
from tests.conftest import is_postgres
from training_app.extensions import db
from training_app.models import Employer, Enrolment, Trainee
from training_app.services import registrations
from training_app.services.registrations import PersonDetails


def _details(**overrides) -> PersonDetails:
    values = {"first_name": "Awa", "last_name": "Diallo", "email": "Awa.Diallo@Example.org", "civility": "mme",
              "phone": "06 00 00 00 00", "job_title": "Assistante sociale", "employer_name": "CCAS de Rennes",
              "employer_siret": "783 245 210 00001"}
    values.update(overrides)
    return PersonDetails(**values)


def test_a_new_person_is_created_with_their_employer_in_one_insert_and_nothing_read_again():
    with factories.count_queries() as statements:
        trainee, created = registrations.find_or_create_trainee(_details())
        assert trainee.employer.name == "CCAS de Rennes"  # as written: no SELECT to read it back
    db.session.commit()
    assert created
    assert [s.split(" (")[0] for s in statements if s.startswith("INSERT")] == [
        "INSERT INTO employers", "INSERT INTO trainees"]
    assert sum(s.startswith("SELECT") for s in statements) == 3  # the trainee, the employer by SIRET, by name
    stored = db.session.scalar(db.select(Trainee).where(Trainee.email == "awa.diallo@example.org"))
    assert (stored.id, stored.civility, stored.phone, stored.employer.siret, stored.link_version) == (
        trainee.id, "Mme", "06 00 00 00 00", "78324521000001", 1)
    assert stored.created_at is not None


def test_a_known_address_gives_the_same_person_unchanged_and_no_new_employer():
    known = factories.make_trainee(first_name="Awa", last_name="Diallo", email="awa.diallo@example.org")
    trainee, created = registrations.find_or_create_trainee(_details(last_name="Autre", employer_name="Ailleurs",
                                                                     employer_siret=""))
    db.session.commit()
    assert (trainee.id, created, trainee.last_name) == (known.id, False, "Diallo")
    assert db.session.scalar(db.select(Employer).where(Employer.name == "Ailleurs")) is None


def test_an_employer_typed_with_other_accented_capitals_is_the_known_one_on_every_database():
    """SQLite's lower() folds ASCII only: « ÉLAN Solidaire » would stay « Élan … » and a second employer be created."""
    known = Employer(name="ÉLAN Solidaire")
    db.session.add(known)
    db.session.commit()
    assert registrations.find_employer("élan solidaire", "") is known
    trainee, _created = registrations.find_or_create_trainee(_details(employer_name="élan  solidaire",
                                                                     employer_siret=""))
    db.session.commit()
    assert trainee.employer_id == known.id
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 1


def test_an_address_registered_meanwhile_meets_the_unique_e_mail_and_gives_that_person(monkeypatch):
    """The other registration committed between our look-up and our INSERT: ON CONFLICT DO NOTHING, then read."""
    earlier = factories.make_trainee(first_name="Awa", last_name="Diallo", email="awa.diallo@example.org")
    real_find = registrations.find_trainee
    looked_up = []

    def not_yet_there(email):  # the first look-up ran before the other registration committed
        looked_up.append(email)
        return None if len(looked_up) == 1 else real_find(email)

    monkeypatch.setattr(registrations, "find_trainee", not_yet_there)
    trainee, created = registrations.find_or_create_trainee(_details(last_name="Second"))
    db.session.commit()
    assert (trainee.id, created, trainee.last_name) == (earlier.id, False, "Diallo")
    assert looked_up == ["awa.diallo@example.org"] * 2
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 1


def test_an_enrolment_made_meanwhile_is_found_under_the_lock_and_answered_as_a_repeated_request(monkeypatch, outbox):
    """A simultaneous request enrolled the address after our look-up: enrol() finds it under the session's lock;
    the request gets the answer of a repeated one (its enrolment, nothing new), not an error naming the person."""
    from training_app.services import enrolments

    session = factories.make_session()
    enrolment = factories.enrol(session, factories.make_trainee(last_name="Diallo", email="awa.diallo@example.org"))
    real_live = enrolments.live_enrolment
    looked_up = []

    def not_yet_there(*args):  # the look-up before the lock ran before the other request committed
        looked_up.append(args)
        return None if len(looked_up) == 1 else real_live(*args)

    monkeypatch.setattr(enrolments, "live_enrolment", not_yet_there)
    registration = registrations.register_public(session, _details(), "personal")
    db.session.commit()
    assert (registration.duplicate, registration.enrolment.id, len(looked_up)) == (True, enrolment.id, 2)
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1
    assert [m.subject for m in outbox] == ["Nouvelle demande reçue : votre inscription existe déjà"]


def test_a_person_created_after_a_rolled_back_one_is_the_new_person():
    """An import row rolled back to its savepoint, then the next row: SQLite gives the next trainee the
    freed id, and the new person must not come back as the earlier, rolled-back object."""
    with pytest.raises(RuntimeError), db.session.begin_nested():
        held = registrations.find_or_create_trainee(_details(email="anne@example.org", first_name="Anne"))
        assert held[1]  # created; still held after the rollback, as an import holds its rows
        raise RuntimeError("the row's enrolment failed")
    second, created = registrations.find_or_create_trainee(_details(email="bruno@example.org", first_name="Bruno"))
    # Before the commit, as the e-mail telling them their state is written.
    assert created and (second.email, second.first_name) == ("bruno@example.org", "Bruno")
    db.session.commit()
    assert db.session.scalars(db.select(Trainee.email)).all() == ["bruno@example.org"]


def test_two_simultaneous_first_registrations_with_one_address_give_one_person_and_one_enrolment(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL (set TEST_DATABASE_URL)")
    session_id = factories.make_session(capacity=5).id
    db.session.remove()

    def register(last_name):
        def action():
            from training_app.models import TrainingSession
            with app.test_request_context():
                registration = registrations.register_public(
                    db.session.get(TrainingSession, session_id), _details(last_name=last_name), "opco")
                return registration.duplicate
        return action

    results, errors = factories.run_together(app, register("Première"), register("Seconde"))
    assert errors == []
    assert sorted(results) == [False, True]  # one registered, the other told it already exists
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 1
    assert [e.status for e in db.session.scalars(db.select(Enrolment))] == ["confirmed"]


@pytest.mark.parametrize("typed, stored", [
    ("Mme.", "Mme"), ("MLLE.", "Mme"), ("Mademoiselle", "Mme"), (" mr ", "M."), ("Mr.", "M."), ("M", "M."),
    ("Mx.", "Mx"), ("", "")])
def test_the_civilities_lists_write_are_stored_as_the_certificates_print_them(typed, stored):
    from training_app.blueprints.enrolments.forms import CIVILITY_CHOICES
    assert registrations.normalise_civility(typed) == stored
    assert stored in {value for value, _label in CIVILITY_CHOICES}  # what the forms offer and certificates print
