import io

import pytest

from tests import factories
from training_app.documents import storage
from training_app.extensions import db
from training_app.identifiers import is_valid_siret
from training_app.models import Organisation
from training_app.services import organisation as organisation_service

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc````\x00\x00\x00\x05\x00\x01\xa5\xf6E@\x00\x00\x00\x00IEND\xaeB`\x82")
FORM = {"name": "Si on s'alliait ?", "address": "4 rue du Bourbonnais\n35000 Rennes", "siret": "441 951 270 00004",
        "declaration_number": "53350999935", "legal_representative": "Claire Bernard",
        "signatory_name": "Claire Bernard", "signatory_role": "Co-présidente", "city": "Rennes",
        "email": "contact@example.org", "phone": "", "accessibility_contact": "", "vat_mention": "",
        "version": 1}  # the row is made at its first save, at version 1


def test_siret_checksum():
    assert is_valid_siret("44195127000004")
    assert is_valid_siret("441 951 270 00004")
    assert not is_valid_siret("44195127000005")
    assert not is_valid_siret("4419512700000")
    assert is_valid_siret("35600000000001")  # La Poste's rule


def test_missing_settings_are_listed(admin_client):
    page = admin_client.get("/admin/organisme/").get_data(as_text=True)
    assert "numéro de déclaration d&#39;activité" in page or "numéro de déclaration d'activité" in page
    assert "SIRET" in organisation_service.missing_for_documents()


def test_admin_saves_the_organisation_with_a_signature(admin_client):
    data = dict(FORM, signature_image=(io.BytesIO(PNG), "signature.png"))
    response = admin_client.post("/admin/organisme/", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    organisation = Organisation.get()
    assert organisation.siret == "44195127000004"
    assert organisation.signature_image
    assert organisation_service.missing_for_documents() == []
    image = admin_client.get("/admin/organisme/image/signature_image")
    assert image.status_code == 200 and image.data == PNG and image.mimetype == "image/png"


def test_a_signature_replaced_then_removed_on_the_page_leaves_no_file(admin_client):
    response = admin_client.post("/admin/organisme/", data=dict(FORM, signature_image=(io.BytesIO(PNG), "a.png")),
                                 content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    first = Organisation.get().signature_image
    response = admin_client.post("/admin/organisme/", data=dict(FORM, version=2, signature_image=(
        io.BytesIO(PNG), "b.png")), content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    second = Organisation.get().signature_image
    assert not storage.exists(first) and storage.exists(second)
    response = admin_client.post("/admin/organisme/", data=dict(FORM, version=3, remove_signature_image="y"),
                                 content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    assert Organisation.get().signature_image == "" and not storage.exists(second)


def test_invalid_siret_and_disguised_image_are_refused_and_nothing_saved(admin_client):
    response = admin_client.post("/admin/organisme/", data=dict(FORM, siret="44195127000005"))
    assert "SIRET n&#39;est pas valide" in response.get_data(as_text=True) \
        or "SIRET n'est pas valide" in response.get_data(as_text=True)
    disguised = dict(FORM, stamp_image=(io.BytesIO(b"MZ\x90\x00 an executable"), "cachet.png"))
    response = admin_client.post("/admin/organisme/", data=disguised, content_type="multipart/form-data")
    assert "type accepté" in response.get_data(as_text=True)
    db.session.expire_all()
    organisation = Organisation.get()
    assert organisation.name == "" and organisation.stamp_image == ""


def test_public_pages_are_titled_with_the_organisations_name(client):
    factories.make_organisation(name="Si on s'alliait ?")
    programme = factories.make_programme(title="Négocier localement")
    for path in ("/", f"/formations/{programme.id}"):
        head = client.get(path).get_data(as_text=True).split("</title>")[0]
        assert "Si on s&#39;alliait ?" in head and "training_app" not in head


# --- the signature, stamp and logo: whole images of a sensible size, or refused on their own field ----------

def _png(size=(60, 20), mode="RGB") -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else 0).save(out, format="PNG")
    return out.getvalue()


def _jpeg(size=(60, 20)) -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", size, "navy").save(out, format="JPEG")
    return out.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that says it is width × height pixels, with its first row only (its size tells nothing)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))) + chunk(b"IEND", b""))


def _png_with_resolution(pixels_a_metre: int) -> bytes:
    """_png() stating its resolution (a pHYs chunk) in pixels a metre."""
    import struct
    import zlib
    data = struct.pack(">IIB", pixels_a_metre, pixels_a_metre, 1)
    chunk = struct.pack(">I", len(data)) + b"pHYs" + data + struct.pack(">I", zlib.crc32(b"pHYs" + data) & 0xFFFFFFFF)
    png = _png()
    return png[:33] + chunk + png[33:]  # after the signature (8 bytes) and IHDR (25)


def _stored_organisation_files() -> list[str]:
    import os

    from training_app.documents import storage
    folder = os.path.join(storage.root(), "organisation")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def _error_under(page: str, field: str) -> str:
    """The error shown under the form's `field` (_macros.html: the element with id "<field>-erreur")."""
    import html
    import re
    found = re.search(rf'id="{field}-erreur"[^>]*>(.*?)</', page, re.S)
    return html.unescape(found.group(1)) if found else ""


@pytest.mark.parametrize("field, content, expected", [
    ("stamp_image", b"\x89PNG\r\n\x1a\n" + b"junk" * 100, "L'image « cachet » est illisible ou abîmée"),
    ("signature_image", b"\xff\xd8\xff" + b"\x00" * 400, "L'image « signature » est illisible ou abîmée"),
    ("logo_image", _jpeg((400, 300))[:600], "L'image « logo » est illisible ou abîmée"),  # cut short
    ("stamp_image", _png()[:-20], "L'image « cachet » est illisible ou abîmée"),  # its end chunk lost
    ("stamp_image", _png_header(30000, 30000), "L'image « cachet » est trop grande : 4000 pixels de côté"),
    ("signature_image", _png((4001, 2), "L"), "L'image « signature » est trop grande"),
], ids=["damaged-png", "jpeg-of-zeros", "jpeg-cut-short", "png-without-end", "900-mpx-png", "4001-px-png"])
def test_a_damaged_or_huge_image_is_refused_on_its_field_and_nothing_is_stored(admin_client, field, content,
                                                                                 expected):
    """A damaged image used to be taken on its first bytes, then every certificate and template upload failed
    blaming the Word template; a 900-megapixel PNG of 875 Ko was taken too."""
    before = _stored_organisation_files()
    data = dict(FORM, logo_image=(io.BytesIO(_png()), "logo.png"))  # a good image sent along is not kept either
    data[field] = (io.BytesIO(content), "image.png")
    response = admin_client.post("/admin/organisme/", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert expected in _error_under(response.get_data(as_text=True), field)
    db.session.expire_all()
    organisation = Organisation.get()
    assert (organisation.signature_image, organisation.stamp_image, organisation.logo_image) == ("", "", "")
    assert organisation.name == ""  # the texts of the form are not saved either
    assert _stored_organisation_files() == before


def test_images_up_to_4000_pixels_a_side_are_taken(admin_client):
    data = dict(FORM, stamp_image=(io.BytesIO(_png((4000, 3), "L")), "cachet.png"),
                signature_image=(io.BytesIO(_jpeg()), "signature.jpg"))
    response = admin_client.post("/admin/organisme/", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    assert Organisation.get().stamp_image.endswith(".png") and Organisation.get().signature_image.endswith(".jpg")
    assert organisation_service.image_problems() == []


@pytest.mark.parametrize("field, content, expected", [
    ("logo_image", _jpeg()[:2] + _jpeg()[20:], "JPEG que Word ne sait pas placer"),  # without its JFIF segment
    ("stamp_image", _png_with_resolution(1), "L'image « cachet » indique une résolution (en points par pouce) que "
     "Word ne sait pas utiliser"),  # 1 pixel a metre: 0 dpi, and placing it divided by zero
], ids=["jpeg-without-jfif", "png-of-0-dpi"])
def test_an_image_stored_earlier_that_word_cannot_place_is_named(app, field, content, expected):
    """Uploads are stored re-encoded (tests/unit/test_image_reencoding.py), which Word always places; an image
    stored before that may not be."""
    factories.make_organisation()
    organisation = Organisation.get()
    setattr(organisation, field, storage.save("organisation", f"{field}.png", content))
    db.session.commit()
    assert [expected in problem for problem in organisation_service.image_problems()] == [True]


def test_a_damaged_image_stored_earlier_is_named_not_the_template(admin_client):
    """An image stored before images were checked: the template upload, the issuing and the organisation page
    say which image to replace, and that the template is not the cause."""
    from werkzeug.datastructures import FileStorage

    from tests.certificate_course import completed_course
    from training_app.documents import storage
    from training_app.models import IssuedCertificate
    from training_app.services import ServiceError
    from training_app.services import certificates as certificate_service
    course = completed_course(trainees=("Awa Diallo",))
    organisation = Organisation.get()
    organisation.stamp_image = storage.save("organisation", "stamp_image.png", b"\x89PNG\r\n\x1a\n" + b"junk" * 50)
    db.session.commit()
    with open(certificate_service.word.template_path("attestation_fin_formation.docx"), "rb") as handle:
        shipped = handle.read()

    with pytest.raises(ServiceError) as refused:
        certificate_service.upload_template("attestation", FileStorage(io.BytesIO(shipped), filename="modele.docx"))
    assert "L'image « cachet » est illisible" in refused.value.message
    assert "le modèle n'est pas en cause" in refused.value.message and "Le modèle ne peut" not in refused.value.message
    db.session.rollback()

    response = admin_client.post(f"/sessions/{course.session.id}/attestations/emettre",
                                 data={"confirm_unrecorded": "y"}, follow_redirects=True)
    import html
    text = html.unescape(response.get_data(as_text=True))
    assert "L'image « cachet » est illisible" in text and "ne peut pas être utilisé" not in text
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0

    page = html.unescape(admin_client.get("/admin/organisme/").get_data(as_text=True))
    assert "L'image « cachet » est illisible" in page


# --- the legal representative's own signature, for the certificat de réalisation -------------------------------

def test_the_legal_representative_s_signature_is_asked_for_when_someone_else_signs_the_attestations(admin_client):
    import html
    data = dict(FORM, signatory_name="Paul Martin", signature_image=(io.BytesIO(_png()), "signature.png"))
    assert admin_client.post("/admin/organisme/", data=data, content_type="multipart/form-data").status_code == 302
    page = html.unescape(admin_client.get("/admin/organisme/").get_data(as_text=True))
    assert ("Image manquante : la signature de Claire Bernard, représentant·e légal·e, qui signe les certificats "
            "de réalisation (Paul Martin signe les attestations)") in page

    legal = _jpeg()
    data = dict(FORM, signatory_name="Paul Martin", version=2,
                legal_representative_signature_image=(io.BytesIO(legal), "claire.jpg"))
    assert admin_client.post("/admin/organisme/", data=data, content_type="multipart/form-data").status_code == 302
    db.session.expire_all()
    assert Organisation.get().legal_representative_signature_image.endswith(".jpg")
    assert admin_client.get("/admin/organisme/image/legal_representative_signature_image").data == legal
    page = html.unescape(admin_client.get("/admin/organisme/").get_data(as_text=True))
    assert "Image manquante" not in page and 'data-testid="missing-signature"' not in page

    data = dict(FORM, signatory_name="Paul Martin", version=3, remove_legal_representative_signature_image="y")
    assert admin_client.post("/admin/organisme/", data=data).status_code == 302
    db.session.expire_all()
    assert Organisation.get().legal_representative_signature_image == ""


@pytest.mark.parametrize("content, expected", [
    (_png()[:-20], "L'image « signature du ou de la représentant·e légal·e » est illisible ou abîmée"),
    (_png((4001, 2), "L"), "L'image « signature du ou de la représentant·e légal·e » est trop grande"),
], ids=["damaged", "4001-px"])
def test_a_damaged_or_huge_legal_representative_signature_is_refused_on_its_field(admin_client, content, expected):
    before = _stored_organisation_files()
    data = dict(FORM, legal_representative_signature_image=(io.BytesIO(content), "claire.png"))
    response = admin_client.post("/admin/organisme/", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert expected in _error_under(response.get_data(as_text=True), "legal_representative_signature_image")
    db.session.expire_all()
    assert Organisation.get().legal_representative_signature_image == "" and _stored_organisation_files() == before
