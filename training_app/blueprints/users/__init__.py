from flask import Blueprint

bp = Blueprint("users", __name__)

from training_app.blueprints.users import views  # noqa: E402,F401
