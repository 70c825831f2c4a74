"""Export and erasure of a trainee's personal data, from the trainee's page (administrators only)."""
import json

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from training_app.access import ADMIN, access
from training_app.blueprints.personal_data import bp
from training_app.blueprints.personal_data.forms import EraseForm
from training_app.extensions import db
from training_app.formatting import date_fr, de
from training_app.forms import REFUSED, commit_or_flash
from training_app.models import Enrolment, Trainee
from training_app.services import personal_data


@bp.app_template_global()
def kept_records_until(trainee: Trainee):
    """For personal_data/_section.html: (the day the kept records expire or None, the retention in years, whether
    that day has come: the records are then due for anonymisation by `flask purge-expired`)."""
    until = personal_data.retention_end(trainee)
    return until, current_app.config["RECORD_RETENTION_YEARS"], personal_data.retention_over(until)


@bp.app_template_global()
def erasure_outlook(trainee: Trainee):
    """For personal_data/_section.html: (why an erasure would be refused now or None, whether it would keep
    records: without any, the person is deleted entirely)."""
    return personal_data.erasure_refusal(trainee), personal_data.keeps_records(trainee)


@bp.app_template_global()
def records_purge_note() -> str:
    """How records whose retention period is over get anonymised (services/personal_data.py, purge)."""
    return _("La purge automatique s'en charge à son prochain passage.")


def trainee_page(trainee: Trainee):
    """The trainee's page (their details, reached through an enrolment), or the erasure page without one."""
    enrolment_id = db.session.scalar(db.select(Enrolment.id).where(Enrolment.trainee_id == trainee.id)
                                     .order_by(Enrolment.requested_at.desc(), Enrolment.id.desc()).limit(1))
    if enrolment_id is None:
        return url_for("personal_data.erase", trainee_id=trainee.id)
    return url_for("enrolments.trainee_edit", enrolment_id=enrolment_id)


@bp.route("/stagiaires/<int:trainee_id>/donnees.json")
@access(ADMIN)
def export(trainee_id: int):
    trainee = db.get_or_404(Trainee, trainee_id)
    body = json.dumps(personal_data.export(trainee), ensure_ascii=False, indent=2, default=str)
    return Response(body.encode("utf-8"), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="donnees-{trainee.id}.json"', "Cache-Control": "no-store"})


@bp.route("/stagiaires/<int:trainee_id>/effacer", methods=["GET", "POST"])
@access(ADMIN)
def erase(trainee_id: int):
    trainee = db.get_or_404(Trainee, trainee_id)
    form = EraseForm()
    if form.validate_on_submit():
        name, back = trainee.full_name, trainee_page(trainee)
        erasure = commit_or_flash(lambda: personal_data.erase(
            trainee, form.reason.data, current_user._get_current_object()))
        if erasure is REFUSED:
            return redirect(back)
        if erasure.deleted:
            flash(_("Les données %(of_name)s sont effacées : sans émargement, attestation ni financement à "
                    "conserver, la personne a été supprimée entièrement.", of_name=de(name)), "success")
            return redirect(url_for("dashboard.home"))
        flash(_("Les données %(of_name)s sont effacées (adresse e-mail, téléphone, réponses nominatives, "
                "courriels, liens personnels). Conservés, car les documents obligatoires les impriment pendant "
                "la durée de conservation : nom, civilité, structure employeuse, fonction, et %(kept)s.",
                of_name=de(name), kept=erasure.kept_text), "success")
        until = personal_data.retention_end(trainee)
        if personal_data.retention_over(until):
            flash(_("La durée de conservation de ces pièces a pris fin le %(date)s : elles sont à rendre anonymes, et "
                    "leurs fichiers à supprimer.", date=date_fr(until, "d MMMM y")) + " " + records_purge_note(), "warning")
        elif until is not None:
            flash(_("Ces pièces seront rendues anonymes, et leurs fichiers supprimés, à partir du %(date)s (fin de la "
                    "durée de conservation).", date=date_fr(until, "d MMMM y")), "info")
        return redirect(trainee_page(trainee))
    return render_template("personal_data/erase.html", form=form, trainee=trainee, back=trainee_page(trainee))
