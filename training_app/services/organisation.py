"""The organisation's identity, printed on every document."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from training_app.documents import storage, uploads
from training_app.identifiers import is_valid_siret, normalise_siret
from training_app.models import Organisation
from training_app.services import ServiceError, audit

TEXT_FIELDS = ("name", "address", "siret", "declaration_number", "legal_representative", "signatory_name",
               "signatory_role", "city", "email", "phone", "accessibility_contact", "vat_mention")
IMAGE_FIELDS = {"signature_image": _l("signature"), "stamp_image": _l("cachet"), "logo_image": _l("logo")}
MAX_IMAGE_BYTES = 2 * 1024 * 1024

# What each kind of document needs, with the French names shown when something is missing.
REQUIRED_FOR_DOCUMENTS = {
    "name": _l("nom de l'organisme"), "address": _l("adresse"), "siret": _l("SIRET"),
    "declaration_number": _l("numéro de déclaration d'activité"),
    "legal_representative": _l("représentant·e légal·e"), "signatory_name": _l("nom du ou de la signataire"),
    "signatory_role": _l("fonction du ou de la signataire"), "city": _l("ville (« Fait à »)"),
}


def update(data: dict) -> Organisation:
    organisation = Organisation.get()
    siret = normalise_siret(data.get("siret"))
    if siret and not is_valid_siret(siret):
        raise ServiceError(_("Ce SIRET n'est pas valide (14 chiffres, clé de contrôle incorrecte)."), "siret")
    data = dict(data, siret=siret)
    for name in TEXT_FIELDS:
        if name in data:
            setattr(organisation, name, (data[name] or "").strip())
    audit.record(organisation, "updated")
    return organisation


def set_image(field: str, file_storage) -> None:
    """Store an uploaded PNG or JPEG (checked from its content) as the signature, stamp or logo."""
    if field not in IMAGE_FIELDS:
        raise ValueError(field)
    content, kind = uploads.check_upload(file_storage, ("png", "jpeg"), MAX_IMAGE_BYTES)
    organisation = Organisation.get()
    organisation_path = storage.save("organisation", f"{field}.{'png' if kind == 'png' else 'jpg'}", content)
    setattr(organisation, field, organisation_path)
    audit.record(organisation, "image_changed", details={"field": field})


def remove_image(field: str) -> None:
    organisation = Organisation.get()
    setattr(organisation, field, "")
    audit.record(organisation, "image_removed", details={"field": field})


def image_bytes(field: str) -> bytes | None:
    path = getattr(Organisation.get(), field, "")
    return storage.read(path) if path and storage.exists(path) else None


def missing_for_documents() -> list[str]:
    """French names of the settings a certificate, convocation or claim cannot do without."""
    organisation = Organisation.get()
    return [str(label) for name, label in REQUIRED_FOR_DOCUMENTS.items() if not getattr(organisation, name)]


def identity() -> dict:
    """The organisation as plain data for document templates."""
    organisation = Organisation.get()
    data = {name: getattr(organisation, name) for name in TEXT_FIELDS}
    data["address_lines"] = [line for line in organisation.address.splitlines() if line.strip()]
    return data

