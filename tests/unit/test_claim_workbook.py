"""The claim's workbook and invoice from plain data, read back with openpyxl and python-docx."""
import io
import re
from datetime import date
from decimal import Decimal

import openpyxl
from docx import Document

from training_app.documents import funding_claim
from training_app.services.claim_calculation import AgreementTerms, TraineeFigures, calculate
from tests.factories import docx_text

ORGANISATION = {"name": "Si on s'alliait ?", "address_lines": ["4 rue du Bourbonnais", "35000 Rennes"],
                "siret": "44195127000004", "declaration_number": "53350999935", "city": "Rennes",
                "vat_mention": "TVA non applicable, article 261-4-4° du CGI", "signatory_name": "Claire Bernard",
                "signatory_role": "Co-présidente", "email": "", "phone": ""}


def snapshot(lines_terms, accepts=True):
    result = calculate(lines_terms, accepts)
    for line in result["lines"]:
        line["session_title"], line["session_dates"] = "Du dialogue à la négociation", "11/12/2018 – 14/12/2018"
    return {"number": "2019-0001", "organisation": ORGANISATION,
            "funder": {"name": "Uniformation", "address": "43 boulevard Diderot\n75012 Paris",
                       "contact_name": "", "accepts_annex_costs": accepts},
            "period": None,
            "sessions": [{"id": 1, "title": "Du dialogue à la négociation", "place": "Rennes",
                          "start": "2018-12-11T14:00:00", "end": "2018-12-14T12:30:00", "planned_minutes": 1260,
                          "modality": "in_person"}],
            "lines": result["lines"], "totals": result["totals"]}


def figures(enrolment_id, name, attended, **extra):
    return TraineeFigures(enrolment_id=enrolment_id, trainee_name=name, employer_name=extra.pop("employer", "CCAS"),
                          employer_siret="78324521000001", job_title=extra.pop("job", "Assistante sociale"),
                          session_id=1, planned_minutes=1260, attended_minutes=attended, **extra)


def sum_formula_total(sheet, formula: str) -> Decimal:
    """Evaluate "=SUM(X2:X9)" on the sheet's values (openpyxl does not calculate)."""
    match = re.fullmatch(r"=SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)", formula)
    assert match, formula
    column, first, last = match.group(1), int(match.group(2)), int(match.group(4))
    return sum(Decimal(str(sheet[f"{column}{row}"].value)) for row in range(first, last + 1))


def test_workbook_sheets_totals_and_text_cells():
    data = snapshot([AgreementTerms("UNI-1", (
        figures(1, "=HYPERLINK(\"http://evil\")", 1260, job="+33 animatrice"),
        figures(2, "Julien LE BIHAN", 1020, absent_unjustified_minutes=240,
                annex={"travel": (3000, 2500)})), hourly_rate_cents=1500)])
    book = openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(data)))
    assert book.sheetnames == ["Récapitulatif", "Stagiaires", "Frais annexes"]
    trainees = book["Stagiaires"]
    headers = [c.value for c in trainees[1]]
    col = {title: openpyxl.utils.get_column_letter(i) for i, title in enumerate(headers, start=1)}
    assert trainees[f"{col['Stagiaire']}2"].value == "=HYPERLINK(\"http://evil\")"
    assert trainees[f"{col['Stagiaire']}2"].data_type == "s"
    assert trainees[f"{col['Fonction']}2"].data_type == "s"
    assert trainees[f"{col['Heures réalisées']}3"].value == Decimal("17") or \
        Decimal(str(trainees[f"{col['Heures réalisées']}3"].value)) == 17
    assert Decimal(str(trainees[f"{col['Frais pédagogiques']}3"].value)) == Decimal("255")
    total = trainees[f"{col['Total']}4"]
    assert total.data_type == "f"
    assert sum_formula_total(trainees, total.value) == Decimal("315") + Decimal("255") + Decimal("25")
    summary = book["Récapitulatif"]
    values = {summary[f"A{r}"].value: summary[f"B{r}"].value for r in range(1, summary.max_row + 1)}
    assert values["N° de déclaration d'activité"] == "53350999935"
    assert values["Financeur"] == "Uniformation"
    assert values["Session"] == "Du dialogue à la négociation"
    assert values["Total demandé"] == f"='Stagiaires'!{col['Total']}4"
    assert Decimal(str(values["Heures prévues"])) == 21
    annex = book["Frais annexes"]
    assert annex["A3"].value == "Julien LE BIHAN"
    assert [c.value for c in annex[1]] == [
        "Stagiaire", "N° de dossier", "Transport accordé", "Transport réel", "Transport facturé", "Hébergement accordé",
        "Hébergement réel", "Hébergement facturé", "Repas accordés", "Repas réels", "Repas facturés", "Total facturé"]


