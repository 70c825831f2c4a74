"""Funding through the web pages and services: funders' caps, employers' SIRET, agreements, claims,
the pre-flight check, payments and the dashboard; bad input refused with a French message. What a claim asks of
the funder (subrogation lines only) and what stays paid when the funder refuses the balance."""
import io
import os
import re
import stat
from datetime import date, datetime
from types import SimpleNamespace

import openpyxl
import pytest
from docx import Document

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import (AgreementStatus, ClaimStatus, Employer, FunderHourlyCap, FundingAgreement,
                                 FundingClaim, Organisation)
from training_app.documents import funding_claim
from training_app.services import ServiceError, annual_report, funding_sources
from training_app.services import funding as funding_service

PAST_START, PAST_END = datetime(2018, 12, 11, 14, 0), datetime(2018, 12, 14, 12, 30)
ORGANISATION = {"name": "Si on s'alliait ?", "address": "4 rue du Bourbonnais\n35000 Rennes",
                "siret": "44195127000004", "declaration_number": "53350999935",
                "legal_representative": "Claire Bernard", "signatory_name": "Claire Bernard",
                "signatory_role": "Co-présidente", "city": "Rennes",
                "vat_mention": "TVA non applicable, article 261-4-4° du CGI."}


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def set_organisation():
    organisation = Organisation.get()
    for key, value in ORGANISATION.items():
        setattr(organisation, key, value)
    db.session.commit()


def make_world() -> dict:
    """A completed 21-hour session, Uniformation, an employer and three confirmed trainees."""
    set_organisation()
    funder = factories.make_funder("Uniformation")
    employer = factories.make_employer("CCAS de Rennes", siret="78324521000001", funder=funder)
    session = factories.make_session(start=PAST_START, end=PAST_END, status="completed")
    enrolments = [factories.make_enrolment(session, factories.make_trainee(first, last, employer=employer,
                                                                           job_title="Assistante sociale"))
                  for first, last in (("Awa", "Diallo"), ("Sophie", "Renaud"), ("Leïla", "Haddad"))]
    return {"funder": funder, "employer": employer, "session": session, "enrolments": enrolments}


def stub_sources(monkeypatch) -> dict:
    """Attendance and certificates as the other features report them (set per test)."""
    state = {"hours": {}, "open_slots": [], "certificates": None, "outdated": {}}

    def certificates(session):
        if state["certificates"] is not None:
            return state["certificates"]
        return {e_id: {"realisation": issued(hours)} for e_id, hours in state["hours"].items()}

    monkeypatch.setattr(funding_sources, "hours_by_enrolment", lambda session: state["hours"])
    monkeypatch.setattr(funding_sources, "open_slots", lambda session: state["open_slots"])
    stub_certificates(monkeypatch, certificates)
    monkeypatch.setattr(funding_sources, "outdated_certificates", lambda session: state["outdated"])
    return state


def issued(hours: funding_sources.Hours) -> SimpleNamespace:
    """A stand-in for a current certificat de réalisation stating `hours`."""
    return SimpleNamespace(attended_minutes=hours.attended_minutes, version=1)


def stub_certificates(monkeypatch, certificates) -> None:
    """The certificates feature replaced: certificates(session) gives {enrolment_id: {"realisation": issued(…)}};
    the dossier stored when a claim is sent holds a stand-in file for each."""
    monkeypatch.setattr(funding_sources, "certificates_by_enrolment", certificates)
    monkeypatch.setattr(funding_sources, "realisation_certificates", lambda session, enrolment_ids: {
        e_id: (f"certificat-{e_id}.docx", b"certificat", None) for e_id in enrolment_ids
        if "realisation" in certificates(session).get(e_id, {})})


def held(session) -> None:
    """The sheets of `session` filled in, its trainees present (the claims read the stubbed hours, `sources`): the
    annual report counts the revenue of a session over only once somebody attended it."""
    from tests.unit.test_annual_report import _mark
    _mark(session, factories.make_user("trainer"))


def full_hours(enrolments, planned=1260):
    return {e.id: funding_sources.Hours(planned, planned, 0, 0) for e in enrolments}


# --- funders and caps ----------------------------------------------------------------------------------

def test_admin_creates_a_funder_and_edits_its_yearly_caps(admin_client):
    response = admin_client.post("/financement/opco/nouveau", data={
        "name": "Uniformation", "address": "43 boulevard Diderot\n75012 Paris", "contact_name": "Service",
        "contact_email": "financement@example.org", "accepts_annex_costs": "y"})
    assert response.status_code == 302
    funder = db.session.scalar(db.select(factories.Funder))
    assert funder.accepts_annex_costs and funder.address.startswith("43 boulevard")
    assert admin_client.post(f"/financement/opco/{funder.id}/plafonds",
                             data={"year": "2018", "cap": "25,00", "note": "barème 2018"}).status_code == 302
    assert admin_client.post(f"/financement/opco/{funder.id}/plafonds",
                             data={"year": "2018", "cap": "27.50"}).status_code == 302
    db.session.expire_all()
    assert funding_service.hourly_cap_for(funder, 2018) == 2750
    page = text(admin_client.get(f"/financement/opco/{funder.id}"))
    assert "27,50\u202f€/h" in page
    refused = admin_client.post(f"/financement/opco/{funder.id}/plafonds", data={"year": "2019", "cap": "-3"})
    assert refused.status_code == 422 and "ne peut pas être négatif" in text(refused)
    assert funding_service.hourly_cap_for(funder, 2019) is None
    cap = db.session.scalar(db.select(FunderHourlyCap))
    admin_client.post(f"/financement/opco/{funder.id}/plafonds/{cap.id}/supprimer")
    assert db.session.scalar(db.select(FunderHourlyCap)) is None


def test_duplicate_funder_name_is_refused(admin_client):
    factories.make_funder("Uniformation")
    response = admin_client.post("/financement/opco/nouveau", data={"name": "uniformation"})
    assert response.status_code == 200 and "Un financeur porte déjà ce nom" in text(response)


def _save_employer(admin_client, employer, siret, name=None, funder_id="0"):
    """Post the employer's form; returns (response, the employer's SIRET and name as stored afterwards)."""
    response = admin_client.post(f"/financement/structures/{employer.id}",
                                 data={"name": name or employer.name, "siret": siret, "funder_id": funder_id,
                                       "version": factories.version_of(employer)})
    db.session.expire_all()
    stored = db.session.get(Employer, employer.id)
    return response, (stored.siret, stored.name)


def test_employer_siret_is_checked(admin_client, world):
    employer = world["employer"]
    response, stored = _save_employer(admin_client, employer, "78324521000002")
    assert "SIRET n'est pas valide" in text(response) and stored[0] == "78324521000001"
    response, stored = _save_employer(admin_client, employer, "301 247 880 00018", funder_id=str(world["funder"].id))
    assert response.status_code == 302 and stored[0] == "30124788000018"


def test_an_employer_cannot_take_the_siret_of_another(admin_client, world):
    """Registrations and imports find an employer by its SIRET: two employers with one SIRET would send them to
    the other one."""
    employer, other = world["employer"], factories.make_employer("Mairie de Brest", siret="73282932000074")
    response, stored = _save_employer(admin_client, employer, "732 829 320 00074")
    assert "Ce SIRET est déjà celui de la structure Mairie de Brest." in text(response)
    assert stored == ("78324521000001", employer.name)
    # Its own SIRET, kept: saved.
    response, stored = _save_employer(admin_client, other, "73282932000074", name="Mairie de Brest (service RH)")
    assert response.status_code == 302 and stored == ("73282932000074", "Mairie de Brest (service RH)")
    # Two records sharing a SIRET from before the rule: each can still be edited, keeping it.
    twin = factories.make_employer("Mairie de Brest (doublon)", siret="73282932000074")
    response, stored = _save_employer(admin_client, twin, "73282932000074", name="Mairie de Brest - doublon")
    assert response.status_code == 302 and stored == ("73282932000074", "Mairie de Brest - doublon")


