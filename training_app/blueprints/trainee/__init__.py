from flask import Blueprint

bp = Blueprint("trainee", __name__, url_prefix="/moi")

from training_app.blueprints.trainee import views  # noqa: E402,F401
