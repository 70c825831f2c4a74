"""Demo data: the reference course of Si on s'alliait ? (shared/seeds/004), end to end.

`seed()` runs every step in order; each step is idempotent (it looks for what it
would create before creating it), so `flask seed-demo` can run on every start.
A feature extends the demo by adding its step to STEPS.
"""
from training_app.demo import (attendance, cancellation, catalogue, certificates, enrolments, funding, paper, people,
                               sessions, surveys)

STEPS = [
    catalogue.seed,      # organisation, staff accounts, cycle and programmes
    people.seed,         # funder, employers, trainees
    sessions.seed,       # the past session (Dec 2018) and an upcoming one
    enrolments.seed,     # past session: 12 confirmed; upcoming: full, waiting list, a request to confirm, one unconfirmed
    attendance.seed,     # past session: every half-day signed and closed; one afternoon absence (17 h)
    surveys.seed,        # questionnaires (past session answered), learning outcomes and review
    certificates.seed,   # past session: each trainee's attestation and certificat de réalisation
    funding.seed,        # Uniformation: caps, agreements for the past session, the claim (sent when complete)
    cancellation.seed,   # a session of March 2019, six trainees convoked, cancelled a week before (trainer ill)
    paper.seed,          # a two-day session three weeks ago, recorded afterwards from its paper sheets and scans
]

ACCOUNTS = catalogue.ACCOUNTS


def trainee_link() -> tuple[str, str]:
    """The demo's trainee (no account: a personal link, as the convocation e-mail gives it): Karim Benali,
    absent one afternoon of the past session (his certificates say 17 h) and enrolled in the upcoming one.
    Returns his name and link, valid TRAINEE_LINK_MAX_AGE_DAYS from now."""
    from training_app.extensions import db
    from training_app.models import Trainee
    from training_app.services.trainee_links import personal_url
    trainee = db.session.scalar(db.select(Trainee).where(Trainee.email == attendance.ABSENT_EMAIL))
    return trainee.full_name, personal_url(trainee)


def seed() -> None:
    from training_app.extensions import db
    for step in STEPS:
        step()
        db.session.commit()
