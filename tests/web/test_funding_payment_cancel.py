"""A payment typed by mistake (wrong amount, wrong claim), a trop-perçu too, is cancelled by an administrator with a
reason (funding.cancel_payment): kept in the claim's list as cancelled, named in the history (who, when, why, the
amount), it no longer counts in the money received, and the claim's state follows."""
import re
from datetime import date, datetime

import pytest

from tests import factories
from tests.web import test_funding as funding_tests
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, ClaimPayment, ClaimStatus, FundingClaim
from training_app.services import ServiceError
from training_app.services import funding as funding_service

text = funding_tests.text


@pytest.fixture
def claim(monkeypatch) -> FundingClaim:
    """A claim of 945 € sent to Uniformation on 10 January 2019 (the funding pages' world)."""
    return funding_tests.make_sent_claim(funding_tests.make_world(), funding_tests.stub_sources(monkeypatch))


def _stored(claim_id: int) -> FundingClaim:
    db.session.expire_all()
    return db.session.get(FundingClaim, claim_id)


def test_a_payment_typed_by_mistake_is_cancelled_with_its_reason_and_no_longer_counts(admin_client, claim):
    claim_id = claim.id
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 94500, date(2019, 2, 15), "Virement 123")
        db.session.commit()
        payment_id = claim.payments[0].id
        page = text(admin_client.get(f"/financement/demandes/{claim_id}"))
        assert page.count('data-testid="cancel-payment-form"') == 1
        assert factories.asked(page).startswith("Annuler le paiement de 945,00\u202f€ reçu le 15/02/2019 ?")  # the confirmation
        url = f"/financement/demandes/{claim_id}/paiements/{payment_id}/annulation"

        missing = admin_client.post(url, data={f"annulation-{payment_id}-reason": "  "})
        assert missing.status_code == 422
        assert "Indiquez le motif de l'annulation du paiement." in text(missing)
        assert _stored(claim_id).status == ClaimStatus.PAID and _stored(claim_id).paid_cents == 94500

        done = admin_client.post(url, data={f"annulation-{payment_id}-reason": "Montant saisi sur la mauvaise demande"},
                                 follow_redirects=True)
    assert done.status_code == 200 and "Paiement annulé" in text(done)
    claim = _stored(claim_id)
    assert (claim.status, claim.paid_cents, claim.balance_cents) == (ClaimStatus.SENT, 0, 94500)
    payment = db.session.get(ClaimPayment, payment_id)  # kept, marked
    assert payment.cancelled_at == datetime(2019, 3, 1, 9) and payment.amount_cents == 94500
    assert payment.cancel_reason == "Montant saisi sur la mauvaise demande"
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "payment_cancelled"))
    assert (entry.actor_label, entry.from_state, entry.to_state) == ("Alice Admin", "paid", "sent")
    assert entry.reason == "Montant saisi sur la mauvaise demande" and entry.details["amount_cents"] == 94500
    page = text(done)
    cancelled = page.split('data-testid="payment-cancelled">')[1].split("</li>")[0]
    assert "<del>15/02/2019 : 945,00\u202f€</del>" in cancelled and "Montant saisi sur la mauvaise demande" in cancelled
    assert 'data-testid="cancel-payment-form"' not in page
    assert re.search(r"Alice Admin — paiement annulé de 945,00\u202f€ \(payée → envoyée\) : Montant saisi", page)
    assert 'data-testid="claim-balance">0,00\u202f€ / 945,00\u202f€' in page
    board = funding_service.dashboard()
    assert (board.received_cents, board.expected_cents) == (0, 94500)


