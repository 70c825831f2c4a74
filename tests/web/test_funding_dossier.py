"""The dossier (.zip) of a sent claim is the one sent to the funder, byte for byte, whatever is corrected
afterwards; the claim page then says which trainees' hours no longer match (the demo's story)."""
import hashlib
import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
from tests import factories
from tests.web.test_funding_bundle import docx_text, make_course
from training_app import demo
from training_app.clock import frozen_at
from training_app.demo.sessions import past_session
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import FundingClaim
from training_app.services import funding as funding_service


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def karim_in_workbook(archive: zipfile.ZipFile, claim: FundingClaim) -> tuple:
    sheet = openpyxl.load_workbook(io.BytesIO(archive.read(f"demande-{claim.number}.xlsx")))["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in sheet[1]}
    row = next(r for r in range(2, sheet.max_row + 1) if "BENALI" in str(sheet[f"{col['Stagiaire']}{r}"].value))
    return sheet[f"{col['Heures réalisées']}{row}"].value, sheet[f"{col['Frais pédagogiques']}{row}"].value


def karim_certificate(archive: zipfile.ZipFile) -> str:
    names = [n for n in archive.namelist() if n.startswith("certificats-de-realisation/")]
    texts = [docx_text(archive.read(n)) for n in names]
    return next(t for t in texts if "BENALI" in t.upper())


@pytest.fixture
def paid_demo_claim():
    demo.seed()
    db.session.commit()
    claim = db.session.scalars(db.select(FundingClaim)).one()
    assert claim.status == "paid" and claim.number == "2019-0001"
    return claim


def test_the_paid_demo_claims_dossier_stays_as_sent_after_a_correction(admin_client, paid_demo_claim):
    claim = paid_demo_claim
    url = f"/financement/demandes/{claim.id}/dossier.zip"
    sent = admin_client.get(url)
    assert sent.status_code == 200 and sent.mimetype == "application/zip"
    assert hashlib.sha256(sent.data).hexdigest() == claim.dossier_sha256
    assert sent.data == storage.read(claim.dossier_path)
    assert "Les heures ont changé" not in page_text(admin_client.get(f"/financement/demandes/{claim.id}"))

    # The office corrects Karim Benali's Thursday afternoon (absent -> late, arrived at 16:00): 19 h, not 17,
    # and issues his certificates again.
    session = past_session()
    karim = next(e for e in funding_service.billable_enrolments(session) if e.trainee.last_name == "Benali")
    slot = next(s for s in session.slots if s.date == date(2018, 12, 13) and s.start_time.hour == 14)
    prefix = f"r{karim.id}"
    response = admin_client.post(f"/sessions/{session.id}/emargement/{slot.id}/statut/{karim.id}", data={
        f"{prefix}-status": "late", f"{prefix}-arrival_time": "16:00",
        f"{prefix}-reason": "Arrivée à 16 h confirmée par la formatrice"})
    assert response.status_code == 302
    response = admin_client.post(f"/sessions/{session.id}/attestations/emettre", data={"reissue": "y"})
    assert response.status_code == 302
    current = admin_client.get(f"/sessions/{session.id}/emargement/feuille.docx")
    assert "En retard" in docx_text(current.data)  # today's sheet says so

    # The dossier is still the one sent: byte for byte, 17 h and 255 € everywhere.
    again = admin_client.get(url)
    assert again.status_code == 200 and again.data == sent.data
    archive = zipfile.ZipFile(io.BytesIO(again.data))
    assert karim_in_workbook(archive, claim) == (17, 255)
    certificate = karim_certificate(archive)
    assert "17 heures" in certificate and "19 heures" not in certificate
    sheet = docx_text(archive.read(f"emargement/feuille-emargement-{session.start_at:%Y-%m-%d}.docx"))
    assert "En retard" not in sheet and "corrigé" not in sheet
    invoice = docx_text(archive.read(f"facture-{claim.number}.docx"))
    assert "255,00\u202f€" in invoice

    # The claim page warns the office, naming the trainee and the figures.
    page = page_text(admin_client.get(f"/financement/demandes/{claim.id}"))
    assert "Les heures ont changé depuis l'envoi de cette demande." in page
    assert ("M. Karim BENALI : 17 h facturées, 19 h sur les feuilles d'émargement, 19 h sur le certificat de "
            "réalisation en vigueur (version 2).") in page
    assert page.count('data-testid="hours-change"') == 1


def test_a_draft_dossier_follows_todays_data_and_sending_stores_it(admin_client):
    funder, session, _enrolments, _trainer = _course_data()
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(funder, session=session)
        db.session.commit()
        assert claim.dossier_path is None
        first = admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip")
        assert first.status_code == 200 and claim.dossier_path is None  # a draft stores nothing
        response = admin_client.post(f"/financement/demandes/{claim.id}/envoyer", data={"sent_on": "2019-01-08"})
        assert response.status_code == 302
    db.session.refresh(claim)
    assert claim.status == "sent" and claim.dossier_path.startswith("funding_claims/")
    stored = storage.read(claim.dossier_path)
    assert hashlib.sha256(stored).hexdigest() == claim.dossier_sha256
    assert admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip").data == stored


def test_a_claim_sent_before_dossiers_were_stored_keeps_the_one_first_downloaded(admin_client):
    funder, session, _enrolments, _trainer = _course_data()
    claim = factories.make_claim(funder, session, status="sent")
    claim.sent_on = date(2019, 1, 8)
    db.session.commit()
    first = admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip")
    db.session.refresh(claim)
    assert first.status_code == 200 and claim.dossier_path
    assert admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip").data == first.data


def test_a_stored_dossier_changed_on_disk_is_refused(admin_client):
    funder, session, _enrolments, _trainer = _course_data()
    claim = factories.make_claim(funder, session, status="sent")
    admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip")
    db.session.refresh(claim)
    with open(storage.absolute(claim.dossier_path), "ab") as handle:
        handle.write(b"x")
    response = admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip", follow_redirects=True)
    assert response.mimetype == "text/html"
    assert "ne correspond plus à son empreinte" in page_text(response)


def test_a_stored_dossier_gone_from_the_server_is_reported_in_french(admin_client):
    import os

    funder, session, _enrolments, _trainer = _course_data()
    claim = factories.make_claim(funder, session, status="sent")
    admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip")
    db.session.refresh(claim)
    os.remove(storage.absolute(claim.dossier_path))
    response = admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip", follow_redirects=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "est introuvable sur le serveur" in page_text(response)


def _course_data():
    """The bundle tests' course (tests/web/test_funding_bundle.py), certificates issued."""
    from tests.web.test_funding_bundle import issue_certificates
    course = make_course()
    issue_certificates(course)
    return course["funder"], course["session"], course["enrolments"], course["trainer"]
