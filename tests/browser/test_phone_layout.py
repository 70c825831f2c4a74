"""The office's pages on a phone (390x844): no page wider than the screen (a wide table scrolls inside its own
box), and a header folded behind a « Menu » button that opens with a tap or the keyboard."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.conftest import browser_context
from training_app.extensions import db
from training_app.models import FunderHourlyCap
from training_app.services import surveys as survey_service
from training_app.services.surveys import QuestionData

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_office_s_tables_stay_within_a_phone_s_width(page):
    admin = factories.make_user("admin", name="Claire Bernard")
    for n in range(3):
        factories.make_user("trainer", name=f"Formatrice Numéro {n}", email=f"formatrice.numero.{n}@example.org")
    funder = factories.make_funder("OPCO Santé")
    db.session.add(FunderHourlyCap(funder=funder, year=2030, cap_cents=2500, note="Plafond de la branche sanitaire"))
    db.session.commit()
    session = factories.make_session()  # upcoming: its half-days have an « Actions » column
    page.set_viewport_size(PHONE)
    factories.sign_in_browser(page, admin)
    for path in ("/admin/comptes", f"/financement/opco/{funder.id}", f"/sessions/{session.id}"):
        page.goto(path)
        assert _page_width(page) <= PHONE["width"], path
    # the caps' table scrolls in its own box, its delete button reachable
    page.goto(f"/financement/opco/{funder.id}")
    caps = page.get_by_test_id("caps")
    expect(caps.locator("xpath=..")).to_have_class(re.compile(r"\btable-responsive\b"))
    caps.get_by_role("button", name="Supprimer").scroll_into_view_if_needed()
    expect(caps.get_by_role("button", name="Supprimer")).to_be_in_viewport()


def test_a_long_word_typed_by_someone_breaks_instead_of_widening_a_phone_s_page(page):
    admin = factories.make_user("admin", name="Claire Bernard")
    questionnaire = factories.make_questionnaire(title="Satisfaction" + "x" * 280)  # its column holds 300
    survey_service.add_question(questionnaire, QuestionData("free_text", "Pourquoi" + "y" * 600, required=False))
    db.session.commit()
    page.set_viewport_size(PHONE)
    factories.sign_in_browser(page, admin)
    for path in (f"/admin/questionnaires/{questionnaire.id}", "/admin/questionnaires"):
        page.goto(path)
        expect(page.get_by_text("Satisfaction" + "x" * 280).first).to_be_visible()
        assert _page_width(page) <= PHONE["width"], path


def _header(page):
    return page.get_by_role("navigation", name="Navigation principale")


def test_on_a_phone_the_header_folds_its_links_behind_a_menu_button(page):
    admin = factories.make_user("admin", name="Marie-Christine Le Goff-Kerhervé de Saint-Malo")
    page.set_viewport_size(PHONE)
    factories.sign_in_browser(page, admin)
    page.goto("/tableau-de-bord")
    header = _header(page)
    assert header.bounding_box()["height"] < 80  # one row: the brand and « Menu » (unfolded: about 210 px)
    sessions = header.get_by_role("link", name="Sessions")
    expect(sessions).to_be_hidden()
    expect(header.get_by_text(admin.name)).to_be_hidden()
    toggle = header.get_by_test_id("main-menu").locator("summary")
    expect(toggle).to_have_text("Menu")
    toggle.click()
    expect(sessions).to_be_visible()
    assert _page_width(page) <= PHONE["width"]
    # the menus inside it open too; a tap elsewhere folds it again
    header.get_by_test_id("admin-menu").locator("summary").click()
    expect(header.get_by_role("link", name="Comptes")).to_be_visible()
    page.mouse.click(200, 700)
    expect(sessions).to_be_hidden()
    toggle.click()
    expect(header.get_by_role("link", name="Comptes")).to_be_hidden()  # closed with the fold

    # by keyboard: Enter opens it, Tab reaches its links in order, Escape folds it and gives the focus back
    toggle.click()
    expect(sessions).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(sessions).to_be_focused()
    page.keyboard.press("Escape")
    expect(sessions).to_be_hidden()
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    header.get_by_text(admin.name).click()
    header.get_by_role("link", name="Changer de mot de passe").click()
    expect(page).to_have_url(re.compile(r"/mot-de-passe$"))
    expect(_header(page).get_by_role("link", name="Sessions")).to_be_hidden()  # folded on every new page


def test_the_menu_button_works_without_script(browser, live_server):
    trainer = factories.make_user("trainer", name="Karim Haddad")
    with browser_context(browser, live_server, java_script_enabled=False, viewport=PHONE) as context:
        page = context.new_page()
        factories.sign_in_browser(page, trainer)
        page.goto("/tableau-de-bord")  # loaded, its styles applied (the sign-in's click does not wait for them)
        header = _header(page)
        assert header.bounding_box()["height"] < 80
        expect(header.get_by_role("link", name="Émargement")).to_be_hidden()
        header.get_by_test_id("main-menu").locator("summary").click()
        header.get_by_role("link", name="Émargement").click()
        expect(page).to_have_url(re.compile(r"/emargement"))


def test_a_visitor_s_header_stays_one_short_row_on_a_phone(page):
    page.set_viewport_size(PHONE)
    page.goto("/")
    header = _header(page)
    assert header.bounding_box()["height"] < 80
    expect(header.get_by_role("link", name="Espace équipe")).to_be_visible()
    expect(header.get_by_test_id("main-menu")).to_have_count(0)
