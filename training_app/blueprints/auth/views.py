from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from training_app.access import PUBLIC, STAFF, access
from training_app.blueprints.auth import bp
from training_app.blueprints.auth.forms import ForgottenPasswordForm, LoginForm, NewPasswordForm, PasswordForm
from training_app.extensions import commit_keeping_loaded, db, limiter, typed_email_key
from training_app.forms import attach_service_error
from training_app.services import ServiceError, users


def _local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site (never another site's address), else None."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return None


def _safe_next(target: str | None) -> str:
    return _local_path(target) or url_for("dashboard.home")


def _sign_ins_per_account() -> str:
    return current_app.config["SIGN_IN_ATTEMPTS_PER_ACCOUNT"]


def _sign_ins_per_network() -> str:
    return current_app.config["SIGN_IN_ATTEMPTS_PER_NETWORK"]


@bp.route("/connexion", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(_sign_ins_per_account, methods=["POST"], key_func=typed_email_key)  # known address or not
@limiter.limit(_sign_ins_per_network, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append(_("Adresse e-mail ou mot de passe incorrect."))
        else:
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
    form = ForgottenPasswordForm()
    sent = form.validate_on_submit()  # then the same answer whether or not the address is known
    if sent:
        users.send_reset_link(form.email.data)
        db.session.commit()
    return render_template("auth/forgotten.html", form=form, sent=sent)


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
