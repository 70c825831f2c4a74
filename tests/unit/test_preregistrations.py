"""Pre-registrations: requests made on the public page while a session is planned get their seats, in request
order, when the session opens to registrations (services/enrolments.open_registrations)."""
from dataclasses import replace
from datetime import datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import SessionStatus, TrainingSession
from training_app.services import audit, enrolments, registrations
from training_app.services import sessions as session_service
from training_app.services.registrations import PersonDetails


def _person(n: int) -> PersonDetails:
    return PersonDetails(first_name=f"Personne{n}", last_name="Test", email=f"personne{n}@example.org")


def _register(session, n: int):
    """A request on the public page, as the view makes it (committed)."""
    registration = registrations.register_public(session, _person(n), "personal")
    db.session.commit()
    return registration.enrolment


def _data(session, status="open", **changes):
    return replace(session_service.SessionData(
        programme=session.programme, start_at=session.start_at, end_at=session.end_at, capacity=session.capacity,
        status=status, place=session.place, price_cents=session.price_cents), **changes)


def test_opening_gives_the_pre_registrations_seats_in_request_order_before_later_registrants(outbox):
    session = factories.make_session(capacity=2, status="planned")  # starts 5 Mar 2030
    pre = [_register(session, n) for n in (1, 2, 3)]
    office_pending = factories.enrol(session, confirm=False)  # « à confirmer plus tard »: funding awaited
    assert [e.status for e in pre] == ["requested"] * 3
    assert ["dès l'ouverture des inscriptions" in m.body for m in outbox if m.to[0].startswith("personne")] == \
        [True] * 3
    outbox.clear()

    update = session_service.update_session(session, _data(session))
    assert outbox == []  # nothing leaves before the commit
    db.session.commit()

    assert update.preregistrations == pre
    assert [e.status for e in pre] == ["confirmed", "confirmed", "waitlisted"]
    assert office_pending.status == "requested"  # the office's own request waits for the office
    assert session.status == SessionStatus.FULL
    assert [m.to[0] for m in outbox] == [e.trainee.email for e in pre]
    assert "est confirmée" in outbox[0].body and "est confirmée" in outbox[1].body
    assert "liste d'attente, en position 1" in outbox[2].body
    assert [(e.action, e.from_state, e.to_state, e.reason) for e in audit.history(pre[2])][-1] == (
        "waitlisted", "requested", "waitlisted", "Ouverture des inscriptions : session complète")

    late = _register(session, 4)  # a later registrant comes after them
    assert (late.status, enrolments.waitlist_position(late), enrolments.waitlist_position(pre[2])) == (
        "waitlisted", 2, 1)


def test_someone_waiting_who_asked_earlier_goes_first_and_nothing_happens_once_started(outbox):
    session = factories.make_session(capacity=1, status="planned")
    with frozen_at(datetime(2030, 1, 10, 9)):
        factories.enrol(session)                 # the office confirmed someone directly
        waiting = factories.enrol(session)       # and put someone on the waiting list
    with frozen_at(datetime(2030, 1, 11, 9)):
        pre = _register(session, 1)
    with frozen_at(datetime(2030, 1, 12, 9)):
        update = session_service.update_session(session, _data(session, capacity=2))
        db.session.commit()
    assert update.preregistrations == [pre]
    assert (waiting.status, pre.status, enrolments.waitlist_position(pre)) == ("confirmed", "waitlisted", 1)

    started = factories.make_session(status="planned", start=datetime(2030, 4, 2, 9, 30),
                                     end=datetime(2030, 4, 5, 18))
    late = _register(started, 2)
    outbox.clear()
    with frozen_at(datetime(2030, 4, 3, 9)):  # opened once the course has begun: the office decides
        assert session_service.update_session(started, _data(started)).preregistrations == []
        db.session.commit()
    assert late.status == "requested" and outbox == []


def test_someone_the_office_waitlisted_is_not_passed_by_an_earlier_pre_registration(outbox):
    """The office put someone on the waiting list of the planned session (told « position 1 ») after a
    pre-registration was made: at the opening, the pre-registration joins the waiting list behind them, and
    the seats freed later go in that order."""
    session = factories.make_session(capacity=1, status="planned")
    with frozen_at(datetime(2030, 1, 10, 9)):
        pre = _register(session, 1)
    with frozen_at(datetime(2030, 1, 11, 9)):
        seated = factories.enrol(session)
        waiting = factories.enrol(session, notify=True)
    assert "en position 1" in outbox[-1].body
    outbox.clear()
    with frozen_at(datetime(2030, 1, 12, 9)):
        update = session_service.update_session(session, _data(session))
        db.session.commit()
    assert update.preregistrations == [pre]
    assert (pre.status, waiting.status) == ("waitlisted", "waitlisted")
    assert [m.to[0] for m in outbox] == [pre.trainee.email]
    assert "liste d'attente, en position 2" in outbox[0].body
    assert (enrolments.waitlist_position(waiting), enrolments.waitlist_position(pre)) == (1, 2)

    with frozen_at(datetime(2030, 1, 13, 9)):
        assert enrolments.cancel(seated, "Empêchement") == [waiting]
        db.session.commit()
    assert enrolments.waitlist_position(pre) == 1


