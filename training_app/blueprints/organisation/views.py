"""Organisation settings: the identity printed on convocations, sheets, certificates and claims."""
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from training_app.access import ADMIN, access
from training_app.blueprints.organisation import bp
from training_app.blueprints.organisation.forms import OrganisationForm
from training_app.forms import REFUSED, edit_committed, edit_status
from training_app.models import Organisation
from training_app.services import organisation as organisation_service


@bp.route("/", methods=["GET", "POST"])
@access(ADMIN)
def edit():
    organisation = Organisation.get()
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit() and edit_committed(form, organisation, lambda: _save(form),
                                                    lambda: OrganisationForm(formdata=None, obj=organisation)) \
            is not REFUSED:
        flash(_("Les informations de l'organisme sont enregistrées."), "success")
        return redirect(url_for("organisation.edit"))
    return render_template("organisation/edit.html", form=form, organisation=Organisation.get(),
                           missing=organisation_service.missing_for_documents(),
                           image_problems=organisation_service.image_problems(),
                           missing_signature=organisation_service.missing_signature_image()), edit_status(form)


def _save(form: OrganisationForm) -> None:
    """The texts, then each image removed or replaced; a refused image names its own field (set_image)."""
    organisation_service.update({name: getattr(form, name).data for name in organisation_service.TEXT_FIELDS})
    for field in organisation_service.IMAGE_FIELDS:
        if getattr(form, f"remove_{field}").data:
            organisation_service.remove_image(field)
    organisation_service.set_images({field: getattr(form, field).data for field in organisation_service.IMAGE_FIELDS
                                     if getattr(getattr(form, field).data, "filename", "")})


@bp.route("/image/<field>")
@access(ADMIN)
def image(field: str):
    if field not in organisation_service.IMAGE_FIELDS:
        abort(404)
    content = organisation_service.image_bytes(field)
    if content is None:
        abort(404)
    mimetype = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
    return Response(content, mimetype=mimetype, headers={"Cache-Control": "private, no-store"})
