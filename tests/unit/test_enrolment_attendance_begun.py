"""Once attendance has begun for a trainee (signing opens 15 minutes before the first half-day, or a record or a
signature of theirs exists), their enrolment is no longer cancelled nor moved: the office records a withdrawal.
An enrolment cancelled before this rule, kept on the sheet by a record, shows its state and is expected nowhere.

The reference session starts on Tuesday 5 March 2030 at 14:00 (half-days of 4, 3, 4, 3, 4 and 3 h)."""
from datetime import timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import EnrolmentStatus
from training_app.services import ServiceError, attendance, enrolments
from training_app.services.attendance import AttendanceTotals

BEGUN = "L'émargement a commencé pour"


def started_course(trainer):
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    other = factories.make_session(programme=session.programme)
    return session, session.slots[0], awa, julien, other


def test_a_trainee_marked_before_the_start_is_neither_cancelled_nor_moved(trainer, admin):
    session, slot, _awa, julien, other = started_course(trainer)
    with frozen_at(slot.starts_at - timedelta(minutes=10)):
        attendance.mark(slot, julien, "absent_unjustified", actor=trainer)
        db.session.commit()
        for attempt in (lambda: enrolments.cancel(julien, "Ne vient pas", actor=admin),
                        lambda: enrolments.move(julien, other, actor=admin)):
            with pytest.raises(ServiceError, match=BEGUN + " .*Enregistrez plutôt un abandon"):
                attempt()
            db.session.rollback()
        with pytest.raises(ServiceError, match="L'émargement de la formation a commencé : votre inscription"):
            enrolments.cancel(julien, "Empêchement", by_trainee=True)
        db.session.rollback()
        enrolments.withdraw(julien, slot.date, "Ne vient pas", actor=admin)  # the office's way, from now on
        db.session.commit()
    assert julien.status == EnrolmentStatus.WITHDRAWN and enrolments.seats_taken(session) == 2
    assert attendance.totals_for(julien) == AttendanceTotals(21 * 60, 0, 0, 21 * 60)


def test_signing_open_is_enough_even_before_any_record(trainer, admin):
    session, slot, awa, julien, other = started_course(trainer)
    with frozen_at(slot.starts_at - timedelta(minutes=16)):  # signing not open yet: cancelled as before
        assert not enrolments.attendance_begun(awa)
        enrolments.move(awa, other, actor=admin)
        db.session.commit()
    with frozen_at(slot.starts_at - timedelta(minutes=15)):
        assert enrolments.attendance_begun(julien) and enrolments.leaves_by_withdrawal(julien)
        with pytest.raises(ServiceError, match=BEGUN):
            enrolments.cancel(julien, "Ne vient pas", actor=admin)
        db.session.rollback()
    assert julien.status == EnrolmentStatus.CONFIRMED


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
        assert [c.state for c in cells] == ["not_expected"] * 6 and grid.columns[0].missing == 0
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))  # no "Signature manquante"
        db.session.commit()
    # only the half-day recorded is planned for it, not the session's 21 h
    assert attendance.totals_for_session(session)[julien.id] == AttendanceTotals(4 * 60, 4 * 60, 0, 0)
    assert attendance.totals_for(julien) == AttendanceTotals(4 * 60, 4 * 60, 0, 0)