def test_invoice_lists_trainees_totals_and_vat_mention():
    data = snapshot([AgreementTerms("UNI-1", (figures(1, "Awa DIALLO", 1260), figures(2, "Julien LE BIHAN", 1020)),
                                    hourly_rate_cents=1500)])
    document = Document(io.BytesIO(funding_claim.invoice(data, date(2019, 1, 10))))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "Facture n° 2019-0001" in text
    assert "TVA non applicable, article 261-4-4° du CGI" in text
    assert "Si on s'alliait ?" in text and "53350999935" in text and "Uniformation" in text
    assert "Awa DIALLO" in cells and "Julien LE BIHAN" in cells and "UNI-1" in cells
    assert "570,00\u202f€" in cells  # 315 + 255
    assert "17 h" in cells


def test_rate_of_an_amount_spread_over_hours_times_hours_gives_each_line():
    # 1 000 € over 3 × 21 h: 15,873016 €/h. Rounded to 15,87 €/h, 21 h would make 333,27 €, not 333,33 €.
    data = snapshot([AgreementTerms("UNI-1", (figures(1, "Awa DIALLO", 1260), figures(2, "Julien LE BIHAN", 1020),
                                              figures(3, "Sophie RENAUD", 1260)), amount_cents=100000)])
    document = Document(io.BytesIO(funding_claim.invoice(data, date(2019, 1, 10))))
    rows = [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]
    printed = [(row[i - 1], row[i], row[i + 1]) for row in rows for i, cell in enumerate(row) if cell.endswith("€/h")]
    assert [rate for _hours, rate, _amount in printed] == ["15,873016\u202f€/h"] * 3
    for hours, rate, amount in printed:
        hours = Decimal(hours.removesuffix(" h"))
        rate = Decimal(rate.removesuffix("\u202f€/h").replace(",", "."))
        amount = Decimal(amount.removesuffix("\u202f€").replace("\u202f", "").replace(",", "."))
        assert (rate * hours).quantize(Decimal("0.01")) == amount
    assert [amount for _h, _r, amount in printed] == ["333,33\u202f€", "269,84\u202f€", "333,33\u202f€"]

    sheet = openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(data)))["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in sheet[1]}
    for row in range(2, 5):
        rate_cell = sheet[f"{col['Taux horaire']}{row}"]
        rate = Decimal(str(rate_cell.value))
        hours = Decimal(str(sheet[f"{col['Heures réalisées']}{row}"].value))
        amount = Decimal(str(sheet[f"{col['Frais pédagogiques']}{row}"].value))
        assert rate == Decimal("15.873016") and (rate * hours).quantize(Decimal("0.01")) == amount
        shown_decimals = len(re.search(r"\.([0#]+)", rate_cell.number_format).group(1))
        assert shown_decimals >= 6  # the cell shows the rate it holds, not 15,8730


def test_hours_not_a_whole_number_of_hundredths_give_the_amounts_billed_and_the_totals_of_the_page():
    """Three trainees with 20 h 40 attended (and 20 min missed) at 15 €/h: 310 € each. The cells hold the exact
    hours (shown with two decimals): 20,666… × 15 € = 310 €, not 20,67 × 15 € = 310,05 €; the totals are the
    sums of the minutes (62 h, as the page and the invoice say), not of the rounded cells (62,01 h)."""
    data = snapshot([AgreementTerms("UNI-1", tuple(
        figures(n, f"Stagiaire {n}", 1240, absent_unjustified_minutes=20) for n in (1, 2, 3)), hourly_rate_cents=1500)])
    book = openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(data)), data_only=True)
    sheet = book["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in sheet[1]}
    for row in range(2, 5):
        hours = sheet[f"{col['Heures réalisées']}{row}"]
        rate = Decimal(str(sheet[f"{col['Taux horaire']}{row}"].value))
        amount = Decimal(str(sheet[f"{col['Frais pédagogiques']}{row}"].value))
        assert hours.number_format == "0.00" and abs(Decimal(str(hours.value)) - Decimal(1240) / 60) < Decimal("1e-9")
        assert (rate * Decimal(str(hours.value))).quantize(Decimal("0.01")) == amount == Decimal(310)
    assert Decimal(str(sheet[f"{col['Heures réalisées']}5"].value)) == 62
    assert Decimal(str(sheet[f"{col['Absences non justifiées (h)']}5"].value)) == 1
    values = summary_values(book)
    assert (Decimal(str(values["Heures réalisées"])), Decimal(str(values["Absences non justifiées (h)"])),
            Decimal(str(values["Frais pédagogiques"]))) == (62, 1, 930)


def mixed_snapshot():
    """UNI-1 in subrogation (Awa 21 h, Julien 17 h at 15 €: 570 €), UNI-2 in reimbursement of the employer
    (Sophie 21 h at 15 € and 25 € of travel: 340 €)."""
    return snapshot([
        AgreementTerms("UNI-1", (figures(1, "Awa DIALLO", 1260), figures(2, "Julien LE BIHAN", 1020)),
                       hourly_rate_cents=1500),
        AgreementTerms("UNI-2", (figures(3, "Sophie RENAUD", 1260, employer="Mairie",
                                         annex={"travel": (3000, 2500)}),),
                       hourly_rate_cents=1500, mode="reimbursement")])


def summary_values(book, data_only=False) -> dict:
    summary = book["Récapitulatif"]
    return {summary[f"A{r}"].value: summary[f"B{r}"].value for r in range(1, summary.max_row + 1)}


def test_a_mixed_claim_asks_the_funder_for_the_subrogation_lines_only():
    """The reimbursement lines are the employer's to pay us (the funder reimburses the employer): listed for
    information, never in what the funder is asked to pay."""
    data = mixed_snapshot()
    assert (data["totals"]["total_cents"], data["totals"]["due_cents"], data["totals"]["reimbursement_cents"]) == (
        91000, 57000, 34000)
    document = Document(io.BytesIO(funding_claim.invoice(data, date(2019, 1, 10))))
    rows = {row.cells[0].text: row.cells[1].text for table in document.tables[1:] for row in table.rows}
    assert rows["Total hors taxes"] == "910,00\u202f€"
    # of Sophie's 340 €, her employer pays us the 315 € of training; its 25 € of travel are its own expenses
    assert rows[funding_claim.EMPLOYER_PAYS_LABEL] == "− 315,00\u202f€"
    assert rows[funding_claim.EMPLOYER_ANNEX_LABEL] == "− 25,00\u202f€"
    assert rows["Net à payer"] == "570,00\u202f€"
    cells = [cell.text for row in document.tables[0].rows for cell in row.cells]
    assert "UNI-2 (remboursement de l'employeur, pour information)" in cells and "UNI-1" in cells
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Paiement direct à l'organisme de formation (subrogation) du net à payer" in text
    assert "remboursement de l'employeur (UNI-2)" in text and "ne sont pas demandés au financeur" in text

    book = openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(data)), data_only=True)
    values = summary_values(book)
    assert values["Total des stagiaires"] == 910
    assert (values[funding_claim.EMPLOYER_PAYS_LABEL], values[funding_claim.EMPLOYER_ANNEX_LABEL]) == (315, 25)
    assert values["Total demandé"] == 570
    assert "ne sont pas demandés au financeur" in values["Paiement"]
    trainees = book["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in trainees[1]}
    assert [trainees[f"{col['Mode de financement']}{r}"].value for r in range(2, 5)] == [
        "Subrogation", "Subrogation", "Remboursement de l'employeur"]
    formulas = summary_values(openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(data))))
    modes = f"'Stagiaires'!{col['Mode de financement']}2:{col['Mode de financement']}4"
    for label, column in ((funding_claim.EMPLOYER_PAYS_LABEL, col["Frais pédagogiques"]),
                          (funding_claim.EMPLOYER_ANNEX_LABEL, col["Frais annexes"])):
        assert formulas[label] == f"=SUMIF({modes},\"Remboursement de l'employeur\",'Stagiaires'!{column}2:{column}4)"

    # in subrogation only, the invoice has no reimbursement row
    data = snapshot([AgreementTerms("UNI-1", (figures(1, "Awa DIALLO", 1260),), hourly_rate_cents=1500)])
    document = Document(io.BytesIO(funding_claim.invoice(data, date(2019, 1, 10))))
    rows = {row.cells[0].text: row.cells[1].text for table in document.tables[1:] for row in table.rows}
    assert rows == {"Total des frais pédagogiques": "315,00\u202f€", "Total des frais annexes": "0,00\u202f€",
                    "Total hors taxes": "315,00\u202f€", "Net à payer": "315,00\u202f€"}
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Paiement direct à l'organisme de formation (subrogation)." in text


