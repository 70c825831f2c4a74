from flask import Blueprint

bp = Blueprint("auth", __name__)

from training_app.blueprints.auth import views  # noqa: E402,F401
