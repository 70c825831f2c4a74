"""A trainee enrolled while the session runs is expected from the half-days not yet over when their
enrolment was confirmed and whose sheet was not closed then: the half-days before are neither planned for
them nor missing signatures.

The reference session (Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30, half-days of 4, 3, 4, 3, 4 and 3 h):
Zoé is enrolled on Wednesday 6 at 8:00, after Tuesday afternoon's sheet was closed.
"""
import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from tests import factories
from training_app.clock import frozen_at, utcnow
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.services import ServiceError, attendance, enrolments
from training_app.services.attendance import AttendanceTotals


def run_slot(slot, present, trainer):
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        for i, enrolment in enumerate(present):
            attendance.sign(slot, enrolment, factories.signature_data_url(i), method="device", actor=trainer)
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        attendance.close_slot(slot, trainer, factories.signature_data_url(99))
    db.session.commit()


def late_course(trainer, admin):
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    run_slot(session.slots[0], [awa], trainer)
    with frozen_at(datetime(2030, 3, 6, 8, 0)):
        zoe = enrolments.enrol(session, factories.make_trainee("Zoé", "Tardive"), actor=admin)
        db.session.commit()
    assert zoe.status == "confirmed"
    return session, awa, zoe


def test_the_half_days_over_before_the_enrolment_are_not_expected_of_the_trainee(trainer, admin):
    session, awa, zoe = late_course(trainer, admin)
    first = session.slots[0]
    assert [row.enrolment for row in attendance.slot_sheet(first).rows] == [awa]
    assert attendance.before_enrolment(first, zoe.confirmed_at)
    assert not attendance.before_enrolment(session.slots[1], zoe.confirmed_at)
    with frozen_at(datetime(2030, 3, 6, 8, 0)):
        grid = attendance.session_grid(session)
    row = next(r for r in grid.rows if r.enrolment == zoe)
    assert [c.state for c in row.cells] == ["not_enrolled"] + ["upcoming"] * 5
    assert grid.missing == 0 and grid.columns[0].missing == 0
    assert attendance.totals_for(zoe) == AttendanceTotals(17 * 60, 0, 0, 0)
    for slot in session.slots[1:]:
        run_slot(slot, [awa, zoe], trainer)
    assert attendance.totals_for(zoe) == AttendanceTotals(17 * 60, 17 * 60, 0, 0)
    assert attendance.totals_for_session(session)[zoe.id] == AttendanceTotals(17 * 60, 17 * 60, 0, 0)
    assert attendance.totals_for_session(session)[awa.id] == AttendanceTotals(21 * 60, 21 * 60, 0, 0)
    workbook = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    cells = next(r for r in workbook.active.iter_rows(values_only=True) if r[0] == zoe.trainee.full_name)
    assert cells[2] == "pas encore inscrit·e" and cells[-1] == 0


def test_a_late_trainee_who_withdraws_keeps_planned_equal_to_attended_plus_absences(trainer, admin):
    session, awa, zoe = late_course(trainer, admin)
    run_slot(session.slots[1], [awa, zoe], trainer)           # Wednesday morning, 3 h
    with frozen_at(datetime(2030, 3, 6, 13, 0)):
        enrolments.withdraw(zoe, date(2030, 3, 6), "Reprise d'un emploi")
        db.session.commit()
    for slot in session.slots[2:]:
        run_slot(slot, [awa], trainer)
    totals = attendance.totals_for(zoe)
    assert totals == AttendanceTotals(17 * 60, 3 * 60, 0, 14 * 60)
    assert totals.planned_minutes == (totals.attended_minutes + totals.absent_justified_minutes
                                      + totals.absent_unjustified_minutes)
    assert attendance.totals_for_session(session)[zoe.id] == totals
    states = [c.state for c in next(r for r in attendance.session_grid(session).rows if r.enrolment == zoe).cells]
    assert states == ["not_enrolled", "signed"] + ["withdrawn"] * 4


def test_a_record_wins_over_the_rule(trainer, admin):
    session, _awa, zoe = late_course(trainer, admin)
    with frozen_at(datetime(2030, 3, 6, 9, 0)):
        attendance.mark(session.slots[0], zoe, "present", actor=admin, reason="Présente dès mardi, inscrite en retard")
        db.session.commit()
    assert attendance.totals_for(zoe) == AttendanceTotals(21 * 60, 4 * 60, 0, 0)
    assert zoe in [row.enrolment for row in attendance.slot_sheet(session.slots[0]).rows]


