"""Past session (11-14 December 2018): the twelve trainees signed every half-day (most on the room's
tablet, some with the QR code on their phone) and the trainers signed and closed each sheet.
Karim Benali was absent, with a medical justification, on Thursday afternoon (4 h): 17 h out of 21.
"""
import hashlib
import io
from datetime import date, time, timedelta

from PIL import Image, ImageDraw

from training_app.clock import frozen_at
from training_app.demo.sessions import past_session
from training_app.extensions import db
from training_app.models import AttendanceSheet, Enrolment, EnrolmentStatus, SignatureMethod
from training_app.services import attendance

ABSENT_EMAIL = "karim.benali@demo.example.org"
ABSENT_SLOT = (date(2018, 12, 13), time(14, 0))
ROOM_TABLET = "Mozilla/5.0 (iPad; CPU OS 12_1 like Mac OS X) Safari — tablette de la salle"
PHONE = "Mozilla/5.0 (Linux; Android 8.0) Chrome Mobile — téléphone personnel"


def signature_png(name: str) -> bytes:
    """A simple pen stroke, different for each name: a stand-in for a drawn signature."""
    digest = hashlib.sha256(name.encode()).digest()
    image = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 20, 60 + (digest[i] % 60) - 30) for i in range(16)]
    draw.line(points, fill=(16, 34, 77, 255), width=4, joint="curve")
    draw.line([(30, 95), (20 + 15 * 20, 90 - digest[20] % 20)], fill=(16, 34, 77, 255), width=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _data_url(name: str) -> str:
    import base64
    return "data:image/png;base64," + base64.b64encode(signature_png(name)).decode()


def seed() -> None:
    session = past_session()
    if session is None:
        return
    slot_ids = [slot.id for slot in session.slots]
    if db.session.scalar(db.select(AttendanceSheet.id).where(AttendanceSheet.slot_id.in_(slot_ids)).limit(1)):
        return
    enrolments = db.session.scalars(
        db.select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Enrolment.id)).all()
    trainers = list(session.trainers)
    for index, slot in enumerate(session.slots):
        trainer = trainers[index % len(trainers)]
        for n, enrolment in enumerate(enrolments):
            if enrolment.trainee.email == ABSENT_EMAIL and (slot.date, slot.start_time) == ABSENT_SLOT:
                with frozen_at(slot.starts_at + timedelta(minutes=20)):
                    attendance.mark(slot, enrolment, "absent_justified", actor=trainer,
                                    justification="Rendez-vous médical (certificat transmis à l'employeur)")
                continue
            by_phone = n % 4 == 3
            with frozen_at(slot.starts_at - timedelta(minutes=10) + timedelta(seconds=75 * n)):
                attendance.sign(slot, enrolment, _data_url(enrolment.trainee.full_name),
                                method=SignatureMethod.QR if by_phone else SignatureMethod.DEVICE,
                                actor=None if by_phone else trainer,
                                ip_address=f"192.168.1.{40 + n if by_phone else 20}",
                                user_agent=PHONE if by_phone else ROOM_TABLET)
        with frozen_at(slot.ends_at - timedelta(minutes=5)):
            attendance.close_slot(slot, trainer, _data_url(trainer.name), ip_address="192.168.1.20",
                                  user_agent=ROOM_TABLET)
        db.session.flush()