def test_cancelling_a_payment_works_out_the_trop_percu_of_those_left_again(claim):
    with frozen_at(datetime(2019, 3, 1, 10)):
        typo = funding_service.record_payment(claim, 90000, date(2019, 2, 15))  # typed for the wrong claim
        assert typo is None
        assert "trop-perçu" in funding_service.record_payment(claim, 94500, date(2019, 2, 20))
        first, second = claim.payments
        assert (claim.status, second.overpayment_cents) == (ClaimStatus.PAID, 90000)
        assert funding_service.cancel_payment(claim, first.id, "Saisi sur la mauvaise demande") == ClaimStatus.PAID
        assert (claim.paid_cents, second.overpayment_cents) == (94500, 0)
        # the trop-perçu itself, cancelled: the claim is paid in part again
        assert funding_service.cancel_payment(claim, second.id, "Montant erroné") == ClaimStatus.SENT
        funding_service.record_payment(claim, 50000, date(2019, 2, 25))
        assert claim.status == ClaimStatus.PARTIALLY_PAID and claim.payments[-1].overpayment_cents == 0


def test_a_cancelled_payment_after_a_refused_balance_leaves_the_claim_refused(claim):
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 50000, date(2019, 2, 15))
        assert funding_service.reject(claim, "Dossier incomplet", date(2019, 2, 20)) == ClaimStatus.BALANCE_REFUSED
        funding_service.record_payment(claim, 44500, date(2019, 2, 25))  # the funder paid the balance after all
        assert claim.status == ClaimStatus.PAID
        late = claim.payments[-1]
        assert funding_service.cancel_payment(claim, late.id, "Doublon") == ClaimStatus.BALANCE_REFUSED
        # nothing received after all: the funder refused the claim, as reject() says of a claim without money
        assert funding_service.cancel_payment(claim, claim.payments[0].id, "Erreur") == ClaimStatus.REJECTED
        assert claim.paid_cents == 0


def test_a_payment_is_cancelled_once_and_on_its_own_claim_only(claim):
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 50000, date(2019, 2, 15))
        payment_id = claim.payments[0].id
        with pytest.raises(ServiceError, match="motif de l'annulation"):
            funding_service.cancel_payment(claim, payment_id, "")
        funding_service.cancel_payment(claim, payment_id, "Erreur de saisie")
        db.session.commit()
        with pytest.raises(ServiceError, match="Ce paiement a déjà été annulé le 01/03/2019."):
            funding_service.cancel_payment(claim, payment_id, "Encore")
        db.session.rollback()
        with pytest.raises(ServiceError, match="n'est pas enregistré sur cette demande"):
            funding_service.cancel_payment(claim, payment_id + 1, "Erreur")
    assert _stored(claim.id).paid_cents == 0


def test_a_payment_of_a_claim_rejected_before_revision_0030_is_cancelled_and_the_claim_stays_rejected(claim):
    """A claim rejected after a payment, left "rejected" by revision 0030 (its session claimed again since): its
    payment typed by mistake no longer counts, and the claim does not come back to life beside the new one."""
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 30000, date(2019, 2, 15))
        funding_service.record_payment(claim, 10000, date(2019, 2, 16))
        claim.status, claim.rejected_on, claim.rejection_reason = ClaimStatus.REJECTED, date(2019, 2, 20), "Hors délai"
        db.session.commit()
        assert funding_service.cancel_payment(claim, claim.payments[1].id, "Doublon") == ClaimStatus.REJECTED
    assert claim.paid_cents == 30000


def test_cancelling_the_only_payment_of_a_refused_balance_says_the_claim_becomes_rejected(admin_client, claim):
    """Its sessions become free for a new claim, and nothing can be recorded on it any more: the question says it
    before, the message after."""
    claim_id = claim.id
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 50000, date(2019, 2, 15))
        funding_service.reject(claim, "Dossier incomplet", date(2019, 2, 20))
        db.session.commit()
        payment_id = claim.payments[0].id
        page = text(admin_client.get(f"/financement/demandes/{claim_id}"))
        assert factories.asked(page).endswith("Le solde ayant été refusé, la demande deviendra rejetée.")
        done = admin_client.post(f"/financement/demandes/{claim_id}/paiements/{payment_id}/annulation",
                                 data={f"annulation-{payment_id}-reason": "Doublon"}, follow_redirects=True)
    assert "La demande est maintenant rejetée" in text(done)
    assert _stored(claim_id).status == ClaimStatus.REJECTED
