from flask import Blueprint

bp = Blueprint("health", __name__)

from training_app.blueprints.health import views  # noqa: E402,F401
