from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/rapports")

from training_app.blueprints.reports import views  # noqa: E402,F401
