"""Learning outcomes: a trainer of the session records, per trainee and objective, what was learnt,
and writes the session review."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from training_app.access import STAFF, access, check_session_access
from training_app.blueprints.outcomes import bp
from training_app.blueprints.outcomes.forms import ReviewForm, outcomes_form, show_stored_cells
from training_app.extensions import db
from training_app.forms import REFUSED, attach_service_error, committed_unless_stale, edit_status, show_stale
from training_app.models import TrainingSession
from training_app.services import ServiceError
from training_app.services import enrolments as enrolment_service
from training_app.services import outcomes as outcome_service


def _load(session_id: int) -> TrainingSession:
    session = db.get_or_404(TrainingSession, session_id)
    check_session_access(session)
    return session


def _page(session, enrolments, objectives, form=None, review_form=None, status=200, review_changed=False):
    review = outcome_service.review_for(session)
    with_review = _with_review(session, enrolments, objectives)
    if form is None:
        form = outcomes_form(enrolments, objectives, outcome_service.recorded_cells(session),
                             review_text=(review.text if review else "") if with_review else None)
    if with_review:
        review_form = form  # one form: the grid and the review
    elif review_form is None:
        review_form = ReviewForm(text=review.text if review else "")
    if not review_form.loaded.data or review_changed:  # after a refused save: the version now shown
        review_form.loaded.data = outcome_service.review_version(review)
    return render_template("outcomes/assess.html", session=session, enrolments=enrolments, objectives=objectives,
                           employers=enrolment_service.course_employers(enrolments),  # of their course
                           form=form, review_form=review_form, review=review, with_review=with_review,
                           not_yet=outcome_service.assessment_refusal(session),
                           review_refused=outcome_service.review_refusal(session),
                           review_changed=review_changed), status


def _with_review(session, enrolments, objectives) -> bool:
    """Whether the page shows the grid and the review in one form, each save button saving both: a review typed
    and then « Enregistrer l'évaluation » clicked is saved, not lost (and the grid with « Enregistrer le bilan »)."""
    return bool(enrolments and objectives) and not outcome_service.assessment_refusal(session) \
        and not outcome_service.review_refusal(session)


@bp.route("/sessions/<int:session_id>/acquis", methods=["GET", "POST"])
@access(STAFF)
def assess(session_id: int):
    session = _load(session_id)
    enrolments = outcome_service.assessed_enrolments(session)
    objectives = outcome_service.assessable_objectives(session)
    with_review = _with_review(session, enrolments, objectives)
    review = outcome_service.review_for(session)
    form = outcomes_form(enrolments, objectives, outcome_service.recorded_cells(session),
                         review_text=(review.text if review else "") if with_review else None)
    review_changed = False
    if form.validate_on_submit():
        def value(enrolment, objective, part):
            return form[outcome_service.field_name(enrolment.id, objective.id, part)].data or ""

        assessments = [outcome_service.Assessment(e.id, o.id, value(e, o, "r"), value(e, o, "c"),
                                                  loaded_result=value(e, o, "lr"), loaded_comment=value(e, o, "lc"))
                       for e in enrolments for o in objectives]
        review_typed = with_review and outcome_service.review_typed(form.text.data, form.loaded.data)
        actor = current_user._get_current_object()

        def record():
            changed = outcome_service.record_outcomes(session, assessments, actor=actor)
            if review_typed:
                outcome_service.save_review(session, form.text.data, actor=actor,
                                            loaded_version=form.loaded.data or None)
            return changed

        def show_changed_cells(error):
            stored = outcomes_form(enrolments, objectives, outcome_service.recorded_cells(session), stored=True)
            show_stale(form, stored, error.fields, error.message)
            for name, shown in form.stale_values.items():
                form[name].errors = [_("Enregistré entre-temps : %(value)s", value=shown)]
            show_stored_cells(form, stored)

        changed = committed_unless_stale(form, record, show_changed_cells)
        if changed is not REFUSED:
            if changed or not review_typed:
                flash(ngettext("Évaluation des acquis enregistrée (%(num)d modification).",
                               "Évaluation des acquis enregistrée (%(num)d modifications).", changed), "success")
            if review_typed:
                flash(_("Bilan de la session enregistré."), "success")
            return redirect(url_for("outcomes.assess", session_id=session_id))
        session = _load(session_id)
        review_changed = review_typed and form.loaded.data != outcome_service.review_version(
            outcome_service.review_for(session))
    return _page(session, enrolments, objectives, form=form, status=edit_status(form) if not review_changed else 409,
                 review_changed=review_changed)


@bp.route("/sessions/<int:session_id>/bilan", methods=["POST"])
@access(STAFF)
def review(session_id: int):
    session = _load(session_id)
    form = ReviewForm()
    status = 422
    if form.validate_on_submit():
        try:
            outcome_service.save_review(session, form.text.data, actor=current_user._get_current_object(),
                                        loaded_version=form.loaded.data or None)
        except ServiceError as error:
            db.session.rollback()
            session = _load(session_id)
            attach_service_error(form, error)
            status = 409 if isinstance(error, outcome_service.ReviewChanged) else 422
        else:
            db.session.commit()
            flash(_("Bilan de la session enregistré."), "success")
            return redirect(url_for("outcomes.assess", session_id=session_id) + "#bilan")
    return _page(session, outcome_service.assessed_enrolments(session),
                 outcome_service.assessable_objectives(session),
                 review_form=form, status=status, review_changed=status == 409)
