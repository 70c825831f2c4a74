"""The demo's past session: signed and closed every half-day, one afternoon absence (17 h out of 21)."""
import io

from docx import Document

from training_app import demo
from training_app.clock import to_local
from training_app.demo import attendance as attendance_demo
from training_app.demo.sessions import past_session
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import AttendanceSheet, AttendanceSheetVersion, Signature
from training_app.services import attendance


def test_demo_attendance_tells_the_story_of_the_past_session():
    demo.seed()
    session = past_session()
    totals = attendance.totals_for_session(session)
    hours = sorted(t.attended_minutes / 60 for t in totals.values())
    assert len(totals) == 12 and hours == [17] + [21] * 11
    absent = next(t for t in totals.values() if t.attended_minutes == 17 * 60)
    assert absent.absent_justified_minutes == 4 * 60
    assert attendance.open_slots(session) == []
    slots = {slot.id: slot for slot in session.slots}
    signatures = db.session.scalars(db.select(Signature)).all()
    assert len(signatures) == 12 * 6 - 1 + 6
    for signature in signatures:  # signed while the half-day was open, on the day for trainers
        slot = slots[signature.slot_id]
        opens, closes = attendance.signing_window(slot)
        assert opens <= to_local(signature.signed_at) <= closes
    assert {s.method for s in signatures} == {"device", "qr"}

    versions = (db.select(db.func.count(AttendanceSheetVersion.id)).join(AttendanceSheet)
                .where(AttendanceSheet.slot_id.in_(slots)))  # the past session's (the paper one has its own)
    count = db.session.scalar(versions)
    attendance_demo.seed()
    demo.seed()
    assert db.session.scalar(versions) == count == 6

    document = Document(io.BytesIO(attendance_sheet.word_sheet(session)))
    assert len(document.inline_shapes) == len(signatures)
    names = [row.cells[0].text for row in document.tables[0].rows]
    assert names[1] == "M. Karim BENALI\nAssociation Habitat et Humanisme 35" and len(names) == 1 + 12 + 1
