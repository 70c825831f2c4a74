"""A session recorded afterwards from its paper sheets (« Session déjà réalisée »): two days of « Les techniques
de mobilisation » held three weeks ago in a partner's room, where the trainees signed paper sheets. The office
entered it once back: the session, its five trainees, each half-day's statuses read off the paper sheet (Margot
Hamon absent the second morning), the sheet's scan attached and the sheet closed. Its certificates are left
for the office to issue."""
import io
from datetime import date, datetime, time, timedelta

from PIL import Image, ImageDraw
from werkzeug.datastructures import FileStorage

from training_app.clock import frozen_at, local_now
from training_app.demo.catalogue import ACCOUNTS, programme_titled
from training_app.demo.people import demo_trainees
from training_app.demo.sessions import _trainers
from training_app.extensions import db
from training_app.models import SessionStatus, Slot, TrainingSession, User
from training_app.services import attendance
from training_app.services import enrolments as enrolment_service
from training_app.services import sessions as session_service

TITLE = "Les techniques de mobilisation : aller-vers, porte-à-porte, tête-à-tête"
PLACE = "Centre social Carrefour 18, 7 rue d'Espagne, 35200 Rennes"
ABSENT = ("Margot", "Hamon")  # absent the second morning, as the paper sheet says


# The fixed public holidays of France (month, day): those based on Easter fall on a Monday or a Thursday
PUBLIC_HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}


def held_on(today: date) -> date:
    """The Tuesday three to four weeks before `today`, or an earlier one while that Tuesday or the Wednesday after
    it is a public holiday, falls in the Christmas break, or is a day of another session of the demo (a demo
    database seeded weeks ago holds earlier upcoming sessions of the reference course, with their trainers and
    trainees)."""
    day = today - timedelta(days=21)
    day -= timedelta(days=(day.weekday() - 1) % 7)
    while not _free(day):
        day -= timedelta(days=7)
    return day


def _free(tuesday: date) -> bool:
    days = (tuesday, tuesday + timedelta(days=1))
    if any((d.month, d.day) in PUBLIC_HOLIDAYS or (d.month, d.day) >= (12, 15) or (d.month, d.day) <= (1, 5)
           for d in days):
        return False
    return not db.session.scalar(db.select(Slot.id).join(TrainingSession).where(
        Slot.date.in_(days), TrainingSession.status != SessionStatus.CANCELLED).limit(1))


def paper_session() -> TrainingSession | None:
    programme = programme_titled(TITLE)
    return db.session.scalar(db.select(TrainingSession).where(
        TrainingSession.programme_id == programme.id, TrainingSession.recorded_afterwards.is_(True)))


def scan_of(slot, names: list[str]) -> FileStorage:
    """A stand-in for the scanned paper sheet: a page naming the half-day and its trainees, as a PDF."""
    page = Image.new("RGB", (827, 1169), "white")  # A4 at 100 dpi
    draw = ImageDraw.Draw(page)
    draw.text((60, 60), f"Feuille d'émargement - {TITLE}", fill="black")
    draw.text((60, 90), f"{slot.date:%d/%m/%Y} {slot.start_time:%H:%M}-{slot.end_time:%H:%M}", fill="black")
    for n, name in enumerate(names):
        y = 160 + 60 * n
        draw.text((60, y), name, fill="black")
        draw.line([(420, y + 10), (520, y - 5), (600, y + 12)], fill=(16, 34, 77), width=3)
    out = io.BytesIO()
    page.save(out, format="PDF")
    out.seek(0)
    return FileStorage(out, filename=f"feuille-{slot.date:%Y%m%d}-{slot.start_time:%H%M}.pdf")


def seed() -> None:
    if paper_session() is not None:
        return
    start = datetime.combine(held_on(local_now().date()), time(9, 30))
    end = datetime.combine(start.date() + timedelta(days=1), time(18, 0))
    office = db.session.scalar(db.select(User).where(User.email == ACCOUNTS[0][0]))
    with frozen_at(local_now() - timedelta(days=2)):  # entered a couple of days ago, from the paper sheets
        session = session_service.create_session(session_service.SessionData(
            programme=programme_titled(TITLE), start_at=start, end_at=end,
            place=PLACE, modality="in_person", capacity=15, price_cents=56000, status="completed",
            contact_person="Claire Bernard, sionsalliait@gmail.com — 02 99 00 00 00", trainers=_trainers()[:1]),
            recorded_afterwards=True)
        db.session.flush()
        enrolments = [enrolment_service.enrol(session, trainee, actor=office,
                                              funding_mode="opco" if trainee.employer_id else "personal")
                      for trainee in demo_trainees()[16:21]]
        db.session.flush()
        names = [enrolment.trainee.full_name for enrolment in enrolments]
        for index, slot in enumerate(session.slots):
            for enrolment in enrolments:
                absent = index == 2 and (enrolment.trainee.first_name, enrolment.trainee.last_name) == ABSENT
                attendance.mark(slot, enrolment, "absent_unjustified" if absent else "present", actor=office)
            attendance.attach_scan(slot, scan_of(slot, names), office)
            attendance.close_slot(slot, office)
            db.session.flush()
