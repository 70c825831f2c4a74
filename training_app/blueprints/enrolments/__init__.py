from flask import Blueprint

bp = Blueprint("enrolments", __name__)

from training_app.blueprints.enrolments import views  # noqa: E402,F401
