"""Who a claim bills, on real attendance and certificates: a trainee's hours are billed once (a refused request
granted on appeal after another covered the same trainees is refused; two granted agreements stop the claim),
and a claim asks for an agreement only for trainees who said an OPCO pays and whom no other funder covers."""
from datetime import date, datetime

import pytest

from tests import factories
from tests.web.test_funding import text
from tests.web.test_funding_bundle import issue_certificates, make_course
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AgreementStatus, FundingAgreement
from training_app.services import ServiceError, funding


def _agreement() -> FundingAgreement:
    return db.session.scalar(db.select(FundingAgreement))


def _claim(course):
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding.create_claim(course["funder"], session=course["session"])
    db.session.commit()
    return claim


def _refused_then_covered_again(course) -> tuple[FundingAgreement, FundingAgreement]:
    """The course's agreement refused, a second request for the same trainees granted."""
    first = _agreement()
    first.status = AgreementStatus.REQUESTED
    db.session.commit()
    funding.refuse(first, "dossier incomplet", date(2018, 11, 25))
    db.session.commit()
    data = funding._data_of(first)
    data.file_number = "UNI-2018-0099"
    second = funding.create_agreement(course["session"], data)
    funding.grant(second, 94500, date(2018, 11, 28))
    db.session.commit()
    return first, second


def test_a_refused_request_granted_on_appeal_after_another_covered_its_trainees_is_refused(admin_client):
    course = make_course()
    first, _second = _refused_then_covered_again(course)
    with pytest.raises(ServiceError, match="Awa Diallo est déjà couvert·e par un autre accord "
                                           r"\(dossier UNI-2018-0099\)"):
        funding.grant(first, 94500, date(2018, 11, 30))
    db.session.rollback()

    # Through the page, with the file number unchanged: refused with the reason, nothing recorded.
    response = admin_client.post(f"/financement/accords/{first.id}/accorder", data={
        "accord-decided_on": "2018-11-30", "accord-file_number": first.file_number, "accord-amount": "945",
        "accord-hourly_rate": "15"})
    assert response.status_code == 422
    assert "déjà couvert·e par un autre accord (dossier UNI-2018-0099)" in text(response)
    db.session.expire_all()
    assert db.session.get(FundingAgreement, first.id).status == AgreementStatus.REFUSED
    issue_certificates(course)
    claim = _claim(course)
    assert len(claim.snapshot["lines"]) == 3 and funding.preflight(claim) == []


def test_a_trainee_covered_by_two_granted_agreements_stops_the_claim():
    """Recorded before grant() checked it (or by hand): the pre-send check names the trainee and the files."""
    course = make_course()
    awa = course["enrolments"][0]
    factories.make_agreement(course["session"], [awa], funder=course["funder"], file_number="UNI-BIS")
    issue_certificates(course)
    claim = _claim(course)
    assert [p.message for p in funding.preflight(claim)] == [
        "Awa Diallo est couvert·e par 2 accords accordés (dossiers UNI-2018-0042, UNI-BIS) : ses heures seraient "
        "facturées deux fois. Enregistrez le refus de l'un d'eux, ou retirez-le·la de l'un d'eux."]
    with frozen_at(datetime(2019, 1, 8, 10)), pytest.raises(ServiceError, match="ne peut pas partir"):
        funding.send(claim, date(2019, 1, 8))


def _sophie_not_covered(course, funding_mode):
    agreement = _agreement()
    sophie = course["enrolments"][2]
    agreement.trainees = [item for item in agreement.trainees if item.enrolment_id != sophie.id]
    for enrolment in course["enrolments"]:
        enrolment.funding_mode = "opco"
    sophie.funding_mode = funding_mode
    db.session.commit()
    issue_certificates(course)
    return sophie


def test_a_trainee_whose_employer_pays_on_its_own_funds_does_not_stop_the_claim():
    course = make_course()
    _sophie_not_covered(course, "employer")
    claim = _claim(course)
    assert funding.preflight(claim) == []
    with frozen_at(datetime(2019, 1, 8, 10)):
        funding.send(claim, date(2019, 1, 8))
    assert [line["trainee_name"] for line in claim.snapshot["lines"]] == ["Mme Awa DIALLO", "Mme Julien LE BIHAN"]


def test_a_trainee_covered_by_another_funder_does_not_stop_the_claim():
    course = make_course()
    sophie = _sophie_not_covered(course, "opco")
    claim = _claim(course)
    assert [p.message for p in funding.preflight(claim)] == [
        "Sophie Renaud (CCAS de Rennes) n'a pas d'accord de financement avec Uniformation."]
    factories.make_agreement(course["session"], [sophie], funder=factories.make_funder("AFDAS"), status="requested",
                             file_number="AF-1")
    assert funding.preflight(claim) == []


