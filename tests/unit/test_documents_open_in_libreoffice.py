"""Every generated document opens in LibreOffice: converted to PDF, its text is what we wrote.

Built from the demo data (the reference course), so the documents are the ones a user gets.
`make test` installs LibreOffice; without it these tests fail rather than skip.
"""
import shutil
import subprocess

import pytest

from training_app import demo
from training_app.demo.sessions import past_session, upcoming_session
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import Enrolment, EnrolmentStatus
from training_app.services import convocations


@pytest.fixture
def demo_data():
    demo.seed()
    return past_session(), upcoming_session()


def pdf_text(tmp_path, content: bytes, filename: str) -> str:
    """Have LibreOffice open `content` and print it to PDF; return the PDF's text."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is missing: `make test` installs it"
    source = tmp_path / filename
    source.write_bytes(content)
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=120)
    pdf = source.with_suffix(".pdf")
    assert pdf.exists(), f"LibreOffice could not open {filename}"
    result = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True)
    return result.stdout


def test_attendance_sheet_and_grid_open(demo_data, tmp_path):
    past, _upcoming = demo_data
    sheet = pdf_text(tmp_path, attendance_sheet.word_sheet(past), "feuille.docx")
    assert "FEUILLE D" in sheet and "BENALI" in sheet and "53350999935" in sheet
    grid = pdf_text(tmp_path, attendance_sheet.excel_grid(past), "grille.xlsx")
    assert "Benali" in grid or "BENALI" in grid


def test_convocation_opens(demo_data, tmp_path):
    _past, upcoming = demo_data
    enrolment = db.session.scalars(db.select(Enrolment).where(
        Enrolment.session_id == upcoming.id, Enrolment.status == EnrolmentStatus.CONFIRMED)).first()
    text = pdf_text(tmp_path, convocations.render(enrolment), "convocation.docx")
    assert "CONVOCATION" in text and enrolment.trainee.last_name.upper() in text.upper()
    assert "Bourbonnais" in text


def test_certificates_open(demo_data, tmp_path):
    from training_app.documents import storage
    from training_app.services import certificates
    past, _upcoming = demo_data
    karim = next(e for e, _docs in certificates.current_documents_by_enrolment(past)
                 if e.trainee.last_name == "Benali")
    documents = certificates.current_documents(karim)
    attestation = pdf_text(tmp_path, storage.read(documents["attestation"].storage_path), "attestation.docx")
    assert "ATTESTATION INDIVIDUELLE DE FIN DE FORMATION" in attestation and "BENALI" in attestation
    assert "17 h" in attestation and documents["attestation"].verification_code in attestation
    realisation = pdf_text(tmp_path, storage.read(documents["realisation"].storage_path), "certificat.docx")
    assert "CERTIFICAT DE RÉALISATION" in realisation and "17 heures" in realisation
    assert "53350999935" in realisation


def test_claim_workbook_and_invoice_open(demo_data, tmp_path):
    from training_app.models.funding_files import FundingClaim
    from training_app.services import funding

    claim = db.session.scalars(db.select(FundingClaim)).first()
    assert claim is not None, "the demo builds a funding claim for the past session"
    workbook = pdf_text(tmp_path, funding.workbook_bytes(claim), "demande.xlsx")
    assert "Uniformation" in workbook and "BENALI" in workbook.upper()
    invoice = pdf_text(tmp_path, funding.invoice_bytes(claim), "facture.docx")
    assert "Uniformation" in invoice and "53350999935" in invoice.replace(" ", "")
