from flask import Blueprint

bp = Blueprint("sessions", __name__)

from training_app.blueprints.sessions import views  # noqa: E402,F401