def invoice_totals(data) -> tuple[dict, str]:
    """The invoice's totals rows ({label: amount}) and its whole text, read back from the .docx."""
    content = funding_claim.invoice(data, date(2019, 1, 10))
    document = Document(io.BytesIO(content))
    rows = {row.cells[0].text: row.cells[1].text for table in document.tables[1:] for row in table.rows}
    return rows, docx_text(content)


def test_the_invoice_prints_only_the_reimbursement_rows_that_carry_money():
    """A reimbursement line without annex costs: no "− 0,00 €" row of the employer's annex costs; one that bills
    annex costs only (no hour attended): no "− 0,00 €" row of its pedagogical costs. The totals stay right."""
    without_annex = snapshot([
        AgreementTerms("UNI-1", (figures(1, "Awa DIALLO", 1260),), hourly_rate_cents=1500),
        AgreementTerms("UNI-2", (figures(3, "Sophie RENAUD", 1260, employer="Mairie"),), hourly_rate_cents=1500,
                       mode="reimbursement")])
    rows, text = invoice_totals(without_annex)
    assert rows == {"Total des frais pédagogiques": "630,00\u202f€", "Total des frais annexes": "0,00\u202f€",
                    "Total hors taxes": "630,00\u202f€", funding_claim.EMPLOYER_PAYS_LABEL: "− 315,00\u202f€",
                    "Net à payer": "315,00\u202f€"}
    assert "− 0,00\u202f€" not in text and "Dont frais annexes" not in text
    # the workbook's summary too: no row of annex costs, what is asked still the total less the employer's share
    book = openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(without_annex)), data_only=True)
    values = summary_values(book)
    assert funding_claim.EMPLOYER_ANNEX_LABEL not in values
    assert (values["Total des stagiaires"], values[funding_claim.EMPLOYER_PAYS_LABEL], values["Total demandé"]) == (
        630, 315, 315)
    summary = openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(without_annex)))["Récapitulatif"]
    formula = {summary[f"A{r}"].value: (r, summary[f"B{r}"].value) for r in range(1, summary.max_row + 1)}
    pays_row = formula[funding_claim.EMPLOYER_PAYS_LABEL][0]
    assert formula["Total demandé"][1] == f"{formula['Total des stagiaires'][1]}-B{pays_row}"

    annex_only = snapshot([
        AgreementTerms("UNI-1", (figures(1, "Awa DIALLO", 1260),), hourly_rate_cents=1500),
        AgreementTerms("UNI-2", (figures(3, "Sophie RENAUD", 0, employer="Mairie", annex={"travel": (3000, 2500)}),),
                       hourly_rate_cents=1500, mode="reimbursement")])
    rows, text = invoice_totals(annex_only)
    assert rows == {"Total des frais pédagogiques": "315,00\u202f€", "Total des frais annexes": "25,00\u202f€",
                    "Total hors taxes": "340,00\u202f€", funding_claim.EMPLOYER_ANNEX_LABEL: "− 25,00\u202f€",
                    "Net à payer": "315,00\u202f€"}
    assert "− 0,00\u202f€" not in text and "Dont frais pédagogiques" not in text