# --- agreements ----------------------------------------------------------------------------------------

def agreement_form(world, enrolments, **overrides):
    data = {"funder_id": str(world["funder"].id), "employer_id": "0",
            "enrolments": [str(e.id) for e in enrolments], "requested_on": "2018-11-02", "file_number": "UNI-001",
            "mode": "subrogation", "hourly_rate": "15", "amount": "", "hourly_cap": "", "notes": ""}
    data.update(overrides)
    return data


def test_agreement_request_grant_and_annex_costs(admin_client, world):
    funding_service.set_hourly_cap(world["funder"], 2018, 2500)
    db.session.commit()
    session, (awa, sophie, _leila) = world["session"], world["enrolments"]
    response = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau", data=agreement_form(
        world, [awa, sophie], employer_id=str(world["employer"].id)))
    assert response.status_code == 302
    agreement = db.session.scalar(db.select(FundingAgreement))
    assert agreement.status == AgreementStatus.REQUESTED and agreement.hourly_cap_cents == 2500
    assert {t.enrolment_id for t in agreement.trainees} == {awa.id, sophie.id}
    response = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
        "accord-decided_on": "2018-11-20", "accord-file_number": "UNI-001", "accord-amount": "630",
        "accord-hourly_rate": "15"})
    assert response.status_code == 302
    response = admin_client.post(f"/financement/accords/{agreement.id}/frais/{awa.id}", data={
        f"frais{awa.id}-travel_agreed": "40", f"frais{awa.id}-travel_actual": "32,50"})
    assert response.status_code == 302
    db.session.expire_all()
    agreement = db.session.get(FundingAgreement, agreement.id)
    assert agreement.status == AgreementStatus.GRANTED and agreement.amount_cents == 63000
    assert agreement.trainees[0].travel_actual_cents == 3250
    page = text(admin_client.get(f"/financement/accords/{agreement.id}"))
    assert "accord enregistré (demandé → accordé)" in page and "Accordé le 20/11/2018" in page
    assert "Enregistrer les frais pour Awa Diallo" in page  # not "de Awa"
    negative = admin_client.post(f"/financement/accords/{agreement.id}/frais/{awa.id}", data={
        f"frais{awa.id}-meals_actual": "-5"})
    assert negative.status_code == 422 and "ne peut pas être négatif" in text(negative)


def test_only_trainees_whose_funding_needs_an_agreement_are_listed_without_one(admin_client, world):
    session, (awa, sophie, leila) = world["session"], world["enrolments"]
    awa.funding_mode, sophie.funding_mode, leila.funding_mode = "opco", "employer", "opco"
    self_paying = factories.make_enrolment(session, factories.make_trainee("Inès", "Barbier"))
    self_paying.funding_mode = "personal"
    factories.make_enrolment(session, factories.make_trainee("Noé", "Importé"))  # no mode recorded
    cpf = factories.make_enrolment(session, factories.make_trainee("Lou", "Cépéef"))
    cpf.funding_mode = "other"  # France Travail, CPF: another funder's agreement may be requested
    db.session.commit()
    factories.make_agreement(session, [leila], world["funder"], status="requested")
    page = text(admin_client.get(f"/financement/sessions/{session.id}"))
    uncovered = page[page.index('data-testid="uncovered"'):].split("</ul>")[0]
    assert "Awa Diallo" in uncovered and f"stagiaire={awa.id}" in uncovered
    assert "Noé Importé" in uncovered and "Lou Cépéef" in uncovered
    assert "Sophie Renaud" not in uncovered  # her employer pays on its own funds
    assert "Inès Barbier" not in uncovered and f"stagiaire={self_paying.id}" not in uncovered  # pays personally
    assert "Leïla Haddad" not in uncovered  # already requested


def test_a_trainee_whose_funding_is_unknown_is_asked_for_before_the_claim(admin_client, world, sources):
    """A trainee imported without a funding mode is listed on the funding page as without an agreement: the claim's
    check says so too (their funder may be the claim's), with a link to record the mode; once recorded (her
    employer pays on its own funds), neither lists her. One whose employer belongs to another funder is that
    funder's claims' business."""
    session, (awa, sophie, leila) = world["session"], world["enrolments"]
    awa.funding_mode, sophie.funding_mode, leila.funding_mode = "opco", "opco", ""
    akto = factories.make_funder("Akto")
    lou = factories.make_enrolment(session, factories.make_trainee(  # no mode, her employer's funder is Akto
        "Lou", "Martin", employer=factories.make_employer("Mairie de Brest", funder=akto)))
    db.session.commit()
    factories.make_agreement(session, [awa, sophie], funder=world["funder"], file_number="UNI-100",
                             employer=world["employer"])
    sources["hours"] = full_hours([awa, sophie])
    page = text(admin_client.get(f"/financement/sessions/{session.id}"))
    uncovered = page[page.index('data-testid="uncovered"'):].split("</ul>")[0]
    assert "Leïla Haddad" in uncovered and "financement non indiqué" in uncovered
    assert f'href="/inscriptions/{leila.id}/financement"' in uncovered
    assert f'href="/inscriptions/{lou.id}/financement"' in uncovered  # the page lists every unknown mode

    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        db.session.commit()
        problems = [p.message for p in funding_service.preflight(claim)]
        assert problems == ["Leïla Haddad : financement non indiqué sur son inscription ; indiquez-le avant la "
                            "demande de paiement (une prise en charge par Uniformation demande aussi son accord)."]
        page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
        assert f'href="/inscriptions/{leila.id}/financement"' in page and "Lou Martin" not in page
        refused = admin_client.post(f"/financement/demandes/{claim.id}/envoyer", data={"sent_on": "2019-01-10"})
        assert refused.status_code == 422 and "ne peut pas partir" in text(refused)
        akto_claim = funding_service.create_claim(akto, session=session)  # Lou's is Akto's business
        assert any("Lou Martin : financement non indiqué" in p.message
                   for p in funding_service.preflight(akto_claim))
        db.session.rollback()

    bogus = admin_client.post(f"/inscriptions/{leila.id}/financement", data={"funding_mode": "bogus"})
    assert bogus.status_code == 200 and "Choisissez un mode de financement." in text(bogus)
    assert "Choisissez un mode de financement." in text(admin_client.post(f"/inscriptions/{leila.id}/financement",
                                                                         data={"funding_mode": ""}))
    db.session.expire_all()
    assert db.session.get(factories.Enrolment, leila.id).funding_mode == ""
    form = text(admin_client.get(f"/inscriptions/{leila.id}/financement"))
    assert "Financement de cette formation" in form
    saved = admin_client.post(f"/inscriptions/{leila.id}/financement", data={"funding_mode": "employer"})
    assert saved.status_code == 302
    db.session.expire_all()
    detail = text(admin_client.get(f"/inscriptions/{leila.id}"))
    assert "Financement indiqué" in detail and "Par l'employeur, sur ses fonds propres" in detail
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = db.session.get(FundingClaim, claim.id)
        assert funding_service.preflight(claim) == []
        page = text(admin_client.get(f"/financement/sessions/{session.id}"))
        assert "Leïla Haddad" not in page.split('data-testid="uncovered"')[-1].split("</ul>")[0]
        assert admin_client.post(f"/financement/demandes/{claim.id}/envoyer",
                                 data={"sent_on": "2019-01-10"}).status_code == 302


