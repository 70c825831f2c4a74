"""Declared access: every view says who may use it.

    @access(ADMIN)       administrators only
    @access(STAFF)       any signed-in member of staff (trainers and administrators)
    @access(TRAINEE)     a trainee through their signed personal link (checked by the view's decorator)
    @access(PUBLIC)      anybody

`enforce_access` runs before every request and refuses a view that declares nothing,
so a new view cannot be reachable by accident; tests/web/test_access_matrix.py walks
every URL rule with every role. A member of staff whose password is temporary is sent to the
change-password page from every staff page until they choose their own, then on to the page they asked for.
"""
from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from training_app.extensions import login_manager

PUBLIC = "public"
TRAINEE = "trainee"
STAFF = "staff"
ADMIN = "admin"
LEVELS = (PUBLIC, TRAINEE, STAFF, ADMIN)
PASSWORD_CHANGE = "auth.change_password"  # the only staff page open to a user whose password is temporary


def access(level: str):
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}")

    def decorate(view):
        view.access_level = level
        return view

    return decorate


def access_level_of(endpoint: str) -> str | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_level", None)


def enforce_access():
    if request.endpoint is None:  # 404 or 405: Flask answers them
        return None
    level = access_level_of(request.endpoint)
    if level is None:
        current_app.logger.error("view %s declares no access level", request.endpoint)
        abort(403)
    if level in (PUBLIC, TRAINEE):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if level == ADMIN and not current_user.is_admin:
        abort(403)
    if current_user.must_change_password and request.endpoint != PASSWORD_CHANGE:
        # a temporary password (set by an administrator): nothing else until its owner chooses theirs, then
        # back to the page asked for (a page, not a form's POST; this site's path only)
        next_page = None
        if request.method in ("GET", "HEAD"):
            next_page = request.script_root + request.full_path.rstrip("?")
        return redirect(url_for(PASSWORD_CHANGE, next=next_page))
    return None


def check_session_access(training_session) -> None:
    """Trainers see only the sessions they teach; administrators see all."""
    if current_user.is_admin:
        return
    if not training_session.has_trainer(current_user):
        abort(403)


# --- whom a trainer sees of a session's enrolments (personal data: only what they need) --------------------
# Administrators see every enrolment and all it holds. A trainer sees, in the sessions they teach, only the
# trainees they teach (Enrolment.is_taught: confirmed, or withdrawn during the course), and of them only what the
# attendance sheet shows (name, employer) and the job title: not the waiting list, the requests nor the
# cancellations, and never the contact details, category, funding, price, reasons or history of an enrolment
# (domain.md: absences are reported to the office, which convokes and contacts the trainees).

def sees_office_details() -> bool:
    """Whether the user sees every enrolment of a session and what only the office needs of them."""
    return current_user.is_admin


def shown_enrolments(enrolments) -> list:
    """Of a session's enrolments (its access already checked), those the user may see."""
    return list(enrolments) if sees_office_details() else [e for e in enrolments if e.is_taught]


def check_enrolment_access(enrolment) -> None:
    """403 unless the user may see this enrolment (see above)."""
    check_session_access(enrolment.session)
    if not shown_enrolments([enrolment]):
        abort(403)

