"""The claim bundle (.zip): every expected file, and figures that agree across workbook, invoice,
certificates and attendance sheets."""
import io
import zipfile
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest
from docx import Document

from tests import factories
from tests.web.test_funding import PAST_END, PAST_START, set_organisation
from training_app.clock import frozen_at
from training_app.documents import storage
from training_app.services import attendance, certificates
from training_app.services import funding as funding_service


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


@pytest.fixture
def course():
    return make_course()


def make_course() -> dict:
    """21-hour session, three trainees of one employer; the second missed the 4-hour Tuesday afternoon
    (justified); every sheet signed and closed."""
    set_organisation()
    funder = factories.make_funder("Uniformation")
    employer = factories.make_employer("CCAS de Rennes", siret="78324521000001", funder=funder)
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    session = factories.make_session(start=PAST_START, end=PAST_END, status="completed", trainers=[trainer])
    enrolments = [factories.make_enrolment(session, factories.make_trainee(first, last, employer=employer))
                  for first, last in (("Awa", "Diallo"), ("Julien", "Le Bihan"), ("Sophie", "Renaud"))]
    factories.make_agreement(session, enrolments, funder=funder, file_number="UNI-2018-0042", hourly_rate_cents=1500,
                             employer=employer)
    factories.take_attendance(session, trainer, absent={(enrolments[1].id, 0): ("absent_justified", "Maladie")})
    return {"funder": funder, "session": session, "enrolments": enrolments, "trainer": trainer}


def issue_certificates(course) -> dict:
    """The certificates feature issues both documents to every trainee (after the course)."""
    with frozen_at(datetime(2018, 12, 17, 10)):
        certificates.issue_for_session(course["session"], unrecorded_confirmed=True)
    factories.db.session.commit()
    return certificates.current_documents_for_session(course["session"])


def test_preflight_wants_the_certificates_then_passes(course):
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(course["funder"], session=course["session"])
        problems = funding_service.preflight(claim)
    assert [p.message for p in problems] == [
        "Certificat de réalisation non émis pour : Awa Diallo, Julien Le Bihan, Sophie Renaud."]
    assert (problems[0].endpoint, problems[0].values) == ("certificates.session_documents",
                                                          {"session_id": course["session"].id})
    issue_certificates(course)
    assert funding_service.preflight(claim) == []


def test_bundle_holds_every_expected_file_and_the_figures_agree(admin_client, course):
    issued = issue_certificates(course)
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(course["funder"], session=course["session"])
        assert funding_service.preflight(claim) == []
    factories.db.session.commit()
    response = admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    expected_certificates = {f"certificats-de-realisation/{c['realisation'].filename}" for c in issued.values()}
    assert names == {f"demande-brouillon-{claim.id}.xlsx", f"facture-brouillon-{claim.id}.docx",
                     "emargement/feuille-emargement-2018-12-11.docx"} | expected_certificates

    # Workbook: hours and amounts per trainee.
    sheet = openpyxl.load_workbook(io.BytesIO(archive.read(f"demande-brouillon-{claim.id}.xlsx")))["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in sheet[1]}
    lines = {sheet[f"{col['Stagiaire']}{r}"].value: r for r in range(2, 5)}
    hours = {name: Decimal(str(sheet[f"{col['Heures réalisées']}{r}"].value)) for name, r in lines.items()}
    amounts = {name: Decimal(str(sheet[f"{col['Frais pédagogiques']}{r}"].value)) for name, r in lines.items()}
    julien = next(name for name in lines if "LE BIHAN" in name)
    assert hours[julien] == 17 and amounts[julien] == Decimal("255.00")

    # Certificates of completion (as issued, byte for byte): the hours they state are the workbook's.
    for enrolment in course["enrolments"]:
        certificate = issued[enrolment.id]["realisation"]
        content = archive.read(f"certificats-de-realisation/{certificate.filename}")
        assert content == storage.read(certificate.storage_path)
        name = enrolment.trainee.formal_name
        assert Decimal(certificate.attended_minutes) / 60 == hours[name]
        text = docx_text(content)
        assert enrolment.trainee.last_name.upper() in text.upper()
        assert certificates.hours_in_words(certificate.attended_minutes) in text

    # Attendance sheet: every trainee, Julien's absence, the trainer; hours from the same records.
    sheet_text = docx_text(archive.read("emargement/feuille-emargement-2018-12-11.docx"))
    for enrolment in course["enrolments"]:
        assert enrolment.trainee.last_name.upper() in sheet_text.upper()
    absent_label = str(attendance.STATUS_LABELS["absent_justified"])
    assert sheet_text.count(absent_label) == 1  # Julien, Tuesday afternoon: the 4 hours not billed
    assert sheet_text.count("signé à") == (3 * 6 - 1) + 6  # the trainees' other half-days, the trainer's six
    totals = attendance.totals_for_session(course["session"])
    for enrolment in course["enrolments"]:
        assert Decimal(totals[enrolment.id].attended_minutes) / 60 == hours[enrolment.trainee.formal_name]

    # Invoice: one line per trainee with the workbook's amounts, the same total.
    invoice = docx_text(archive.read(f"facture-brouillon-{claim.id}.docx"))
    assert "UNI-2018-0042" in invoice and "255,00\u202f€" in invoice and "17 h" in invoice
    assert f"{Decimal(claim.total_cents) / 100:.2f}".replace(".", ",") + "€" in invoice.replace("\u202f", "")
    assert claim.total_cents == int(sum(amounts.values()) * 100) == (21 + 17 + 21) * 1500


def test_a_period_dossier_keeps_the_sheets_of_two_sessions_starting_the_same_day():
    import warnings
    set_organisation()
    funder = factories.make_funder("Uniformation")
    sessions = [factories.make_session(start=datetime(2018, 12, 11, 9, 30), end=datetime(2018, 12, 11, 18),
                                       status="completed") for _ in range(2)]
    for session in sessions:
        factories.make_agreement(session, [factories.make_enrolment(session)], funder=funder)
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(funder, period_start=datetime(2018, 12, 1).date(),
                                             period_end=datetime(2018, 12, 31).date())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # zipfile warns of a duplicate name
            names = zipfile.ZipFile(io.BytesIO(funding_service.bundle_bytes(claim))).namelist()
    assert sorted(n for n in names if "emargement" in n) == [
        f"session-2018-12-11-{session.id}/emargement/feuille-emargement-2018-12-11.docx" for session in sessions]
