"""Enrolment states, capacity, the waiting list and its promotion order, moves and prices."""
import pathlib
import re
from datetime import date, datetime, timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment, SessionStatus, SignatureMethod
from training_app.services import ServiceError, attendance, audit, enrolments, registrations
from training_app.services import sessions as session_service
from training_app.services.registrations import PersonDetails


def _states(session):
    rows = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == session.id)
                              .order_by(Enrolment.id)).all()
    return [e.status for e in rows]


def _waitlisted(session, joined: datetime, requested: datetime = datetime(2029, 12, 1)) -> Enrolment:
    """A waitlisted enrolment that joined the waiting list at `joined` (UTC)."""
    enrolment = Enrolment(session=session, trainee=factories.make_trainee(), status="waitlisted",
                          requested_at=requested, waitlisted_at=joined)
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


def test_a_full_session_waitlists_in_request_order_and_shows_as_full():
    session = factories.make_session(capacity=2)
    made = [factories.enrol(session) for _ in range(4)]
    assert [e.status for e in made] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [enrolments.waitlist_position(e) for e in made] == [None, None, 1, 2]
    assert session.status == SessionStatus.FULL
    assert (enrolments.seats_taken(session), enrolments.seats_left(session)) == (2, 0)


def test_an_enrolment_is_written_once_with_its_status_and_the_last_seat_fills_the_session():
    session = factories.make_session(capacity=2)
    factories.enrol(session)
    trainees = [factories.make_trainee(), factories.make_trainee()]
    for trainee, status in zip(trainees, ("confirmed", "waitlisted")):
        with factories.count_queries() as statements:
            assert enrolments.enrol(session, trainee).status == status
            db.session.flush()
        writes = [s.split("(")[0].strip() for s in statements if s.startswith(("INSERT", "UPDATE"))]
        assert writes.count("INSERT INTO enrolments") == 1 and not any("UPDATE enrolments" in w for w in writes)
        assert session.status == SessionStatus.FULL  # the last seat was taken by the first of the two
    db.session.commit()
    assert _states(session) == ["confirmed", "confirmed", "waitlisted"]


def test_places_are_counted_in_one_statement_with_the_trainees_own_live_enrolment():
    session = factories.make_session(capacity=3)  # starts 5 Mar 2030
    seated, cancelled = factories.enrol(session), factories.enrol(session)
    enrolments.cancel(cancelled, "Empêchée")
    # Recorded before withdrawals were dated from the first day on: its seat went to the waiting list.
    left_before = factories.make_enrolment(session, status="withdrawn")
    left_before.withdrawn_on = date(2030, 3, 1)
    others = [factories.enrol(session) for _ in range(3)]
    db.session.commit()
    assert [e.status for e in [seated, cancelled, left_before, *others]] == [
        "confirmed", "cancelled", "withdrawn", "confirmed", "confirmed", "waitlisted"]
    outsider = factories.make_trainee()
    db.session.refresh(session), db.session.refresh(outsider)  # loaded: only the counting is counted
    with factories.count_queries() as statements:
        places = enrolments.count_places(session, outsider)
    assert len(statements) == 1
    assert (places.taken, places.waiting, places.left, places.trainee_live) == (3, 1, 0, 0)
    assert enrolments.count_places(session, seated.trainee).trainee_live == 1
    assert enrolments.count_places(session, others[-1].trainee).trainee_live == 1  # waitlisted is live
    assert enrolments.count_places(session, cancelled.trainee).trainee_live == 0
    assert enrolments.count_places(session, left_before.trainee).trainee_live == 0


def test_capacity_cannot_go_below_the_seats_that_trainees_who_dropped_out_keep():
    session = factories.make_session(capacity=3)  # starts 5 Mar 2030
    seated = [factories.enrol(session) for _ in range(3)]
    with frozen_at(datetime(2030, 3, 6, 10, 0)):
        enrolments.withdraw(seated[0], date(2030, 3, 6), "Malade")
        db.session.commit()
        data = session_service.SessionData(programme=session.programme, start_at=session.start_at,
                                           end_at=session.end_at, capacity=2, price_cents=session.price_cents,
                                           status=session.status)
        with pytest.raises(ServiceError) as refused:
            session_service.update_session(session, data)
        db.session.rollback()
    assert "places occupées (3)" in str(refused.value) and refused.value.field == "capacity"
    assert db.session.get(type(session), session.id).capacity == 3


