"""Administrators keep the catalogue of programmes."""
from decimal import Decimal

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from training_app.access import ADMIN, access
from training_app.blueprints.catalogue import bp
from training_app.blueprints.catalogue.forms import ProgrammeEditForm, ProgrammeForm
from training_app.extensions import db
from training_app.forms import REFUSED, edit_committed, edit_form, edit_status, from_cents, posted_state, to_cents
from training_app.models import Cycle, Programme
from training_app.services import programmes as programme_service


def _cycle_choices():
    cycles = db.session.scalars(db.select(Cycle).order_by(Cycle.name)).all()
    return [(0, _("— Aucun —"))] + [(c.id, c.name) for c in cycles]


def _form_data(form: ProgrammeForm) -> dict:
    internal = form.kind.data == "internal"
    return {
        "title": form.title.data.strip(), "kind": form.kind.data,
        "cycle_id": form.cycle_id.data or None,
        "rationale": form.rationale.data, "audience": form.audience.data,
        "prerequisites": form.prerequisites.data, "content": form.content.data,
        "competencies": form.competencies.data, "teaching_methods": form.teaching_methods.data,
        "evaluation_methods": form.evaluation_methods.data,
        "default_duration_minutes": int(round(form.duration_hours.data * 60)),
        "default_capacity": form.default_capacity.data,
        "price_cents": 0 if internal else (None if form.price_on_request.data else to_cents(form.price.data)),
        "accessibility_contact": form.accessibility_contact.data,
        "access_delay": (form.access_delay.data or "").strip(),
        "bpf_objective": form.bpf_objective.data, "nsf_code": form.nsf_code.data or "",
        "nsf_label": form.nsf_label.data or "",
    }


def _hours(minutes: int) -> Decimal:
    """Minutes as the duration field shows them: 1260 -> 21, 630 -> 10.5, 200 -> 3.33."""
    if minutes % 60 == 0:
        return Decimal(minutes // 60)
    return (Decimal(minutes) / 60).quantize(Decimal("0.01")).normalize()


@bp.route("/admin/formations")
@access(ADMIN)
def programme_list():
    programmes = db.session.scalars(
        db.select(Programme).order_by(Programme.archived, Programme.title)).all()
    return render_template("catalogue/list.html", programmes=programmes)


@bp.route("/admin/formations/nouvelle", methods=["GET", "POST"])
@access(ADMIN)
def programme_create():
    form = ProgrammeForm()
    form.cycle_id.choices = _cycle_choices()
    if form.validate_on_submit():
        programme = programme_service.save_programme(
            None, _form_data(form), programme_service.objective_lines(form.objectives.data))
        db.session.commit()
        flash(_("La formation « %(title)s » a été créée.", title=programme.title), "success")
        return redirect(url_for("catalogue.programme_detail", programme_id=programme.id))
    return render_template("catalogue/form.html", form=form, programme=None)


@bp.route("/admin/formations/<int:programme_id>")
@access(ADMIN)
def programme_detail(programme_id: int):
    programme = db.get_or_404(Programme, programme_id)
    return render_template("catalogue/detail.html", programme=programme,
                           bpf_objective_label=programme_service.bpf_objective_label(programme.bpf_objective))


def _edit_form(programme: Programme, stored: bool = False) -> ProgrammeEditForm:
    def fill(form):
        form.cycle_id.data = programme.cycle_id or 0
        form.objectives.data = "\n".join(o.text for o in programme.objectives)
        form.duration_hours.data = _hours(programme.default_duration_minutes)
        form.price_on_request.data = programme.price_cents is None and not programme.is_internal
        form.price.data = None if programme.is_internal else from_cents(programme.price_cents)  # not "0.00"

    def prepare(form):
        form.cycle_id.choices = _cycle_choices()

    return edit_form(ProgrammeEditForm, programme, stored, prepare, fill)


@bp.route("/admin/formations/<int:programme_id>/modifier", methods=["GET", "POST"])
@access(ADMIN)
def programme_edit(programme_id: int):
    programme = db.get_or_404(Programme, programme_id)
    form = _edit_form(programme)
    saved = form.validate_on_submit() and edit_committed(
        form, programme, lambda: programme_service.save_programme_reporting(
            programme, _form_data(form), programme_service.objective_lines(form.objectives.data)),
        lambda: _edit_form(programme, stored=True))
    if saved and saved is not REFUSED:
        flash(_("La formation a été mise à jour."), "success")
        for survey in saved.surveys_left:
            flash(programme_service.left_behind_message(survey), "warning")
        if saved.sessions_repriced and programme.price_cents is None:
            flash(ngettext("La formation n'est plus interne : sa session à venir, gratuite jusqu'ici, passe au tarif "
                           "sur demande. Les inscriptions déjà faites gardent leur prix : vérifiez-les.",
                           "La formation n'est plus interne : ses %(num)d sessions à venir, gratuites jusqu'ici, "
                           "passent au tarif sur demande. Les inscriptions déjà faites gardent leur prix : "
                           "vérifiez-les.",
                           saved.sessions_repriced), "warning")
        elif saved.sessions_repriced:
            flash(ngettext("La formation n'est plus interne : sa session à venir, gratuite jusqu'ici, passe à son "
                           "prix. Les inscriptions déjà faites gardent le leur : vérifiez-les.",
                           "La formation n'est plus interne : ses %(num)d sessions à venir, gratuites jusqu'ici, "
                           "passent à son prix. Les inscriptions déjà faites gardent le leur : vérifiez-les.",
                           saved.sessions_repriced), "warning")
        return redirect(url_for("catalogue.programme_detail", programme_id=programme.id))
    return render_template("catalogue/form.html", form=form, programme=programme), edit_status(form)


@bp.route("/admin/formations/<int:programme_id>/archiver", methods=["POST"])
@access(ADMIN)
def programme_archive(programme_id: int):
    programme = db.get_or_404(Programme, programme_id)
    programme_service.set_archived(programme, posted_state("archived"))
    db.session.commit()
    if programme.archived:
        flash(_("La formation est archivée : elle n'apparaît plus dans le catalogue public."), "info")
    else:
        flash(_("La formation est de nouveau au catalogue."), "success")
    return redirect(url_for("catalogue.programme_detail", programme_id=programme.id))

