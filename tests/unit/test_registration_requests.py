"""A request of the public registration page holds nothing until the address typed is proven: the link e-mailed
to it confirms the request, once, and only then enrols (services/registration_requests.py)."""
from datetime import datetime, timedelta

import threading

import pytest
from click.testing import CliRunner

from tests import factories
from tests.unit.test_registrations import _details
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment, OutgoingMail, RegistrationRequest, Trainee, TrainingSession
from training_app.services import ServiceError, enrolments, personal_data, registration_requests, sessions

ASKED = datetime(2030, 2, 1, 10, 0)  # a month before the sessions made here (Tue 5 March 2030)
EXPIRES = ASKED + timedelta(hours=48)


def _ask(session, funding_mode="opco", at=ASKED, **overrides) -> tuple[RegistrationRequest, str]:
    """A request made and committed at `at`, and the secret of its link (read in its e-mail)."""
    with frozen_at(at):
        asked = registration_requests.ask(session, _details(**overrides), funding_mode)
        db.session.commit()
    return asked, factories.confirmation_path(asked.email).rsplit("/", 1)[1]


def _confirm(token: str, at=ASKED + timedelta(hours=1)) -> registration_requests.Outcome:
    with frozen_at(at):
        done = registration_requests.confirm(token)
        db.session.commit()
    return done


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _rows() -> dict:
    """Every table's rows but the page cache's data version (renewed by every commit that writes)."""
    with db.engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
                for table in db.metadata.sorted_tables if table.name != "data_version"}


def test_a_request_writes_the_request_and_one_e_mail_to_the_address_typed_and_nothing_else(app, outbox):
    session = factories.make_session(capacity=1)
    before = _rows()
    asked, token = _ask(session)
    after = _rows()
    assert [name for name in before if before[name] != after[name]] == ["outgoing_mail", "registration_requests"]
    assert (len(after["outgoing_mail"]), len(after["registration_requests"])) == (1, 1)
    assert enrolments.seats_left(session) == 1  # no seat held
    assert (asked.email, asked.funding_mode, asked.confirmed_at, asked.enrolment_id) == (
        "awa.diallo@example.org", "opco", None, None)
    assert asked.details == {"civility": "Mme", "first_name": "Awa", "last_name": "Diallo", "phone": "06 00 00 00 00",
                             "job_title": "Assistante sociale", "employer_name": "CCAS de Rennes",
                             "employer_siret": "78324521000001", "category": "employee",
                             "programme_id": session.programme_id}  # the course asked for (PROGRAMME_KEY)
    assert asked.expires_at == asked.requested_at + timedelta(hours=app.config["REGISTRATION_CONFIRM_HOURS"])
    [sent] = outbox
    assert sent.to == ["awa.diallo@example.org"] and sent.subject == "Confirmez votre demande d'inscription"
    assert sent.tag == f"registration_request:{asked.id}"
    assert f"« {session.title} » (du 05/03/2030 à 14h00 au 08/03/2030 à 12h30)" in sent.body
    assert "d'ici le 03/02/2030 à 10h00 (il est valable 48 heures)" in sent.body
    assert f"http://127.0.0.1:5000/formations/inscription/confirmer/{token}" in sent.body
    assert "Votre place n'est pas réservée tant que la demande n'est pas confirmée." in sent.body
    # Only the e-mail holds the secret: the row keeps its hash.
    assert len(token) >= 40 and asked.token_hash == registration_requests.token_hash(token)
    assert token not in repr(after["registration_requests"])


