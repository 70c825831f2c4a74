"""Signing and marking check the enrolment and the session under the locks that withdrawals, moves and
cancellations take (the session row, then the slot row): a change committed while a signature waited for
them is seen, never overwritten. Each test commits the change "meanwhile", just before the locks are
granted, as another transaction would (the threads themselves: tests/unit/test_attendance_concurrency.py)."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, Enrolment, Signature, TrainingSession
from training_app.services import ServiceError, attendance


@pytest.fixture
def course(trainer):
    return factories.make_attendance_session(trainees=1, trainers=[trainer])


def meanwhile(monkeypatch, statement):
    """Run `statement` (committed) when the operation asks for its locks, as a concurrent transaction that
    held them would have done just before."""
    real_lock = attendance._lock

    def lock(slot):
        db.session.execute(statement)
        return real_lock(slot)
    monkeypatch.setattr(attendance, "_lock", lock)


def test_a_signature_sees_a_withdrawal_committed_while_it_waited(course, monkeypatch):
    session, (awa,) = course
    slot = session.slots[0]
    meanwhile(monkeypatch, update(Enrolment).where(Enrolment.id == awa.id)
              .values(status="withdrawn", withdrawn_on=slot.date))
    with frozen_at(slot.starts_at + timedelta(minutes=5)), pytest.raises(ServiceError, match="n'est pas confirmée"):
        attendance.sign(slot, awa, factories.signature_data_url(), method="device")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


def test_a_signature_sees_a_cancellation_of_the_session_committed_while_it_waited(course, monkeypatch):
    session, (awa,) = course
    slot = session.slots[0]
    meanwhile(monkeypatch, update(TrainingSession).where(TrainingSession.id == session.id).values(status="cancelled"))
    with frozen_at(slot.starts_at + timedelta(minutes=5)), pytest.raises(ServiceError, match="annulée"):
        attendance.sign(slot, awa, factories.signature_data_url(), method="device")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


def test_a_mark_sees_a_move_committed_while_it_waited(course, trainer, monkeypatch):
    session, (awa,) = course
    slot = session.slots[0]
    meanwhile(monkeypatch, update(Enrolment).where(Enrolment.id == awa.id).values(status="cancelled"))
    with frozen_at(slot.starts_at + timedelta(minutes=5)), pytest.raises(ServiceError, match="n'est pas confirmée"):
        attendance.mark(slot, awa, "absent_unjustified", actor=trainer)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id))) == 0
