"""A trainee's own pages, reached through their personal link (no password)."""
from functools import partial

from flask import current_app, g, render_template
from sqlalchemy.orm import contains_eager

from training_app.access import PUBLIC, access
from training_app.blueprints.trainee import bp
from training_app.blueprints.trainee.forms import RequestLinkForm
from training_app.extensions import db, limiter, typed_email_key
from training_app.models import Enrolment, TrainingSession
from training_app.services import attendance, trainee_links
from training_app.services import enrolments as enrolment_service
from training_app.services.trainee_links import trainee_view


@bp.route("/<token>")
@trainee_view
def home():
    session = contains_eager(Enrolment.session)
    enrolments = db.session.scalars(
        db.select(Enrolment).join(Enrolment.session).where(Enrolment.trainee_id == g.trainee.id)
        .options(session, session.selectinload(TrainingSession.programme),
                 session.selectinload(TrainingSession.slots))
        .order_by(TrainingSession.start_at.desc())).all()
    states = {e.id: enrolment_service.trainee_state(e, partial(_attended_minutes, e)) for e in enrolments}
    return render_template("trainee/home.html", trainee=g.trainee, enrolments=enrolments, states=states)


def _attended_minutes(enrolment: Enrolment) -> int:
    """Read with the totals the page's attendance part shows (attendance/_trainee_enrolment.html), once."""
    totals = trainee_links.per_trainee("attendance", enrolment.trainee_id, attendance.totals_for_trainee)
    return totals[enrolment.id].attended_minutes


# A whole group asks from the room's Wi-Fi (one address): the limit that protects each trainee's mailbox is
# per e-mail address; the one per network address, much looser, is there against a robot writing to many
# addresses. Both apply whether or not the address is known, so that the answer tells nobody who is enrolled.
def _per_address() -> str:
    return current_app.config["LINK_REQUESTS_PER_ADDRESS"]


def _per_network() -> str:
    return current_app.config["LINK_REQUESTS_PER_NETWORK"]


@bp.route("/nouveau-lien", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_per_address, methods=["POST"], key_func=typed_email_key)
@limiter.limit(_per_network, methods=["POST"])
def request_link():
    form = RequestLinkForm()
    sent = False
    if form.validate_on_submit():
        trainee_links.send_new_link(form.email.data)
        db.session.commit()
        sent = True  # the same answer whether or not the address is known
    return render_template("trainee/request_link.html", form=form, sent=sent)
