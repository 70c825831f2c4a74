"""Once attendance has really begun for a trainee (a signature of theirs not voided, or a record of some minutes
attended: present, late, left early), their enrolment is no longer cancelled nor moved: the office records a
withdrawal. Signing opening (15 minutes before the first half-day) or an absence recorded is no beginning: a trainee
who warned they would not come is still cancelled at 13:50, their seat given to the waiting list, the absence
recorded kept on the sheet. An enrolment cancelled before this rule, kept on the sheet by a record, shows its state
and is expected nowhere; an administrator still corrects its record on the closed sheet.

The reference session starts on Tuesday 5 March 2030 at 14:00 (half-days of 4, 3, 4, 3, 4 and 3 h)."""
from datetime import timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, EnrolmentStatus
from training_app.services import ServiceError, attendance, enrolments
from training_app.services.attendance import AttendanceTotals

BEGUN = "a déjà signé ou été relevé·e présent·e : son inscription ne peut plus être annulée ni déplacée"


def started_course(trainer):
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    other = factories.make_session(programme=session.programme)
    return session, session.slots[0], awa, julien, other


@pytest.mark.parametrize("how", ["present", "signed"])
def test_a_trainee_present_before_the_start_is_neither_cancelled_nor_moved(trainer, admin, how):
    session, slot, _awa, julien, other = started_course(trainer)
    with frozen_at(slot.starts_at - timedelta(minutes=10)):
        if how == "signed":
            attendance.sign(slot, julien, factories.signature_data_url(1), method="device")
        else:
            attendance.mark(slot, julien, how, actor=trainer)
        db.session.commit()
        assert enrolments.attendance_begun(julien) and enrolments.leaves_by_withdrawal(julien)
        for attempt in (lambda: enrolments.cancel(julien, "Ne vient pas", actor=admin),
                        lambda: enrolments.move(julien, other, actor=admin)):
            with pytest.raises(ServiceError, match=BEGUN + ".*Enregistrez plutôt un abandon"):
                attempt()
            db.session.rollback()
        with pytest.raises(ServiceError, match="Votre présence à la formation est déjà enregistrée"):
            enrolments.cancel(julien, "Empêchement", by_trainee=True)
        db.session.rollback()
        enrolments.withdraw(julien, slot.date, "Parti", actor=admin)  # the office's way, from now on
        db.session.commit()
    assert julien.status == EnrolmentStatus.WITHDRAWN and enrolments.seats_taken(session) == 2


def test_a_trainee_who_warned_is_still_cancelled_at_1350_and_the_seat_goes_to_the_waiting_list(trainer, admin):
    """Signing open, nobody marked or signed: not begun. Marked absent (or signed, then marked absent with a
    reason, the signature voided): not begun either; the absence recorded stays, counted nowhere."""
    session, slot, awa, julien, other = started_course(trainer)
    session.capacity = 2
    waiting = factories.make_enrolment(session, factories.make_trainee("Zoé", "Martin"), EnrolmentStatus.WAITLISTED)
    with frozen_at(slot.starts_at - timedelta(minutes=10)):
        assert not enrolments.attendance_begun(awa) and not enrolments.leaves_by_withdrawal(awa)
        with pytest.raises(ServiceError, match="n'a pas encore commencé : annulez plutôt"):
            enrolments.withdraw(awa, slot.date, "Prévenu hier", actor=admin)
        db.session.rollback()
        attendance.sign(slot, julien, factories.signature_data_url(1), method="device")
        attendance.mark(slot, julien, "absent_unjustified", actor=trainer, reason="Signé sur la mauvaise ligne")
        attendance.mark(slot, awa, "absent_unjustified", actor=trainer)
        db.session.commit()
        assert not enrolments.attendance_begun(julien) and not enrolments.attendance_begun(awa)
        promoted = enrolments.cancel(awa, "Prévenu hier", actor=admin)
        enrolments.move(julien, other, actor=admin)
        db.session.commit()
    assert awa.status == EnrolmentStatus.CANCELLED and [e.id for e in promoted] == [waiting.id]
    assert db.session.scalar(db.select(AttendanceRecord.status).where(AttendanceRecord.enrolment_id == awa.id)) \
        == "absent_unjustified"  # kept, shown on the sheet as not expected
    assert attendance.totals_for(awa) == AttendanceTotals(4 * 60, 0, 0, 4 * 60)


def cancelled_on_the_sheet(trainer):
    """Julien was marked present at 13:50, then cancelled (as the rule above now refuses): the record stays."""
    session, slot, awa, julien, _other = started_course(trainer)
    with frozen_at(slot.starts_at - timedelta(minutes=10)):
        attendance.mark(slot, julien, "present", actor=trainer)
        julien.status = EnrolmentStatus.CANCELLED
        db.session.commit()
    return session, slot, awa, julien


def test_a_cancelled_enrolment_kept_by_a_record_is_expected_nowhere(trainer):
    session, slot, awa, julien = cancelled_on_the_sheet(trainer)
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        row = next(r for r in attendance.slot_sheet(slot).rows if r.enrolment.id == julien.id)
        assert not row.expected and not row.signature_missing
        with pytest.raises(ServiceError, match="n'est pas confirmée"):
            attendance.mark(slot, julien, "absent_unjustified", actor=trainer)
        db.session.rollback()
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device")
        db.session.commit()
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        grid = attendance.session_grid(session)
        cells = next(r for r in grid.rows if r.enrolment.id == julien.id).cells
        # its record shows as the sheets print it (present, 4 h), the half-days without one as not expected
        assert [c.state for c in cells] == ["recorded"] + ["not_expected"] * 5 and grid.columns[0].missing == 0
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))  # no "Signature manquante"
        db.session.commit()
    # only the half-day recorded is planned for it, not the session's 21 h
    assert attendance.totals_for_session(session)[julien.id] == AttendanceTotals(4 * 60, 4 * 60, 0, 0)
    assert attendance.totals_for(julien) == AttendanceTotals(4 * 60, 4 * 60, 0, 0)


def closed_with_a_cancelled_record(trainer):
    """As cancelled_on_the_sheet, the half-day's sheet then signed by Awa and closed by the trainer."""
    session, slot, awa, julien = cancelled_on_the_sheet(trainer)
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device")
        db.session.commit()
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))
        db.session.commit()
    return session, slot, julien


def test_an_administrator_corrects_the_record_of_a_cancelled_enrolment_on_the_closed_sheet(trainer, admin):
    _session, slot, julien = closed_with_a_cancelled_record(trainer)
    other = factories.make_attendance_session(trainees=0)[0].slots[0]
    with frozen_at(slot.ends_at + timedelta(days=2)):
        with pytest.raises(ServiceError, match="Indiquez le motif de la correction"):
            attendance.mark(slot, julien, "absent_unjustified", actor=admin)
        db.session.rollback()
        with pytest.raises(ServiceError, match="n'est pas confirmée"):  # a half-day without its record: not ever
            attendance.mark(slot.session.slots[1], julien, "absent_unjustified", actor=admin, reason="Erreur")
        db.session.rollback()
        with pytest.raises(ServiceError, match="n'est pas inscrit"):
            attendance.mark(other, julien, "absent_unjustified", actor=admin, reason="Erreur")
        db.session.rollback()
        attendance.mark(slot, julien, "absent_unjustified", actor=admin, reason="Erreur de ligne : jamais venu")
        db.session.commit()
    assert attendance.totals_for(julien) == AttendanceTotals(4 * 60, 0, 0, 4 * 60)