def test_duplicate_file_number_for_one_funder_is_refused(admin_client, world):
    session, (awa, sophie, _leila) = world["session"], world["enrolments"]
    factories.make_agreement(session, [awa], funder=world["funder"], file_number="UNI-001")
    response = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau",
                                 data=agreement_form(world, [sophie], file_number="UNI-001"))
    assert response.status_code == 200
    assert "Le numéro de dossier UNI-001 existe déjà chez Uniformation" in text(response)
    assert db.session.scalar(db.select(db.func.count(FundingAgreement.id))) == 1
    other = factories.make_funder("AFDAS")
    response = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau",
                                 data=agreement_form(world, [sophie], file_number="UNI-001", funder_id=str(other.id)))
    assert response.status_code == 302  # the same number at another funder is another file


def test_bad_agreement_input_is_refused_and_nothing_saved(admin_client, world):
    session, awa = world["session"], world["enrolments"][0]
    url = f"/financement/sessions/{session.id}/accords/nouveau"
    negative = admin_client.post(url, data=agreement_form(world, [awa], amount="-100"))
    assert "ne peut pas être négatif" in text(negative)
    nobody = admin_client.post(url, data=agreement_form(world, []))
    assert "au moins un·e stagiaire" in text(nobody)
    factories.make_agreement(session, [awa], funder=world["funder"], file_number="UNI-009")
    twice = admin_client.post(url, data=agreement_form(world, [awa], file_number="UNI-010"))
    assert "déjà couvert·e par un autre accord" in text(twice)
    assert db.session.scalar(db.select(db.func.count(FundingAgreement.id))) == 1


def test_refusal_needs_a_reason(admin_client, world):
    agreement = factories.make_agreement(world["session"], world["enrolments"][:1], funder=world["funder"],
                                         status="requested")
    url = f"/financement/accords/{agreement.id}/refuser"
    response = admin_client.post(url, data={"refus-decided_on": "2018-11-20"})
    assert response.status_code == 422 and "Indiquez le motif du refus" in text(response)
    admin_client.post(url, data={"refus-decided_on": "2018-11-20",
                                 "refus-reason": "Hors plan de développement des compétences"})
    db.session.expire_all()
    assert db.session.get(FundingAgreement, agreement.id).status == AgreementStatus.REFUSED


def test_answer_cannot_precede_the_request(admin_client, world):
    agreement = factories.make_agreement(world["session"], world["enrolments"][:1], funder=world["funder"],
                                         status="requested")  # requested on 01/11/2018
    message = "La réponse du financeur ne peut pas précéder la demande (01/11/2018)."
    granted = admin_client.post(f"/financement/accords/{agreement.id}/accorder",
                                data={"accord-decided_on": "2018-10-31", "accord-amount": "100"})
    assert granted.status_code == 422 and message in text(granted)
    refused = admin_client.post(f"/financement/accords/{agreement.id}/refuser",
                                data={"refus-decided_on": "2018-10-31", "refus-reason": "Hors plan"})
    assert refused.status_code == 422 and message in text(refused)
    db.session.expire_all()
    agreement = db.session.get(FundingAgreement, agreement.id)
    assert agreement.status == AgreementStatus.REQUESTED and agreement.decided_on is None


def field_error(response, field_id: str) -> str:
    """The message shown under a form's field (empty when none)."""
    found = re.search(rf'id="{field_id}-erreur"[^>]*>([^<]*)<', text(response))
    return found.group(1) if found else ""


def test_a_request_dated_in_the_future_is_refused_and_nothing_saved(admin_client, world):
    session, (awa, sophie, _leila) = world["session"], world["enrolments"]
    message = "La date de la demande ne peut pas être dans le futur."
    with frozen_at(datetime(2018, 11, 5, 10)):
        create = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau",
                                   data=agreement_form(world, [awa], requested_on="2018-11-06"))
        assert field_error(create, "requested_on") == message
        assert db.session.scalar(db.select(db.func.count(FundingAgreement.id))) == 0
        today = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau",
                                  data=agreement_form(world, [awa], requested_on="2018-11-05"))
        assert today.status_code == 302  # today is not the future
        agreement = db.session.scalar(db.select(FundingAgreement))
        edit = admin_client.post(f"/financement/accords/{agreement.id}",
                                 data=agreement_form(world, [awa, sophie], requested_on="2019-01-01",
                                                     version=factories.version_of(agreement)))
        assert field_error(edit, "requested_on") == message
    db.session.expire_all()
    agreement = db.session.get(FundingAgreement, agreement.id)
    assert agreement.requested_on == date(2018, 11, 5) and [t.enrolment_id for t in agreement.trainees] == [awa.id]


def test_an_answer_dated_in_the_future_is_refused_and_nothing_saved(admin_client, world):
    agreement = factories.make_agreement(world["session"], world["enrolments"][:1], funder=world["funder"],
                                         status="requested", file_number="UNI-001")  # requested on 01/11/2018
    message = "La date de la réponse ne peut pas être dans le futur."
    with frozen_at(datetime(2018, 11, 20, 10)):
        granted = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
            "accord-decided_on": "2018-11-21", "accord-amount": "315", "accord-file_number": "UNI-002"})
        assert granted.status_code == 422 and field_error(granted, "accord-decided_on") == message
        refused = admin_client.post(f"/financement/accords/{agreement.id}/refuser",
                                    data={"refus-decided_on": "2018-12-01", "refus-reason": "Hors plan"})
        assert refused.status_code == 422 and field_error(refused, "refus-decided_on") == message
    db.session.expire_all()
    agreement = db.session.get(FundingAgreement, agreement.id)
    assert (agreement.status, agreement.decided_on, agreement.amount_cents, agreement.file_number) == (
        AgreementStatus.REQUESTED, None, None, "UNI-001")
    with frozen_at(datetime(2018, 11, 21, 10)):
        granted = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
            "accord-decided_on": "2018-11-21", "accord-amount": "315", "accord-file_number": "UNI-001"})
        assert granted.status_code == 302  # the same answer, the next day


def test_annex_costs_refused_by_the_form_are_not_converted(admin_client, world):
    awa = world["enrolments"][0]
    agreement = factories.make_agreement(world["session"], [awa], funder=world["funder"])
    # -1e30 is refused as negative; read before validating, it could not even be turned into cents (500)
    response = admin_client.post(f"/financement/accords/{agreement.id}/frais/{awa.id}",
                                 data={f"frais{awa.id}-travel_agreed": "-1e30"})
    assert response.status_code == 422 and "ne peut pas être négatif" in text(response)
    db.session.expire_all()
    assert db.session.get(FundingAgreement, agreement.id).trainees[0].travel_agreed_cents == 0


# --- claims --------------------------------------------------------------------------------------------

def test_a_claim_for_a_session_not_completed_is_refused(admin_client, world):
    future = factories.make_session(start=datetime(2030, 3, 5, 14), end=datetime(2030, 3, 8, 12, 30))
    response = admin_client.post(f"/financement/sessions/{future.id}/demandes",
                                 data={"funder_id": str(world["funder"].id)}, follow_redirects=True)
    assert "n'est pas terminée" in text(response)
    assert db.session.scalar(db.select(FundingClaim)) is None


def test_preflight_lists_every_problem_with_a_link(admin_client, world, sources):
    session, awa = world["session"], world["enrolments"][0]
    factories.make_agreement(session, [awa], funder=world["funder"], file_number="")
    world["employer"].siret = "78324521000002"
    world["enrolments"][1].funding_mode = "opco"  # Sophie said her employer's OPCO pays
    db.session.commit()
    sources["open_slots"] = session.slots[-1:]
    sources["hours"] = full_hours([awa])
    sources["certificates"] = {}
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
    db.session.commit()
    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    assert "Numéro de dossier manquant pour l'accord couvrant Awa Diallo" in page
    assert "Sophie Renaud (CCAS de Rennes) n'a pas d'accord de financement avec Uniformation" in page
    assert "SIRET non valide pour CCAS de Rennes (78324521000002)" in page
    assert "1 demi-journée de la session du" in page and "pas clôturée :" in page
    assert "Certificat de réalisation non émis pour : Awa Diallo" in page
    assert f'href="/financement/structures/{world["employer"].id}"' in page
    assert f'href="/financement/sessions/{session.id}/accords/nouveau"' in page
    response = admin_client.post(f"/financement/demandes/{claim.id}/envoyer", data={"sent_on": "2019-01-10"})
    assert response.status_code == 422 and "ne peut pas partir" in text(response)
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim.id).status == ClaimStatus.DRAFT


