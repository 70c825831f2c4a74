"""The office's pages on a phone (390x844): no page wider than the screen (a wide table scrolls inside its own
box), and a header folded behind a « Menu » button that opens with a tap or the keyboard."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories
from training_app.extensions import db
from training_app.models import FunderHourlyCap

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