def test_at_the_opening_the_waiting_list_gets_the_seats_before_the_pre_registrations(outbox):
    """Seats given at the opening (the capacity raised at once) go first to those already waiting, then to the
    pre-registrations in request order, whoever asked first."""
    session = factories.make_session(capacity=1, status="planned")
    with frozen_at(datetime(2030, 1, 10, 9)):
        pre = [_register(session, n) for n in (1, 2)]
    with frozen_at(datetime(2030, 1, 11, 9)):
        factories.enrol(session)
        waiting = factories.enrol(session)
    with frozen_at(datetime(2030, 1, 12, 9)):
        session_service.update_session(session, _data(session, capacity=3))
        db.session.commit()
    assert [e.status for e in (waiting, *pre)] == ["confirmed", "confirmed", "waitlisted"]
    assert enrolments.waitlist_position(pre[1]) == 1


def test_only_public_pre_registrations_are_promised_a_seat_at_the_opening(outbox):
    """The office's requests « à confirmer plus tard » and the requests for an internal course (members only,
    the office confirms each one) are not pre-registrations: not given seats, not promised one."""
    session = factories.make_session(status="planned")
    office_pending = factories.enrol(session, confirm=False, notify=True)
    assert "L'équipe vous confirmera votre place." in outbox[-1].body
    assert "ouverture des inscriptions" not in outbox[-1].body
    assert enrolments.preregistrations(session) == []

    internal = factories.make_session(programme=factories.make_programme(kind="internal", price_cents=0),
                                      status="planned", start=datetime(2030, 5, 7, 9, 30), end=datetime(2030, 5, 7, 18))
    assert registrations.public_state(internal) == "members"
    member = _register(internal, 1)
    assert "L'équipe vous confirmera votre place." in outbox[-2].body  # [-1] tells the office
    session_service.update_session(internal, _data(internal))
    session_service.update_session(session, _data(session))
    db.session.commit()
    assert (member.status, office_pending.status) == ("requested", "requested")


def test_a_request_sent_while_the_session_opens_is_decided_under_its_lock(outbox):
    """The public page read the session planned; it opened (and its pre-registrations were given seats) before
    the request took the session's lock: the request takes a seat, it is not left behind as a pre-registration."""
    session = factories.make_session(status="planned")
    db.session.execute(db.update(TrainingSession).where(TrainingSession.id == session.id)
                       .values(status="open").execution_options(synchronize_session=False))  # another request opened it; this one still holds "planned"
    assert session.status == "planned" and registrations.public_state(session) == "preregister"
    enrolment = _register(session, 1)
    assert enrolment.status == "confirmed" and "est confirmée" in outbox[0].body


def test_a_pre_registration_the_office_moves_gets_a_seat_or_the_waiting_list_there(outbox):
    """Promised a seat at the opening, it is not turned into an office request left for someone to notice."""
    planned = factories.make_session(capacity=2, status="planned")  # starts 5 Mar 2030
    target = factories.make_session(programme=planned.programme, capacity=1, start=datetime(2030, 4, 2, 9, 30),
                                    end=datetime(2030, 4, 3, 18))
    first, second = _register(planned, 1), _register(planned, 2)
    assert enrolments.is_preregistration(first) and enrolments.is_preregistration(second)
    outbox.clear()
    moved = [enrolments.move(first, target), enrolments.move(second, target)]
    db.session.commit()
    assert [e.status for e in moved] == ["confirmed", "waitlisted"]
    assert "est confirmée" in outbox[0].body and "liste d'attente, en position 1" in outbox[1].body


def test_three_pre_registrations_in_one_cycle_keep_the_special_price_of_the_third_at_the_opening(outbox):
    """The price is fixed at the request: the third course of the cycle asked for is at the special price, and
    stays so when the sessions open and give the seats."""
    cycle = factories.make_cycle(special_price_cents=45000)
    planned = [factories.make_session(programme=factories.make_programme(cycle_id=cycle.id, price_cents=56000),
                                      price_cents=56000, capacity=2, status="planned",
                                      start=datetime(2030, 3 + i, 5, 14), end=datetime(2030, 3 + i, 8, 12, 30))
               for i in range(3)]
    asked = [_register(session, 1) for session in planned]
    assert [e.price_cents for e in asked] == [56000, 56000, 45000]
    for session in planned:
        session_service.update_session(session, _data(session))
        db.session.commit()
    assert [(e.status, e.price_cents) for e in asked] == [("confirmed", 56000), ("confirmed", 56000),
                                                          ("confirmed", 45000)]
