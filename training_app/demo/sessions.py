"""The reference course's past session (11-14 December 2018) and an upcoming one."""
from datetime import date, datetime, time, timedelta

from training_app.clock import frozen_at, local_now
from training_app.demo.catalogue import reference_programme
from training_app.extensions import db
from training_app.models import SessionStatus, TrainingSession, User
from training_app.services import sessions as session_service

PAST_START = datetime(2018, 12, 11, 14, 0)
PAST_END = datetime(2018, 12, 14, 12, 30)
PLACE = "Si on s'alliait ?, 4 rue du Bourbonnais, 35000 Rennes (quartier Villejean)"
ACCESS = "Métro ligne A, station Villejean-Université, puis 5 minutes à pied. Salle de plain-pied."


def upcoming_start(today: date) -> datetime:
    """A Tuesday four to five weeks ahead, at 14:00, like the reference course (not over Christmas)."""
    day = today + timedelta(days=28)
    if (day.month == 12 and day.day >= 15) or (day.month == 1 and day.day <= 5):
        day = date(day.year + (1 if day.month == 12 else 0), 1, 8)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return datetime.combine(day, time(14, 0))


def _trainers() -> tuple[User, ...]:
    return tuple(db.session.scalars(db.select(User).where(User.role == "trainer").order_by(User.name)))


def past_session() -> TrainingSession | None:
    programme = reference_programme()
    return db.session.scalar(db.select(TrainingSession).where(
        TrainingSession.programme_id == programme.id, TrainingSession.start_at == PAST_START))


def upcoming_session() -> TrainingSession | None:
    programme = reference_programme()
    return db.session.scalar(db.select(TrainingSession).where(
        TrainingSession.programme_id == programme.id, TrainingSession.start_at > local_now(),
        TrainingSession.status != SessionStatus.CANCELLED).order_by(TrainingSession.start_at))


def seed() -> None:
    programme = reference_programme()
    common = dict(programme=programme, place=PLACE, access_info=ACCESS, modality="in_person", capacity=15,
                  price_cents=84000, contact_person="Claire Bernard, sionsalliait@gmail.com — 02 99 00 00 00",
                  trainers=_trainers())
    if past_session() is None:
        with frozen_at(datetime(2018, 10, 1, 9, 0)):
            session_service.create_session(session_service.SessionData(
                start_at=PAST_START, end_at=PAST_END, status=SessionStatus.OPEN, **common))  # completed once over
    if upcoming_session() is None:
        start = upcoming_start(local_now().date())
        end = datetime.combine(start.date() + timedelta(days=3), time(12, 30))
        session_service.create_session(session_service.SessionData(
            start_at=start, end_at=end, status=SessionStatus.OPEN, **common))
