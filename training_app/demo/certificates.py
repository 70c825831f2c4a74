"""The past session's certificates, issued by the office on the afternoon the course ended."""
from datetime import datetime

from training_app.clock import frozen_at
from training_app.demo.catalogue import ACCOUNTS
from training_app.demo.sessions import past_session
from training_app.extensions import db
from training_app.models import User
from training_app.services import certificates as certificate_service

ISSUED_AT = datetime(2018, 12, 14, 16, 30)


def seed() -> None:
    session = past_session()
    if session is None or certificate_service.current_documents_for_session(session):
        return
    admin = db.session.scalar(db.select(User).where(User.email == ACCOUNTS[0][0]))
    with frozen_at(ISSUED_AT):
        certificate_service.issue_for_session(session, actor=admin)
