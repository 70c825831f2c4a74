from flask import Blueprint

bp = Blueprint("surveys", __name__)


@bp.app_template_global()
def surveys_of_session(session):
    """For surveys/_session_section.html: the session's questionnaires and their response counts."""
    from training_app.services import surveys
    return surveys.surveys_of_session(session)


@bp.app_template_global()
def positioning_refusal(session):
    """For surveys/_session_section.html: why the session gets no positioning questionnaire, or None."""
    from training_app.services import surveys
    return surveys.positioning_refusal(session)


@bp.app_template_global()
def surveys_for_enrolment(enrolment):
    """For surveys/_trainee_enrolment.html: the questionnaires a trainee can open for `enrolment` (those of all
    their enrolments read at once)."""
    from training_app.services import surveys
    from training_app.services.trainee_links import per_trainee
    return per_trainee("surveys", enrolment.trainee_id, surveys.surveys_for_trainee).get(enrolment.id, [])


@bp.app_template_global()
def is_accessibility_question(question):
    """For surveys/questionnaire_detail.html: whether a "yes" to `question` tells the accessibility contact."""
    from training_app.services import surveys
    return surveys.is_accessibility_question(question)


from training_app.blueprints.surveys import views  # noqa: E402,F401