def test_a_waitlisted_enrolment_gets_its_place_counted_under_the_lock():
    session = factories.make_session(capacity=1)
    made = [factories.enrol(session) for _ in range(4)]
    assert [e.position_when_enrolled for e in made] == [None, 1, 2, 3]
    assert [enrolments.waitlist_position(e) for e in made] == [None, 1, 2, 3]
    requested = enrolments.enrol(factories.make_session(), factories.make_trainee(), confirm=False)
    assert (requested.status, requested.position_when_enrolled) == ("requested", None)


def test_promotion_takes_the_first_to_join_the_waiting_list_then_id(outbox):
    session = factories.make_session(capacity=1)
    seated = factories.enrol(session)
    late = _waitlisted(session, datetime(2030, 1, 2, 9, 0), requested=datetime(2029, 11, 1))  # asked first
    early = _waitlisted(session, datetime(2030, 1, 1, 9, 0))      # joined first
    tie = _waitlisted(session, datetime(2030, 1, 1, 9, 0))        # same moment as `early`, larger id
    assert enrolments.waitlist(session) == [early, tie, late]
    admin = factories.make_user("admin", name="Claire Bernard")

    promoted = enrolments.cancel(seated, "Empêchement", actor=admin)
    assert promoted == [early]
    assert outbox == []  # nothing leaves before the commit
    db.session.commit()

    assert early.status == "confirmed" and early.confirmed_at is not None
    assert [m.to for m in outbox] == [[early.trainee.email], [seated.trainee.email]]
    assert "Une place s'est libérée" in outbox[0].subject
    assert outbox[1].subject.startswith("Inscription annulée")
    assert (enrolments.waitlist_position(tie), enrolments.waitlist_position(late)) == (1, 2)
    entry = audit.history(early)[-1]
    assert (entry.action, entry.from_state, entry.to_state, entry.who) == (
        "promoted", "waitlisted", "confirmed", "Claire Bernard")
    cancelled = audit.history(seated)[-1]
    assert (cancelled.from_state, cancelled.to_state, cancelled.reason) == ("confirmed", "cancelled", "Empêchement")


def test_a_request_confirmed_late_joins_the_waiting_list_behind_those_already_waiting(outbox):
    """A member's public request for an internal course waits for the office; confirmed once the session is
    full, it joins the waiting list then, behind someone already told « position 1 », though it was asked for
    first. Promotion follows the same order."""
    session = factories.make_session(programme=factories.make_programme(kind="internal", price_cents=0),
                                     capacity=1)
    with frozen_at(datetime(2030, 1, 10, 9)):
        asked = registrations.register_public(session, PersonDetails("Awa", "Diallo", "awa@example.org"),
                                              "personal").enrolment
        db.session.commit()
    with frozen_at(datetime(2030, 1, 11, 9)):
        seated = factories.enrol(session)
        waiting = factories.enrol(session, notify=True)
    assert (asked.status, waiting.status) == ("requested", "waitlisted")
    assert "en position 1" in outbox[-1].body
    with frozen_at(datetime(2030, 1, 12, 9)):
        enrolments.confirm(asked)
        db.session.commit()
    assert asked.status == "waitlisted" and asked.waitlisted_at == datetime(2030, 1, 12, 8)  # UTC
    assert "en position 2" in outbox[-1].body and outbox[-1].to == ["awa@example.org"]
    assert (enrolments.waitlist_position(waiting), enrolments.waitlist_position(asked)) == (1, 2)
    assert enrolments.waitlist(session) == [waiting, asked]

    assert enrolments.cancel(seated, "Empêchement") == [waiting]
    db.session.commit()
    assert (waiting.status, asked.status, enrolments.waitlist_position(asked)) == ("confirmed", "waitlisted", 1)


