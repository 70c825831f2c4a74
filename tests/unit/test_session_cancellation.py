"""Cancelling a whole session: its live enrolments are cancelled (one audit entry each), every trainee is
told after the commit, nobody is promoted, and the session is closed to enrolments and convocations."""
import io
from datetime import datetime, timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment, Organisation, SessionStatus, Signature, Survey, TrainingSession
from training_app.services import ServiceError, attendance, audit, convocations, enrolments, registrations, surveys
from training_app.services import sessions as session_service
from training_app.services.registrations import PersonDetails

REASON = "La formatrice est malade ; la session est reportée à l'automne."


@pytest.fixture
def crowded_session():
    """Capacity 2: two confirmed, one waitlisted, one request, and one enrolment cancelled earlier."""
    organisation = Organisation.get()
    organisation.name, organisation.email, organisation.phone = (
        "Si on s'alliait ?", "sionsalliait@example.org", "02 99 00 00 00")
    programme = factories.make_programme(title="Du dialogue à la négociation")
    session = factories.make_session(programme=programme, capacity=2)  # Tue 5 Mar 2030 14:00 - Fri 8 Mar 12:30
    confirmed = [factories.enrol(session), factories.enrol(session)]
    waitlisted = factories.enrol(session)
    requested = factories.enrol(session, confirm=False)
    earlier = factories.make_enrolment(session, status="cancelled")
    assert [e.status for e in confirmed + [waitlisted, requested]] == [
        "confirmed", "confirmed", "waitlisted", "requested"]
    return session, confirmed, waitlisted, requested, earlier


def _statuses(session) -> dict[int, str]:
    return dict(db.session.execute(db.select(Enrolment.id, Enrolment.status)
                                   .where(Enrolment.session_id == session.id)).all())


def _audit_count() -> int:
    return db.session.scalar(db.select(db.func.count(AuditEntry.id)))


def test_every_live_enrolment_is_cancelled_with_an_audit_entry_and_nobody_is_promoted(crowded_session, outbox):
    session, confirmed, waitlisted, requested, earlier = crowded_session
    admin = factories.make_user("admin", name="Claire Bernard")
    live = confirmed + [waitlisted, requested]
    before = {e.id: e.status for e in live}

    cancelled = session_service.cancel_session(session, f"  {REASON}  ", actor=admin)
    db.session.commit()

    assert sorted(e.id for e in cancelled) == sorted(e.id for e in live)
    assert session.status == SessionStatus.CANCELLED
    assert _statuses(session) == {**{e.id: "cancelled" for e in live}, earlier.id: "cancelled"}
    for enrolment in live:
        entries = audit.history(enrolment)
        last = entries[-1]
        assert (last.action, last.from_state, last.to_state, last.reason, last.who) == (
            "session_cancelled", before[enrolment.id], "cancelled", REASON, "Claire Bernard")
        assert [e.action for e in entries].count("session_cancelled") == 1
        assert enrolment.status_reason == REASON and enrolment.cancelled_at is not None
    assert audit.history(earlier) == []  # already closed: left as it was
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "promoted")) == 0
    session_entry = audit.history(session)[-1]
    assert (session_entry.action, session_entry.from_state, session_entry.to_state, session_entry.reason) == (
        "cancelled", "full", "cancelled", REASON)
    assert session_entry.details == {"enrolments_cancelled": 4}
    assert session_service.cancellation(session).id == session_entry.id
    assert enrolments.promote_waitlist(session) == []


def test_one_french_email_per_trainee_leaves_only_after_the_commit(crowded_session, outbox):
    session, confirmed, waitlisted, requested, _earlier = crowded_session
    session_service.cancel_session(session, REASON)
    assert outbox == []  # nothing leaves before the commit
    db.session.commit()

    live = confirmed + [waitlisted, requested]
    assert sorted(m.to[0] for m in outbox) == sorted(e.trainee.email for e in live)
    assert len(outbox) == 4
    by_address = {m.to[0]: m for m in outbox}
    for enrolment in live:
        message = by_address[enrolment.trainee.email]
        assert message.subject == "Session annulée : Du dialogue à la négociation"
        assert message.tag == f"session_cancelled:{enrolment.id}"
        body = message.body
        assert f"Bonjour {enrolment.trainee.full_name}," in body
        assert "« Du dialogue à la négociation » prévue du 05/03/2030 à 14h00 au 08/03/2030 à 12h30 est annulée" \
            in body
        assert f"Motif : {REASON}" in body
        assert "Si on s'alliait ? — sionsalliait@example.org — 02 99 00 00 00" in body
        assert "/moi/" in body
    assert "la convocation que vous avez pu recevoir n'est plus valable" in by_address[confirmed[0].trainee.email].body
    assert "liste d'attente est donc annulée" in by_address[waitlisted.trainee.email].body
    assert "demande d'inscription est donc annulée" in by_address[requested.trainee.email].body


