"""The demo tells the funding story of the past session, and seeding twice changes nothing."""
from training_app import demo
from training_app.extensions import db
from training_app.models import FunderHourlyCap, FundingAgreement, FundingClaim
from training_app.demo.sessions import past_session


def test_demo_funding_is_seeded_once():
    demo.seed()
    demo.seed()
    session = past_session()
    agreements = db.session.scalars(db.select(FundingAgreement)).all()
    assert agreements and all(a.status == "granted" and a.file_number.startswith("UNI-2018") for a in agreements)
    covered = {t.enrolment_id for a in agreements for t in a.trainees}
    funded = [e for e in session_enrolments(session) if e.trainee.employer is not None]
    assert covered == {e.id for e in funded}  # the past session's employer-funded trainees
    claims = db.session.scalars(db.select(FundingClaim)).all()
    assert len(claims) == 1 and [s.id for s in claims[0].sessions] == [session.id]
    claim = claims[0]
    assert len(claim.snapshot["lines"]) == len(funded)
    karim = next(line for line in claim.snapshot["lines"] if "BENALI" in line["trainee_name"])
    assert karim["attended_minutes"] == 17 * 60 and karim["absent_justified_minutes"] == 4 * 60
    assert claim.total_cents == sum(line["attended_minutes"] for line in claim.snapshot["lines"]) * 1500 // 60
    assert claim.status == "paid" and claim.sent_on.isoformat() == "2019-01-08"
    assert claim.paid_cents == claim.total_cents
    assert db.session.scalar(db.select(db.func.count(FunderHourlyCap.id))) == 4


def session_enrolments(session):
    from training_app.services import funding as funding_service
    return funding_service.billable_enrolments(session)
