from flask import Blueprint

bp = Blueprint("outcomes", __name__)


@bp.app_template_global()
def outcomes_progress(session):
    """For outcomes/_session_section.html: how far the assessment of the session's trainees is."""
    from training_app.services import outcomes
    return outcomes.progress(session)


from training_app.blueprints.outcomes import views  # noqa: E402,F401
