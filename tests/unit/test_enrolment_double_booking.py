"""A trainee is not given a seat in two sessions whose half-days overlap (enrolments.double_booking): refused for
the office (its form, the import's row, a move, a confirmation), a request for the office on the public page, and
the waiting list's promotion passes over them, telling the office."""
from datetime import datetime

import pytest

from tests import factories
from training_app.extensions import db
from training_app.models import Enrolment
from training_app.services import ServiceError, enrolment_import, enrolments, registrations
from training_app.services.registrations import PersonDetails

HEADER = ["Civilité", "Nom", "Prénom", "E-mail", "Fonction", "Structure employeuse", "SIRET"]
# The default session runs Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30; this one is Wed 6 Mar's morning.
MORNING = {"start": datetime(2030, 3, 6, 9, 30), "end": datetime(2030, 3, 6, 12, 30)}
REFUSAL = ("Nadia Belkacem a déjà une place confirmée à la session « {title} » du 05/03/2030 à 14h00, dont la "
           "demi-journée du 06/03/2030 de 9h30 à 12h30 a lieu aux mêmes heures qu'une demi-journée de celle-ci : on "
           "ne peut pas lui donner une place dans les deux. Annulez ou déplacez d'abord cette autre inscription.")


@pytest.fixture
def nadia_seated():
    """Nadia holds a confirmed place in a four-day session; `morning` is another course on one of its half-days."""
    week = factories.make_session()
    nadia = factories.make_trainee("Nadia", "Belkacem", email="nadia@example.org")
    factories.enrol(week, nadia)
    morning = factories.make_session(**MORNING)
    return week, nadia, morning


def _count(session) -> int:
    return db.session.scalar(db.select(db.func.count(Enrolment.id)).where(Enrolment.session_id == session.id))


def test_the_office_cannot_give_a_seat_at_the_same_hours_and_is_told_which_session_and_half_day(nadia_seated):
    week, nadia, morning = nadia_seated
    with pytest.raises(ServiceError) as refused:
        enrolments.enrol(morning, nadia)
    db.session.rollback()
    assert refused.value.message == REFUSAL.format(title=week.title)
    assert _count(morning) == 0 and (nadia.full_name, morning.id)  # loaded again after the rollback
    with factories.count_queries() as statements:
        enrolments.double_booking(morning, nadia)
    assert len(statements) == 1


def test_other_hours_or_a_place_without_seat_elsewhere_are_no_obstacle(nadia_seated):
    week, nadia, _morning = nadia_seated
    same_day_before = factories.make_session(start=datetime(2030, 3, 5, 9, 30), end=datetime(2030, 3, 5, 12, 30))
    assert factories.enrol(same_day_before, nadia).status == "confirmed"  # ends before the week's start at 14:00
    awa = factories.make_trainee()
    full = factories.make_session(capacity=1)
    factories.enrol(full)
    assert factories.enrol(full, awa).status == "waitlisted"  # a place on a waiting list holds no seat
    assert factories.enrol(factories.make_session(**MORNING), awa).status == "confirmed"
    requested = factories.make_trainee()
    factories.enrol(week, requested, confirm=False)  # a request holds no seat either
    assert factories.enrol(factories.make_session(**MORNING), requested).status == "confirmed"


def test_a_full_session_still_takes_them_on_its_waiting_list(nadia_seated):
    _week, nadia, _morning = nadia_seated
    full = factories.make_session(**MORNING, capacity=1)
    factories.enrol(full)
    assert factories.enrol(full, nadia).status == "waitlisted"


