"""Certificates through the web, after review: the certificates pages say which signature image the certificat
de réalisation lacks; the office corrects the employer of one enrolment from its page."""
import html
import io

from PIL import Image

from tests import factories
from tests.certificate_course import completed_course
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import Enrolment, Organisation

MISSING = "Image manquante : la signature de Claire Bernard, représentant·e légal·e"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), "navy").save(out, format="PNG")
    return out.getvalue()


def test_the_certificates_pages_say_which_signature_image_the_certificat_lacks(admin_client):
    course = completed_course(trainees=("Awa Diallo",))
    organisation = factories.make_organisation(signatory_name="Paul Martin", signatory_role="Directeur")
    organisation.signature_image = storage.save("organisation", "signature_image.png", _png())
    db.session.commit()
    for path in (f"/sessions/{course.session.id}", "/admin/attestations/modeles"):
        assert MISSING in _text(admin_client.get(path)), path

    organisation = Organisation.get()
    organisation.legal_representative_signature_image = storage.save("organisation", "legal.png", _png())
    db.session.commit()
    for path in (f"/sessions/{course.session.id}", "/admin/attestations/modeles"):
        assert "Image manquante" not in _text(admin_client.get(path)), path


def test_the_office_corrects_the_employer_of_an_enrolment_from_its_page(admin_client):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    julien = course.enrolments[1]
    other = factories.make_employer(name="Mairie de Vitré", siret="")
    julien.trainee.employer = other  # his record says where he works now
    db.session.commit()
    page = _text(admin_client.get(f"/inscriptions/{julien.id}"))
    assert "CCAS de Rennes (SIRET 78324521000001)" in page
    assert "sa fiche indique maintenant : Mairie de Vitré" in page

    form = _text(admin_client.get(f"/inscriptions/{julien.id}/employeur"))
    assert "Structure employeuse pour cette formation" in form and "Aucune (à titre individuel)" in form
    response = admin_client.post(f"/inscriptions/{julien.id}/employeur", data={"employer_id": other.id},
                                 follow_redirects=True)
    assert "Structure employeuse de l'inscription enregistrée" in _text(response)
    db.session.expire_all()
    assert db.session.get(Enrolment, julien.id).employer_id == other.id
    assert "Structure employeuse corrigée" in _text(admin_client.get(f"/inscriptions/{julien.id}"))

    response = admin_client.post(f"/inscriptions/{julien.id}/employeur", data={"employer_id": 10 ** 6})
    assert response.status_code == 200 and "Cette structure n'existe plus" in _text(response)


def test_an_employer_named_by_a_funding_agreement_is_not_corrected_on_the_enrolment(admin_client):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    julien = course.enrolments[1]
    factories.make_agreement(course.session, [julien], employer=course.employer, file_number="UNI-7")
    response = admin_client.post(f"/inscriptions/{julien.id}/employeur", data={"employer_id": 0})
    assert response.status_code == 200
    assert "couverte par l'accord de financement UNI-7" in _text(response)
    db.session.expire_all()
    assert db.session.get(Enrolment, julien.id).employer_id == course.employer.id

