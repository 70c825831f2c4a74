from flask import render_template
from flask_login import current_user

from training_app.access import STAFF, access
from training_app.blueprints.dashboard import bp
from training_app.extensions import db
from training_app.page_cache import kept_page
from training_app.services import sessions as session_service


@bp.route("/tableau-de-bord")
@access(STAFF)
@kept_page
def home():
    upcoming = db.session.scalars(
        session_service.sessions_query(current_user, phase_filter="upcoming", held_only=True).limit(5)).all()
    running = db.session.scalars(
        session_service.sessions_query(current_user, phase_filter="running", held_only=True).limit(5)).all()
    return render_template("dashboard/home.html", upcoming=upcoming, running=running)