def test_preflight_links_to_the_page_where_each_problem_is_corrected(admin_client, world, sources):
    """A trainee without an employer is corrected on their enrolment's employer form; a claim without any line
    (no agreement granted yet) on the session's funding page, where agreements are answered: not on the claim's
    own page, where nothing can be corrected."""
    session, (awa, sophie, _leila) = world["session"], world["enrolments"]
    factories.make_agreement(session, [awa], funder=world["funder"], file_number="UNI-001", employer=None)
    factories.make_agreement(session, [sophie], funder=world["funder"], file_number="UNI-002", status="requested")
    awa.employer_id = None  # the course followed on no employer's behalf, the agreement naming none
    db.session.commit()
    sources["hours"] = full_hours([awa])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
    db.session.commit()
    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    problem = page.split("Awa Diallo n'a pas de structure employeuse.")[1].split("</li>")[0]
    assert f'href="/inscriptions/{awa.id}/employeur"' in problem
    assert admin_client.get(f"/inscriptions/{awa.id}/employeur").status_code == 200

    db.session.delete(db.session.scalar(db.select(FundingAgreement).where(FundingAgreement.file_number == "UNI-001")))
    db.session.commit()
    with frozen_at(datetime(2019, 1, 10, 10)):
        page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    problem = page.split("Aucun·e stagiaire n'a d'accord accordé par Uniformation pour cette demande.")[1]
    assert problem.split("</li>")[0].count(f'href="/financement/sessions/{session.id}"') == 1


def test_preflight_lists_certificates_to_reissue_with_a_link(admin_client, world, sources):
    session, awa = world["session"], world["enrolments"][0]
    factories.make_agreement(session, [awa], funder=world["funder"], file_number="UNI-001")
    sources["hours"] = full_hours([awa])
    # the sheets and her employer were corrected after the certificate was issued
    sources["outdated"] = {awa.id: ["heures suivies", "structure employeuse"]}
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
    db.session.commit()
    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    assert ("Certificat de réalisation à réémettre, il ne correspond plus à ce qui est enregistré : Awa Diallo "
            "(heures suivies, structure employeuse).") in page
    assert f'href="/sessions/{session.id}/attestations"' in page


def test_a_trainee_is_never_billed_more_than_their_enrolments_price(admin_client, world, sources):
    session, (awa, sophie, _leila) = world["session"], world["enrolments"]
    awa.price_cents, sophie.price_cents = 12050, None  # a session sold 120,50 €; Sophie's price not set
    factories.make_agreement(session, [awa, sophie], funder=world["funder"], file_number="UNI-099",
                             hourly_rate_cents=9900)
    sources["hours"] = full_hours([awa, sophie])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
    db.session.commit()
    amounts = {line["enrolment_id"]: line["pedagogical_cents"] for line in claim.snapshot["lines"]}
    assert amounts == {awa.id: 12050, sophie.id: 21 * 9900}
    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    assert "montant limité au prix de l'inscription (120,50\u202f€)" in page
    assert not re.search(r"\d[ \u00a0](%|€)", page)  # every amount through formatting.money


def test_missing_siret_and_organisation_identity_are_listed(world, sources):
    session, (awa, _s, _l) = world["session"], world["enrolments"]
    factories.make_agreement(session, [awa], funder=world["funder"])
    world["employer"].siret = ""
    Organisation.get().declaration_number = ""
    db.session.commit()
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
    messages = [p.message for p in funding_service.preflight(claim)]
    assert "SIRET manquant pour CCAS de Rennes." in messages
    assert any("numéro de déclaration d'activité" in m for m in messages)


def make_sent_claim(world, sources, total_hours=True):
    session, enrolments = world["session"], world["enrolments"]
    factories.make_agreement(session, enrolments, funder=world["funder"], file_number="UNI-100",
                             hourly_rate_cents=1500, employer=world["employer"])
    sources["hours"] = full_hours(enrolments)
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        assert funding_service.preflight(claim) == []
        funding_service.send(claim, date(2019, 1, 10))
    db.session.commit()
    return claim


def test_claim_states_partial_payment_overpayment_and_dashboard(admin_client, world, sources):
    claim = make_sent_claim(world, sources)
    assert claim.total_cents == 3 * 21 * 1500 == 94500
    with frozen_at(datetime(2019, 3, 1, 10)):
        response = admin_client.post(f"/financement/demandes/{claim.id}/paiements",
                                     data={"received_on": "2019-02-15", "amount": "500"})
        assert response.status_code == 302
        db.session.expire_all()
        claim = db.session.get(FundingClaim, claim.id)
        assert claim.status == ClaimStatus.PARTIALLY_PAID and claim.balance_cents == 44500
        board = admin_client.get("/financement/")
        assert "445,00\u202f€" in text(board)  # expected
        response = admin_client.post(f"/financement/demandes/{claim.id}/paiements",
                                     data={"received_on": "2019-02-20", "amount": "450"}, follow_redirects=True)
        assert "trop-perçu" in text(response) and "5,00\u202f€" in text(response)
    db.session.expire_all()
    claim = db.session.get(FundingClaim, claim.id)
    assert claim.status == ClaimStatus.PAID and claim.paid_cents == 95000 and claim.balance_cents == -500
    assert claim.payments[-1].overpayment_cents == 500


def test_the_dashboard_says_its_money_received_counts_the_trop_percu_unlike_the_annual_report(
        admin_client, world, sources):
    """« Reçu » is cash: every payment, the trop-perçu included (to pay back); the annual report's OPCO revenue is
    what was billed for the year's sessions. Both figures are right; the labels say which is which."""
    claim = make_sent_claim(world, sources)  # 945 €
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 95000, date(2019, 2, 15))
        db.session.commit()
        board = funding_service.dashboard()
        assert (board.received_cents, board.overpaid_cents) == (95000, 500)
        page = text(admin_client.get("/financement/"))
        home = text(admin_client.get("/tableau-de-bord"))
    note = page.split('data-testid="received-note">')[1].split("</small>")[0]
    assert "Reçu des financeurs" in page
    assert note.startswith("dont 5,00\u202f€ de trop-perçu, à rembourser ou à régulariser ; sommes encaissées")
    assert "pas le chiffre d'affaires OPCO du bilan pédagogique et financier" in note
    assert "reçu des financeurs : 950,00\u202f€ (dont 5,00\u202f€ de trop-perçu)" in home
    held(world["session"])
    opco = next(line for line in annual_report.build(2018).revenue if line.key == "opco")
    assert opco.cents == 94500 and "montants facturés, hors trop-perçu" in str(opco.label)


def payments_seen(page) -> str:
    return re.search(r'name="payments_seen" type="hidden" value="(\d+)"', text(page)).group(1)