def test_a_rolled_back_cancellation_changes_nothing_and_mails_nobody(crowded_session, outbox):
    session, *_rest = crowded_session
    before, entries = _statuses(session), _audit_count()
    session_service.cancel_session(session, REASON)
    db.session.rollback()
    db.session.commit()
    db.session.expire_all()
    assert session.status == SessionStatus.FULL
    assert _statuses(session) == before and _audit_count() == entries
    assert outbox == []


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(crowded_session, outbox, reason):
    session, *_rest = crowded_session
    before, entries = _statuses(session), _audit_count()
    with pytest.raises(ServiceError, match="Indiquez le motif de l'annulation.") as refused:
        session_service.cancel_session(session, reason)
    assert refused.value.field == "reason"
    db.session.commit()
    db.session.expire_all()
    assert session.status == SessionStatus.FULL and _statuses(session) == before and _audit_count() == entries
    assert outbox == []


def test_a_session_that_has_ended_or_is_already_cancelled_is_refused_and_nothing_changes(outbox):
    past = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30),
                                  status="completed")
    enrolment = factories.make_enrolment(past)
    over_but_open = factories.make_session(start=datetime(2019, 1, 8, 9, 30), end=datetime(2019, 1, 8, 18))
    entries = _audit_count()
    for session in (past, over_but_open):
        with pytest.raises(ServiceError, match="Cette session est terminée : elle ne peut plus être annulée."):
            session_service.cancel_session(session, REASON)
        db.session.rollback()
    db.session.expire_all()
    assert (past.status, over_but_open.status, enrolment.status) == ("completed", "open", "confirmed")

    upcoming = factories.make_session()
    factories.enrol(upcoming)
    session_service.cancel_session(upcoming, REASON)
    db.session.commit()
    outbox.clear()
    entries = _audit_count()
    with pytest.raises(ServiceError, match="Cette session est déjà annulée."):
        session_service.cancel_session(upcoming, "Une seconde fois")
    db.session.rollback()
    assert _audit_count() == entries and outbox == []


def test_a_running_session_can_still_be_cancelled_before_its_end(outbox):
    session = factories.make_session()  # Tue 5 Mar 2030 14:00 - Fri 8 Mar 12:30
    enrolment = factories.enrol(session)
    with frozen_at(datetime(2030, 3, 8, 12, 0)):
        assert session_service.cancellation_refusal(session) is None
        session_service.cancel_session(session, REASON)
    db.session.commit()
    assert (session.status, enrolment.status) == ("cancelled", "cancelled")
    assert len(outbox) == 1
    with frozen_at(datetime(2030, 3, 8, 12, 30)):
        assert "terminée" in session_service.cancellation_refusal(factories.make_session())


def test_a_session_whose_attendance_was_taken_cannot_be_cancelled(outbox):
    trainer = factories.make_user("trainer")
    session = factories.make_session(trainers=[trainer])
    enrolment = factories.enrol(session)
    factories.take_attendance(session, trainer)
    db.session.commit()
    outbox.clear()
    with frozen_at(datetime(2030, 3, 8, 12, 0)), pytest.raises(ServiceError, match="Des présences ont déjà été"):
        session_service.cancel_session(session, REASON)
    db.session.rollback()
    assert (session.status, enrolment.status) == ("open", "confirmed") and outbox == []


def test_a_session_where_nobody_attended_can_still_be_cancelled(outbox):
    """Absences marked, or a signature voided (signed in the wrong row, then marked absent with a reason), are no
    attendance: nobody's hours are evidence (enrolments.attendance_begun), so the session can still be cancelled.
    The records stay on the sheet as they were."""
    trainer = factories.make_user("trainer")
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        attendance.sign(slot, julien, factories.signature_data_url(1), method="device")
        attendance.mark(slot, julien, "absent_unjustified", actor=trainer, reason="Signé sur la mauvaise ligne")
        attendance.mark(slot, awa, "absent_justified", actor=trainer, justification="Malade")
        db.session.commit()
        assert session_service.cancellation_refusal(session) is None
        cancelled = session_service.cancel_session(session, REASON)
    db.session.commit()
    assert sorted(e.id for e in cancelled) == sorted([awa.id, julien.id])
    assert (session.status, awa.status, julien.status) == ("cancelled", "cancelled", "cancelled")
    voided = db.session.scalars(db.select(Signature).where(Signature.enrolment_id == julien.id)).all()
    assert len(voided) == 1 and voided[0].voided_at is not None


