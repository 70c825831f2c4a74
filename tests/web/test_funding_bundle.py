"""The claim bundle (.zip): every expected file, and figures that agree across workbook, invoice,
certificates and attendance sheets."""
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest
from docx import Document

from tests import factories
from tests.web.test_funding import PAST_END, PAST_START, set_organisation
from training_app.clock import frozen_at
from training_app.documents import storage
from training_app.services import attendance, funding_sources
from training_app.services import funding as funding_service


@dataclass
class FakeCertificate:
    number: str
    filename: str
    storage_path: str


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


@pytest.fixture
def course():
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


def issue_realisation_certificates(course, monkeypatch):
    """Stand-in for the certificates feature: one stored .docx per trainee stating the hours attended."""
    totals = attendance.totals_for_session(course["session"])
    issued = {}
    for n, enrolment in enumerate(course["enrolments"], start=1):
        document = Document()
        hours = totals[enrolment.id].attended_minutes / 60
        document.add_paragraph(f"{enrolment.trainee.formal_name} a suivi l'action pour une durée de {hours:g} heures.")
        out = io.BytesIO()
        document.save(out)
        filename = f"certificat-realisation-{n}.docx"
        issued[enrolment.id] = {"realisation": FakeCertificate(f"CR-{n}", filename,
                                                               storage.save("tests", filename, out.getvalue()))}
    monkeypatch.setattr(funding_sources, "certificates_by_enrolment", lambda session: issued)
    return issued


def test_bundle_holds_every_expected_file_and_the_figures_agree(admin_client, course, monkeypatch):
    issued = issue_realisation_certificates(course, monkeypatch)
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(course["funder"], session=course["session"])
        assert funding_service.preflight(claim) == []
    factories.db.session.commit()
    response = admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    expected_certificates = {f"certificats-de-realisation/{c['realisation'].filename}" for c in issued.values()}
    assert names == {f"demande-{claim.number}.xlsx", f"facture-{claim.number}.docx",
                     "emargement/feuille-emargement-2018-12-11.docx"} | expected_certificates

    # Workbook: hours and amounts per trainee.
    sheet = openpyxl.load_workbook(io.BytesIO(archive.read(f"demande-{claim.number}.xlsx")))["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in sheet[1]}
    lines = {sheet[f"{col['Stagiaire']}{r}"].value: r for r in range(2, 5)}
    hours = {name: Decimal(str(sheet[f"{col['Heures réalisées']}{r}"].value)) for name, r in lines.items()}
    amounts = {name: Decimal(str(sheet[f"{col['Frais pédagogiques']}{r}"].value)) for name, r in lines.items()}
    julien = next(name for name in lines if "LE BIHAN" in name)
    assert hours[julien] == 17 and amounts[julien] == Decimal("255.00")

    # Certificates: the hours they state are the workbook's.
    for enrolment in course["enrolments"]:
        name = enrolment.trainee.formal_name
        text = docx_text(archive.read(f"certificats-de-realisation/{issued[enrolment.id]['realisation'].filename}"))
        assert f"durée de {hours[name]:g} heures" in text

    # Attendance sheet: every trainee, Julien's absence, the trainer; hours from the same records.
    sheet_text = docx_text(archive.read("emargement/feuille-emargement-2018-12-11.docx"))
    for enrolment in course["enrolments"]:
        assert enrolment.trainee.last_name.upper() in sheet_text.upper()
    totals = attendance.totals_for_session(course["session"])
    for enrolment in course["enrolments"]:
        assert Decimal(totals[enrolment.id].attended_minutes) / 60 == hours[enrolment.trainee.formal_name]

    # Invoice: one line per trainee with the workbook's amounts, the same total.
    invoice = docx_text(archive.read(f"facture-{claim.number}.docx"))
    assert "UNI-2018-0042" in invoice and "255,00 €" in invoice and "17 h" in invoice
    assert f"{Decimal(claim.total_cents) / 100:.2f}".replace(".", ",") + " €" in invoice.replace("\u202f", "")
    assert claim.total_cents == int(sum(amounts.values()) * 100) == (21 + 17 + 21) * 1500
