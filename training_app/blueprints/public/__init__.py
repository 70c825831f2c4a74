from flask import Blueprint

bp = Blueprint("public", __name__)

from training_app.blueprints.public import views  # noqa: E402,F401