def test_the_same_payment_form_sent_twice_records_one_payment(admin_client, world, sources):
    """A double click (or a colleague's entry in between): the form says how many payments the page showed;
    the second sending is refused and shows the list, and sent again from there it is another payment."""
    claim = make_sent_claim(world, sources)
    url = f"/financement/demandes/{claim.id}/paiements"
    with frozen_at(datetime(2019, 3, 1, 10)):
        typed = {"received_on": "2019-02-15", "amount": "300",
                 "payments_seen": payments_seen(admin_client.get(f"/financement/demandes/{claim.id}"))}
        assert typed["payments_seen"] == "0"
        assert admin_client.post(url, data=typed).status_code == 302
        again = admin_client.post(url, data=typed)
        assert again.status_code == 422
        assert "Un paiement vient d'être enregistré sur cette demande" in text(again)
        assert re.search(r'name="amount"[^>]*value="300', text(again))  # what was typed is kept
        assert payments_seen(again) == "1"
        db.session.expire_all()
        assert [p.amount_cents for p in db.session.get(FundingClaim, claim.id).payments] == [30000]
        confirmed = admin_client.post(url, data={**typed, "payments_seen": payments_seen(again)})
        assert confirmed.status_code == 302
    db.session.expire_all()
    claim = db.session.get(FundingClaim, claim.id)
    assert [p.amount_cents for p in claim.payments] == [30000, 30000] and claim.paid_cents == 60000


def test_payment_and_rejection_bad_input(admin_client, world, sources):
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 3, 1, 10)):
        for odd in ("²", "1_0", "9" * 40):  # a hand-made count of the payments shown: read as not given
            odd_count = admin_client.post(f"/financement/demandes/{claim.id}/paiements",
                                          data={"received_on": "2019-02-15", "amount": "0", "payments_seen": odd})
            assert odd_count.status_code == 422 and "doit être positif" in text(odd_count)
        zero = admin_client.post(f"/financement/demandes/{claim.id}/paiements",
                                 data={"received_on": "2019-02-15", "amount": "0"})
        assert zero.status_code == 422 and "doit être positif" in text(zero)
        early = admin_client.post(f"/financement/demandes/{claim.id}/paiements",
                                  data={"received_on": "2019-01-02", "amount": "10"})
        assert "ne peut pas précéder l'envoi" in text(early)
        no_reason = admin_client.post(f"/financement/demandes/{claim.id}/rejet", data={"rejected_on": "2019-02-01"})
        assert "Indiquez le motif du rejet" in text(no_reason)
        admin_client.post(f"/financement/demandes/{claim.id}/rejet",
                          data={"rejected_on": "2019-02-01", "reason": "Feuilles d'émargement illisibles"})
    db.session.expire_all()
    claim = db.session.get(FundingClaim, claim.id)
    assert claim.status == ClaimStatus.REJECTED and claim.paid_cents == 0
    assert "Feuilles d'émargement illisibles" in claim.rejection_reason


def test_a_payment_or_a_rejection_dated_in_the_future_is_refused(admin_client, world, sources):
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 3, 1, 10)):
        paid = admin_client.post(f"/financement/demandes/{claim.id}/paiements",
                                 data={"received_on": "2019-03-02", "amount": "10"})
        assert paid.status_code == 422
        assert field_error(paid, "received_on") == "La date de réception ne peut pas être dans le futur."
        rejected = admin_client.post(f"/financement/demandes/{claim.id}/rejet",
                                     data={"rejected_on": "2019-03-02", "reason": "Illisible"})
        assert rejected.status_code == 422
        assert field_error(rejected, "rejected_on") == "La date du rejet ne peut pas être dans le futur."
    db.session.expire_all()
    claim = db.session.get(FundingClaim, claim.id)
    assert (claim.status, claim.paid_cents, claim.payments) == (ClaimStatus.SENT, 0, [])


def test_rejection_cannot_precede_the_sending(admin_client, world, sources):
    claim = make_sent_claim(world, sources)  # sent on 10/01/2019
    with frozen_at(datetime(2019, 3, 1, 10)):
        response = admin_client.post(f"/financement/demandes/{claim.id}/rejet",
                                     data={"rejected_on": "2019-01-09", "reason": "Feuilles illisibles"})
    assert response.status_code == 422
    assert "Le rejet ne peut pas précéder l'envoi de la demande (10/01/2019)." in text(response)
    db.session.expire_all()
    claim = db.session.get(FundingClaim, claim.id)
    assert claim.status == ClaimStatus.SENT and claim.rejected_on is None


def test_sending_cannot_precede_the_training_nor_the_claim(admin_client, world, sources):
    session, enrolments = world["session"], world["enrolments"]  # 11/12/2018 - 14/12/2018
    factories.make_agreement(session, enrolments, funder=world["funder"], file_number="UNI-100",
                             employer=world["employer"])
    sources["hours"] = full_hours(enrolments)
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        db.session.commit()
        for sent_on, message in (("2018-12-13", "ne peut pas précéder la fin de la formation (14/12/2018)"),
                                 ("2019-01-09", "ne peut pas précéder la création de la demande (10/01/2019)")):
            response = admin_client.post(f"/financement/demandes/{claim.id}/envoyer", data={"sent_on": sent_on})
            assert response.status_code == 422 and message in text(response)
    db.session.expire_all()
    claim = db.session.get(FundingClaim, claim.id)
    assert claim.status == ClaimStatus.DRAFT and claim.sent_on is None


def test_overdue_claims_on_the_dashboard(admin_client, world, sources):
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 2, 1, 10)):
        assert funding_service.dashboard().overdue == []
    with frozen_at(datetime(2019, 4, 1, 10)):
        board = funding_service.dashboard()
        assert [c.id for c in board.overdue] == [claim.id] and board.overdue_cents == 94500
        page = text(admin_client.get("/financement/"))
        assert "en retard" in page
        home = text(admin_client.get("/tableau-de-bord"))
        assert "1 demande en retard" in home


def test_a_sent_claim_is_frozen(world, sources):
    claim = make_sent_claim(world, sources)
    with pytest.raises(ServiceError, match="ne changent plus"):
        funding_service.refresh(claim)
    with pytest.raises(ServiceError, match="déjà été envoyée"):
        funding_service.send(claim, date(2019, 1, 11))


def test_claim_for_a_period_gathers_the_sessions(world, sources):
    first = world["session"]
    factories.make_agreement(first, world["enrolments"][:1], funder=world["funder"])
    second = factories.make_session(start=datetime(2019, 1, 15, 9, 30), end=datetime(2019, 1, 16, 18, 0))
    factories.make_agreement(second, [factories.make_enrolment(second)], funder=world["funder"])
    with frozen_at(datetime(2019, 2, 1, 10)):
        claim = funding_service.create_claim(world["funder"], period_start=date(2018, 12, 1),
                                             period_end=date(2019, 1, 31))
        assert [s.id for s in claim.sessions] == [first.id, second.id]
        with pytest.raises(ServiceError, match="Aucune session"):
            funding_service.create_claim(world["funder"], period_start=date(2017, 1, 1), period_end=date(2017, 12, 31))
        with pytest.raises(ServiceError, match="suivre son début"):
            funding_service.create_claim(world["funder"], period_start=date(2019, 1, 31), period_end=date(2018, 1, 1))


def test_a_session_is_claimed_once_from_a_funder_unless_its_claim_was_rejected(admin_client, world, sources):
    session = world["session"]
    factories.make_agreement(session, world["enrolments"][:1], funder=world["funder"])
    with frozen_at(datetime(2019, 1, 10, 10)):
        first = funding_service.create_claim(world["funder"], session=session)
        db.session.commit()
        response = admin_client.post(f"/financement/sessions/{session.id}/demandes",
                                     data={"funder_id": str(world["funder"].id)}, follow_redirects=True)
        assert "figure déjà dans une demande de paiement en brouillon à Uniformation" in text(response)
        assert "les mêmes heures ne se facturent pas deux fois" in text(response)
        with pytest.raises(ServiceError, match="figure déjà"):  # a period covering it: refused too
            funding_service.create_claim(world["funder"], period_start=date(2018, 12, 1), period_end=date(2018, 12, 31))
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(FundingClaim.id))) == 1

        rejected = db.session.get(FundingClaim, first.id)  # sent, refused by the funder: it may be made again
        rejected.status, rejected.number = "rejected", "2019-0001"
        db.session.commit()
        again = funding_service.create_claim(world["funder"], session=session)
        db.session.commit()
    assert again.id != first.id and [s.id for s in again.sessions] == [session.id]


