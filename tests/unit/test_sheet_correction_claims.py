"""A half-day sheet billed by a claim the funder holds (sent, paid or not, not rejected) is still corrected: the
correction is the truth. What the office is told: before, the claims billing the sheet's trainees
(funding.claims_billing_sheet); after, the claims whose hours billed no longer match the sheets
(funding.billed_differences), as the claim's page lists them (funding.changes_since_sent)."""
import pytest

from tests import factories
from training_app.extensions import db
from training_app.services import attendance, claim_calculation, funding

HELD = ["sent", "partially_paid", "paid", "balance_refused"]


def _billed_course(status: str):
    """Awa billed by a claim to Uniformation in `status`, Julien by none (factories.make_billed_course)."""
    return factories.make_billed_course(factories.make_user("trainer"), status)


def _correct(session, enrolment, status: str, **times):
    attendance.mark(session.slots[0], enrolment, status, actor=factories.make_user("admin", name="Claire"),
                    reason="Correction d'après la feuille papier", **times)
    db.session.commit()


@pytest.mark.parametrize("status", HELD)
def test_the_claims_the_funder_holds_are_named_for_the_sheet_s_billed_trainees(status):
    session, awa, julien, claim = _billed_course(status)
    billing = funding.claims_billing_sheet(session, [awa.id, julien.id])
    assert billing
    assert [c.claim_id for c in billing.claims] == [claim.id]
    assert list(billing.by_enrolment) == [awa.id]  # Julien is billed by no claim
    described = billing.claims[0].describe()
    assert described.startswith(f"la demande de paiement n° {claim.number}, envoyée le 20/03/2030 à Uniformation")
    assert ("(payée)" in described) == (status == "paid")
    assert not funding.claims_billing_sheet(session, [julien.id])


@pytest.mark.parametrize("status", ["draft", "rejected"])
def test_a_draft_or_a_rejected_claim_is_not_named(status):
    """A draft is recalculated until it is sent; a rejected claim is made again with the sheets as they then are."""
    session, awa, julien, _claim = _billed_course(status)
    assert not funding.claims_billing_sheet(session, [awa.id, julien.id])
    _correct(session, awa, "absent_unjustified")
    assert funding.billed_differences(session, awa) == []


def test_naming_the_claims_of_a_sheet_costs_one_query_whatever_its_trainees():
    session, awa, julien, _claim = _billed_course("sent")
    ids = [awa.id, julien.id, *(factories.enrol(session).id for _ in range(5))]
    _ = session.id
    with factories.count_queries() as statements:
        assert funding.claims_billing_sheet(session, ids)
    assert len(statements) == 1


@pytest.mark.parametrize("status", HELD)
def test_a_correction_changing_billed_hours_names_the_claim_with_both_hours(status):
    session, awa, _julien, claim = _billed_course(status)
    assert funding.billed_differences(session, awa) == []  # as billed
    _correct(session, awa, "absent_unjustified")  # Tuesday afternoon, 4 h
    [difference] = funding.billed_differences(session, awa)
    assert (difference.claim.claim_id, difference.billed_minutes, difference.sheet_minutes) == (claim.id, 1260, 1020)
    assert difference.describe(awa.trainee.full_name) == (
        f"Les heures d'Awa Stagiaire00 facturées dans {difference.claim.describe()} ne correspondent plus aux feuilles "
        "d'émargement : 21 h facturées, 17 h sur les feuilles. Le dossier envoyé reste tel qu'il est, la différence "
        "est à régler avec le financeur.")
    # as the claim's page says it
    assert [(c["billed_minutes"], c["sheet_minutes"]) for c in funding.changes_since_sent(claim)] == [(1260, 1020)]


def test_a_correction_bringing_the_sheet_back_to_what_was_billed_names_no_claim():
    session, awa, _julien, _claim = _billed_course("sent")
    _correct(session, awa, "left_early", departure=factories.t("17:00"))
    assert [d.sheet_minutes for d in funding.billed_differences(session, awa)] == [1200]
    _correct(session, awa, "present")
    assert funding.billed_differences(session, awa) == []


def test_a_correction_of_a_trainee_no_claim_bills_names_no_claim():
    session, awa, julien, _claim = _billed_course("sent")
    _correct(session, julien, "absent_unjustified")
    assert funding.billed_differences(session, julien) == []
    assert funding.billed_differences(session, awa) == []


def test_hours_beyond_the_planned_ones_are_never_billed():
    line = {"planned_minutes": 1260}
    assert [claim_calculation.billable_minutes(line, m) for m in (-5, 0, 600, 1260, 1500)] == [0, 0, 600, 1260, 1260]
