import io

from tests import factories
from training_app.extensions import db
from training_app.identifiers import is_valid_siret
from training_app.models import Organisation
from training_app.services import organisation as organisation_service

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
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