def test_claim_files_download_and_cli_export(app, admin_client, world, sources, tmp_path):
    claim = make_sent_claim(world, sources)
    workbook = admin_client.get(f"/financement/demandes/{claim.id}/classeur.xlsx")
    assert workbook.status_code == 200 and workbook.data.startswith(b"PK")
    invoice = admin_client.get(f"/financement/demandes/{claim.id}/facture.docx")
    assert invoice.status_code == 200 and invoice.data.startswith(b"PK")
    out = tmp_path / "claim.xlsx"
    result = app.test_cli_runner().invoke(args=["funding", "export", str(claim.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK" and claim.number in result.output
    for number in ("999999", "99999999999999999999"):  # the second does not fit an id: not found all the same
        missing = app.test_cli_runner().invoke(args=["funding", "export", number, "--out", str(out)])
        assert missing.exit_code == 1 and f"Aucune demande de paiement n° {number}." in missing.output


def test_trainers_cannot_see_funding(trainer_client, world):
    assert trainer_client.get("/financement/").status_code == 403
    page = trainer_client.get(f"/sessions/{world['session'].id}")
    assert "Financement" not in text(page)


# --- what a claim asks of the funder, what stays paid ---------------------------------------------------------
def make_mixed_claim(world, sources, sent_on=date(2019, 1, 10), travel_cents=0):
    """Awa and Sophie in subrogation (UNI-100), Leïla in reimbursement of her employer (UNI-200): 21 h at 15 €,
    Leïla's travel (agreed and spent) `travel_cents`."""
    session, (awa, sophie, leila) = world["session"], world["enrolments"]
    factories.make_agreement(session, [awa, sophie], funder=world["funder"], file_number="UNI-100",
                             hourly_rate_cents=1500, employer=world["employer"])
    factories.make_agreement(session, [leila], funder=world["funder"], file_number="UNI-200",
                             hourly_rate_cents=1500, employer=world["employer"], mode="reimbursement",
                             travel_agreed_cents=travel_cents, travel_actual_cents=travel_cents)
    sources["hours"] = full_hours(world["enrolments"])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        assert funding_service.preflight(claim) == []
        funding_service.send(claim, sent_on)
    db.session.commit()
    return claim


def test_a_mixed_claim_asks_the_funder_for_the_subrogation_lines_only(admin_client, world, sources):
    claim = make_mixed_claim(world, sources)
    assert claim.total_cents == 2 * 21 * 1500 == 63000  # Leïla's 315 € are her employer's to pay
    assert claim.snapshot["totals"]["total_cents"] == 94500
    assert claim.snapshot["totals"]["reimbursement_cents"] == 31500

    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    assert 'data-testid="claim-total">630,00\u202f€' in page
    assert "315,00\u202f€ de frais pédagogiques pour 1 stagiaire, pour information : l'employeur paie sa formation" in page
    assert page.count('data-testid="employer-pays"') == 1
    board = funding_service.dashboard()
    assert board.expected_cents == 63000
    assert 'data-testid="expected">630,00\u202f€' in text(admin_client.get("/financement/"))

    invoice = Document(io.BytesIO(admin_client.get(f"/financement/demandes/{claim.id}/facture.docx").data))
    totals = {row.cells[0].text: row.cells[1].text for row in invoice.tables[1].rows}
    assert totals["Net à payer"] == "630,00\u202f€" and totals["Total hors taxes"] == "945,00\u202f€"
    mention = "\n".join(p.text for p in invoice.paragraphs)
    assert "remboursement de l'employeur (UNI-200)" in mention
    workbook = openpyxl.load_workbook(io.BytesIO(admin_client.get(
        f"/financement/demandes/{claim.id}/classeur.xlsx").data), data_only=True)
    summary = workbook["Récapitulatif"]
    values = {summary[f"A{r}"].value: summary[f"B{r}"].value for r in range(1, summary.max_row + 1)}
    assert values["Total demandé"] == 630

    with frozen_at(datetime(2019, 3, 1, 10)):  # the funder pays what it was asked: the claim is paid
        assert funding_service.record_payment(claim, 63000, date(2019, 2, 20)) is None
    assert claim.status == ClaimStatus.PAID and claim.balance_cents == 0
    db.session.commit()
    # the annual report counts for the OPCO what the claim asked of it; the employers what the prices leave,
    # Leïla's price in full (her employer pays it, the funder reimburses the employer)
    prices = [e.price_cents for e in world["enrolments"]]
    held(world["session"])
    revenue = {line.key: line.cents for line in annual_report.build(2018).revenue}
    assert revenue["opco"] == claim.total_cents
    assert revenue["employer"] == sum(prices) - claim.total_cents and prices[2] >= 31500


def test_what_the_employer_pays_us_leaves_out_its_own_annex_costs(admin_client, world, sources):
    """Leïla in reimbursement with 50 € of travel: her employer pays us the 315 € of training (as the annual report
    counts it); the travel is the employer's own expense, reimbursed to it by the funder. Page, workbook and invoice
    say the same; the funder is asked for the subrogation lines only."""
    claim = make_mixed_claim(world, sources, travel_cents=5000)
    assert claim.total_cents == 63000

    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    employer_pays = re.search(r'data-testid="claim-employer-pays">([^<]*)', page).group(1)
    assert employer_pays.startswith("315,00\u202f€ de frais pédagogiques pour 1 stagiaire, pour information : l'employeur paie sa formation")
    assert "Leurs frais annexes (50,00\u202f€) sont les propres dépenses de l'employeur" in employer_pays
    invoice = Document(io.BytesIO(admin_client.get(f"/financement/demandes/{claim.id}/facture.docx").data))
    totals = {row.cells[0].text: row.cells[1].text for row in invoice.tables[1].rows}
    assert (totals["Total hors taxes"], totals["Net à payer"]) == ("995,00\u202f€", "630,00\u202f€")
    assert (totals[funding_claim.EMPLOYER_PAYS_LABEL], totals[funding_claim.EMPLOYER_ANNEX_LABEL]) == (
        "− 315,00\u202f€", "− 50,00\u202f€")
    workbook = openpyxl.load_workbook(io.BytesIO(admin_client.get(
        f"/financement/demandes/{claim.id}/classeur.xlsx").data), data_only=True)
    summary = workbook["Récapitulatif"]
    values = {summary[f"A{r}"].value: summary[f"B{r}"].value for r in range(1, summary.max_row + 1)}
    assert (values[funding_claim.EMPLOYER_PAYS_LABEL], values[funding_claim.EMPLOYER_ANNEX_LABEL],
            values["Total demandé"]) == (315, 50, 630)
    # the annual report counts for the employer Leïla's price, never her travel (the employer's own cost)
    held(world["session"])
    revenue = {line.key: line.cents for line in annual_report.build(2018).revenue}
    assert revenue["employer"] == sum(e.price_cents for e in world["enrolments"]) - 63000


def make_reimbursement_claim(world, sources):
    """The three trainees in reimbursement of their employer (UNI-300): the claim asks the funder nothing."""
    session = world["session"]
    factories.make_agreement(session, world["enrolments"], funder=world["funder"], file_number="UNI-300",
                             hourly_rate_cents=1500, employer=world["employer"], mode="reimbursement")
    sources["hours"] = full_hours(world["enrolments"])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        funding_service.send(claim, date(2019, 1, 10))
    db.session.commit()
    return claim


def test_a_claim_in_reimbursement_only_is_neither_expected_nor_overdue(world, sources):
    claim = make_reimbursement_claim(world, sources)
    assert claim.total_cents == 0
    with frozen_at(datetime(2019, 6, 1, 10)):
        board = funding_service.dashboard()
        assert (board.expected_cents, board.overdue) == (0, [])
        assert not funding_service.is_overdue(claim)


def test_a_claim_that_asks_nothing_is_sent_for_information_and_takes_no_payment_nor_rejection(admin_client, world,
                                                                                              sources):
    """Nothing is due from the funder: the claim says it is sent for information, a payment or a rejection is
    refused in French (a rejection would count its trainees as refused by the OPCO), and the annual report counts
    the prices for the employers, who pay us."""
    claim = make_reimbursement_claim(world, sources)
    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    assert 'data-testid="claim-status">Transmise pour information' in page
    assert "Enregistrer le paiement" not in page and "Enregistrer le rejet" not in page
    with frozen_at(datetime(2019, 6, 1, 10)):
        response = admin_client.post(f"/financement/demandes/{claim.id}/paiements",
                                     data={"received_on": "2019-02-15", "amount": "100"}, follow_redirects=True)
        assert response.status_code == 422 and "Rien n'est demandé au financeur dans cette demande (0,00\u202f€)" in text(response)
        response = admin_client.post(f"/financement/demandes/{claim.id}/rejet",
                                     data={"rejected_on": "2019-02-25", "reason": "Rien à payer"},
                                     follow_redirects=True)
        assert response.status_code == 422 and "Rien n'est demandé au financeur dans cette demande (0,00\u202f€)" in text(response)
        with pytest.raises(ServiceError, match="ni paiement ni rejet"):
            funding_service.reject(claim, "Rien à payer", date(2019, 6, 1))
        db.session.rollback()
    db.session.expire_all()
    claim = db.session.get(FundingClaim, claim.id)
    assert (claim.status, claim.paid_cents, claim.payments) == (ClaimStatus.SENT, 0, [])
    prices = sum(e.price_cents for e in world["enrolments"])
    held(world["session"])
    revenue = {line.key: line.cents for line in annual_report.build(2018).revenue}
    assert (revenue["employer"], revenue["opco_refused"]) == (prices, 0)
    claim.status = ClaimStatus.REJECTED  # as one could be rejected before: its trainees' employers still pay us
    db.session.commit()
    revenue = {line.key: line.cents for line in annual_report.build(2018).revenue}
    assert (revenue["employer"], revenue["opco_refused"]) == (prices, 0)


def test_the_claims_list_reads_the_lines_of_claims_sent_at_0_euros_in_one_statement(admin_client, world, sources):
    """The list shows "Transmise pour information" from a claim's lines, which it does not load (their snapshot):
    read one claim at a time, its statements grew with the claims sent at 0 € (the benchmark's funding dashboard)."""
    first = make_reimbursement_claim(world, sources)
    alone = factories.rendered_page_queries(admin_client, "/financement/")
    db.session.add(FundingClaim(number=f"{first.number}-1", funder=first.funder, status=ClaimStatus.SENT,
                                total_cents=50000, snapshot=first.snapshot, sent_on=first.sent_on,
                                sessions=list(first.sessions)))  # one that asks money: no lines to read
    db.session.commit()
    assert factories.rendered_page_queries(admin_client, "/financement/") == alone
    for number in range(2, 5):  # three more claims sent at 0 €, for information
        db.session.add(FundingClaim(number=f"{first.number}-{number}", funder=first.funder, status=ClaimStatus.SENT,
                                    snapshot=first.snapshot, sent_on=first.sent_on, sessions=list(first.sessions)))
    db.session.commit()
    assert factories.rendered_page_queries(admin_client, "/financement/") == alone
    page = text(admin_client.get("/financement/", headers={"Cache-Control": "no-cache"}))
    assert page.count("Transmise pour information") == 4 and page.count('data-testid="claim-status"') == 5


def test_a_subrogation_claim_sent_at_0_euros_can_be_rejected_and_its_session_claimed_again(admin_client, world,
                                                                                          sources):
    """Sent while the sheets said 0 h (the pre-send check allows it), corrected since: the funder's rejection is
    recorded, which frees the session for a new claim. It is not "for information": its lines are subrogation."""
    claim = make_sent_claim(world, sources)
    claim.total_cents = 0  # as sent with 0 h attended
    db.session.commit()
    page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
    assert "Transmise pour information" not in page and "Enregistrer le rejet" in page
    with frozen_at(datetime(2019, 6, 1, 10)):
        response = admin_client.post(f"/financement/demandes/{claim.id}/rejet",
                                     data={"rejected_on": "2019-02-25", "reason": "0 h facturées"})
        assert response.status_code == 302
        db.session.expire_all()
        assert db.session.get(FundingClaim, claim.id).status == ClaimStatus.REJECTED
        again = funding_service.create_claim(world["funder"], session=world["session"])
        db.session.commit()
    assert again.total_cents == 94500


@pytest.mark.parametrize("first_status", [ClaimStatus.REJECTED, ClaimStatus.BALANCE_REFUSED])
def test_the_annual_report_adds_up_the_money_of_every_claim_closed_after_a_payment(world, sources, first_status):
    """A session claimed twice before revision 0030 (a rejected claim could be made again), each claim partly paid
    then rejected: 0030 leaves the first rejected (the newest becomes balance_refused; an earlier 0030 made both
    balance_refused). The 300 € received count for the OPCO, what the prices leave for the refused lines."""
    for enrolment in world["enrolments"]:
        enrolment.price_cents = 40000
    first = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(first, 20000, date(2019, 2, 15))
        funding_service.reject(first, "x", date(2019, 2, 20))
        first.status = ClaimStatus.REJECTED  # as before 0030, so that the session could be claimed again
        db.session.commit()
        second = funding_service.create_claim(world["funder"], session=world["session"])
        funding_service.send(second, date(2019, 3, 1))
        funding_service.record_payment(second, 10000, date(2019, 3, 1))
        funding_service.reject(second, "y", date(2019, 3, 1))
        first.status = first_status
        db.session.commit()
    held(world["session"])
    revenue = {line.key: line.cents for line in annual_report.build(2018).revenue}
    assert (revenue["opco"], revenue["opco_refused"]) == (30000, 3 * 40000 - 30000)


def test_the_balance_refused_after_a_partial_payment_keeps_what_was_received(admin_client, world, sources):
    claim = make_sent_claim(world, sources)  # 945 €
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 50000, date(2019, 2, 15), "Acompte")
        db.session.commit()
        page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
        assert "Refus du solde par le financeur" in page and "500,00\u202f€ ont été reçus : ils restent acquis" in page
        response = admin_client.post(f"/financement/demandes/{claim.id}/rejet",
                                     data={"rejected_on": "2019-02-25", "reason": "Heures non justifiées"},
                                     follow_redirects=True)
        assert "Solde refusé enregistré : les 500,00\u202f€ reçus restent acquis" in text(response)
        db.session.expire_all()
        claim = db.session.get(FundingClaim, claim.id)
        assert (claim.status, claim.paid_cents, claim.balance_cents) == (ClaimStatus.BALANCE_REFUSED, 50000, 44500)
        page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
        assert "Payée en partie, solde refusé" in page and "Heures non justifiées" in page
        assert 'data-testid="claim-balance">500,00\u202f€ / 445,00\u202f€' in page
        assert "payée en partie → payée en partie, solde refusé" in page  # the history
        board = funding_service.dashboard()
        assert (board.received_cents, board.expected_cents) == (50000, 0)
        assert not funding_service.is_overdue(claim)
        # the same hours are not billed again: no new claim for the session to this funder
        with pytest.raises(ServiceError, match="payée en partie, solde refusé"):
            funding_service.create_claim(world["funder"], session=world["session"])
        db.session.rollback()
        # a second attempt, the dossier completed, is a payment on this claim: the page says where
        response = admin_client.post(f"/financement/sessions/{world['session'].id}/demandes",
                                     data={"funder_id": world["funder"].id}, follow_redirects=True)
        assert (f"Si le financeur revient sur son refus (dossier complété), enregistrez son paiement sur la demande "
                f"n° {claim.number}.") in text(response)
        assert db.session.scalar(db.select(db.func.count(FundingClaim.id))) == 1
    # what the claim states of the agreement no longer changes (_claimed counts the claim)
    agreement = db.session.scalar(db.select(FundingAgreement))
    data = funding_service._data_of(agreement)
    data.hourly_rate_cents = 2000
    with pytest.raises(ServiceError, match="ne change plus"):
        funding_service.update_agreement(agreement, data)
    db.session.rollback()
    # the annual report counts what the funder paid, spread over the trainees' lines
    held(world["session"])
    revenue = {line.key: line.cents for line in annual_report.build(2018).revenue}
    assert revenue["opco"] == 50000


def test_a_refused_balance_is_not_offered_as_the_amount_received(admin_client, world, sources):
    """After « Enregistrer le refus du solde » the page still takes a late payment (the funder may pay after all),
    but its form is empty and says the balance was refused: one click must not record the money refused."""
    claim = make_sent_claim(world, sources)  # 945 €
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 50000, date(2019, 2, 15))
        db.session.commit()
        page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
        assert re.search(r'name="amount"[^>]*value="445.00"', page)  # still expected: offered
        assert 'data-testid="payment-after-refusal"' not in page
        response = admin_client.post(f"/financement/demandes/{claim.id}/rejet",
                                     data={"rejected_on": "2019-02-25", "reason": "Heures non justifiées"},
                                     follow_redirects=True)
    page = text(response)
    form = page.split('data-testid="payment-form"')[1].split("</form>")[0]
    amount = re.search(r'<input[^>]*name="amount"[^>]*>', form).group(0)
    assert 'value="' not in amount or 'value=""' in amount
    assert ("Le financeur a refusé le solde (445,00\u202f€) le 25/02/2019 : n'enregistrez un paiement que s'il "
            "l'a versé malgré tout.") in page


def test_the_funder_may_still_pay_a_refused_balance(world, sources):
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 50000, date(2019, 2, 15))
        assert funding_service.reject(claim, "Dossier incomplet", date(2019, 2, 20)) == ClaimStatus.BALANCE_REFUSED
        funding_service.record_payment(claim, 20000, date(2019, 2, 25))
        assert claim.status == ClaimStatus.BALANCE_REFUSED and claim.paid_cents == 70000
        funding_service.record_payment(claim, 24500, date(2019, 2, 28))
        assert claim.status == ClaimStatus.PAID and claim.balance_cents == 0
        with pytest.raises(ServiceError, match="Seule une demande envoyée peut être rejetée"):
            funding_service.reject(claim, "Trop tard", date(2019, 2, 28))


