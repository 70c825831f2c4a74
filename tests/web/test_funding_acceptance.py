"""Acceptance: the claim of a session where one trainee missed a 4-hour slot, read back with openpyxl."""
import io
import re
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from tests import factories
from tests.web.test_funding import PAST_END, PAST_START, set_organisation
from training_app.clock import frozen_at
from training_app.services import funding as funding_service
from training_app.services import funding_sources


def column_letters(sheet) -> dict:
    return {cell.value: cell.column_letter for cell in sheet[1]}


def evaluate_sum(sheet, formula: str) -> Decimal:
    """The value of "=SUM(L2:L4)" from the cells it covers (openpyxl does not calculate)."""
    match = re.fullmatch(r"=SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)", formula)
    assert match, formula
    letter, first, last = match.group(1), int(match.group(2)), int(match.group(4))
    return sum(Decimal(str(sheet[f"{letter}{row}"].value)) for row in range(first, last + 1))


@pytest.fixture
def missed_slot_claim(monkeypatch):
    """21-hour session; three trainees of one employer sign every half-day, except the second, absent
    without justification on the 4-hour Tuesday afternoon; the trainer closes every sheet."""
    set_organisation()
    funder = factories.make_funder("Uniformation")
    employer = factories.make_employer("CCAS de Rennes", siret="78324521000001", funder=funder)
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    session = factories.make_session(start=PAST_START, end=PAST_END, status="completed", trainers=[trainer])
    names = (("Awa", "Diallo"), ("Julien", "Le Bihan"), ("=SOMME(A1:A9)", "Renaud"))
    enrolments = [factories.make_enrolment(session, factories.make_trainee(first, last, employer=employer,
                                                                           job_title="Animateur"))
                  for first, last in names]
    factories.make_agreement(session, enrolments, funder=funder, file_number="UNI-2018-0042",
                             hourly_rate_cents=1500, employer=employer,
                             travel_agreed_cents=4000, travel_actual_cents=3250)
    assert session.slots[0].minutes == 240  # Tuesday 14:00-18:00
    factories.take_attendance(session, trainer, absent={(enrolments[1].id, 0): ("absent_unjustified", "")})
    assert funding_sources.open_slots(session) == []
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(funder, session=session)
    return claim, enrolments


def test_workbook_excludes_the_missed_slot_and_totals_are_formulas(missed_slot_claim):
    claim, enrolments = missed_slot_claim
    book = openpyxl.load_workbook(io.BytesIO(funding_service.workbook_bytes(claim)))
    sheet = book["Stagiaires"]
    col = column_letters(sheet)
    rows = {sheet[f"{col['Stagiaire']}{r}"].value: r for r in range(2, 5)}
    julien = rows["M. Julien LE BIHAN"] if "M. Julien LE BIHAN" in rows else rows["Mme Julien LE BIHAN"]
    assert Decimal(str(sheet[f"{col['Heures prévues']}{julien}"].value)) == 21
    assert Decimal(str(sheet[f"{col['Heures réalisées']}{julien}"].value)) == 17
    assert Decimal(str(sheet[f"{col['Absences non justifiées (h)']}{julien}"].value)) == 4
    assert Decimal(str(sheet[f"{col['Frais pédagogiques']}{julien}"].value)) == Decimal("255")  # 17 h × 15 €
    awa = rows["Mme Awa DIALLO"]
    assert Decimal(str(sheet[f"{col['Frais pédagogiques']}{awa}"].value)) == Decimal("315")
    total_row = 5
    assert sheet[f"A{total_row}"].value == "Total"
    for title in ("Heures réalisées", "Frais pédagogiques", "Frais annexes", "Total"):
        cell = sheet[f"{col[title]}{total_row}"]
        assert cell.data_type == "f" and cell.value == f"=SUM({col[title]}2:{col[title]}4)"
    assert evaluate_sum(sheet, sheet[f"{col['Heures réalisées']}{total_row}"].value) == 21 + 17 + 21
    assert evaluate_sum(sheet, sheet[f"{col['Total']}{total_row}"].value) == Decimal("315") * 2 + 255 + 3 * Decimal(
        "32.50")
    assert Decimal(claim.total_cents) / 100 == evaluate_sum(sheet, sheet[f"{col['Total']}{total_row}"].value)
    formula_name = next(name for name in rows if name.startswith("Mme =SOMME") or name.startswith("=SOMME"))
    cell = sheet[f"{col['Stagiaire']}{rows[formula_name]}"]
    assert cell.data_type == "s" and "=SOMME(A1:A9)" in cell.value
    for row in sheet.iter_rows(min_row=2, max_row=4):
        for cell in row:
            assert cell.data_type != "f"  # no line cell is a formula
    summary = book["Récapitulatif"]
    values = {summary[f"A{r}"].value: summary[f"B{r}"].value for r in range(1, summary.max_row + 1)}
    assert values["Total demandé"] == f"='Stagiaires'!{col['Total']}{total_row}"
    assert values["N° de déclaration d'activité"] == "53350999935"


def test_trainee_name_starting_with_equals_is_text():
    """A trainee whose first name itself starts with "=" (formal name without civility)."""
    set_organisation()
    funder = factories.make_funder("Uniformation")
    session = factories.make_session(start=PAST_START, end=PAST_END, status="completed")
    trainee = factories.make_trainee("=HYPERLINK(\"http://x\")", "Test")
    trainee.civility = ""
    enrolment = factories.make_enrolment(session, trainee)
    factories.make_agreement(session, [enrolment], funder=funder)
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(funder, session=session)
    sheet = openpyxl.load_workbook(io.BytesIO(funding_service.workbook_bytes(claim)))["Stagiaires"]
    cell = sheet[f"{column_letters(sheet)['Stagiaire']}2"]
    assert cell.value.startswith("=HYPERLINK") and cell.data_type == "s"


def test_preflight_lists_the_half_days_still_open_with_a_link_to_the_sheets(admin_client):
    set_organisation()
    funder = factories.make_funder("Uniformation")
    trainer = factories.make_user("trainer")
    session = factories.make_session(start=PAST_START, end=PAST_END, status="completed", trainers=[trainer])
    enrolment = factories.make_enrolment(session, factories.make_trainee(
        employer=factories.make_employer(funder=funder)))
    factories.make_agreement(session, [enrolment], funder=funder)
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding_service.create_claim(funder, session=session)
    factories.db.session.commit()
    page = admin_client.get(f"/financement/demandes/{claim.id}").get_data(as_text=True)
    assert "6 demi-journées de la session du 11/12/2018 ne sont pas clôturées" in page
    assert f'href="/sessions/{session.id}/emargement"' in page
    assert claim.snapshot["lines"][0]["attended_minutes"] == 0  # nothing marked, nothing billed
