"""Marking absent, in one go, the trainees nobody signed nor marked on a half-day (mark_unmarked_absent)."""
from datetime import timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, AuditEntry, SignatureMethod
from training_app.services import ServiceError, attendance

DATA_URL = factories.signature_data_url


@pytest.fixture
def course(trainer):
    return factories.make_attendance_session(trainees=5, trainers=[trainer])


def statuses():
    db.session.expire_all()
    return dict(db.session.execute(db.select(AttendanceRecord.enrolment_id, AttendanceRecord.status)).all())


def test_only_the_unmarked_listed_are_marked_absent_each_audited_as_one_absence(trainer, course):
    session, (signed, late, absent, unmarked, unlisted) = course
    slot = session.slots[1]  # 9:30-12:30
    with frozen_at(slot.starts_at + timedelta(minutes=40)):
        attendance.sign(slot, signed, DATA_URL(), method=SignatureMethod.DEVICE, actor=trainer)
        attendance.mark(slot, late, "late", actor=trainer, arrival=slot.start_time.replace(hour=10))
        attendance.mark(slot, absent, "absent_justified", actor=trainer, justification="Malade")
        db.session.commit()
        sheet = attendance.slot_sheet(slot)
        assert [r.enrolment.id for r in sheet.unmarked] == [unmarked.id, unlisted.id]
        assert [r.enrolment.id for r in sheet.to_settle] == [late.id, unmarked.id, unlisted.id]
        # The page listed the first four (`unlisted` was confirmed since); `signed` is sent too, as a stale page would.
        records = attendance.mark_unmarked_absent(slot, trainer, [signed.id, late.id, absent.id, unmarked.id])
        db.session.commit()
    assert [r.enrolment_id for r in records] == [unmarked.id]
    assert statuses() == {signed.id: "present", late.id: "late", absent.id: "absent_justified",
                          unmarked.id: "absent_unjustified"}
    marked = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "marked")).all()
    assert [e.details["enrolment_id"] for e in marked] == [late.id, absent.id, unmarked.id]
    assert marked[-1].actor_id == trainer.id and marked[-1].details["after"]["status"] == "absent_unjustified"


def test_nobody_left_to_mark_is_said(trainer, course):
    session, enrolments = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        for enrolment in enrolments:
            attendance.mark(slot, enrolment, "absent_unjustified", actor=trainer)
        with pytest.raises(ServiceError, match="Personne n'est plus à marquer"):
            attendance.mark_unmarked_absent(slot, trainer, [e.id for e in enrolments])


def test_refused_on_a_closed_sheet_even_to_an_administrator(trainer, admin, course):
    session, (first, *others) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        for enrolment in others:
            attendance.sign(slot, enrolment, DATA_URL(), method=SignatureMethod.DEVICE, actor=trainer)
        attendance.mark(slot, first, "absent_unjustified", actor=trainer)
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        attendance.close_slot(slot, trainer, DATA_URL(9))
        db.session.commit()
        for actor in (trainer, admin):
            with pytest.raises(ServiceError, match="est close"):
                attendance.mark_unmarked_absent(slot, actor, [first.id])


def test_refused_to_a_trainer_of_another_session_and_before_the_half_day(trainer, admin, course):
    session, enrolments = course
    slot = session.slots[1]
    outsider = factories.make_user("trainer")
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        with pytest.raises(ServiceError, match="Seul·e un·e formateur·rice de la session"):
            attendance.mark_unmarked_absent(slot, outsider, [e.id for e in enrolments])
        records = attendance.mark_unmarked_absent(slot, admin, [e.id for e in enrolments])
        db.session.commit()
    assert len(records) == 5
    with frozen_at(session.slots[2].starts_at - timedelta(hours=2)), \
            pytest.raises(ServiceError, match="pas encore commencé"):
        attendance.mark_unmarked_absent(session.slots[2], trainer, [e.id for e in enrolments])
