"""The demo's session recorded afterwards from its paper sheets: five trainees, every half-day's statuses entered
by the office, each sheet closed with its scan (a real PDF); Margot Hamon absent the second morning (11 h of 14);
seeding twice changes nothing."""
from datetime import date

from tests import factories
from training_app import demo
from training_app.clock import local_now
from training_app.demo.paper import held_on, paper_session
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import AttendanceRecord, AttendanceSheet, Signature, TrainingSession
from training_app.services import attendance, convocations


def test_demo_paper_session():
    demo.seed()
    session = paper_session()
    assert session.recorded_afterwards and not attendance.signs_in_app(session)
    held = session.start_at.date()
    assert held.weekday() == 1 and (local_now().date() - held).days >= 21
    assert len(session.slots) == 4 and session.planned_minutes == 14 * 60
    totals = attendance.totals_for_session(session)
    attended = {e.trainee.full_name: totals[e.id].attended_minutes for e in convocations.confirmed_enrolments(session)}
    assert len(attended) == 5 and attended.pop("Margot Hamon") == 11 * 60
    assert set(attended.values()) == {14 * 60}
    sheets = db.session.scalars(db.select(AttendanceSheet).where(
        AttendanceSheet.slot_id.in_([slot.id for slot in session.slots]))).all()
    assert len(sheets) == 4 and all(sheet.is_closed for sheet in sheets)
    assert all(storage.read(sheet.scan_path).startswith(b"%PDF") for sheet in sheets)
    assert not db.session.scalar(db.select(db.func.count(Signature.id)).where(
        Signature.slot_id.in_([slot.id for slot in session.slots])))  # the scans stand for the signatures

    counts = [db.session.scalar(db.select(db.func.count()).select_from(model))
              for model in (TrainingSession, AttendanceRecord, AttendanceSheet)]
    demo.seed()
    assert [db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (TrainingSession, AttendanceRecord, AttendanceSheet)] == counts


def test_it_is_held_on_a_tuesday_three_weeks_back_avoiding_holidays_christmas_and_other_sessions():
    assert held_on(date(2026, 11, 24)) == date(2026, 11, 3)
    assert held_on(date(2026, 12, 1)) == date(2026, 11, 3)  # not Tue 10 November: the 11th is a public holiday
    assert held_on(date(2027, 1, 20)) == date(2026, 12, 8)  # not over Christmas
    factories.make_session()  # Tue 5 March 2030 14:00 to Fri 8 March
    assert held_on(date(2030, 3, 26)) == date(2030, 2, 26)  # a demo seeded weeks ago has other sessions then