@pytest.mark.parametrize("how", ["present", "late", "signed"])
def test_one_real_presence_keeps_the_session_from_being_cancelled(outbox, how):
    trainer = factories.make_user("trainer")
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        attendance.mark(slot, awa, "absent_unjustified", actor=trainer)
        if how == "signed":
            attendance.sign(slot, julien, factories.signature_data_url(1), method="device")
        elif how == "late":
            attendance.mark(slot, julien, how, actor=trainer, arrival=slot.start_time.replace(minute=5))
        else:
            attendance.mark(slot, julien, how, actor=trainer)
        db.session.commit()
        assert "Des présences ont déjà été relevées" in session_service.cancellation_refusal(session)
        with pytest.raises(ServiceError, match="Des présences ont déjà été"):
            session_service.cancel_session(session, REASON)
    db.session.rollback()
    assert (session.status, awa.status, julien.status) == ("open", "confirmed", "confirmed") and outbox == []


def test_a_cancelled_session_refuses_enrolments_public_registrations_and_convocations(crowded_session, outbox):
    session, confirmed, waitlisted, _requested, _earlier = crowded_session
    session_service.cancel_session(session, REASON)
    db.session.commit()
    outbox.clear()

    with pytest.raises(ServiceError, match="Cette session est annulée : on ne peut plus s'y inscrire."):
        enrolments.enrol(session, factories.make_trainee())
    db.session.rollback()
    with pytest.raises(ServiceError, match="Seule une demande ou une inscription en liste d'attente"):
        enrolments.confirm(waitlisted)  # it was cancelled with the session
    db.session.rollback()
    elsewhere = factories.enrol(factories.make_session(programme=session.programme, start=datetime(2030, 5, 7, 9, 30),
                                                       end=datetime(2030, 5, 7, 18)))
    with pytest.raises(ServiceError, match="Cette session est annulée : on ne peut plus s'y inscrire."):
        enrolments.move(elsewhere, session)
    db.session.rollback()

    assert registrations.public_state(session) == "closed"
    details = PersonDetails(first_name="Awa", last_name="Diallo", email="awa.diallo@example.org")
    with pytest.raises(ServiceError, match="Les inscriptions à cette session sont closes."):
        registrations.register_public(session, details, "personal")
    db.session.rollback()

    with pytest.raises(ServiceError, match="Cette session est annulée : pas de convocation."):
        convocations.send_all(session)
    db.session.rollback()
    with pytest.raises(ServiceError):
        convocations.send(confirmed[0])
    db.session.rollback()
    assert not convocations.still_valid(confirmed[0])

    assert db.session.scalar(db.select(db.func.count(Enrolment.id)).where(Enrolment.session_id == session.id)) == 5
    assert elsewhere.status == "confirmed"
    assert outbox == []


def test_the_session_form_cannot_cancel_nor_reopen_a_session(crowded_session, outbox):
    session, *_rest = crowded_session
    before = _statuses(session)

    def data(status):
        return session_service.SessionData(programme=session.programme, start_at=session.start_at,
                                           end_at=session.end_at, capacity=session.capacity, status=status,
                                           place=session.place)

    with pytest.raises(ServiceError, match="« Annuler la session »") as refused:
        session_service.update_session(session, data("cancelled"))
    assert refused.value.field == "status"
    db.session.rollback()
    db.session.expire_all()
    assert session.status == SessionStatus.FULL and _statuses(session) == before

    session_service.cancel_session(session, REASON)
    db.session.commit()
    with pytest.raises(ServiceError, match="ne peut pas être rouverte"):
        session_service.update_session(session, data("open"))
    db.session.rollback()
    db.session.expire_all()
    assert session.status == SessionStatus.CANCELLED
    session_service.update_session(session, data("cancelled"))  # other details can still be corrected
    db.session.commit()
    assert session.status == SessionStatus.CANCELLED


def test_the_enrolment_side_only_runs_for_a_cancelled_session(crowded_session):
    session, *_rest = crowded_session
    before = _statuses(session)
    with pytest.raises(ServiceError, match="La session doit d'abord être annulée."):
        enrolments.cancel_for_cancelled_session(session, REASON)
    db.session.rollback()
    assert _statuses(session) == before