def test_a_rejection_without_any_payment_still_rejects_the_claim(world, sources):
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 3, 1, 10)):
        assert funding_service.reject(claim, "Dossier incomplet", date(2019, 2, 20)) == ClaimStatus.REJECTED
    assert claim.paid_cents == 0


def test_the_annual_report_splits_the_money_of_a_refused_balance_over_the_lines(world, sources):
    """Three trainees at 315 € each, their price 400 €: 500 € received then the balance refused. Each line gets
    its share of the 500 € for the OPCO; the employer owes what each price leaves."""
    for enrolment in world["enrolments"]:
        enrolment.price_cents, enrolment.funding_mode = 40000, "opco"
    db.session.commit()
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.record_payment(claim, 50000, date(2019, 2, 15))
        funding_service.reject(claim, "Dossier incomplet", date(2019, 2, 20))
    db.session.commit()
    held(world["session"])
    revenue = {line.key: line.cents for line in annual_report.build(2018).revenue}
    assert revenue["opco"] == 50000 and revenue["opco_refused"] == 3 * 40000 - 50000
    assert annual_report.build(2018).revenue_cents == 3 * 40000


# --- flask funding export ----------------------------------------------------------------------------------

def test_export_to_a_path_it_cannot_write_says_so_in_french(app, world, sources, tmp_path):
    claim = make_sent_claim(world, sources)
    runner = app.test_cli_runner()
    missing_folder = tmp_path / "absent" / "claim.xlsx"
    result = runner.invoke(args=["funding", "export", str(claim.id), "--out", str(missing_folder)])
    assert result.exit_code == 1 and not isinstance(result.exception, OSError)
    assert "Impossible d'écrire le classeur" in result.output and "le dossier n'existe pas" in result.output
    assert "Traceback" not in result.output and not missing_folder.parent.exists()
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = runner.invoke(args=["funding", "export", str(claim.id), "--out", str(folder)])
    assert result.exit_code == 1 and "c'est un dossier" in result.output
    assert list(folder.iterdir()) == []


