"""Staff accounts, kept by administrators."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from training_app.access import ADMIN, access
from training_app.blueprints.users import bp
from training_app.blueprints.users.forms import AccountEditForm, TemporaryPasswordForm, UserForm
from training_app.extensions import db
from training_app.forms import REFUSED, committed, edit_committed, edit_status, posted_state
from training_app.formatting import de
from training_app.models import User
from training_app.services import ServiceError, audit, users


@bp.route("/admin/comptes", methods=["GET", "POST"])
@access(ADMIN)
def user_list():
    form = UserForm()
    if form.validate_on_submit() and committed(form, lambda: users.create_user(
            form.email.data, form.name.data, form.role.data, form.password.data)):
        flash(_("Compte créé pour %(name)s. Son mot de passe est provisoire : il lui sera demandé d'en "
                "choisir un à sa première connexion.", name=form.name.data.strip()), "success")
        return redirect(url_for("users.user_list"))
    accounts = db.session.scalars(db.select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("users/list.html", accounts=accounts, form=form)


@bp.route("/admin/comptes/<int:user_id>/modifier", methods=["GET", "POST"])
@access(ADMIN)
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = AccountEditForm(obj=user)
    form.account = user
    if form.validate_on_submit() and edit_committed(form, user, lambda: users.update_user(
            user, name=form.name.data, email=form.email.data, role=form.role.data,
            actor=current_user._get_current_object()), lambda: AccountEditForm(formdata=None, obj=user)) is not REFUSED:
        flash(_("Compte %(of_name)s enregistré.", of_name=de(user.name)), "success")
        if not current_user.is_admin:  # stepped down: the accounts pages are no longer theirs
            return redirect(url_for("dashboard.home"))
        return redirect(url_for("users.user_list"))
    return render_template("users/edit.html", user=user, form=form, history=audit.history(user)), edit_status(form)


@bp.route("/admin/comptes/<int:user_id>/mot-de-passe", methods=["GET", "POST"])
@access(ADMIN)
def user_password(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("Pour votre propre compte, utilisez « Changer de mot de passe »."), "info")
        return redirect(url_for("auth.change_password"))
    form = TemporaryPasswordForm()
    if form.validate_on_submit() and committed(form, lambda: users.reset_password(
            user, form.password.data, actor=current_user._get_current_object())):
        flash(_("Nouveau mot de passe provisoire enregistré pour %(name)s : transmettez-le-lui ; il lui "
                "sera demandé d'en choisir un à sa prochaine connexion.", name=user.name), "success")
        return redirect(url_for("users.user_edit", user_id=user.id))
    return render_template("users/password.html", user=user, form=form)


@bp.route("/admin/comptes/<int:user_id>/activation", methods=["POST"])
@access(ADMIN)
def user_toggle(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        users.set_active(user, posted_state("active"), actor=current_user._get_current_object())
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("Compte activé.") if user.active else _("Compte désactivé."), "info")
    return redirect(url_for("users.user_list"))