def test_the_link_lasts_registration_confirm_hours(app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION_CONFIRM_HOURS", 2)
    asked, _token = _ask(factories.make_session())
    assert asked.expires_at == ASKED.replace(hour=9) + timedelta(hours=2)  # 10:00 in Paris is 09:00 UTC
    assert "il est valable 2 heures" in db.session.scalar(db.select(OutgoingMail.body))


@pytest.mark.parametrize("overrides, funding_mode, message", [
    ({"email": "awa@"}, "opco", "L'adresse e-mail « awa@ » n'est pas valide."),
    ({"first_name": " "}, "opco", "Indiquez le prénom."),
    ({"employer_name": "", "employer_siret": ""}, "employer", "Indiquez le nom de votre structure employeuse"),
    ({}, "", "Choisissez un mode de financement."),
])
def test_a_mistake_is_refused_at_the_request_and_nothing_is_written(outbox, overrides, funding_mode, message):
    session = factories.make_session()
    with frozen_at(ASKED), pytest.raises(ServiceError) as refused:
        registration_requests.ask(session, _details(**overrides), funding_mode)
    db.session.rollback()
    assert message in refused.value.message
    assert _count(RegistrationRequest) == _count(OutgoingMail) == 0 and outbox == []


def test_a_closed_session_refuses_the_request():
    past = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    with frozen_at(ASKED), pytest.raises(ServiceError) as refused:
        registration_requests.ask(past, _details(), "opco")
    db.session.rollback()
    assert refused.value.message == "Les inscriptions à cette session sont closes."
    assert _count(RegistrationRequest) == 0


def test_confirming_enrols_tells_the_person_and_the_office(app, outbox):
    session = factories.make_session(capacity=2)
    asked, token = _ask(session)
    outbox.clear()
    done = _confirm(token)
    assert done.just_confirmed and done.enrolment.status == "confirmed" and done.position is None
    trainee = db.session.scalar(db.select(Trainee))
    assert (trainee.email, trainee.first_name, trainee.employer.name) == ("awa.diallo@example.org", "Awa",
                                                                         "CCAS de Rennes")
    db.session.expire_all()
    asked = db.session.get(RegistrationRequest, asked.id)
    assert asked.confirmed_at == datetime(2030, 2, 1, 10, 0)  # 11:00 in Paris, in UTC
    assert (asked.enrolment.trainee_id, asked.enrolment.funding_mode, asked.duplicate) == (trainee.id, "opco", False)
    to_person, to_office = outbox
    assert to_person.to == ["awa.diallo@example.org"] and "est confirmée" in to_person.body
    assert to_office.to == [app.config["MAIL_OFFICE"]] and "Places restantes : 1" in to_office.body


def test_confirming_twice_enrols_once_and_tells_the_outcome_again(outbox):
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    _asked, token = _ask(session)
    first = _confirm(token)
    outbox.clear()
    again = _confirm(token, at=ASKED + timedelta(hours=5))
    assert (first.just_confirmed, again.just_confirmed) == (True, False)
    assert again.enrolment.id == first.enrolment.id and again.position == first.position == 1
    assert _count(Enrolment) == 2 and _count(Trainee) == 2 and outbox == []


def test_an_address_already_enrolled_is_told_so_and_nothing_new_is_written(outbox):
    session = factories.make_session()
    _asked, token = _ask(session)
    first = _confirm(token)
    asked, token = _ask(session, at=ASKED + timedelta(hours=2), first_name="Autre")
    done = _confirm(token, at=ASKED + timedelta(hours=3))
    assert done.just_confirmed and done.enrolment.id == first.enrolment.id
    db.session.expire_all()
    assert db.session.get(RegistrationRequest, asked.id).duplicate
    assert _count(Enrolment) == 1 and db.session.scalar(db.select(Trainee.first_name)) == "Awa"
    assert outbox[-1].subject.startswith("Nouvelle demande reçue")


def test_an_expired_link_confirms_nothing(outbox):
    session = factories.make_session()
    asked, token = _ask(session)
    outbox.clear()
    with frozen_at(EXPIRES - timedelta(minutes=1)):
        assert registration_requests.find(token).id == asked.id
    with frozen_at(EXPIRES), pytest.raises(registration_requests.RequestLinkError) as expired:
        registration_requests.find(token)
    assert expired.value.reason == "expired" and expired.value.asked.id == asked.id
    with frozen_at(EXPIRES), pytest.raises(registration_requests.RequestLinkError) as expired:
        registration_requests.confirm(token)  # the page was opened before it expired
    db.session.rollback()
    assert expired.value.reason == "expired"
    assert _count(Enrolment) == _count(Trainee) == 0 and outbox == []


def test_a_tampered_or_unknown_link_names_no_request():
    _asked, token = _ask(factories.make_session())
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], "", "x" * 500):
        with frozen_at(ASKED), pytest.raises(registration_requests.RequestLinkError) as unknown:
            registration_requests.find(wrong)
        assert (unknown.value.reason, unknown.value.asked) == ("unknown", None)