def test_nobody_already_waiting_is_passed_when_the_clock_does_not_move(outbox):
    """Joining the waiting list at the very moment of the last one to join it (a frozen clock, a clock set back)
    still comes after them: an earlier request (a smaller id) does not pass anyone already told their place."""
    session = factories.make_session(capacity=1)
    with frozen_at(datetime(2030, 1, 10, 9)):
        asked = factories.enrol(session, confirm=False)  # « à confirmer plus tard »
        factories.enrol(session)
        waiting = factories.enrol(session)
    with frozen_at(datetime(2030, 1, 9, 9)):  # the server's clock was set back
        enrolments.confirm(asked)
        late = factories.enrol(session)
    db.session.commit()
    assert enrolments.waitlist(session) == [waiting, asked, late]
    assert [enrolments.waitlist_position(e) for e in (waiting, asked, late)] == [1, 2, 3]
    assert late.position_when_enrolled == 3
    assert waiting.waitlisted_at < asked.waitlisted_at < late.waitlisted_at


def test_a_rolled_back_cancellation_promotes_nobody_and_sends_nothing(outbox):
    session = factories.make_session(capacity=1)
    seated = factories.enrol(session)
    waiting = factories.enrol(session)
    enrolments.cancel(seated, "Erreur de saisie")
    db.session.rollback()
    db.session.expire_all()
    assert (seated.status, waiting.status) == ("confirmed", "waitlisted")
    assert outbox == []


def test_raising_the_capacity_promotes_in_order_and_lowering_it_below_the_confirmed_count_is_refused(outbox):
    session = factories.make_session(capacity=2)
    made = [factories.enrol(session) for _ in range(5)]
    data = session_service.SessionData(programme=session.programme, start_at=session.start_at, end_at=session.end_at,
                                       capacity=4, status=session.status, place=session.place)
    session_service.update_session(session, data)
    db.session.commit()
    assert [e.status for e in made] == ["confirmed"] * 4 + ["waitlisted"]
    assert sorted(m.to[0] for m in outbox) == sorted([made[2].trainee.email, made[3].trainee.email])
    assert session.status == SessionStatus.FULL

    data.capacity = 3
    with pytest.raises(ServiceError, match=r"\(4\)") as refused:
        session_service.update_session(session, data)
    assert refused.value.field == "capacity"


def test_a_withdrawal_is_dated_from_the_first_day_on_and_frees_no_seat(outbox):
    """Before the start, a trainee who will not come is a cancellation (the seat goes to the waiting list); a
    withdrawal is billed (its seat was used): dated before the start, the seat would be billed twice."""
    session = factories.make_session(capacity=1)  # Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30
    first, waiting = factories.enrol(session), factories.enrol(session)
    for now, on in ((datetime(2030, 3, 1, 10), date(2030, 3, 1)),    # before the start
                    (datetime(2030, 3, 7, 10), date(2030, 3, 4))):   # recorded later, dated before the start
        with frozen_at(now), pytest.raises(ServiceError) as refused:
            enrolments.withdraw(first, on, "Changement de poste")
        db.session.rollback()
        assert refused.value.field == "withdrawn_on"
        assert str(refused.value) == ("Un abandon se date à partir du premier jour de la session (05/03/2030) : "
                                      "avant, annulez plutôt l'inscription (sa place revient à la liste d'attente).")
    assert (first.status, waiting.status) == ("confirmed", "waitlisted")

    outbox.clear()
    with frozen_at(datetime(2030, 3, 6, 12)):
        assert enrolments.withdraw(first, date(2030, 3, 6), "Malade") == []
    db.session.commit()
    assert (first.status, first.withdrawn_on, waiting.status) == ("withdrawn", date(2030, 3, 6), "waitlisted")
    assert enrolments.seats_left(session) == 0  # the seat was used: it is not given again
    assert outbox == []