@pytest.mark.postgres_only
def test_a_double_click_cancels_once_and_mails_each_trainee_once(app, outbox):
    from tests.conftest import is_postgres
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    session = factories.make_session(capacity=1)
    made = [factories.enrol(session), factories.enrol(session)]
    session_id = session.id

    def click():
        return len(session_service.cancel_session(db.session.get(TrainingSession, session_id), REASON))

    results, errors = factories.run_together(app, click, click)
    assert errors == [] and 2 in results
    assert any(isinstance(r, ServiceError) and r.message == "Cette session est déjà annulée." for r in results)
    assert sorted(m.to[0] for m in outbox) == sorted(e.trainee.email for e in made)
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id))
                             .where(AuditEntry.action == "session_cancelled")) == 2


@pytest.mark.postgres_only
def test_a_registration_at_the_moment_of_the_cancellation_leaves_no_live_enrolment(app, outbox):
    from tests.conftest import is_postgres
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    session = factories.make_session()
    session_id = session.id

    def cancel():
        return session_service.cancel_session(db.session.get(TrainingSession, session_id), REASON)

    def register():
        details = PersonDetails(first_name="Awa", last_name="Diallo", email="awa.diallo@example.org")
        return registrations.register_public(db.session.get(TrainingSession, session_id), details, "personal")

    results, errors = factories.run_together(app, cancel, register)
    assert errors == []
    db.session.expire_all()
    assert db.session.get(TrainingSession, session_id).status == "cancelled"
    statuses = db.session.scalars(db.select(Enrolment.status).where(Enrolment.session_id == session_id)).all()
    assert set(statuses) <= {"cancelled"}
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(statuses) + len(refused) == 1  # registered then cancelled, or refused


def test_a_cancelled_session_expects_no_signature_and_its_sheets_are_not_closed(outbox):
    trainer = factories.make_user("trainer")
    session, _enrolments = factories.make_attendance_session(trainees=2, trainers=(trainer,))
    with frozen_at(datetime(2030, 2, 20, 9, 0)):
        session_service.cancel_session(session, REASON)
    db.session.commit()
    slot = session.slots[0]
    with frozen_at(datetime(2030, 4, 1, 9, 0)):
        grid = attendance.session_grid(session)
        assert grid.missing == 0 and not any(c.trainer_missing for c in grid.columns)
        assert attendance.signable_slot(session) is None
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        assert attendance.signable_slot(session) is None
        with pytest.raises(ServiceError, match="Cette session est annulée : ses demi-journées ne s'émargent pas."):
            attendance.close_slot(slot, trainer, factories.signature_data_url(9))
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


def test_neither_a_cancelled_nor_an_ended_session_gets_a_positioning_questionnaire(crowded_session, outbox):
    cancelled = crowded_session[0]
    ended = factories.make_session(programme=cancelled.programme)  # Tue 5 Mar 2030 - Fri 8 Mar 12:30
    with frozen_at(datetime(2030, 2, 20, 9, 0)):
        session_service.cancel_session(cancelled, REASON)
        db.session.commit()
        with pytest.raises(ServiceError, match="Cette session est annulée : elle n'a pas de questionnaire"):
            surveys.attach_positioning(cancelled)
        db.session.rollback()
    with frozen_at(datetime(2030, 3, 8, 12, 30)):
        with pytest.raises(ServiceError, match="Cette session est terminée : le positionnement se fait avant"):
            surveys.attach_positioning(ended)
        db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 0
    with frozen_at(datetime(2030, 3, 8, 12, 0)):  # still running: trainees may still position themselves
        assert surveys.positioning_refusal(ended) is None


def test_a_cancelled_session_gets_no_questionnaire_and_no_scan_of_a_sheet(crowded_session, outbox):
    from werkzeug.datastructures import FileStorage
    cancelled = crowded_session[0]
    admin = factories.make_user("admin")
    questionnaire = surveys.ensure_default_satisfaction()
    with frozen_at(datetime(2030, 2, 20, 9, 0)):
        session_service.cancel_session(cancelled, REASON)
        db.session.commit()
        with pytest.raises(ServiceError, match="Cette session est annulée : elle n'a pas de questionnaire."):
            surveys.attach(cancelled, questionnaire)
        db.session.rollback()
        scan = FileStorage(io.BytesIO(b"%PDF-1.4 feuille papier"), filename="feuille.pdf")
        with pytest.raises(ServiceError, match="Cette session est annulée : ses demi-journées ne s'émargent pas."):
            attendance.attach_scan(cancelled.slots[0], scan, admin)
        db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 0
