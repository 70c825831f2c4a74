"""An administrator writes a programme with its objectives and schedules a session of it; a visitor, signed
out, reads it in the public catalogue with its objectives and the session's dates. Once archived, the
programme leaves the public catalogue."""
import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

TITLE = "Organiser une mobilisation locale"
OBJECTIVES = ["Identifier les personnes concernées et leurs intérêts",
              "Construire un rapport de force",
              "Mener une action collective et en tirer le bilan"]


@pytest.fixture
def visitor(browser, live_server):
    """A second browser, never signed in: the public."""
    context = browser.new_context(base_url=live_server.config["PUBLIC_URL"], locale="fr-FR")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _public_titles(page):
    return page.locator("article h2").all_inner_texts()


def test_admin_publishes_a_programme_and_its_session_then_archives_it(page, visitor):
    admin = factories.make_user("admin", name="Claire Bernard")
    factories.make_programme(title="Du dialogue à la négociation")  # already in the catalogue

    factories.sign_in_browser(page, admin)
    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_role("link", name="Nouvelle formation").click()
    page.get_by_label("Intitulé").fill(TITLE)
    page.get_by_label("Public visé").fill("Salarié·es et bénévoles d'associations de quartier")
    page.get_by_label("Prérequis").fill("Aucun")
    page.get_by_role("button", name="Enregistrer").click()  # no objective: refused, in French
    assert "Indiquez au moins un objectif." in page.get_by_role("alert").first.inner_text()

    page.get_by_label("Objectifs pédagogiques").fill("\n".join(["- " + OBJECTIVES[0], *OBJECTIVES[1:]]))
    page.get_by_label("Durée par défaut (heures)").fill("14")
    page.get_by_label("Capacité par défaut (places)").fill("12")
    page.get_by_label("Prix par stagiaire (€)").fill("560")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text(f"La formation « {TITLE} » a été créée.")
    assert page.locator(".programme-fields ol li").all_inner_texts() == OBJECTIVES

    page.get_by_role("link", name="Programmer une session").click()
    assert page.get_by_label("Formation", exact=True).locator("option:checked").inner_text() == TITLE
    assert page.get_by_label("Capacité (places)").input_value() == "12"
    page.get_by_label("Date de début", exact=True).fill("2030-06-11")
    page.get_by_label("Heure de début", exact=True).fill("09:30")
    page.get_by_label("Date de fin", exact=True).fill("2030-06-12")
    page.get_by_label("Heure de fin", exact=True).fill("18:00")
    page.get_by_label("Lieu (adresse").fill("Maison de quartier de Villejean, Rennes")
    page.get_by_label("État").select_option(label="Inscriptions ouvertes")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text("Session créée : 4 demi-journées, 14 h prévues.")

    # The public, signed out: the catalogue lists the programme; its page gives the objectives and the session.
    visitor.goto("/")
    assert _public_titles(visitor) == ["Du dialogue à la négociation", TITLE]
    card = visitor.locator("article").filter(has_text=TITLE)
    assert "14 h" in card.inner_text() and "560,00 €" in card.inner_text()
    card.get_by_role("link", name=TITLE).click()
    assert visitor.get_by_role("heading", level=1).inner_text() == TITLE
    assert visitor.locator(".programme-fields ol li").all_inner_texts() == OBJECTIVES
    assert "Salarié·es et bénévoles d'associations de quartier" in visitor.content()
    assert visitor.get_by_text("Du 11/06/2030 à 9h30 au 12/06/2030 à 18h00").is_visible()
    assert visitor.get_by_text("Maison de quartier de Villejean, Rennes").is_visible()
    assert visitor.get_by_text("12 place(s) disponible(s)").is_visible()
    assert visitor.get_by_role("link", name="S'inscrire", exact=True).is_visible()

    # The administrator archives the programme: the catalogue the visitor reloads no longer shows it.
    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Archiver").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "La formation est archivée : elle n'apparaît plus dans le catalogue public.")

    visitor.goto("/")
    assert _public_titles(visitor) == ["Du dialogue à la négociation"]
    visitor.go_back()  # the programme's page, from the browser's history
    visitor.reload()
    assert visitor.get_by_role("heading", level=1).inner_text() == "Erreur 404"
    assert TITLE not in visitor.content()