def test_export_failing_while_writing_leaves_no_file(app, world, sources, tmp_path, monkeypatch):
    """The disk fills up while writing: no half-written workbook, no temporary file left; an earlier export at
    the same path stays whole."""
    claim = make_sent_claim(world, sources)
    out = tmp_path / "claim.xlsx"
    out.write_bytes(b"earlier export")

    def full_disk(source, target):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("training_app.cli_funding.os.replace", full_disk)
    result = app.test_cli_runner().invoke(args=["funding", "export", str(claim.id), "--out", str(out)])
    assert result.exit_code == 1 and "le disque est plein" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["claim.xlsx"] and out.read_bytes() == b"earlier export"


def test_export_over_an_existing_path_replaces_only_a_regular_file_it_may_write(app, world, sources, tmp_path):
    """A private file keeps its permissions; a read-only file is refused and kept; a symbolic link is followed (its
    target written, the link kept); a named pipe (anything not a regular file) is refused, never replaced."""
    claim = make_sent_claim(world, sources)
    runner = app.test_cli_runner()

    def export(path):
        return runner.invoke(args=["funding", "export", str(claim.id), "--out", str(path)])

    private = tmp_path / "private.xlsx"
    private.write_bytes(b"old")
    private.chmod(0o600)
    assert export(private).exit_code == 0
    assert private.read_bytes()[:2] == b"PK" and stat.S_IMODE(private.stat().st_mode) == 0o600

    readonly = tmp_path / "readonly.xlsx"
    readonly.write_bytes(b"keep me")
    readonly.chmod(0o444)
    result = export(readonly)
    assert result.exit_code == 1 and "le fichier existant est en lecture seule" in result.output
    assert readonly.read_bytes() == b"keep me" and stat.S_IMODE(readonly.stat().st_mode) == 0o444

    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "real.xlsx"
    real.write_bytes(b"x")
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    assert export(link).exit_code == 0
    assert link.is_symlink() and real.read_bytes()[:2] == b"PK"

    pipe = tmp_path / "pipe.xlsx"
    os.mkfifo(pipe)
    result = export(pipe)
    assert result.exit_code == 1 and "ce n'est pas un fichier ordinaire" in result.output
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.xlsx", "pipe.xlsx", "private.xlsx", "readonly.xlsx",
                                                          "shared"]  # no temporary file left


def test_an_export_over_a_colleagues_file_keeps_the_files_group_when_its_owner_cannot_be_kept(tmp_path, monkeypatch):
    """As another member of the office's group: the owner cannot be given back (EPERM), the group can."""
    from training_app import cli_funding
    shared = tmp_path / "demande.xlsx"
    shared.write_bytes(b"old")
    calls = []

    def chown(path, uid, gid):
        calls.append((uid, gid))
        if uid != -1:
            raise PermissionError("not the owner")
    monkeypatch.setattr(cli_funding.os, "chown", chown)
    cli_funding.write_whole(str(shared), b"PK new")
    existing = shared.stat()
    assert calls == [(existing.st_uid, existing.st_gid), (-1, existing.st_gid)]
    assert shared.read_bytes() == b"PK new"
