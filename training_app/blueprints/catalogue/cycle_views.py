"""Administrators keep the cycles of programmes (services/cycles.py holds the rules)."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from training_app.access import ADMIN, access
from training_app.blueprints.catalogue import bp
from training_app.blueprints.catalogue.forms import CycleEditForm, CycleForm
from training_app.extensions import db
from training_app.forms import (REFUSED, commit_or_flash, committed, edit_committed, edit_form, edit_status,
                                from_cents, to_cents)
from training_app.models import Cycle
from training_app.services import cycles as cycle_service


def _form_data(form: CycleForm) -> dict:
    return {"name": form.name.data, "description": form.description.data,
            "special_price_cents": to_cents(form.special_price.data)}


@bp.route("/admin/cycles")
@access(ADMIN)
def cycle_list():
    return render_template("catalogue/cycles.html", cycles=cycle_service.all_cycles())


@bp.route("/admin/cycles/nouveau", methods=["GET", "POST"])
@access(ADMIN)
def cycle_create():
    form = CycleForm()
    saved = []
    if form.validate_on_submit() and committed(
            form, lambda: saved.append(cycle_service.save_cycle(None, _form_data(form)))):
        flash(_("Le cycle « %(name)s » a été créé.", name=saved[0].name), "success")
        return redirect(url_for("catalogue.cycle_list"))
    return render_template("catalogue/cycle_form.html", form=form, cycle=None)


def _edit_form(cycle: Cycle, stored: bool = False) -> CycleEditForm:
    def fill(form):
        form.special_price.data = from_cents(cycle.special_price_cents)

    return edit_form(CycleEditForm, cycle, stored, fill=fill)


@bp.route("/admin/cycles/<int:cycle_id>/modifier", methods=["GET", "POST"])
@access(ADMIN)
def cycle_edit(cycle_id: int):
    cycle = db.get_or_404(Cycle, cycle_id)
    form = _edit_form(cycle)
    saved = form.validate_on_submit() and edit_committed(
        form, cycle, lambda: cycle_service.save_cycle(cycle, _form_data(form)),
        lambda: _edit_form(cycle, stored=True))
    if saved and saved is not REFUSED:
        flash(_("Le cycle « %(name)s » a été mis à jour.", name=cycle.name), "success")
        return redirect(url_for("catalogue.cycle_list"))
    return render_template("catalogue/cycle_form.html", form=form, cycle=cycle), edit_status(form)


@bp.route("/admin/cycles/<int:cycle_id>/supprimer", methods=["POST"])
@access(ADMIN)
def cycle_delete(cycle_id: int):
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:  # a double click, or a colleague deleted it: nothing to do
        flash(_("Ce cycle n'existe plus : il a déjà été supprimé."), "info")
        return redirect(url_for("catalogue.cycle_list"))
    name = cycle.name
    if commit_or_flash(lambda: cycle_service.delete_cycle(cycle)) is not REFUSED:
        flash(_("Le cycle « %(name)s » a été supprimé.", name=name), "success")
    return redirect(url_for("catalogue.cycle_list"))
