"""A trainee's personal data: the office exports it and erases it on request (RGPD)."""
from flask import Blueprint

bp = Blueprint("personal_data", __name__)

from training_app.blueprints.personal_data import views  # noqa: E402,F401