def test_nobody_is_promoted_into_a_started_session_the_office_confirms_if_it_wants(outbox):
    """A seat freed once the course has begun (here by raising the capacity) stays free: the waiting list is
    not told « votre convocation vous sera envoyée avant la formation » two days into it."""
    session = factories.make_session(capacity=1)  # Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30
    factories.enrol(session)
    waiting = factories.enrol(session)
    outbox.clear()
    data = session_service.SessionData(programme=session.programme, start_at=session.start_at, end_at=session.end_at,
                                       capacity=2, status=session.status, place=session.place)
    with frozen_at(datetime(2030, 3, 6, 10)):
        session_service.update_session(session, data)
        assert enrolments.promote_waitlist(session) == []
        db.session.commit()
        assert (waiting.status, enrolments.seats_left(session)) == ("waitlisted", 1)
        assert session.status == SessionStatus.OPEN and outbox == []
        enrolments.confirm(waiting)  # the office's decision
        db.session.commit()
    assert waiting.status == "confirmed"
    assert "convocation" not in outbox[-1].body  # the course has begun: no convocation « avant la formation »


def test_a_withdrawal_on_the_first_day_before_the_start_is_a_cancellation():
    """The seat counts as used from the first day on: before the start time that day, the office cancels."""
    session = factories.make_session(capacity=1)  # starts Tue 5 Mar 2030 14:00
    seated, waiting = factories.enrol(session), factories.enrol(session)
    with frozen_at(datetime(2030, 3, 5, 9)):
        with pytest.raises(ServiceError, match="annulez plutôt") as refused:
            enrolments.withdraw(seated, date(2030, 3, 5), "Ne viendra pas")
        assert refused.value.field == "withdrawn_on"
        db.session.rollback()
        assert enrolments.cancel(seated, "Ne viendra pas") == [waiting]
    with frozen_at(datetime(2030, 3, 5, 15)):  # once started, the same date is a withdrawal
        assert enrolments.withdraw(waiting, date(2030, 3, 5), "Malade") == []


def test_a_withdrawal_cannot_be_dated_before_attendance_on_record():
    """Hours after the withdrawal date would still count (certificates, claims), and a seat already used
    would go to the waiting list again."""
    trainer = factories.make_user("trainer")
    session, (awa, julien, _third) = factories.make_attendance_session(trainers=[trainer])
    tuesday, wednesday = session.slots[0], session.slots[1]
    with frozen_at(tuesday.starts_at):
        attendance.sign(tuesday, awa, factories.signature_data_url(), method=SignatureMethod.DEVICE, actor=trainer)
        attendance.sign(tuesday, julien, factories.signature_data_url(2), method=SignatureMethod.DEVICE,
                        actor=trainer)
    with frozen_at(wednesday.starts_at):
        attendance.sign(wednesday, awa, factories.signature_data_url(), method=SignatureMethod.DEVICE, actor=trainer)
    db.session.commit()
    with frozen_at(datetime(2030, 3, 7, 10)):
        with pytest.raises(ServiceError, match="présent·e le 06/03/2030") as refused:
            enrolments.withdraw(awa, date(2030, 3, 5), "Abandon")
        assert refused.value.field == "withdrawn_on"
        with pytest.raises(ServiceError, match="à partir du premier jour"):  # before the start: a cancellation
            enrolments.withdraw(julien, date(2030, 3, 4), "Ne vient plus")
        db.session.rollback()
        enrolments.withdraw(awa, date(2030, 3, 6), "Abandon")
        enrolments.withdraw(julien, date(2030, 3, 5), "Ne vient plus")
    db.session.commit()
    assert (awa.status, julien.status) == ("withdrawn", "withdrawn")
    assert enrolments.seats_taken(session) == 3


@pytest.mark.parametrize("on, reason, message", [
    (None, "Malade", "Indiquez la date"),
    (date(2030, 3, 6), "", "Indiquez le motif"),
    (date(2030, 3, 7), "Malade", "dans le futur"),
    (date(2030, 3, 9), "Malade", "précéder la fin"),
])
def test_bad_withdrawals_are_refused(on, reason, message):
    session = factories.make_session()
    enrolment = factories.enrol(session)
    with frozen_at(datetime(2030, 3, 6, 12) if on != date(2030, 3, 9) else datetime(2030, 3, 20)), \
            pytest.raises(ServiceError, match=message):
        enrolments.withdraw(enrolment, on, reason)


