"""The enrolment's page offers no « Enregistrer un abandon » for a trainee whom a claim sent to a funder bills as
attending: it says why instead; the form, left open before the sending, refuses it with the same French message."""
from datetime import date, datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment

DURING = datetime(2030, 3, 21, 10)  # the factory session ran from 5 to 8 March 2030; the claim was sent on the 20th


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_a_trainee_billed_by_a_claim_sent_is_not_offered_a_withdrawal_and_the_form_refuses_it(admin_client):
    session = factories.make_session(capacity=3)
    enrolment = factories.enrol(session, factories.make_trainee("Awa", "Diallo"))
    free = factories.enrol(session)
    funder = factories.make_funder("Uniformation")
    factories.make_agreement(session, [enrolment], funder=funder)
    claim = factories.make_claim(funder, session, status="sent")
    claim.sent_on = date(2030, 3, 20)
    db.session.commit()
    url = f"/inscriptions/{enrolment.id}/abandon"
    refusal = (f"Awa Diallo figure sans abandon dans la demande de paiement n° {claim.number}, envoyée le "
               "20/03/2030 à Uniformation : l'abandon ne peut pas être enregistré")
    with frozen_at(DURING):
        page = _text(admin_client.get(f"/inscriptions/{enrolment.id}"))
        assert url not in page and "Enregistrer un abandon" not in page
        assert 'data-testid="no-withdrawal"' in page and refusal in page
        other = _text(admin_client.get(f"/inscriptions/{free.id}"))  # not in the claim: offered
        assert f'href="/inscriptions/{free.id}/abandon"' in other and 'data-testid="no-withdrawal"' not in other
        response = admin_client.post(url, data={"withdrawn_on": "2030-03-06", "reason": "Malade"})
    assert response.status_code == 200
    assert refusal in _text(response) and "une fois le rejet de cette demande enregistré (sur sa page)" in _text(
        response)
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).status == "confirmed"
    assert db.session.get(Enrolment, enrolment.id).withdrawn_on is None
