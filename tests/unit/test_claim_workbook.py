"""The claim's workbook and invoice from plain data, read back with openpyxl and python-docx."""
import io
import re
from datetime import date
from decimal import Decimal

import openpyxl
from docx import Document

from training_app.documents import funding_claim
from training_app.services.claim_calculation import AgreementTerms, TraineeFigures, calculate

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
    assert [c.value for c in annex[1]][-1] == "Total facturé"


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
    assert "570,00 €" in cells  # 315 + 255
    assert "17 h" in cells


def test_rate_of_an_amount_spread_over_hours_times_hours_gives_each_line():
    # 1 000 € over 3 × 21 h: 15,873016 €/h. Rounded to 15,87 €/h, 21 h would make 333,27 €, not 333,33 €.
    data = snapshot([AgreementTerms("UNI-1", (figures(1, "Awa DIALLO", 1260), figures(2, "Julien LE BIHAN", 1020),
                                              figures(3, "Sophie RENAUD", 1260)), amount_cents=100000)])
    document = Document(io.BytesIO(funding_claim.invoice(data, date(2019, 1, 10))))
    rows = [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]
    printed = [(row[i - 1], row[i], row[i + 1]) for row in rows for i, cell in enumerate(row) if cell.endswith("€/h")]
    assert [rate for _hours, rate, _amount in printed] == ["15,873016 €/h"] * 3
    for hours, rate, amount in printed:
        hours = Decimal(hours.removesuffix(" h"))
        rate = Decimal(rate.removesuffix(" €/h").replace(",", "."))
        amount = Decimal(amount.removesuffix(" €").replace("\u202f", "").replace(",", "."))
        assert (rate * hours).quantize(Decimal("0.01")) == amount
    assert [amount for _h, _r, amount in printed] == ["333,33 €", "269,84 €", "333,33 €"]

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