def test_cancellation_rules():
    session = factories.make_session(capacity=1)
    seated, waiting = factories.enrol(session), factories.enrol(session)
    with pytest.raises(ServiceError, match="motif"):
        enrolments.cancel(seated, "  ")
    with frozen_at(datetime(2030, 3, 6, 10)), pytest.raises(ServiceError, match="abandon"):
        enrolments.cancel(seated, "Absent")
    assert enrolments.cancel(waiting, "Plus disponible") == []
    db.session.commit()
    with pytest.raises(ServiceError, match="déjà close"):
        enrolments.cancel(waiting, "Encore")


@pytest.mark.parametrize("status, what", [
    ("confirmed", "est annulée : la convocation que vous avez pu recevoir n'est plus valable."),
    ("waitlisted", "Votre inscription sur la liste d'attente de la formation"),
    ("requested", "Votre demande d'inscription à la formation"),
])
def test_the_office_cancelling_an_enrolment_tells_the_trainee_why(outbox, status, what):
    factories.make_organisation(email="contact@sionsalliait.org")
    session = factories.make_session(capacity=1)
    if status == "waitlisted":
        factories.enrol(session)
    enrolment = factories.enrol(session, factories.make_trainee("Awa", "Diallo"), confirm=status != "requested")
    assert enrolment.status == status
    outbox.clear()
    enrolments.cancel(enrolment, "Financement refusé par l'OPCO", actor=factories.make_user("admin"))
    assert outbox == []  # queued in the same transaction: nothing leaves before the commit
    db.session.commit()
    (message,) = [m for m in outbox if m.to == [enrolment.trainee.email]]
    assert message.subject == f"Inscription annulée : {session.title}"
    assert message.body.startswith("Bonjour Awa Diallo,")
    assert what in message.body and f"« {session.title} »" in message.body
    assert "du 05/03/2030 à 14h00 au 08/03/2030 à 12h30" in message.body
    assert "Motif : Financement refusé par l'OPCO" in message.body
    assert "contact@sionsalliait.org" in message.body and "/moi/" in message.body


def test_a_request_takes_no_seat_until_confirmed():
    session = factories.make_session(capacity=1)
    request = factories.enrol(session, confirm=False)
    assert request.status == "requested" and enrolments.seats_left(session) == 1
    other = factories.enrol(session)
    assert other.status == "confirmed"
    enrolments.confirm(request)
    db.session.commit()
    assert request.status == "waitlisted"  # the session filled up meanwhile
    with pytest.raises(ServiceError, match="complète"):
        enrolments.confirm(request)
    enrolments.cancel(other, "Désistement")
    db.session.commit()
    assert request.status == "confirmed"  # promoted from the waiting list
    assert [e.action for e in audit.history(request)] == ["requested", "waitlisted", "promoted"]


def test_enrolment_is_refused_in_cancelled_or_past_sessions_and_twice():
    cancelled = factories.make_session(status="cancelled")
    trainee = factories.make_trainee()
    with pytest.raises(ServiceError, match="annulée"):
        enrolments.enrol(cancelled, trainee)
    past = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    with pytest.raises(ServiceError, match="terminée"):
        enrolments.enrol(past, trainee)
    session = factories.make_session()
    factories.enrol(session, trainee)
    with pytest.raises(ServiceError, match="déjà inscrit"):
        enrolments.enrol(session, trainee)
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1


def test_moving_to_another_session_of_the_same_programme(outbox):
    programme = factories.make_programme()
    source = factories.make_session(programme=programme, capacity=1)
    target = factories.make_session(programme=programme, capacity=1, start=datetime(2030, 4, 2, 9, 30),
                                    end=datetime(2030, 4, 3, 18))
    moving, waiting = factories.enrol(source), factories.enrol(source)
    factories.enrol(target)  # the target is full: the moved enrolment waits there

    new = enrolments.move(moving, target, reason="Dates plus pratiques")
    db.session.commit()
    assert (moving.status, new.status, new.session_id, waiting.status) == (
        "cancelled", "waitlisted", target.id, "confirmed")
    out, arrived = audit.history(moving)[-1], audit.history(new)[-1]
    assert (out.action, out.details["to_enrolment_id"]) == ("moved_out", new.id)
    assert (arrived.action, arrived.details["from_enrolment_id"]) == ("moved_in", moving.id)
    assert {m.to[0] for m in outbox} == {moving.trainee.email, waiting.trainee.email}

    other = factories.make_session(programme=factories.make_programme(), start=datetime(2030, 5, 7, 9, 30),
                                   end=datetime(2030, 5, 7, 18))
    with pytest.raises(ServiceError, match="même formation"):
        enrolments.move(waiting, other)
    with pytest.raises(ServiceError, match="autre session"):
        enrolments.move(waiting, source)


