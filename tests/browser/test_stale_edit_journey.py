"""Two administrators open the same programme's catalogue form in their browsers; both save. The second is
told, at the top of the form, that someone else changed it since she opened it, with the stored value that
differs; what she typed is still in the fields, nothing of hers was saved; saving again overwrites, on purpose."""
import pytest
from playwright.sync_api import expect

from tests import factories
from training_app.extensions import db
from training_app.models import Programme

pytestmark = pytest.mark.browser


def _stored(programme_id):
    db.session.expire_all()
    return db.session.get(Programme, programme_id)


def test_the_second_of_two_saves_of_a_programme_is_refused_and_keeps_what_was_typed(page, second_page):
    programme = factories.make_programme(title="Du dialogue à la négociation")
    claire, bob = factories.make_user("admin", name="Claire Bernard"), factories.make_user("admin", name="Bob Bureau")
    edit_url = f"/admin/formations/{programme.id}/modifier"
    for browser_page, admin in ((page, claire), (second_page, bob)):
        factories.sign_in_browser(browser_page, admin)
        browser_page.goto(edit_url)

    second_page.get_by_label("Public visé").fill("Bénévoles d'associations")
    second_page.get_by_role("button", name="Enregistrer").click()
    expect(second_page.get_by_role("status").first).to_contain_text("La formation a été mise à jour.")

    page.get_by_label("Public visé").fill("Salarié·es des centres sociaux")
    page.get_by_label("Prérequis").fill("Aucun")
    page.get_by_role("button", name="Enregistrer").click()
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("Cette fiche a été modifiée par quelqu'un d'autre depuis que vous l'avez "
                                  "ouverte ; vos modifications n'ont pas été enregistrées.")
    expect(alert.locator(".stale-differences li").filter(has_text="Public visé")).to_contain_text(
        "Bénévoles d'associations")
    assert page.get_by_label("Public visé").input_value() == "Salarié·es des centres sociaux"
    assert page.get_by_label("Prérequis").input_value() == "Aucun"
    assert _stored(programme.id).audience == "Bénévoles d'associations"  # Bob's change stands

    page.get_by_role("button", name="Enregistrer").click()  # she read it and keeps hers
    expect(page.get_by_role("status").first).to_contain_text("La formation a été mise à jour.")
    stored = _stored(programme.id)
    assert (stored.audience, stored.prerequisites, stored.version) == ("Salarié·es des centres sociaux", "Aucun", 3)
