"""One package per feature; each exposes `bp`. Register a new feature by adding it here."""
from training_app.blueprints.attendance import bp as attendance
from training_app.blueprints.auth import bp as auth
from training_app.blueprints.catalogue import bp as catalogue
from training_app.blueprints.certificates import bp as certificates
from training_app.blueprints.dashboard import bp as dashboard
from training_app.blueprints.enrolments import bp as enrolments
from training_app.blueprints.funding import bp as funding
from training_app.blueprints.health import bp as health
from training_app.blueprints.organisation import bp as organisation
from training_app.blueprints.outcomes import bp as outcomes
from training_app.blueprints.personal_data import bp as personal_data
from training_app.blueprints.public import bp as public
from training_app.blueprints.reports import bp as reports
from training_app.blueprints.sessions import bp as sessions
from training_app.blueprints.surveys import bp as surveys
from training_app.blueprints.trainee import bp as trainee
from training_app.blueprints.users import bp as users

BLUEPRINTS = [
    attendance,
    auth,
    catalogue,
    certificates,
    dashboard,
    enrolments,
    funding,
    health,
    organisation,
    outcomes,
    personal_data,
    public,
    reports,
    sessions,
    surveys,
    trainee,
    users,
]