def test_a_confirmed_trainee_cannot_be_moved_out_of_a_started_session(outbox):
    programme = factories.make_programme()
    source = factories.make_session(programme=programme, capacity=1)  # Tue 5 Mar 2030 14:00 to Fri 8 Mar
    target = factories.make_session(programme=programme, start=datetime(2030, 4, 2, 9, 30),
                                    end=datetime(2030, 4, 3, 18))
    seated, waiting = factories.enrol(source), factories.enrol(source)
    with frozen_at(datetime(2030, 3, 6, 10)), pytest.raises(ServiceError) as refused:
        enrolments.move(seated, target)
    db.session.rollback()
    assert str(refused.value) == ("La session a commencé : enregistrez plutôt un abandon, "
                                  "avec sa date et son motif.")
    assert _states(source) == ["confirmed", "waitlisted"] and _states(target) == []
    with frozen_at(datetime(2030, 3, 6, 10)):  # a waitlisted trainee may still go to a later session
        moved = enrolments.move(waiting, target)
    db.session.commit()
    assert (moved.status, _states(source)) == ("confirmed", ["confirmed", "cancelled"])


def test_a_request_moved_stays_a_request_in_the_target_and_takes_no_seat(outbox):
    """A request the office entered « à confirmer plus tard » (funding awaited): moved to a session with free
    seats, it is still a request there, and the trainee is not told their seat is confirmed."""
    programme = factories.make_programme()
    source = factories.make_session(programme=programme, capacity=1)
    target = factories.make_session(programme=programme, capacity=1, start=datetime(2030, 4, 2, 9, 30),
                                    end=datetime(2030, 4, 3, 18))
    request = factories.enrol(source, confirm=False)
    outbox.clear()
    moved = enrolments.move(request, target)
    db.session.commit()
    assert (request.status, moved.status, moved.confirmed_at) == ("cancelled", "requested", None)
    assert (enrolments.seats_left(target), target.status) == (1, SessionStatus.OPEN)
    arrived = audit.history(moved)[-1]
    assert (arrived.action, arrived.to_state, arrived.details["from_enrolment_id"]) == (
        "moved_in", "requested", request.id)
    [message] = outbox
    assert "confirmée" not in message.subject and "L'équipe vous confirmera votre place." in message.body
    assert enrolments.confirm(moved).status == "confirmed"  # the office confirms it when the funding is agreed


def test_prices_internal_free_session_price_and_the_cycle_special_price_from_the_third_programme():
    cycle = factories.make_cycle(special_price_cents=45000)
    programmes = [factories.make_programme(cycle_id=cycle.id, price_cents=56000) for _ in range(4)]
    sessions = [factories.make_session(programme=p, price_cents=56000, start=datetime(2030, 3 + i, 5, 14),
                                       end=datetime(2030, 3 + i, 8, 12, 30)) for i, p in enumerate(programmes)]
    trainee = factories.make_trainee()
    first = factories.enrol(sessions[0], trainee)
    second = factories.enrol(sessions[1], trainee)
    assert (first.price_cents, second.price_cents) == (56000, 56000)
    third = factories.enrol(sessions[2], trainee)
    assert third.price_cents == 45000
    assert enrolments.price_for(sessions[3], trainee) == 45000

    enrolments.cancel(third, "Report")
    enrolments.cancel(second, "Report")
    db.session.commit()
    assert enrolments.price_for(sessions[3], trainee) == 56000  # cancelled courses do not count

    internal = factories.make_session(programme=factories.make_programme(kind="internal", price_cents=0),
                                      start=datetime(2030, 9, 3, 9, 30), end=datetime(2030, 9, 3, 18))
    assert factories.enrol(internal, trainee).price_cents == 0


