"""An administrator signs in, creates a session through the UI and checks its slots and hours."""
import pytest

from tests import factories
from training_app.extensions import db
from training_app.services import registrations
from training_app.services.registrations import PersonDetails

pytestmark = pytest.mark.browser


def test_admin_creates_a_session(page):
    admin = factories.make_user("admin", name="Claire Bernard")
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    factories.make_programme(title="Du dialogue à la négociation")

    factories.sign_in_browser(page, admin)
    page.get_by_role("link", name="Programmer une session").first.click()

    factories.fill_session_form(page, "2030-12-10 14:00", "2030-12-13 12:30",
                                programme="Du dialogue à la négociation", capacity="15")
    page.get_by_label("Lieu (adresse").fill("4 rue du Bourbonnais, Rennes")
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


def test_admin_opens_a_planned_session_and_its_pre_registrations_get_their_seats(page):
    """The form offers no « Complète »; opening the session gives the pre-registrations their seats in request
    order, and the office is told so."""
    admin = factories.make_user("admin", name="Claire Bernard")
    session = factories.make_session(capacity=1, status="planned")
    for first_name in ("Awa", "Julien"):
        registrations.register_public(session, PersonDetails(first_name, "Test", f"{first_name}@example.org"),
                                      "personal")
    db.session.commit()

    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}/modifier")
    status = page.get_by_label("État")
    assert [o.strip() for o in status.locator("option").all_inner_texts()] == [
        "Planifiée", "Inscriptions ouvertes", "En cours"]  # "Terminée" once the session is over
    status.select_option(label="Inscriptions ouvertes")
    page.get_by_role("button", name="Enregistrer").click()

    assert any("Inscriptions ouvertes : 1 pré-inscription confirmée, 1 en liste d'attente" in text
               for text in page.get_by_role("status").all_inner_texts())
    assert "TEST Awa" in page.get_by_test_id("confirmed").inner_text()
    assert "TEST Julien" in page.get_by_test_id("waitlisted").inner_text()


def test_a_half_day_date_typed_incompletely_is_refused_on_its_field_and_the_times_kept(page):
    """What the browser sends: <input type="date"> sends 2030-03-20 once the date is complete, nothing while only
    the day and month are typed, and a year typed in part as it is (0020 for "20"). Either way the page comes back
    at the form, the message under the date naming the format, the times typed still there."""
    admin = factories.make_user("admin", name="Claire Bernard")
    session = factories.make_session()
    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}")
    for typed, message in (("0503", "Date : saisissez une date au format JJ/MM/AAAA."),
                           ("050320", "Date : saisissez une date entre 2000 et 2100, au format JJ/MM/AAAA.")):
        form = page.get_by_test_id("slot-form")
        form.get_by_label("Date", exact=True).fill("")
        form.get_by_label("Date", exact=True).press_sequentially(typed)
        form.get_by_label("Début", exact=True).fill("09:30")
        form.get_by_label("Fin", exact=True).fill("12:30")
        form.get_by_role("button", name="Ajouter").click()

        assert page.url.endswith("/creneaux#ajout-demi-journee")
        form = page.get_by_test_id("slot-form")
        assert form.locator("#date-erreur").inner_text() == message
        assert form.get_by_label("Début", exact=True).input_value() == "09:30"
        assert form.get_by_label("Fin", exact=True).input_value() == "12:30"
    form.get_by_label("Date", exact=True).fill("2030-03-20")
    form.get_by_role("button", name="Ajouter").click()
    assert "Demi-journée ajoutée." in page.get_by_role("status").first.inner_text()
    assert "mercredi 20 mars 2030" in page.get_by_test_id("slot-row").last.inner_text()
