"""An office catching up on a course run on paper: « Session déjà réalisée » ticked on the new session form, the
trainee enrolled once it is over, the first half-day's paper sheet entered, its scan attached, the sheet closed."""
import pytest

from tests import factories
from tests.browser.test_attendance_journey import accept_dialogs, row

pytestmark = pytest.mark.browser


def test_the_office_records_a_session_held_on_paper(page, tmp_path):
    admin = factories.make_user("admin", name="Claire Bernard")
    factories.make_programme(title="Du dialogue à la négociation")
    factories.make_trainee("Awa", "Diallo", email="awa.diallo@example.org")
    scan = tmp_path / "feuille.pdf"
    scan.write_bytes(b"%PDF-1.4 la feuille papier signee")

    factories.sign_in_browser(page, admin)
    page.get_by_role("link", name="Programmer une session").first.click()
    factories.fill_session_form(page, "2025-03-04 14:00", "2025-03-07 12:30",
                                programme="Du dialogue à la négociation", capacity="15")
    page.get_by_role("button", name="Enregistrer").click()
    assert "est déjà passée" in page.get_by_role("alert").first.inner_text()  # the box not ticked: refused

    page.get_by_label("Session déjà réalisée : je la saisis à partir des feuilles d'émargement papier").check()
    page.get_by_role("button", name="Enregistrer").click()
    assert "6 demi-journées, 21 h prévues" in page.get_by_role("status").first.inner_text()
    assert page.get_by_test_id("recorded-afterwards").is_visible()

    page.get_by_role("link", name="Inscrire un·e stagiaire").click()
    page.get_by_label("Stagiaire", exact=True).select_option(label="DIALLO Awa <awa.diallo@example.org>")
    page.get_by_label("Financement", exact=True).select_option("personal")
    page.get_by_role("button", name="Inscrire", exact=True).click()
    assert page.get_by_test_id("confirmed-row").count() == 1

    page.goto(page.url.split("#")[0].rstrip("/") + "/emargement")
    page.get_by_test_id("grid").get_by_role("link").first.click()
    assert "Saisie a posteriori d'après la feuille papier jointe" in page.get_by_test_id(
        "recorded-afterwards").inner_text()
    assert page.get_by_role("link", name="Afficher le QR code").count() == 0
    assert page.get_by_role("button", name="Faire signer").count() == 0
    row(page, "Awa Diallo").get_by_label("Statut").select_option("present")
    row(page, "Awa Diallo").get_by_role("button", name="Enregistrer le statut").click()
    page.get_by_label("Scan de la feuille papier").set_input_files(str(scan))
    page.get_by_role("button", name="Joindre le scan").click()
    accept_dialogs(page)
    page.get_by_role("button", name="Clore la feuille").click()
    assert page.get_by_test_id("sheet-status").inner_text() == "Feuille close"
    assert "Présent·e — 4 h" in row(page, "Awa Diallo").get_by_test_id("row-status").inner_text()