def test_a_claim_in_reimbursement_only_asks_the_funder_nothing():
    data = snapshot([AgreementTerms("UNI-2", (figures(1, "Awa DIALLO", 1260),), hourly_rate_cents=1500,
                                    mode="reimbursement")])
    document = Document(io.BytesIO(funding_claim.invoice(data, date(2019, 1, 10))))
    rows = {row.cells[0].text: row.cells[1].text for table in document.tables[1:] for row in table.rows}
    assert rows["Net à payer"] == "0,00\u202f€"
    assert "facture adressée pour information au financeur" in "\n".join(p.text for p in document.paragraphs)


def test_the_workbook_totals_show_without_recalculation():
    """A reader that does not calculate (openpyxl data_only, a preview) reads the totals' values: each formula
    is saved with its result, and stays a formula."""
    data = mixed_snapshot()
    content = funding_claim.workbook(data)
    book = openpyxl.load_workbook(io.BytesIO(content), data_only=True)
    trainees = book["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in trainees[1]}
    assert trainees["A5"].value == "Total"
    assert Decimal(str(trainees[f"{col['Heures réalisées']}5"].value)) == 21 + 17 + 21
    assert Decimal(str(trainees[f"{col['Frais pédagogiques']}5"].value)) == Decimal("885")
    assert Decimal(str(trainees[f"{col['Frais annexes']}5"].value)) == Decimal("25")
    assert Decimal(str(trainees[f"{col['Total']}5"].value)) == Decimal("910")
    annex = book["Frais annexes"]
    assert Decimal(str(annex.cell(row=5, column=annex.max_column).value)) == Decimal("25")
    values = summary_values(book)
    assert Decimal(str(values["Heures réalisées"])) == 59 and values["Frais pédagogiques"] == 885
    assert values["Frais annexes"] == 25
    for sheet in openpyxl.load_workbook(io.BytesIO(content)).worksheets:  # the same cells hold formulas
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cached = book[sheet.title][cell.coordinate].value
                    assert cached is not None, (sheet.title, cell.coordinate, cell.value)


def test_an_empty_claim_workbook_shows_zero_totals():
    data = snapshot([])
    book = openpyxl.load_workbook(io.BytesIO(funding_claim.workbook(data)), data_only=True)
    assert summary_values(book)["Total demandé"] == 0
