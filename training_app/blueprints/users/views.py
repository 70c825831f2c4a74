"""Staff accounts, kept by administrators."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from training_app.access import ADMIN, access
from training_app.blueprints.users import bp
from training_app.blueprints.users.forms import UserForm
from training_app.extensions import db
from training_app.forms import attach_service_error
from training_app.models import User
from training_app.services import ServiceError, users


@bp.route("/admin/comptes", methods=["GET", "POST"])
@access(ADMIN)
def user_list():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(form.email.data, form.name.data, form.role.data, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Compte créé pour %(name)s.", name=user.name), "success")
            return redirect(url_for("users.user_list"))
    accounts = db.session.scalars(db.select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("users/list.html", accounts=accounts, form=form)


@bp.route("/admin/comptes/<int:user_id>/activation", methods=["POST"])
@access(ADMIN)
def user_toggle(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("Vous ne pouvez pas désactiver votre propre compte."), "danger")
    else:
        users.set_active(user, not user.active)
        db.session.commit()
        flash(_("Compte activé.") if user.active else _("Compte désactivé."), "info")
    return redirect(url_for("users.user_list"))
