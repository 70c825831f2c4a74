"""The public catalogue: what must be public (prerequisites, objectives, duration, price, accessibility, access
delays, and each programme's results: Qualiopi indicators 1 and 2)."""
from flask import abort, current_app, render_template

from training_app.access import PUBLIC, access
from training_app.blueprints.public import bp
from training_app.extensions import commit_keeping_loaded, db
from training_app.models import Organisation, Programme, TrainingSession
from training_app.page_cache import kept_page
from training_app.services import enrolments, programme_results
from training_app.services import programmes as programme_service


@bp.route("/favicon.ico")
@access(PUBLIC)
def favicon():
    """The site's icon where browsers ask for it by default (base.html links the same static file)."""
    return current_app.send_static_file("favicon.ico")


@bp.route("/")
@access(PUBLIC)
@kept_page
def index():
    return render_template("public/catalogue.html", programmes=programme_service.public_catalogue(),
                           organisation=Organisation.get())


@bp.route("/formations/<int:programme_id>")
@access(PUBLIC)
@kept_page
def programme(programme_id: int):
    programme = db.get_or_404(Programme, programme_id)
    if programme.archived:
        abort(404)
    upcoming = db.session.scalars(
        db.select(TrainingSession)
        .where(TrainingSession.programme_id == programme.id, *programme_service.public_upcoming())
        .order_by(TrainingSession.start_at)).all()
    # The seats of every upcoming session counted in one statement, however many there are.
    seats_left = {id_: places.left for id_, places in enrolments.places_of(upcoming).items()}
    results = programme_results.results(programme.id)
    commit_keeping_loaded()  # closed anonymous questionnaires release their pending answers when first counted
    return render_template("public/programme.html", programme=programme, upcoming=upcoming, results=results,
                           seats_left=seats_left, session_prices=programme_service.session_prices(upcoming),
                           min_respondents=programme_results.MIN_RESPONDENTS, organisation=Organisation.get())
