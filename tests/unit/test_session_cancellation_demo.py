"""The demo's cancelled session: six trainees convoked, then the session cancelled with its reason;
seeding twice changes nothing."""
from training_app import demo
from training_app.demo.cancellation import REASON, cancelled_session
from training_app.demo.sessions import upcoming_session
from training_app.extensions import db
from training_app.models import AuditEntry, ConvocationSending, Enrolment
from training_app.services import attendance, audit, convocations, registrations, surveys
from training_app.services import sessions as session_service


def test_demo_cancelled_session(outbox):
    demo.seed()
    session = cancelled_session()
    assert session.status == "cancelled"
    entry = session_service.cancellation(session)
    assert (entry.reason, entry.who, f"{entry.at:%Y-%m-%d}") == (REASON, "Claire Bernard", "2019-03-12")
    enrolments = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == session.id)).all()
    assert len(enrolments) == 6 and {e.status for e in enrolments} == {"cancelled"}
    assert all(audit.history(e)[-1].action == "session_cancelled" for e in enrolments)
    assert all(not convocations.still_valid(e) for e in enrolments)
    assert len(convocations.sendings(session=session)) == 6
    cancelled_mails = [m for m in outbox if m.tag.startswith("session_cancelled:")]
    assert len(cancelled_mails) == 6 and all(REASON in m.body for m in cancelled_mails)
    assert registrations.public_state(session) == "closed"
    assert attendance.session_grid(session).missing == 0  # its half-days are past, yet nothing is missing
    assert "annulée" in surveys.positioning_refusal(session)
    assert upcoming_session().id != session.id and upcoming_session().status != "cancelled"

    counts = [db.session.scalar(db.select(db.func.count()).select_from(model))
              for model in (Enrolment, ConvocationSending, AuditEntry)]
    demo.seed()
    assert [db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (Enrolment, ConvocationSending, AuditEntry)] == counts
