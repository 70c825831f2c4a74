"""An administrator cancels a session from its page: the reason, the confirm() dialog, then the page
shows the cancellation and the trainees are cancelled and e-mailed."""
import pytest

from tests import factories
from training_app.extensions import db
from training_app.models import Enrolment, TrainingSession

pytestmark = pytest.mark.browser


def test_admin_cancels_a_session_after_confirming(page, live_server):
    admin = factories.make_user("admin", name="Claire Bernard")
    programme = factories.make_programme(title="Du dialogue à la négociation")
    session = factories.make_session(programme=programme, capacity=1)
    seated, waiting = factories.enrol(session), factories.enrol(session)
    sent_before = len(live_server.extensions["outbox"])

    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}")
    page.get_by_role("link", name="Annuler la session").click()
    assert "2 inscriptions seront annulées" in page.get_by_test_id("cancel-consequences").inner_text()

    dialogs, answers = [], [False, True]  # first dismissed, then accepted

    def answer(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_label("Motif de l'annulation").fill("Formatrice indisponible.")
    page.get_by_role("button", name="Annuler la session").click()
    assert dialogs == ["Les stagiaires inscrit·es seront prévenu·es par e-mail. "
                       "Confirmer l'annulation définitive de cette session ?"]
    assert page.url.endswith(f"/sessions/{session.id}/annuler")  # dismissed: nothing sent
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).status == "full"

    page.get_by_role("button", name="Annuler la session").click()
    page.get_by_test_id("session-cancelled").wait_for()
    assert "Motif : Formatrice indisponible." in page.get_by_test_id("session-cancelled").inner_text()

    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).status == "cancelled"
    assert {db.session.get(Enrolment, e.id).status for e in (seated, waiting)} == {"cancelled"}
    sent = live_server.extensions["outbox"][sent_before:]
    assert sorted(m.to[0] for m in sent) == sorted([seated.trainee.email, waiting.trainee.email])