@pytest.mark.parametrize("meanwhile, message", [
    ("cancelled", "Cette session a été annulée : votre demande ne peut plus être confirmée."),
    ("started", "Cette session a commencé : votre demande ne peut plus être confirmée."),
    ("archived", "Les inscriptions à cette session sont closes : votre demande ne peut plus être confirmée."),
])
def test_a_session_closed_since_the_request_refuses_the_confirmation(outbox, meanwhile, message):
    from training_app.services import programmes
    session = factories.make_session()  # starts on Tue 5 March 2030 at 14:00
    asked_at = datetime(2030, 3, 5, 13, 0) if meanwhile == "started" else ASKED
    asked, token = _ask(session, at=asked_at)
    outbox.clear()
    if meanwhile == "cancelled":
        with frozen_at(ASKED):
            sessions.cancel_session(session, "Formateur malade", actor_label="test")
    elif meanwhile == "archived":
        programmes.set_archived(session.programme, True)
    db.session.commit()
    outbox.clear()
    with frozen_at(asked_at + timedelta(hours=1, minutes=30)), pytest.raises(ServiceError) as refused:
        registration_requests.confirm(token)
    db.session.rollback()
    assert refused.value.message == message
    assert _count(Enrolment) == _count(Trainee) == 0 and outbox == []
    assert db.session.get(RegistrationRequest, asked.id).confirmed_at is None


MOVED = ("Cette session propose désormais une autre formation que celle que vous avez demandée : votre demande ne "
         "peut plus être confirmée.")


def _moved_meanwhile(session, monkeypatch):
    """The session moved to another programme through the service, its check run before the request was
    committed (ask() takes no lock: the race of a request made at the moment of the move), so that it found no
    request waiting. Returns the other programme."""
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    data = sessions.SessionData(programme=other, start_at=session.start_at, end_at=session.end_at,
                                place=session.place, capacity=session.capacity, price_cents=session.price_cents,
                                status=session.status, trainers=tuple(session.trainers))
    with monkeypatch.context() as patched, frozen_at(ASKED):
        patched.setattr(registration_requests, "unconfirmed", lambda _session: [])
        sessions.update_session(session, data)
        db.session.commit()
    return other


def test_a_request_made_as_its_session_moves_to_another_programme_is_not_confirmed(outbox, monkeypatch):
    """The person asked for the former course: the confirmation would enrol them in another one."""
    session = factories.make_session()
    asked, token = _ask(session)
    asked_for = session.programme_id
    assert _moved_meanwhile(session, monkeypatch).id == session.programme_id != asked_for
    outbox.clear()
    with frozen_at(ASKED + timedelta(hours=1)):
        assert registration_requests.closed_since(asked) == MOVED  # the link's page says so
        with pytest.raises(ServiceError) as refused:
            registration_requests.confirm(token)
    db.session.rollback()
    assert refused.value.message == MOVED
    assert _count(Enrolment) == _count(Trainee) == 0 and outbox == []
    assert db.session.get(RegistrationRequest, asked.id).confirmed_at is None


def test_a_request_made_as_its_session_moves_to_another_programme_no_longer_waits_for_the_office(monkeypatch):
    """Its confirmation is refused whatever the session runs next: the office's lists and counts leave it out,
    the same everywhere (registration_requests._waiting)."""
    session = factories.make_session()
    asked, _token = _ask(session)
    kept, _token = _ask(session, email="avant@example.org")  # recorded before the programme was kept: it waits
    kept.details = {key: value for key, value in kept.details.items() if key != registration_requests.PROGRAMME_KEY}
    db.session.commit()
    with frozen_at(ASKED + timedelta(hours=1)):
        assert [a.id for a in registration_requests.unconfirmed(session)] == [asked.id, kept.id]
    _moved_meanwhile(session, monkeypatch)
    with frozen_at(ASKED + timedelta(hours=1)):
        assert registration_requests.closed_since(asked) == MOVED
        assert [a.id for a in registration_requests.unconfirmed(session)] == [kept.id]
        waiting = registration_requests.newest_unconfirmed(session, 20)
        assert (waiting.total, [a.id for a in waiting.newest]) == (1, [kept.id])
        assert db.session.scalars(registration_requests.unconfirmed_query(session)).all() == [kept]