def confirmed_after_the_sheet_closed(trainer, admin):
    """Zoé is confirmed at 17:58 on Tuesday: the half-day (14:00-18:00) is not over, but the trainer closed its
    sheet at 17:55 (trainers close up to 30 minutes before the end): nobody can sign nor mark her there."""
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    first = session.slots[0]
    run_slot(first, [awa], trainer)
    with frozen_at(first.ends_at - timedelta(minutes=2)):
        zoe = enrolments.enrol(session, factories.make_trainee("Zoé", "Tardive"), actor=admin)
        db.session.commit()
    assert zoe.status == "confirmed" and attendance.slot_sheet(first).is_closed
    return session, awa, zoe


def test_a_half_day_closed_before_the_enrolment_is_not_expected_of_the_trainee_until_reopened(trainer, admin):
    session, awa, zoe = confirmed_after_the_sheet_closed(trainer, admin)
    first = session.slots[0]
    assert attendance.before_enrolment(first, zoe.confirmed_at, attendance.slot_sheet(first).sheet.closed_at)
    assert not attendance.before_enrolment(first, zoe.confirmed_at)  # the half-day itself was not over
    assert [row.enrolment for row in attendance.slot_sheet(first).rows] == [awa]
    for slot in session.slots[1:]:
        run_slot(slot, [awa, zoe], trainer)
    totals = attendance.totals_for(zoe)
    assert totals == AttendanceTotals(17 * 60, 17 * 60, 0, 0)
    assert attendance.totals_for_session(session)[zoe.id] == totals
    row = next(r for r in attendance.session_grid(session).rows if r.enrolment == zoe)
    assert [c.state for c in row.cells] == ["not_enrolled"] + ["signed"] * 5 and row.totals == totals
    assert attendance.open_slots(session) == []
    workbook = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    cells = next(r for r in workbook.active.iter_rows(values_only=True) if r[0] == zoe.trainee.full_name)
    assert cells[2] == "pas encore inscrit·e"
    # Reopened (someone saw her there), the half-day is expected of her: she is marked before it closes again.
    with frozen_at(datetime(2030, 3, 8, 14, 0)):
        attendance.reopen_slot(first, admin, "Zoé était là dès mardi")
        db.session.commit()
        assert [row.enrolment for row in attendance.slot_sheet(first).rows] == [awa, zoe]
        assert attendance.totals_for(zoe).planned_minutes == 21 * 60
        with pytest.raises(ServiceError, match="Zoé Tardive"):
            attendance.close_slot(first, admin, reason="Clôture après correction")
        db.session.rollback()
        attendance.mark(first, zoe, "absent_unjustified", actor=admin)
        attendance.close_slot(first, admin, reason="Clôture après correction")
        db.session.commit()
    assert attendance.totals_for(zoe) == AttendanceTotals(21 * 60, 17 * 60, 0, 4 * 60)


def confirmed_after_the_first_half_day(trainer):
    """Awa is confirmed from the start; Zoé's enrolment is confirmed at 18:10, after Tuesday's 14:00-18:00."""
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    first = session.slots[0]
    zoe = factories.make_enrolment(session)
    with frozen_at(first.ends_at + timedelta(minutes=10)):
        zoe.confirmed_at = utcnow()
        db.session.commit()
    return session, first, zoe


@pytest.mark.parametrize("status", ["absent_unjustified", "present"])
def test_a_half_day_over_before_the_enrolment_cannot_be_marked(trainer, status):
    session, first, zoe = confirmed_after_the_first_half_day(trainer)
    with frozen_at(first.ends_at + timedelta(minutes=20)):
        with pytest.raises(ServiceError, match="n'était pas encore inscrit·e pour cette demi-journée "
                                               r"\(inscription confirmée le 05/03/2030 à 18h10\)"):
            attendance.mark(first, zoe, status, actor=trainer)
        db.session.rollback()
    assert attendance.totals_for(zoe) == AttendanceTotals(17 * 60, 0, 0, 0)  # no 4 h of unjustified absence
    with frozen_at(session.slots[1].starts_at + timedelta(minutes=5)):  # the half-days after: as anyone
        attendance.mark(session.slots[1], zoe, "absent_unjustified", actor=trainer)
        db.session.commit()
    assert attendance.totals_for(zoe) == AttendanceTotals(17 * 60, 0, 0, 3 * 60)


def test_the_office_may_still_correct_a_closed_sheet_before_the_enrolment(trainer, admin):
    """An administrator's correction of the closed sheet, with a reason, is theirs to make (mark's `correcting`)."""
    session, awa, zoe = late_course(trainer, admin)
    first = session.slots[0]
    with frozen_at(datetime(2030, 3, 6, 9, 0)):
        attendance.mark(first, zoe, "present", actor=admin, reason="Présente mardi, inscrite le lendemain")
        db.session.commit()
    assert attendance.totals_for(zoe) == AttendanceTotals(21 * 60, 4 * 60, 0, 0)