def test_confirming_a_request_and_moving_are_refused_the_same_way(nadia_seated):
    week, nadia, morning = nadia_seated
    request = factories.enrol(morning, nadia, confirm=False)
    with pytest.raises(ServiceError) as refused:
        enrolments.confirm(request)
    db.session.rollback()
    assert refused.value.message == REFUSAL.format(title=week.title)
    other_morning = factories.make_session(programme=morning.programme, **MORNING)
    moved = factories.enrol(other_morning, factories.make_trainee())
    enrolments.cancel(request, "Doublon")
    db.session.commit()
    elsewhere = factories.make_session(programme=morning.programme, start=datetime(2030, 4, 2, 9, 30),
                                       end=datetime(2030, 4, 2, 12, 30))
    seated_elsewhere = factories.enrol(elsewhere, nadia)
    with pytest.raises(ServiceError) as refused:
        enrolments.move(seated_elsewhere, morning)
    db.session.rollback()
    assert refused.value.message == REFUSAL.format(title=week.title) and refused.value.field == "target"
    assert moved.status == "confirmed" and _count(morning) == 1  # the cancelled request only


def test_the_import_refuses_the_row_and_imports_the_others(nadia_seated):
    week, _nadia, morning = nadia_seated
    content = factories.xlsx_bytes([HEADER, ["Mme", "Belkacem", "Nadia", "nadia@example.org", "", "", ""],
                                    ["M.", "Morel", "Julien", "julien@example.org", "", "", ""]])
    rows = enrolment_import.import_rows(morning, enrolment_import.parse(content, "xlsx"), notify=False)
    assert [(row.outcome, row.errors) for row in rows] == [("rejected", [REFUSAL.format(title=week.title)]),
                                                           ("confirmed", [])]


def test_a_public_request_becomes_one_for_the_office_and_tells_the_stranger_nothing(nadia_seated, outbox):
    week, nadia, morning = nadia_seated
    details = PersonDetails(first_name="Nadia", last_name="Belkacem", email="nadia@example.org", civility="mme")
    registration = registrations.register_public(morning, details, "personal")
    db.session.commit()
    assert registration.enrolment.status == "requested"
    to_her = [m for m in outbox if "nadia@example.org" in m.to]
    office = [m for m in outbox if "nadia@example.org" not in m.to]
    assert to_her and all(week.title not in m.body and "mêmes heures" not in m.body for m in to_her)
    assert "L'équipe vous confirmera votre place." in to_her[-1].body
    assert "À vérifier avant de confirmer : " + REFUSAL.format(title=week.title) in office[-1].body


def test_a_freed_seat_passes_over_a_double_booked_waiting_person_who_keeps_their_rank(nadia_seated, outbox):
    week, nadia, morning = nadia_seated
    morning.capacity = 1
    db.session.commit()
    seated = factories.enrol(morning)
    enrolments.cancel(enrolments.live_enrolment(week, nadia), "Place libérée pour la démonstration")
    db.session.commit()
    nadia_waiting = factories.enrol(morning, nadia)
    next_one = factories.enrol(morning)
    factories.enrol(week, nadia)  # back in the week: the morning's waiting list place stays, with no seat
    outbox.clear()
    promoted = enrolments.cancel(seated, "Empêchée")
    db.session.commit()
    assert promoted == [next_one] and next_one.status == "confirmed"
    assert nadia_waiting.status == "waitlisted" and enrolments.waitlist_position(nadia_waiting) == 1
    office = [m for m in outbox if "Place non donnée" in m.subject]
    assert len(office) == 1 and REFUSAL.format(title=week.title) in office[0].body
    assert f"/inscriptions/{nadia_waiting.id}" in office[0].body


def test_at_the_opening_a_double_booked_pre_registration_waits_for_the_office_and_the_seat_goes_on(outbox):
    from training_app.services import sessions as session_service

    week = factories.make_session()
    nadia = factories.make_trainee("Nadia", "Belkacem", email="nadia@example.org")
    factories.enrol(week, nadia)
    planned = factories.make_session(**MORNING, capacity=1, status="planned")
    asked = [registrations.register_public(planned, PersonDetails(first_name=first, last_name="Test", email=email),
                                           "personal").enrolment for first, email in
             (("Nadia", "nadia@example.org"), ("Julien", "julien@example.org"))]
    db.session.commit()
    outbox.clear()
    session_service.update_session(planned, session_service.SessionData(
        programme=planned.programme, start_at=planned.start_at, end_at=planned.end_at, capacity=1, status="open",
        place=planned.place, price_cents=planned.price_cents))
    db.session.commit()
    assert [e.status for e in asked] == ["requested", "confirmed"]
    office = [m for m in outbox if "Place non donnée" in m.subject]
    assert len(office) == 1 and REFUSAL.format(title=week.title) in office[0].body
    assert not [m for m in outbox if "nadia@example.org" in m.to]


