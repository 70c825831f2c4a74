from flask import Blueprint

bp = Blueprint("attendance", __name__)

from training_app.blueprints.attendance import views  # noqa: E402,F401
