from flask import Blueprint

bp = Blueprint("organisation", __name__, url_prefix="/admin/organisme")

from training_app.blueprints.organisation import views  # noqa: E402,F401