def test_a_move_committed_while_the_confirmation_waits_for_the_session_s_lock_is_seen(app, outbox, monkeypatch):
    """The request's programme is compared again under the session's lock (enrolments.enrol): a move committed
    after the confirmation read the session, before it was granted the lock, refuses it as well."""
    session = factories.make_session()
    factories.make_trainee(email="awa.diallo@example.org",  # known: nothing written before the lock
                           employer=factories.make_employer("CCAS de Rennes"))
    asked, token = _ask(session)
    session_id, asked_for = session.id, session.programme_id
    other_id = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",)).id
    db.session.commit()
    real_lock, moved = enrolments.lock_session, []

    def move_elsewhere():  # as update_session, in its own transaction, its check passed before the request
        with app.app_context():
            try:
                db.session.execute(db.update(TrainingSession).where(TrainingSession.id == session_id)
                                   .values(programme_id=other_id))
                db.session.commit()
                moved.append(True)
            finally:
                db.session.remove()

    def lock_after_a_move(locked_id, **kwargs):
        if not moved and threading.current_thread() is threading.main_thread():
            assert asked.session.programme_id == asked_for  # what the confirmation read before the lock
            thread = threading.Thread(target=move_elsewhere)
            thread.start()
            thread.join(timeout=30)
            assert moved, "the other transaction's move did not commit"
        return real_lock(locked_id, **kwargs)

    monkeypatch.setattr(enrolments, "lock_session", lock_after_a_move)
    outbox.clear()
    with frozen_at(ASKED + timedelta(hours=1)), pytest.raises(ServiceError) as refused:
        registration_requests.confirm(token)
    db.session.rollback()
    assert moved and refused.value.message == MOVED
    assert _count(Enrolment) == 0 and outbox == []
    assert db.session.get(RegistrationRequest, asked.id).confirmed_at is None


def test_a_request_recorded_before_its_programme_was_kept_confirms_as_before(outbox):
    session = factories.make_session()
    asked, token = _ask(session)
    asked.details = {key: value for key, value in asked.details.items()
                     if key != registration_requests.PROGRAMME_KEY}  # as a request of the former version
    db.session.commit()
    db.session.expire_all()
    assert registration_requests.asked_programme_id(db.session.get(RegistrationRequest, asked.id)) is None
    done = _confirm(token)
    assert done.just_confirmed and done.enrolment.status == "confirmed"
    assert done.enrolment.session_id == session.id and _count(Enrolment) == 1


def test_the_seat_goes_to_whoever_confirms_first_not_to_whoever_asked_first():
    session = factories.make_session(capacity=1)
    _first, first_token = _ask(session, email="premiere@example.org")
    _second, second_token = _ask(session, at=ASKED + timedelta(minutes=5), email="seconde@example.org")
    assert enrolments.seats_left(session) == 1  # two requests, the seat still free
    seated = _confirm(second_token, at=ASKED + timedelta(minutes=10))
    waiting = _confirm(first_token, at=ASKED + timedelta(minutes=20))
    assert (seated.enrolment.status, seated.enrolment.trainee.email) == ("confirmed", "seconde@example.org")
    assert (waiting.enrolment.status, waiting.position) == ("waitlisted", 1)
    assert enrolments.seats_left(session) == 0 and enrolments.count_places(session).taken == 1


# --- personal data -------------------------------------------------------------------------------------