def test_the_cycle_special_price_counts_the_paid_courses_of_the_cycle_asked_for_or_taken():
    """The price is fixed when the enrolment is made: requests and waiting-list places count (a trainee who
    pre-registers for three courses is owed the special price on the third), cancelled ones and free internal
    courses of the cycle do not."""
    cycle = factories.make_cycle(special_price_cents=45000)
    programmes = [factories.make_programme(cycle_id=cycle.id, price_cents=56000) for _ in range(3)]
    sessions = [factories.make_session(programme=p, price_cents=56000, start=datetime(2030, 3 + i, 5, 14),
                                       end=datetime(2030, 3 + i, 8, 12, 30)) for i, p in enumerate(programmes)]
    internal = factories.make_session(
        programme=factories.make_programme(kind="internal", price_cents=0, cycle_id=cycle.id),
        start=datetime(2030, 9, 3, 14), end=datetime(2030, 9, 6, 12, 30))
    trainee = factories.make_trainee()
    waitlisted = factories.make_enrolment(sessions[0], trainee, status="waitlisted")
    requested = factories.make_enrolment(sessions[1], trainee, status="requested")
    assert enrolments.price_for(sessions[2], trainee) == 45000  # asked for two other courses
    for enrolment in (waitlisted, requested):
        enrolment.status = "confirmed"
    db.session.commit()
    assert enrolments.price_for(sessions[2], trainee) == 45000  # seats taken in two other courses
    requested.status = "withdrawn"  # a course begun and left is a course taken
    db.session.commit()
    assert enrolments.price_for(sessions[2], trainee) == 45000

    waitlisted.status = "cancelled"
    factories.make_enrolment(internal, trainee)  # a free course of the cycle: nothing to discount
    assert enrolments.price_for(sessions[2], trainee) == 56000


def test_a_move_keeps_the_agreed_price_when_the_list_price_is_the_same_else_takes_the_targets():
    """The cycle's special price goes to the third course taken: moving the first course to another date once
    the trainee holds two others must not silently lower (or otherwise change) what was agreed."""
    cycle = factories.make_cycle(special_price_cents=45000)
    programmes = [factories.make_programme(cycle_id=cycle.id, price_cents=56000) for _ in range(3)]
    sessions = [factories.make_session(programme=p, price_cents=56000, start=datetime(2030, 3 + i, 5, 14),
                                       end=datetime(2030, 3 + i, 8, 12, 30)) for i, p in enumerate(programmes)]
    same_price = factories.make_session(programme=programmes[0], price_cents=56000, start=datetime(2030, 9, 3, 14),
                                        end=datetime(2030, 9, 6, 12, 30))
    dearer = factories.make_session(programme=programmes[0], price_cents=60000, start=datetime(2030, 10, 1, 14),
                                    end=datetime(2030, 10, 4, 12, 30))
    trainee = factories.make_trainee()
    first, second, third = (factories.enrol(s, trainee) for s in sessions)
    assert [e.price_cents for e in (first, second, third)] == [56000, 56000, 45000]

    moved = enrolments.move(first, same_price)
    db.session.commit()
    assert moved.price_cents == 56000  # as agreed, though the trainee now holds two other courses of the cycle
    moved_third = enrolments.move(third, factories.make_session(
        programme=programmes[2], price_cents=56000, start=datetime(2030, 11, 5, 14), end=datetime(2030, 11, 8, 12)))
    db.session.commit()
    assert moved_third.price_cents == 45000  # the special price agreed stays too

    again = enrolments.move(moved, dearer)  # another list price: the target's price for this trainee, today
    db.session.commit()
    assert again.price_cents == enrolments.price_for(dearer, trainee) == 45000


