"""Funding of the past session (December 2018) by Uniformation: caps, agreements, a claim sent.

Every trainee of the past session whose employer belongs to Uniformation is covered by an
agreement of their employer (one file per employer), granted in November 2018; the claim is
built from the attendance sheets after the course (Karim Benali's 4-hour absence is not billed),
sent in January 2019 once its pre-flight check is clean (sheets closed, certificates issued) and
paid in March 2019.
"""
from datetime import date, datetime

from training_app.clock import frozen_at
from training_app.demo.sessions import past_session
from training_app.extensions import db
from training_app.models import Funder, FundingAgreement, FundingClaim
from training_app.models.funding_files import claim_sessions
from training_app.services import funding as funding_service

HOURLY_RATE_CENTS = 1500      # 15 € per trainee and hour (hypothetical demo figure)
CAPS = {2018: 2500, 2019: 2500, 2025: 2800, 2026: 2800}  # Uniformation's hourly caps (demo figures)


def seed() -> None:
    funder = db.session.scalar(db.select(Funder).where(Funder.name == "Uniformation"))
    session = past_session()
    if funder is None or session is None:
        return
    for year, cents in CAPS.items():
        if funding_service.hourly_cap_for(funder, year) is None:
            funding_service.set_hourly_cap(funder, year, cents, "barème de démonstration")
    if db.session.scalar(db.select(FundingAgreement.id).where(FundingAgreement.session_id == session.id).limit(1)):
        return
    by_employer = {}
    for enrolment in funding_service.billable_enrolments(session):
        employer = enrolment.employer  # the employer the trainee follows the course for
        if employer is not None and employer.funder_id == funder.id:
            by_employer.setdefault(employer, []).append(enrolment)
    with frozen_at(datetime(2018, 11, 5, 11, 0)):
        agreements = []
        for number, (employer, enrolments) in enumerate(sorted(by_employer.items(), key=lambda i: i[0].name), 1):
            agreements.append(funding_service.create_agreement(session, funding_service.AgreementData(
                funder=funder, employer=employer, enrolments=enrolments, requested_on=date(2018, 11, 5),
                file_number=f"UNI-2018-35-{number:04d}", hourly_rate_cents=HOURLY_RATE_CENTS,
                notes="Demande déposée par la structure employeuse.")))
        db.session.flush()
    with frozen_at(datetime(2018, 11, 26, 15, 0)):
        for agreement in agreements:
            planned = session.planned_minutes * len(agreement.trainees)
            funding_service.grant(agreement, HOURLY_RATE_CENTS * planned // 60, date(2018, 11, 26))
        db.session.flush()
    if db.session.scalar(db.select(FundingClaim.id).join(claim_sessions)
                         .where(claim_sessions.c.session_id == session.id).limit(1)):
        return
    with frozen_at(datetime(2019, 1, 8, 10, 0)):
        claim = funding_service.create_claim(funder, session=session)
        if funding_service.preflight(claim):
            return  # something is missing (e.g. certificates): the claim stays a draft to complete
        funding_service.send(claim, date(2019, 1, 8))
        db.session.flush()
    with frozen_at(datetime(2019, 3, 4, 9, 30)):
        funding_service.record_payment(claim, claim.total_cents, date(2019, 3, 1), "Virement Uniformation")
        db.session.flush()