@pytest.mark.parametrize("opening", [False, True])
def test_the_waiting_list_is_checked_in_one_statement_however_many_are_passed_over(outbox, opening):
    """A freed seat (or the opening) goes through the queue checking double bookings in one statement: besides
    each one's history entry, the statements run are the same with two or five people passed over."""
    from training_app.services import sessions as session_service

    def waits(morning, trainee) -> Enrolment:
        if not opening:
            return factories.enrol(morning, trainee)
        return registrations.register_public(morning, PersonDetails(
            first_name=trainee.first_name, last_name=trainee.last_name, email=trainee.email), "personal").enrolment

    def statements_when_seats_free(passed_over: int) -> int:
        week = factories.make_session()
        morning = factories.make_session(**MORNING, capacity=1, status="planned" if opening else "open")
        seated = None if opening else factories.enrol(morning)
        for _ in range(passed_over):
            trainee = factories.make_trainee()
            factories.enrol(week, trainee)
            waits(morning, trainee)
        next_one = waits(morning, factories.make_trainee())
        db.session.commit()
        with factories.count_queries() as statements:
            if opening:
                session_service.update_session(morning, session_service.SessionData(
                    programme=morning.programme, start_at=morning.start_at, end_at=morning.end_at, capacity=1,
                    status="open", place=morning.place, price_cents=morning.price_cents))
            else:
                enrolments.cancel(seated, "Empêchée")
            db.session.commit()
        office = [m for m in outbox if "Place non donnée" in m.subject]
        assert office and office[-1].body.count("/inscriptions/") == passed_over
        assert next_one.status == "confirmed"
        return len([s for s in statements if not s.lstrip().startswith("INSERT INTO audit_entries")])

    statements_when_seats_free(1)  # the first e-mail also creates the organisation's row
    assert statements_when_seats_free(2) == statements_when_seats_free(5)


def test_a_person_passed_over_is_written_in_their_history_and_the_office_told_once(nadia_seated, outbox):
    """Nadia keeps the first rank: each later freed seat passes her over again, without a new history entry or
    e-mail while nothing happened to her enrolment; once something did (here her funding is recorded), the next
    one tells the office again."""
    from training_app.services import audit

    week, nadia, morning = nadia_seated
    morning.capacity = 2
    db.session.commit()
    seated = [factories.enrol(morning), factories.enrol(morning)]
    nadia_waiting = factories.enrol(morning, nadia)
    after = [factories.enrol(morning) for _ in range(3)]
    outbox.clear()

    def office_mails() -> int:
        return len([m for m in outbox if "Place non donnée" in m.subject])

    enrolments.cancel(seated[0], "Empêchée")
    db.session.commit()
    assert after[0].status == "confirmed" and office_mails() == 1
    [entry] = [e for e in audit.history(nadia_waiting) if e.action == "passed_over"]
    assert entry.reason == REFUSAL.format(title=week.title)
    assert enrolments.action_label("passed_over") == "Place libérée non donnée (déjà inscrit·e aux mêmes heures)"

    enrolments.cancel(seated[1], "Empêchée aussi")
    db.session.commit()
    assert after[1].status == "confirmed" and office_mails() == 1
    assert [e.action for e in audit.history(nadia_waiting)].count("passed_over") == 1

    enrolments.set_funding_mode(nadia_waiting, "personal")
    db.session.commit()
    enrolments.cancel(after[0], "Empêché")
    db.session.commit()
    assert after[2].status == "confirmed" and office_mails() == 2
    assert nadia_waiting.status == "waitlisted" and enrolments.waitlist_position(nadia_waiting) == 1
