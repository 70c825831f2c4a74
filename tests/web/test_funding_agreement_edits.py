"""Editing and granting an agreement keeps what the funder agreed to: a covered trainee whose enrolment was
cancelled since stays covered (shown, not editable), the cap of the request stays the one granted; amounts in
euros are typed to the cent, and what cannot be read gets one French message."""
import re
from datetime import date

import pytest

from tests import factories
from tests.web import test_funding as funding_tests
from tests.web.test_funding import agreement_form, field_error, full_hours, text
from training_app.extensions import db
from training_app.models import FundingAgreement, FundingClaim
from training_app.services import funding as funding_service


def _stored(agreement_id: int) -> FundingAgreement:
    db.session.expire_all()
    return db.session.get(FundingAgreement, agreement_id)


def _leila_cancelled(world, monkeypatch, **agreement) -> FundingAgreement:
    """1 500 € granted for Awa, Sophie and Leïla (3 × 21 h); Leïla's enrolment cancelled since (Awa and Sophie
    attended every hour)."""
    awa, sophie, leila = world["enrolments"]
    covering = factories.make_agreement(world["session"], [awa, sophie, leila], funder=world["funder"],
                                        hourly_rate_cents=None, amount_cents=150000, employer=world["employer"],
                                        **agreement)
    leila.status = "cancelled"
    db.session.commit()
    funding_tests.stub_sources(monkeypatch)["hours"] = full_hours([awa, sophie])
    return covering


def _edit(world, agreement, **overrides):
    """The edit form as its page posts it (the cancelled trainee is not among its boxes)."""
    awa, sophie, _leila = world["enrolments"]
    return agreement_form(world, [awa, sophie], employer_id=str(world["employer"].id), hourly_rate="",
                          amount="1500,00", file_number=agreement.file_number, requested_on="01/11/2018",
                          version=factories.version_of(agreement), **overrides)


def _billed(claim_id: int) -> list[int]:
    claim = db.session.get(FundingClaim, claim_id)
    funding_service.bring_up_to_date(claim)
    db.session.commit()
    return [line["pedagogical_cents"] for line in claim.snapshot["lines"]]


def test_the_notes_of_an_agreement_saved_keep_a_trainee_cancelled_since_and_the_amounts(admin_client, world, monkeypatch):
    agreement = _leila_cancelled(world, monkeypatch)
    claim_id = factories.make_claim(world["funder"], world["session"]).id
    assert _billed(claim_id) == [50000, 50000]
    page = text(admin_client.get(f"/financement/accords/{agreement.id}"))
    leila = world["enrolments"][2]
    assert "Leïla Haddad — inscription annulée" in page  # listed, covered, not billed
    assert not re.search(rf'name="enrolments"[^>]*value="{leila.id}"', page)  # no box to untick
    response = admin_client.post(f"/financement/accords/{agreement.id}", data=_edit(world, agreement, notes="Relancé"))
    assert response.status_code == 302
    stored = _stored(agreement.id)
    assert stored.notes == "Relancé" and sorted(t.enrolment_id for t in stored.trainees) == sorted(
        e.id for e in world["enrolments"])
    assert _billed(claim_id) == [50000, 50000]  # not 750 € each: the 1 500 € still cover Leïla's 21 h


def test_the_notes_of_a_claimed_agreement_covering_a_cancelled_trainee_may_still_change(admin_client, world, monkeypatch):
    agreement = _leila_cancelled(world, monkeypatch)
    factories.make_claim(world["funder"], world["session"], status="sent")
    funding_service.set_hourly_cap(world["funder"], 2018, 1000)  # recorded since: the claim sent had no cap
    db.session.commit()
    response = admin_client.post(f"/financement/accords/{agreement.id}", data=_edit(world, agreement, notes="Relancé"))
    assert response.status_code == 302, field_error(response, "enrolments") or text(response)
    stored = _stored(agreement.id)
    assert (stored.notes, len(stored.trainees), stored.hourly_cap_cents) == ("Relancé", 3, None)


def test_a_request_covering_a_trainee_cancelled_since_is_granted_with_its_file_number(admin_client, world, monkeypatch):
    agreement = _leila_cancelled(world, monkeypatch, status="requested", file_number="")
    response = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
        "accord-decided_on": "01/12/2018", "accord-file_number": "UNI-42", "accord-amount": "1500"})
    assert response.status_code == 302, text(response)
    stored = _stored(agreement.id)
    assert (stored.status, stored.file_number, len(stored.trainees)) == ("granted", "UNI-42", 3)


def test_a_grant_keeps_the_cap_of_the_request_with_or_without_a_file_number(admin_client, world):
    """Requested with no cap for 2018 (none recorded then); the funder's 2018 cap recorded before the answer: the
    grant does not bring it in, whether the answer gives the file number or not."""
    awa, sophie, _leila = world["enrolments"]
    with_number = factories.make_agreement(world["session"], [awa], funder=world["funder"], status="requested",
                                           file_number="", hourly_rate_cents=2000)
    without = factories.make_agreement(world["session"], [sophie], funder=world["funder"], status="requested",
                                       file_number="UNI-7", hourly_rate_cents=2000)
    funding_service.set_hourly_cap(world["funder"], 2018, 1500)
    db.session.commit()
    for agreement, number in ((with_number, "UNI-42"), (without, "UNI-7")):
        response = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
            "accord-decided_on": "01/12/2018", "accord-file_number": number, "accord-amount": "420"})
        assert response.status_code == 302
    assert [_stored(a.id).hourly_cap_cents for a in (with_number, without)] == [None, None]


@pytest.mark.parametrize("typed, message", [
    ("15,545", "Indiquez au plus deux décimales (les centimes), par exemple 15,55."),
    ("abc", "Indiquez un nombre, par exemple 840 ou 840,50."),
])
def test_an_amount_that_is_not_in_cents_gets_one_french_message(admin_client, world, typed, message):
    agreement = factories.make_agreement(world["session"], world["enrolments"][:1], funder=world["funder"],
                                         status="requested", file_number="UNI-1")
    response = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
        "accord-decided_on": "01/12/2018", "accord-amount": typed})
    assert response.status_code == 422 and field_error(response, "accord-amount") == message
    create = admin_client.post(f"/financement/sessions/{world['session'].id}/accords/nouveau",
                               data=agreement_form(world, world["enrolments"][1:2], hourly_rate=typed))
    assert field_error(create, "hourly_rate") == message
    assert _stored(agreement.id).status == "requested" and _stored(agreement.id).amount_cents is None
    assert db.session.scalar(db.select(db.func.count(FundingAgreement.id))) == 1


def test_an_amount_typed_to_the_cent_is_stored_to_the_cent(admin_client, world):
    agreement = factories.make_agreement(world["session"], world["enrolments"][:1], funder=world["funder"],
                                         status="requested", file_number="UNI-1")
    response = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
        "accord-decided_on": date(2018, 12, 1).strftime("%d/%m/%Y"), "accord-amount": "15,540",
        "accord-hourly_rate": "15,5"})
    assert response.status_code == 302
    assert (_stored(agreement.id).amount_cents, _stored(agreement.id).hourly_rate_cents) == (1554, 1550)
