"""The organisation's identity, printed on every document."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from training_app.documents import images, storage, uploads, word
from training_app.formatting import de
from training_app.identifiers import is_valid_siret, normalise_siret
from training_app.models import Organisation
from training_app.services import ServiceError, audit

TEXT_FIELDS = ("name", "address", "siret", "declaration_number", "legal_representative", "signatory_name",
               "signatory_role", "city", "email", "phone", "accessibility_contact", "vat_mention")
IMAGE_FIELDS = {"signature_image": _l("signature"), "stamp_image": _l("cachet"), "logo_image": _l("logo"),
                "legal_representative_signature_image": _l("signature du ou de la représentant·e légal·e")}
MAX_IMAGE_BYTES = 2 * 1024 * 1024
# A stamp, signature or logo is printed a few centimetres wide: 4000 pixels a side is far more than print needs
# (3 cm at 300 dpi is 354 pixels), and bounds what Word, LibreOffice and Pillow must decode (64 Mo at most).
MAX_IMAGE_SIDE = 4000

# What each kind of document needs, with the French names shown when something is missing.
REQUIRED_FOR_DOCUMENTS = {
    "name": _l("nom de l'organisme"), "address": _l("adresse"), "siret": _l("SIRET"),
    "declaration_number": _l("numéro de déclaration d'activité"),
    "legal_representative": _l("représentant·e légal·e"), "signatory_name": _l("nom du ou de la signataire"),
    "signatory_role": _l("fonction du ou de la signataire"), "city": _l("ville (« Fait à »)"),
}


def update(data: dict) -> Organisation:
    """Set the TEXT_FIELDS given in `data` (trimmed); those absent are kept as they are, the SIRET too."""
    organisation = Organisation.get()
    if "siret" in data:
        data = dict(data, siret=checked_siret(data["siret"]))
    for name in TEXT_FIELDS:
        if name in data:
            setattr(organisation, name, (data[name] or "").strip())
    audit.record(organisation, "updated")
    return organisation


def checked_siret(value: str | None) -> str:
    """The SIRET typed, normalised (spaces and dots taken out), or a refusal on "siret"; empty is accepted (the
    page then lists it among what the documents lack). Run by the organisation form too: every mistake at once."""
    siret = normalise_siret(value)
    if siret and not is_valid_siret(siret):
        raise ServiceError(_("Ce SIRET n'est pas valide (14 chiffres, clé de contrôle incorrecte)."), "siret")
    return siret


def set_image(field: str, file_storage) -> None:
    """Store an uploaded PNG or JPEG as the signature, stamp or logo (set_images)."""
    set_images({field: file_storage})


def set_images(uploaded: dict) -> None:
    """Store uploaded PNG or JPEG images ({field: file}) as the signature, stamp or logo, once each is known
    to be a whole image of a sensible size that Word can place (_checked), re-encoded: what is stored is
    the first frame written anew, without metadata (images.reencoded), never the bytes sent. A refusal names its
    image's field, and then no file is written at all; a file written is deleted if the transaction (or the
    savepoint it was written in) rolls back (storage.save_in_transaction), the file it replaces once it commits
    (_forget)."""
    checked = {}
    for field, file_storage in uploaded.items():
        if field not in IMAGE_FIELDS:
            raise ValueError(field)
        try:
            content, _kind = uploads.check_upload(file_storage, ("png", "jpeg"), MAX_IMAGE_BYTES)
        except ServiceError as error:
            raise ServiceError(error.message, field) from None
        plain = _checked(field, images.reencoded, content)
        problem = _placement_problem(field, plain.content, plain.kind)
        if problem:
            raise ServiceError(problem, field)
        checked[field] = plain
    organisation = Organisation.get()
    for field, plain in checked.items():
        _forget(organisation, field)
        setattr(organisation, field, storage.save_in_transaction(
            "organisation", f"{field}.{'png' if plain.kind == 'png' else 'jpg'}", plain.content))
        audit.record(organisation, "image_changed", details={"field": field})


def image_problem(field: str, content: bytes) -> str | None:
    """Why the image `content`, as stored, cannot be the organisation's `field` (in French), or None: it must
    open and decode whole as PNG or JPEG (a damaged file would make every document fail), be at most
    MAX_IMAGE_SIDE pixels a side, and have the header Word reads to place it. Images stored before uploads were
    re-encoded may lack that header; those stored since have it."""
    try:
        _image, kind, _tables = _checked(field, images.decoded, content)  # decoded only: nothing to store
    except ServiceError as error:
        return error.message
    return _placement_problem(field, content, kind)


def _checked(field: str, read, content: bytes):
    """read(content, kinds, max_side): images.reencoded (an upload) or images.decoded (an image stored), on
    PNG or JPEG within MAX_IMAGE_SIDE, its refusals given in French on `field`. The size is read from the header
    before anything is decoded."""
    label = IMAGE_FIELDS[field]
    try:
        return read(content, ("png", "jpeg"), MAX_IMAGE_SIDE)
    except images.TooLarge:
        raise ServiceError(_("L'image « %(image)s » est trop grande : %(max)d pixels de côté au plus, ce qui suffit "
                             "largement à l'impression.", image=label, max=MAX_IMAGE_SIDE), field) from None
    except images.Unreadable:
        raise ServiceError(_("L'image « %(image)s » est illisible ou abîmée : enregistrez-la à nouveau en PNG ou en "
                             "JPEG, puis envoyez-la.", image=label), field) from None


def _placement_problem(field: str, content: bytes, kind: str) -> str | None:
    """Why Word cannot place the image `content` (of `kind`), in French, or None."""
    if word.placeable(content):
        return None
    label = IMAGE_FIELDS[field]
    if kind == "jpeg":
        return _("L'image « %(image)s » est d'une variante de JPEG que Word ne sait pas placer : enregistrez-la "
                 "en PNG, puis envoyez-la.", image=label)
    return _("L'image « %(image)s » indique une résolution (en points par pouce) que Word ne sait pas utiliser "
             "pour la placer : enregistrez-la à nouveau en PNG avec un logiciel d'images, puis envoyez-la.",
             image=label)


def image_problems() -> list[str]:
    """What is wrong with the images stored on the organisation page (an image stored before they were
    checked), one French sentence each: documents cannot be made while one is wrong."""
    problems = []
    for field in IMAGE_FIELDS:
        content = image_bytes(field)
        problem = image_problem(field, content) if content is not None else None
        if problem:
            problems.append(problem)
    return problems


def remove_image(field: str) -> None:
    """The image is no longer printed; its file is deleted once the transaction commits (_forget)."""
    organisation = Organisation.get()
    _forget(organisation, field)
    setattr(organisation, field, "")
    audit.record(organisation, "image_removed", details={"field": field})


def _forget(organisation: Organisation, field: str) -> None:
    """The file of the image `field` (a signature, a stamp: personal data) is deleted once the transaction that
    replaces or removes it commits, and kept if it rolls back: no file is left that nothing names, and nothing
    names a file gone. Each upload has a name of its own (storage.save): no other row names it."""
    storage.delete_after_commit([getattr(organisation, field)])


def image_bytes(field: str) -> bytes | None:
    path = getattr(Organisation.get(), field, "")
    return storage.read(path) if path and storage.exists(path) else None


def same_person(first: str | None, second: str | None) -> bool:
    """Whether two names written on the organisation page name the same person (case and spaces aside)."""
    def key(name):
        return " ".join((name or "").split()).casefold()
    return bool(key(first)) and key(first) == key(second)


def one_signature(identity: dict) -> bool:
    """Whether one signature image serves both documents: the legal representative, who signs the certificat de
    réalisation, is the signatory of the attestations (or is not named)."""
    legal = identity.get("legal_representative")
    return not (legal or "").strip() or same_person(legal, identity.get("signatory_name"))


def missing_signature_image() -> str | None:
    """The signature image the certificat de réalisation lacks, in French, or None. When the legal
    representative is not the signatory of the attestations, the certificat carries the legal representative's
    signature image, never the signatory's: without it (while the attestations carry one), it is issued without
    a signature image."""
    organisation = Organisation.get()
    if (one_signature({"legal_representative": organisation.legal_representative,
                       "signatory_name": organisation.signatory_name})
            or not organisation.signature_image or organisation.legal_representative_signature_image):
        return None
    return _("Image manquante : la signature %(of_legal)s, représentant·e légal·e, qui signe les certificats de "
             "réalisation (%(signatory)s signe les attestations). Ajoutez-la sur la page « Organisme » "
             "(« %(field)s ») ; d'ici là, les certificats de réalisation sont émis sans image de signature.",
             of_legal=de(organisation.legal_representative), signatory=organisation.signatory_name,
             field=_("Image de la signature du ou de la représentant·e légal·e"))


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

