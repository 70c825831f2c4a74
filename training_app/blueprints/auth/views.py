import math
import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from limits import RateLimitItem, parse_many

from training_app.access import PUBLIC, STAFF, access
from training_app.blueprints.auth import bp
from training_app.blueprints.auth.forms import ForgottenPasswordForm, LoginForm, NewPasswordForm, PasswordForm
from training_app.extensions import commit_keeping_loaded, db, limiter, network_key, typed_email_key
from training_app.formatting import wait_fr
from training_app.forms import attach_service_error
from training_app.services import ServiceError, mail, users


def _local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site (never another site's address), else None."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return None


def _safe_next(target: str | None) -> str:
    return _local_path(target) or url_for("dashboard.home")


# Failed sign-ins are counted (SIGN_IN_FAILURES_PER_NETWORK, SIGN_IN_FAILURES_PER_ACCOUNT), never the
# successful ones: the limits hold back whoever guesses, not the owner of the account they guess. Each attempt is
# counted as a failure before the password is checked (atomically: attempts arriving together cannot all pass a
# check made before any of them is counted; Flask-Limiter's deduct_when tests first and counts after the
# request), and given back when it succeeds. Fixed windows (Flask-Limiter's default strategy) can give back.
FAILURE_SCOPE_NETWORK = "sign_in_failures_network"
FAILURE_SCOPE_ACCOUNT = "sign_in_failures_account"


def _failure_counters(email: str) -> list[tuple[RateLimitItem, str, str]]:
    """(limit, key, scope) of each count a failed sign-in with `email` from this network goes to (an IPv6
    network's addresses together: network_key)."""
    network = network_key()
    account = f"{users.sign_in_failures_key(email)}@{network}"
    config = current_app.config
    return ([(item, network, FAILURE_SCOPE_NETWORK) for item in parse_many(config["SIGN_IN_FAILURES_PER_NETWORK"])]
            + [(item, account, FAILURE_SCOPE_ACCOUNT) for item in parse_many(config["SIGN_IN_FAILURES_PER_ACCOUNT"])])


def _count_failure(counters) -> float | None:
    """Count one failure against each counter; None if none is over its limit, else how many seconds until the
    longest spent one allows again (the counts are then given back: a refused attempt checks no password)."""
    spent = [(item, key, scope) for item, key, scope in counters if not limiter.limiter.hit(item, key, scope)]
    if not spent:
        return None
    _give_back(counters)
    now = time.time()
    return max(min(limiter.limiter.get_window_stats(item, key, scope).reset_time - now, item.get_expiry())
               for item, key, scope in spent)


def _give_back(counters) -> None:
    for item, key, scope in counters:
        limiter.limiter.hit(item, key, scope, cost=-1)


@bp.route("/connexion", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        counters = _failure_counters(form.email.data) if limiter.enabled else []
        wait = _count_failure(counters)
        if wait is not None:  # this network guessed too much (this account's password, or any)
            form.form_errors.append(_("Trop de tentatives de connexion échouées depuis votre adresse réseau : "
                                      "réessayez dans %(wait)s.", wait=wait_fr(wait)))
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(max(1, math.ceil(wait)))}
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:  # the failure stays counted
            form.form_errors.append(_("Adresse e-mail ou mot de passe incorrect."))
        else:
            _give_back(counters)
            users.start_sign_in(user)
            commit_keeping_loaded()
            login_user(user, remember=form.remember.data)
            if user.must_change_password:  # then on to where they were going (?next= kept)
                return redirect(url_for("auth.change_password", next=_local_path(request.args.get("next"))))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/deconnexion", methods=["POST"])
@access(PUBLIC)
def logout():
    _end_this_sign_in()
    db.session.commit()
    logout_user()
    flash(_("Vous êtes déconnecté·e."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@access(STAFF)
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.change_password(current_user, form.current_password.data, form.password.data)
        except ServiceError as error:
            attach_service_error(form, error)
        else:
            db.session.commit()
            # Every browser signed in with the former password is now signed out; this one stays signed
            # in (and remembered, if it was) under the new password.
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(current_user._get_current_object(), remember=remembered)
            flash(_("Votre mot de passe a été changé."), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/password.html", form=form, temporary=current_user.must_change_password)


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit("3 per hour", methods=["POST"], key_func=typed_email_key)  # each person's mailbox
@limiter.limit("5 per minute; 30 per day", methods=["POST"])
def forgotten_password():
    if not mail.reaches_mailboxes():  # the link would only be kept in the outbox, masked there: it could never arrive
        return render_template("auth/forgotten.html", form=None, sent=False, mail_leaves=False)
    form = ForgottenPasswordForm()
    sent = form.validate_on_submit()  # then the same answer whether or not the address is known
    if sent:
        users.send_reset_link(form.email.data)
        db.session.commit()
    return render_template("auth/forgotten.html", form=form, sent=sent, mail_leaves=True)


@bp.route("/mot-de-passe-oublie/<link>", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit("10 per minute", methods=["POST"])
def reset_with_link(link: str):
    try:
        user = users.user_from_reset_link(link)
    except ServiceError as error:
        return _dead_link(error)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            users.set_password_from_link(link, form.password.data)
            _end_this_sign_in()
        except ServiceError as error:
            db.session.rollback()
            if error.field is None:  # used (or made dead) by another request since this one read it
                return _dead_link(error)
            attach_service_error(form, error)
        else:
            db.session.commit()
            logout_user()  # whoever was signed in on this browser signs in again, with the new password
            flash(_("Votre mot de passe a été changé : connectez-vous avec le nouveau."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/password.html", form=form, account=user)


def _dead_link(error: ServiceError):
    return render_template("auth/reset_link_invalid.html", message=error.message), 403


def _end_this_sign_in() -> None:
    """This browser's sign-in is over, for any copy of its cookies too (before the commit, then `logout_user`)."""
    if current_user.is_authenticated:
        users.end_sign_in(current_user._get_current_object())
