"""The demo's session recorded afterwards from its paper sheets: five trainees, every half-day's statuses entered
by the office, each sheet closed with its scan (a real PDF); Margot Hamon absent the second morning (11 h of 14);
seeding twice changes nothing."""
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
    assert session.start_at.date() == held_on(local_now().date()) and session.start_at.weekday() == 1
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
