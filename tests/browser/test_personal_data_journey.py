"""The office answers a trainee's request about her personal data: from her page, the administrator downloads
everything the application holds about her, then erases it with the reason; the page then says when, and no
longer shows her address or phone."""
import json

import pytest
from playwright.sync_api import expect

from tests import certificate_course, factories
from training_app.extensions import db

pytestmark = pytest.mark.browser


def test_the_office_exports_then_erases_a_trainees_data(page, live_server):
    course = certificate_course.completed_course(trainees=("Élodie Le Goff", "Julien Le Bihan"))
    enrolment = course.enrolments[0]
    enrolment.trainee.phone = "06 12 34 56 78"
    email = enrolment.trainee.email
    db.session.commit()
    admin = factories.make_user("admin", name="Claire Bernard")

    factories.sign_in_browser(page, admin)
    page.goto(f"/inscriptions/{enrolment.id}")
    page.get_by_role("link", name="Modifier la fiche (coordonnées, e-mail)").click()
    section = page.get_by_test_id("personal-data")
    with page.expect_download() as download_info:
        section.get_by_role("link", name="Exporter ses données").click()
    download = download_info.value
    assert download.suggested_filename == f"donnees-{enrolment.trainee_id}.json"
    with open(download.path(), encoding="utf-8") as exported:
        data = json.load(exported)
    assert (data["personne"]["prenom"], data["personne"]["adresse_email"]) == ("Élodie", email)
    assert len(data["inscriptions"][0]["emargement"]) == 6

    section.get_by_role("button", name="Effacer ses données").click()  # neither reason nor confirmation
    expect(section.get_by_text("Indiquez le motif de l'effacement")).to_be_visible()
    section = page.get_by_test_id("personal-data")
    section.get_by_label("Motif de l'effacement").fill("Demande écrite de la personne, 2 mars")
    section.get_by_label("Je confirme l'effacement").check()
    section.get_by_role("button", name="Effacer ses données").click()

    expect(page.get_by_role("status").first).to_contain_text("Les données d'Élodie Le Goff sont effacées")
    expect(page.get_by_test_id("erased")).to_contain_text("Données effacées le")
    # what stays, and until when: six years after the course of December 2018, a period over (anonymised by the
    # next `flask purge-expired`)
    expect(page.get_by_test_id("kept-until")).to_contain_text("a pris fin le 14 décembre 2024")
    expect(page.locator("main")).not_to_contain_text(email)
    expect(page.locator("main")).not_to_contain_text("06 12 34 56 78")
    page.goto(f"/inscriptions/{enrolment.id}")
    expect(page.get_by_test_id("erased")).to_contain_text("Données effacées le")
    expect(page.locator("main")).not_to_contain_text(email)