def test_erasing_a_trainee_deletes_the_requests_made_with_their_address():
    session, other_session = factories.make_session(), factories.make_session()
    _old, old_token = _ask(session)
    done = _confirm(old_token)
    enrolments.cancel(done.enrolment, "Plus disponible")  # no live enrolment left: the erasure may go on
    db.session.commit()
    waiting, waiting_token = _ask(other_session, at=ASKED + timedelta(hours=2))  # pending, same address
    someone_else, _token = _ask(other_session, email="autre@example.org")
    trainee = done.enrolment.trainee
    with frozen_at(ASKED + timedelta(hours=3)):
        assert len(personal_data.export(trainee)["demandes_d_inscription"]) == 2
        erasure = personal_data.erase(trainee, "Demande de la personne", None, actor_label="test")
        db.session.commit()
    assert erasure.removed["registration_requests"] == 2
    assert db.session.scalars(db.select(RegistrationRequest.id)).all() == [someone_else.id]
    with frozen_at(ASKED + timedelta(hours=3)), pytest.raises(registration_requests.RequestLinkError) as gone:
        registration_requests.find(waiting_token)  # can no longer be confirmed
    assert gone.value.reason == "unknown"


def test_a_former_address_given_to_someone_else_brings_none_of_their_requests():
    from tests.unit.test_personal_data import _details_of
    from training_app.services import registrations
    awa = factories.make_trainee("Awa", "Diallo", email="partagee@example.org")
    session = factories.make_session()
    hers, _token = _ask(session, at=ASKED - timedelta(days=2), email="partagee@example.org", first_name="Awa")
    with frozen_at(ASKED - timedelta(days=1)):
        registrations.update_trainee(awa, _details_of(awa, email="awa@example.org"),
                                     actor=factories.make_user("admin"))
        db.session.commit()
    brunos, _token = _ask(session, email="partagee@example.org", first_name="Bruno", phone="07 99 88 77 66")
    with frozen_at(ASKED + timedelta(hours=1)):
        exported = personal_data.export(awa)["demandes_d_inscription"]
        assert [r["indique"]["first_name"] for r in exported] == ["Awa"]
        assert "programme_id" not in exported[0]["indique"]  # what she typed, not what the request keeps beside it
        assert "07 99 88 77 66" not in str(exported)
        assert personal_data.erase(awa, "Demande de la personne", None, actor_label="test").removed[
            "registration_requests"] == 1
        db.session.commit()
    assert db.session.scalars(db.select(RegistrationRequest.id)).all() == [brunos.id]


def test_purge_deletes_the_requests_whose_link_expired_confirmed_or_not(app):
    session = factories.make_session()
    confirmed, token = _ask(session, email="confirmee@example.org")
    _confirm(token)
    expired, _token = _ask(session, email="jamais@example.org")
    recent, _token = _ask(session, at=ASKED + timedelta(hours=40), email="recente@example.org")
    with frozen_at(EXPIRES + timedelta(hours=1)):
        assert personal_data.purge_plan().request_ids == [confirmed.id, expired.id]
        output = CliRunner().invoke(app.cli, ["purge-expired"], catch_exceptions=False).output
    assert "2 demandes d'inscription de la page publique dont le lien de confirmation a expiré" in output
    assert "2 demandes d'inscription expirées supprimées." in output
    assert db.session.scalars(db.select(RegistrationRequest.id)).all() == [recent.id]
    assert _count(Enrolment) == 1  # the enrolment holds the data of the confirmed one


def test_the_office_sees_the_requests_waiting_for_their_confirmation():
    session = factories.make_session()
    confirmed, token = _ask(session, email="confirmee@example.org")
    _confirm(token)
    early, _token = _ask(session, email="tot@example.org")
    late, _token = _ask(session, at=ASKED + timedelta(hours=30), email="tard@example.org")
    _other, _token = _ask(factories.make_session(), email="ailleurs@example.org")
    with frozen_at(ASKED + timedelta(hours=31)):
        assert [a.id for a in registration_requests.unconfirmed(session)] == [early.id, late.id]
    with frozen_at(EXPIRES + timedelta(minutes=1)):
        assert [a.id for a in registration_requests.unconfirmed(session)] == [late.id]
