"""An administrator cancels a withdrawal recorded by mistake: in a session under way, the trainee marked as having
dropped out is listed under « Annulations et abandons » with a button « Annuler l'abandon », which asks to confirm;
confirmed, she is enrolled again, her page's history saying « Abandon annulé »."""
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from tests import factories
from training_app.clock import frozen_at, local_now
from training_app.extensions import db
from training_app.models import Enrolment
from training_app.services import enrolments

pytestmark = pytest.mark.browser


def session_under_way(names):
    """A session that began yesterday morning and ends tomorrow evening (the live server runs on the real clock),
    no funding claim, two seats, each of `names` enrolled and confirmed a week before the start."""
    today = local_now().date()
    start = datetime.combine(today - timedelta(days=1), time(9, 30))
    end = datetime.combine(today + timedelta(days=1), time(18, 0))
    session = factories.make_session(programme=factories.make_programme(title="Du dialogue à la négociation"),
                                     start=start, end=end, capacity=2, include_weekends=True)
    with frozen_at(start - timedelta(days=7)):
        enrolled = [factories.enrol(session, factories.make_trainee(first, last)) for first, last in names]
    return session, enrolled


def _names(page, test_id):
    """The trainees named in a list of the session page ("LAST First"), in its order."""
    return page.get_by_test_id(test_id).locator("td > a:first-child").all_inner_texts()


def test_admin_cancels_a_withdrawal_recorded_by_mistake(page):
    admin = factories.make_user("admin", name="Claire Bernard")
    session, (awa, julien) = session_under_way([("Awa", "Diallo"), ("Julien", "Le Bihan")])
    enrolments.withdraw(awa, local_now().date(), "Saisie sur la mauvaise stagiaire")  # the mistake
    db.session.commit()

    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}")
    assert _names(page, "confirmed-row") == ["LE BIHAN Julien"]
    page.get_by_text("Annulations et abandons (1)").click()
    withdrawn = page.get_by_test_id("closed-row").filter(has_text="DIALLO Awa")
    assert "Abandon" in withdrawn.get_by_test_id("enrolment-state").inner_text()
    button = withdrawn.get_by_role("button", name="Annuler l'abandon d'Awa Diallo (enregistré par erreur)")
    assert button.inner_text() == "Annuler l'abandon"

    questions = []

    def answer(accept):
        def handle(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    page.once("dialog", answer(False))  # « Annuler » in the dialog: the withdrawal stays
    button.click()
    assert questions == ["Confirmer l'annulation de l'abandon d'Awa Diallo ?"]
    expect(button).to_be_visible()
    assert page.url.endswith(f"/sessions/{session.id}")
    page.once("dialog", answer(True))
    button.click()
    assert len(questions) == 2
    expect(page.get_by_role("status").first).to_contain_text(
        "Abandon annulé : l'inscription est de nouveau confirmée.")
    assert page.url.endswith(f"/sessions/{session.id}#inscriptions")  # back to the enrolment list
    assert _names(page, "confirmed-row") == ["DIALLO Awa", "LE BIHAN Julien"]
    assert page.get_by_test_id("closed-row").count() == 0
    assert page.get_by_role("button", name="Annuler l'abandon").count() == 0
    assert "2 places occupées sur 2" in page.get_by_test_id("seats").inner_text()

    page.get_by_role("link", name="DIALLO Awa").click()
    assert page.get_by_test_id("enrolment-state").inner_text() == "Confirmée"
    cancelled = page.get_by_test_id("audit-row").filter(has_text="Abandon annulé")
    assert cancelled.count() == 1
    assert "Claire Bernard" in cancelled.inner_text() and "Abandon → Confirmée" in cancelled.inner_text()

    db.session.expire_all()
    awa = db.session.get(Enrolment, awa.id)
    assert awa.status == "confirmed" and awa.withdrawn_on is None
    assert db.session.get(Enrolment, julien.id).status == "confirmed"
