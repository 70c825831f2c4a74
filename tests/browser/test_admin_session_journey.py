"""An administrator signs in, creates a session through the UI and checks its slots and hours."""
import pytest

from tests import factories

pytestmark = pytest.mark.browser


def test_admin_creates_a_session(page):
    admin = factories.make_user("admin", name="Claire Bernard")
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    factories.make_programme(title="Du dialogue à la négociation")

    factories.sign_in_browser(page, admin)
    page.get_by_role("link", name="Programmer une session").first.click()

    page.get_by_label("Formation", exact=True).select_option(label="Du dialogue à la négociation")
    page.get_by_label("Date de début", exact=True).fill("2030-12-10")
    page.get_by_label("Heure de début", exact=True).fill("14:00")
    page.get_by_label("Date de fin", exact=True).fill("2030-12-13")
    page.get_by_label("Heure de fin", exact=True).fill("12:30")
    page.get_by_label("Lieu (adresse").fill("4 rue du Bourbonnais, Rennes")
    page.get_by_label("Capacité (places)").fill("15")
    page.get_by_label(trainer.name).check()
    page.get_by_role("button", name="Enregistrer").click()

    assert "6 demi-journées, 21 h prévues" in page.get_by_role("status").first.inner_text()
    assert page.get_by_test_id("planned-hours").inner_text() == "21 h"
    rows = page.get_by_test_id("slot-row")
    assert rows.count() == 6
    assert "mardi 10 décembre 2030" in rows.nth(0).inner_text()
    assert "14h00 – 18h00" in rows.nth(0).inner_text()
    assert "vendredi 13 décembre 2030" in rows.nth(5).inner_text()
    assert "9h30 – 12h30" in rows.nth(5).inner_text()
    assert "Camille Le Gall" in page.content()
