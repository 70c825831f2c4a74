"""An administrator deletes a draft funding claim made by mistake: from the funding dashboard to the claim's page,
the button « Supprimer le brouillon » and its confirm() dialog (dismissed once: nothing happens), then back on the
dashboard with the French flash, the other claim still listed and this one gone. A sent claim offers no such
button."""
from datetime import datetime

import pytest

from tests import factories
from tests.web.test_funding import full_hours, make_sent_claim
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import FundingClaim
from training_app.services import funding as funding_service

pytestmark = pytest.mark.browser


def _row(page, title):
    return page.get_by_test_id("claim-row").filter(has_text=title)


def test_admin_deletes_a_draft_claim_after_confirming(page, world, sources):
    admin = factories.make_user("admin", name="Claire Bernard")
    session, (awa, *_others) = world["session"], world["enrolments"]
    other = factories.make_session(programme=factories.make_programme(title="Accueillir et orienter"),
                                   start=datetime(2018, 12, 18, 9, 30), end=datetime(2018, 12, 19, 18, 0),
                                   status="completed")
    karim = factories.make_enrolment(other, factories.make_trainee("Karim", "Benali", employer=world["employer"]))
    factories.make_agreement(session, [awa], funder=world["funder"], file_number="UNI-001")
    factories.make_agreement(other, [karim], funder=world["funder"], file_number="UNI-002")
    sources["hours"] = full_hours([awa, karim])
    with frozen_at(datetime(2019, 1, 10, 10)):
        mistaken = funding_service.create_claim(world["funder"], session=session)
        kept = funding_service.create_claim(world["funder"], session=other)
    db.session.commit()
    mistaken_id, kept_id = mistaken.id, kept.id

    factories.sign_in_browser(page, admin)
    page.get_by_role("link", name="Financement", exact=True).click()
    assert page.get_by_test_id("claim-row").count() == 2
    _row(page, session.title).get_by_role("link", name="brouillon").click()
    assert page.url.endswith(f"/financement/demandes/{mistaken_id}")
    assert page.get_by_test_id("claim-status").inner_text() == "Brouillon"

    dialogs, answers = [], [False, True]  # first dismissed, then accepted

    def answer(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    delete = page.get_by_role("button", name="Supprimer le brouillon")
    delete.click()
    assert dialogs == ["Supprimer cette demande de paiement en brouillon ?"]
    assert page.url.endswith(f"/financement/demandes/{mistaken_id}")  # dismissed: nothing sent
    db.session.expire_all()
    assert db.session.get(FundingClaim, mistaken_id) is not None

    delete.click()
    flash = page.get_by_role("status").filter(has_text="Demande de paiement en brouillon supprimée.")
    flash.wait_for()
    assert len(dialogs) == 2
    assert page.url.endswith("/financement/")  # the funding dashboard
    rows = page.get_by_test_id("claim-row")
    assert rows.count() == 1
    assert "Accueillir et orienter" in rows.inner_text() and session.title not in rows.inner_text()

    db.session.expire_all()
    assert db.session.get(FundingClaim, mistaken_id) is None
    assert db.session.get(FundingClaim, kept_id).status == "draft"
    assert db.session.scalar(db.select(db.func.count(FundingClaim.id))) == 1


def test_a_sent_claim_page_offers_no_delete_button(page, world, sources):
    admin = factories.make_user("admin", name="Claire Bernard")
    claim = make_sent_claim(world, sources)

    factories.sign_in_browser(page, admin)
    page.get_by_role("link", name="Financement", exact=True).click()
    _row(page, world["session"].title).get_by_role("link", name=claim.number).click()
    assert page.get_by_test_id("claim-status").inner_text() == "Envoyée"
    assert page.get_by_role("link", name="Classeur Excel").is_visible()  # the page's actions are there...
    assert page.get_by_role("button", name="Supprimer le brouillon").count() == 0  # ...but not this one
    assert page.locator("form[action$='/supprimer']").count() == 0
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim.id).status == "sent"