def test_a_covered_trainee_cancelled_before_the_course_gets_no_line_nor_their_share():
    """Uniformation granted 630 € for Awa and Julien (2 × 21 h); Julien cancelled before the course: the claim
    bills Awa's 21 h at 15 €/h, no line with planned hours and nothing attended for Julien."""
    from tests.web.test_funding import PAST_END, PAST_START, set_organisation
    from training_app.services import enrolments as enrolment_service
    set_organisation()
    funder = factories.make_funder("Uniformation")
    employer = factories.make_employer("CCAS de Rennes", siret="78324521000001", funder=funder)
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    session = factories.make_session(start=PAST_START, end=PAST_END, status="open", trainers=[trainer])
    awa, julien = [factories.make_enrolment(session, factories.make_trainee(first, last, employer=employer))
                   for first, last in (("Awa", "Diallo"), ("Julien", "Le Bihan"))]
    factories.make_agreement(session, [awa, julien], funder=funder, file_number="UNI-1", hourly_rate_cents=None,
                             amount_cents=63000, employer=employer)
    with frozen_at(datetime(2018, 12, 1, 10)):
        enrolment_service.cancel(julien, "empêchement", actor=factories.make_user("admin"))
    db.session.commit()
    factories.take_attendance(session, trainer)
    session.status = "completed"
    db.session.commit()
    issue_certificates({"session": session})
    claim = _claim({"funder": funder, "session": session})
    assert [(line["trainee_name"], line["planned_minutes"], line["attended_minutes"], line["total_cents"])
            for line in claim.snapshot["lines"]] == [("Mme Awa DIALLO", 1260, 1260, 31500)]
    assert claim.total_cents == 31500 and funding.preflight(claim) == []


def test_a_claim_line_names_the_employer_of_the_agreement_not_the_trainees_new_one():
    """Awa changed jobs after the course: the agreement of the CCAS de Rennes still pays for her hours."""
    course = make_course()
    awa = course["enrolments"][0]
    awa.trainee.employer = factories.make_employer("Mairie de Brest", siret="")
    db.session.commit()
    issue_certificates(course)
    claim = _claim(course)
    assert {(line["employer_name"], line["employer_siret"]) for line in claim.snapshot["lines"]} == {
        ("CCAS de Rennes", "78324521000001")}
    assert funding.preflight(claim) == []  # the new employer's missing SIRET is none of this claim's business


def test_once_a_claim_is_sent_what_it_states_of_the_agreement_no_longer_changes(admin_client):
    """The claim sent names the agreement's file number, rate and trainees: editing them afterwards would leave
    the funder's copy and ours disagreeing, unseen. The notes may change; after a rejection, all may."""
    course = make_course()
    issue_certificates(course)
    claim = _claim(course)
    with frozen_at(datetime(2019, 1, 10, 10)):
        funding.send(claim, date(2019, 1, 10))
    db.session.commit()
    agreement = _agreement()
    for change in ({"file_number": "AUTRE-999"}, {"hourly_rate_cents": 900},
                   {"enrolments": agreement.enrolments[:1]}):
        data = funding._data_of(agreement)
        for field, value in change.items():
            setattr(data, field, value)
        with pytest.raises(ServiceError, match="ne change plus ; seules les notes"):
            funding.update_agreement(agreement, data)
        db.session.rollback()
    with pytest.raises(ServiceError, match="ses frais annexes ne changent plus"):
        funding.set_annex_costs(agreement.trainees[0], {"travel_actual_cents": 1200})
    db.session.rollback()
    data = funding._data_of(agreement)
    data.notes = "Relancé par téléphone le 12 février."
    funding.update_agreement(agreement, data)
    db.session.commit()
    assert _agreement().notes == "Relancé par téléphone le 12 février." and _agreement().file_number != "AUTRE-999"

    with frozen_at(datetime(2019, 3, 1, 10)):
        funding.reject(claim, "Numéro de dossier inconnu", date(2019, 3, 1))
    db.session.commit()
    data = funding._data_of(agreement)
    data.file_number = "UNI-2018-0100"
    funding.update_agreement(agreement, data)
    db.session.commit()
    assert _agreement().file_number == "UNI-2018-0100"


def test_a_covered_trainee_cancelled_since_stays_covered_through_a_grant_and_an_edit_without_them():
    """Uniformation was asked 630 € for Awa and Julien (2 × 21 h) before Julien cancelled: the request is granted
    with its file number, then edited by a caller that no longer lists him (as the edit form): he stays covered,
    and the claim bills Awa her 315 €, not the 630 €. A new request may not cover him."""
    course = make_course()
    awa, julien, sophie = course["enrolments"]
    agreement = _agreement()
    agreement.status, agreement.file_number, agreement.hourly_rate_cents = AgreementStatus.REQUESTED, "", None
    agreement.trainees = [t for t in agreement.trainees if t.enrolment_id != sophie.id]
    julien.status = "cancelled"
    db.session.commit()
    funding.grant(agreement, 63000, date(2018, 11, 28), file_number="UNI-42")
    db.session.commit()
    data = funding._data_of(agreement)
    data.enrolments, data.notes = [awa], "Julien a annulé."
    funding.update_agreement(agreement, data)
    db.session.commit()
    assert sorted(t.enrolment_id for t in _agreement().trainees) == [awa.id, julien.id]
    assert funding.unbillable_covered(_agreement()) == [julien]
    issue_certificates(course)
    assert [line["total_cents"] for line in _claim(course).snapshot["lines"]] == [31500]
    data.enrolments = [sophie, julien]
    with pytest.raises(ServiceError, match="Julien Le Bihan n'a pas d'inscription confirmée"):
        funding.create_agreement(course["session"], data)


def test_a_grant_never_reads_the_cap_again():
    """No cap was recorded when the request was made; the funder's cap for the year recorded since is not brought
    in by the grant, with or without the file number (the cap is the request's, as the edit form shows it)."""
    course = make_course()
    agreement = _agreement()
    agreement.status, agreement.hourly_cap_cents = AgreementStatus.REQUESTED, None
    funding.set_hourly_cap(course["funder"], 2018, 1000)
    db.session.commit()
    funding.grant(agreement, 94500, date(2018, 11, 28), file_number="UNI-2018-0043")
    assert agreement.hourly_cap_cents is None
    db.session.rollback()
    funding.grant(_agreement(), 94500, date(2018, 11, 28))
    assert _agreement().hourly_cap_cents is None
