"""The public catalogue: what must be public (prerequisites, objectives, duration, price, accessibility)."""
from flask import abort, current_app, render_template, session
from flask_login import current_user

from training_app.access import PUBLIC, access
from training_app.blueprints.public import bp
from training_app.clock import local_now
from training_app.extensions import db
from training_app.models import Organisation, Programme, SessionStatus, TrainingSession
from training_app.services import programmes as programme_service


def _render_public(name: str, data, render) -> str:
    """`render()`, or the HTML it gave last time for the same `data` (in this process).

    A public page is a function of the data it shows: rendering it again for each visitor only
    costs time (bench/README.md). Only anonymous visitors without a pending message get a kept
    page: they all see the same one. Kept per application: page name -> (data, HTML).
    """
    if current_user.is_authenticated or session.get("_flashes"):
        return render()
    rendered = current_app.extensions.setdefault("public_pages", {})
    kept = rendered.get(name)
    if kept is not None and kept[0] == data:
        return kept[1]
    html = render()
    rendered[name] = (data, html)
    return html


@bp.route("/")
@access(PUBLIC)
def index():
    programmes = programme_service.public_catalogue()
    organisation = Organisation.get()
    data = (tuple(programmes), organisation.name, organisation.declaration_number)
    return _render_public("catalogue", data, lambda: render_template(
        "public/catalogue.html", programmes=programmes, organisation=organisation))


@bp.route("/formations/<int:programme_id>")
@access(PUBLIC)
def programme(programme_id: int):
    programme = db.get_or_404(Programme, programme_id)
    if programme.archived:
        abort(404)
    upcoming = db.session.scalars(
        db.select(TrainingSession)
        .where(TrainingSession.programme_id == programme.id, TrainingSession.start_at > local_now(),
               TrainingSession.status.in_([SessionStatus.OPEN, SessionStatus.FULL, SessionStatus.PLANNED]))
        .order_by(TrainingSession.start_at)).all()
    return render_template("public/programme.html", programme=programme, upcoming=upcoming,
                           organisation=Organisation.get())
