"""An administrator issues a completed session's certificates, then checks one on the public page."""
import pytest

from tests import factories
from tests.certificate_course import WEDNESDAY_AFTERNOON, completed_course
from training_app.services import certificates as certificate_service

pytestmark = pytest.mark.browser


def test_admin_issues_the_certificates_and_the_public_page_confirms_one(page):
    admin = factories.make_user("admin", name="Claire Bernard")
    course = completed_course(absences={0: [WEDNESDAY_AFTERNOON]})
    awa = course.enrolments[0]

    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{course.session.id}")
    section = page.get_by_test_id("certificates-section")
    assert section.get_by_test_id("certificate-row").count() == 3
    # Nobody recorded the outcomes: the section says so, and issuing needs the office's explicit confirmation.
    unrecorded = section.get_by_test_id("unrecorded-outcomes").inner_text()
    assert "Awa Diallo : 3 objectifs non renseignés" in unrecorded and "Sophie Renaud" in unrecorded
    section.get_by_role("button", name="Émettre les documents de la session").click()
    assert "Acquis jamais renseignés par les formateur·rices pour : Awa Diallo (3 objectifs sur 3)" in page.get_by_role(
        "alert").first.inner_text()
    assert certificate_service.current_documents(awa) == {}
    section = page.get_by_test_id("certificates-section")
    section.get_by_label("Émettre malgré les acquis non renseignés").check()
    section.get_by_role("button", name="Émettre les documents de la session").click()

    assert "6 documents émis." in page.get_by_role("status").first.inner_text()
    awa_row = page.get_by_test_id("certificate-row").filter(has_text="Awa Diallo")
    assert "17 h" in awa_row.inner_text()
    documents = certificate_service.current_documents(awa)
    assert f"n° {documents['realisation'].number}" in awa_row.inner_text()

    with page.expect_download() as download:
        awa_row.get_by_role("link", name=f"n° {documents['attestation'].number}").click()
    assert download.value.suggested_filename == documents["attestation"].filename

    page.get_by_test_id("account-menu").locator("summary").click()  # the menu under the user's name
    page.get_by_role("button", name="Se déconnecter").click()
    page.goto("/verify")
    page.get_by_label("Code de vérification").fill(documents["realisation"].verification_code.lower())
    page.get_by_role("button", name="Vérifier").click()
    assert "Document valide" in page.get_by_test_id("verify-status").inner_text()
    details = page.get_by_test_id("verify-details").inner_text()
    assert "Awa Diallo" in details and "17 h" in details and "mardi 11 décembre 2018" in details
