"""The header on a 1366x768 laptop: one row; the account's links in a menu under the user's name and the
administrators' settings under « Administration », each opened and followed with the keyboard alone."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser


def _header(page):
    return page.get_by_role("navigation", name="Navigation principale")


def test_the_administrator_s_header_keeps_one_row_on_a_laptop_and_its_menus_work_by_keyboard(page):
    # a long name, cut with « … » in the header, so that it cannot push the menu onto a second row
    admin = factories.make_user("admin", name="Marie-Christine Le Goff-Kerhervé de Saint-Malo")
    page.set_viewport_size({"width": 1366, "height": 768})
    factories.sign_in_browser(page, admin)
    page.goto("/tableau-de-bord")
    header = _header(page)
    assert header.bounding_box()["height"] < 80  # one row (two rows measured about 130 px)
    items = header.locator(".navbar-brand, .navbar-nav > .nav-link, .nav-menu > summary").all()
    assert len(items) == 9  # Formations, Sessions … Bilan annuel, Administration, the name
    tops = {round(item.bounding_box()["y"]) for item in items}
    assert len(tops) == 1, tops
    password = header.get_by_role("link", name="Changer de mot de passe")
    expect(password).to_be_hidden()
    expect(header.get_by_role("link", name="Comptes")).to_be_hidden()

    account = header.get_by_test_id("account-menu").locator("summary")
    account.focus()
    page.keyboard.press("Enter")
    expect(password).to_be_visible()
    page.keyboard.press("Escape")  # closes it, the focus back on the name
    expect(password).to_be_hidden()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/mot-de-passe$"))

    header.get_by_test_id("admin-menu").locator("summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(header.get_by_role("link", name="Comptes")).to_be_focused()
    page.mouse.click(600, 500)  # a click elsewhere closes it
    expect(header.get_by_role("link", name="Comptes")).to_be_hidden()

    header.get_by_text(admin.name).click()
    header.get_by_role("button", name="Se déconnecter").click()  # a POST with its CSRF token
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    page.goto("/tableau-de-bord")
    assert "/connexion" in page.url


def test_a_trainer_s_header_has_no_administration_menu(page):
    trainer = factories.make_user("trainer", name="Karim Haddad")
    page.set_viewport_size({"width": 1366, "height": 768})
    factories.sign_in_browser(page, trainer)
    page.goto("/tableau-de-bord")  # loaded, its styles applied (the sign-in's click does not wait for them)
    header = _header(page)
    assert header.bounding_box()["height"] < 80
    expect(header.get_by_test_id("admin-menu")).to_have_count(0)
    header.get_by_text("Karim Haddad").click()
    header.get_by_role("link", name="Changer de mot de passe").click()
    expect(page).to_have_url(re.compile(r"/mot-de-passe$"))
