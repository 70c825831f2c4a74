from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from training_app.blueprints.catalogue import cycle_views, views  # noqa: E402,F401