def test_every_change_of_state_is_audited_with_from_and_to():
    session = factories.make_session(capacity=1)
    a, b = factories.enrol(session), factories.enrol(session)
    enrolments.cancel(a, "Empêchement")
    db.session.commit()
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "enrolments")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.entity_id, e.action, e.from_state, e.to_state) for e in entries] == [
        (a.id, "enrolled", "requested", "confirmed"),
        (b.id, "enrolled", "requested", "waitlisted"),
        (a.id, "cancelled", "confirmed", "cancelled"),
        (b.id, "promoted", "waitlisted", "confirmed"),
    ]


def test_nothing_outside_the_enrolment_service_assigns_an_enrolment_status():
    root = pathlib.Path(__file__).resolve().parents[2] / "training_app"
    assignment = re.compile(r"(enrolment|\be)\w*\.status\s*=[^=]")
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.name != "enrolments.py" or path.parent.name != "services"
                 if assignment.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_asking_for_full_or_open_keeps_the_status_the_seats_give():
    """« Complète » is counted, not chosen (the session form no longer offers it): asked for by another caller,
    it opens the session, which is full only when its seats are taken."""
    session = factories.make_session(capacity=1, status="planned")
    data = session_service.SessionData(programme=session.programme, start_at=session.start_at, end_at=session.end_at,
                                       capacity=1, status="full", place=session.place)
    session_service.update_session(session, data)
    db.session.commit()
    assert session.status == SessionStatus.OPEN
    factories.enrol(session)
    assert session.status == SessionStatus.FULL
    data.status = "open"
    session_service.update_session(session, data)
    db.session.commit()
    assert session.status == SessionStatus.FULL
    assert [(e.action, e.from_state, e.to_state) for e in audit.history(session)][-1] == ("updated", "full", "full")


def test_no_seat_is_given_once_the_last_half_days_sheet_is_closed(trainer):
    """The new trainee would show "missing" on a sheet nobody can sign any more (planned hours never accounted
    for): enrolling, confirming and moving into the session are refused from then on."""
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer], capacity=1)
    waiting = factories.make_enrolment(session, status="waitlisted")
    last = session.slots[-1]  # Fri 8 Mar 2030 9:30-12:30
    factories.take_attendance(session, trainer)
    db.session.commit()
    source = factories.make_session(programme=session.programme, start=datetime(2030, 2, 5, 9, 30),
                                    end=datetime(2030, 2, 6, 18))
    moving = factories.make_enrolment(source, status="waitlisted")
    message = "La feuille d'émargement de la dernière demi-journée (08/03/2030) est close"
    with frozen_at(last.ends_at - timedelta(minutes=2)):  # the session has not ended yet
        with pytest.raises(ServiceError, match=re.escape(message)):
            enrolments.enrol(session, factories.make_trainee())
        db.session.rollback()
        session.capacity = 2
        db.session.commit()
        with pytest.raises(ServiceError, match=re.escape(message)):
            enrolments.confirm(waiting)
        db.session.rollback()
        with pytest.raises(ServiceError, match=re.escape(message)):
            enrolments.move(moving, session)
        db.session.rollback()
    assert _states(session) == ["confirmed", "waitlisted"]


def test_a_trainee_may_join_a_running_session_until_its_last_sheet_is_closed(trainer):
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    with frozen_at(session.slots[-1].starts_at + timedelta(minutes=30)):  # the last half-day runs, sheet open
        late = enrolments.enrol(session, factories.make_trainee("Zoé", "Tardive"))
    assert late.status == "confirmed"


@pytest.mark.parametrize("promoted", [True, False])
def test_a_seat_given_once_the_course_has_begun_promises_no_convocation_before_it(outbox, promoted):
    session = factories.make_session()  # 5 to 8 March 2030
    enrolment = factories.enrol(session)
    outbox.clear()
    for now, told in ((datetime(2030, 3, 1, 9), "Votre convocation vous sera envoyée avant la formation."),
                      (datetime(2030, 3, 6, 9), "La formation a commencé : l'équipe de formation vous dira "
                                                "comment la rejoindre.")):
        with frozen_at(now):
            enrolments.notify_state(enrolment, promoted=promoted)
            db.session.commit()
        body = outbox[-1].body.replace("\n", " ")
        assert told in " ".join(body.split()), now
    assert "avant la formation" not in outbox[-1].body.replace("\n", " ")
