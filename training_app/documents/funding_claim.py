"""The files of a funding claim, from its snapshot (plain data, see services/funding.refresh):
the Excel workbook the funder reads and the invoice (Word template certificates/facture.docx).

Every value a user typed goes through excel.write_text; only totals are formulas, saved with their value
(excel.save), so that a reader that does not calculate shows them too.

A claim may hold reimbursement lines beside subrogation ones: the employer pays us their pedagogical costs, their
annex costs are its own expenses, and the funder reimburses the employer both (claim_calculation.employer_share);
they are listed for information and never in what the funder is asked to pay ("Total demandé", "Net à payer").
"""
from datetime import date, datetime
from decimal import Decimal

import openpyxl
from flask_babel import ngettext
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from training_app.documents import excel, word
from training_app.formatting import hours as hours_label
from training_app.formatting import NNBSP, money
from training_app.services.claim_calculation import (ANNEX_KINDS, ANNEX_LABELS, REIMBURSEMENT, employer_share,
                                                     is_reimbursement, observations)

EUROS = '#,##0.00 "€"'
HOURS = "0.00"  # shown with two decimals; the cell holds the exact hours (minutes / 60), so that rate × hours = amount
RATE = '#,##0.00#### "€"'  # every decimal of the rate applied (kept to 1/10000 of a cent), so rate × hours = amount
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
BOLD = Font(bold=True)  # shared: a 500-line claim sets it on hundreds of cells
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
# The annex sheet's column titles, agreeing with each kind ("Repas accordés", as the agreement's form says)
ANNEX_TITLES = {kind: [f"{ANNEX_LABELS[kind]} {word}{'s' if kind == 'meals' else ''}"
                       for word in ("accordé", "réel", "facturé")] for kind in ANNEX_KINDS}
MODE_LABELS = {"subrogation": "Subrogation", REIMBURSEMENT: "Remboursement de l'employeur"}
# The reimbursement lines, not asked of the funder (claim_calculation.employer_share), as workbook and invoice say
EMPLOYER_PAYS_LABEL = ("Dont frais pédagogiques en remboursement de l'employeur (payés par l'employeur, "
                       "non demandés au financeur)")
EMPLOYER_ANNEX_LABEL = ("Dont frais annexes de l'employeur en remboursement (ses propres dépenses, "
                        "non demandés au financeur)")

# Sheet "Stagiaires": (title, key, kind); kind says how the cell is written and summed.
TRAINEE_COLUMNS = [
    ("Structure employeuse", "employer_name", "text"),
    ("SIRET", "employer_siret", "text"),
    ("Stagiaire", "trainee_name", "text"),
    ("Fonction", "job_title", "text"),
    ("N° de dossier", "file_number", "text"),
    ("Mode de financement", "mode", "mode"),
    ("Session", "session_dates", "text"),
    ("Heures prévues", "planned_minutes", "hours"),
    ("Heures réalisées", "attended_minutes", "hours"),
    ("Absences justifiées (h)", "absent_justified_minutes", "hours"),
    ("Absences non justifiées (h)", "absent_unjustified_minutes", "hours"),
    ("Taux horaire", "hourly_rate_cents", "rate"),
    ("Frais pédagogiques", "pedagogical_cents", "euros"),
    ("Frais annexes", "annex_cents", "euros"),
    ("Total", "total_cents", "euros"),
    ("Observations", "observations", "observations"),  # why the hours differ (absence, withdrawal), caps applied
]
# A draft's workbook and invoice (a preview): no invoice number until the claim is sent (services/funding.send)
DRAFT_NUMBER = "— (brouillon : numéro donné à l'envoi)"
TRAINEES_SHEET = "Stagiaires"
ANNEX_SHEET = "Frais annexes"
SUMMARY_SHEET = "Récapitulatif"


def minutes_to_hours(minutes: int) -> Decimal:
    """The exact hours (20 h 40 min: 20.666…), not rounded: a cell shows them with two decimals (HOURS), and
    the rate times them gives the line's amount, their sum the total of the page and of the invoice."""
    return Decimal(minutes) / 60


def cents_to_euros(cents) -> Decimal:
    return Decimal(cents) / 100


def _d(value: str) -> datetime:
    return datetime.fromisoformat(value)


def workbook(snapshot: dict) -> bytes:
    """The claim's .xlsx: a summary sheet, one line per trainee, the annex costs."""
    book = openpyxl.Workbook()
    summary = book.active
    summary.title = SUMMARY_SHEET
    trainees = book.create_sheet(TRAINEES_SHEET)
    annex = book.create_sheet(ANNEX_SHEET)
    trainee_totals = _trainee_sheet(trainees, snapshot["lines"])
    annex_total = _annex_sheet(annex, snapshot["lines"], snapshot["funder"].get("accepts_annex_costs", True))
    _summary_sheet(summary, snapshot, trainee_totals, annex_total)
    return excel.save(book)


def _header(sheet, row: int, titles: list[str]) -> None:
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(row=row, column=column)
        excel.write_text(cell, title)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT


def _column_total(values, kind: str) -> Decimal:
    """What a SUM over a column of this kind (hours, euros) gives: from the exact minutes or cents, summed first."""
    return (minutes_to_hours if kind == "hours" else cents_to_euros)(sum(values))


def _write_value(cell, value, kind: str) -> None:
    if kind in ("text", "observations"):
        excel.write_text(cell, value or "")
    elif kind == "mode":
        excel.write_text(cell, MODE_LABELS.get(value, value or ""))
    elif kind == "hours":
        cell.value = minutes_to_hours(value)
        cell.number_format = HOURS
    elif kind == "rate":
        cell.value = cents_to_euros(Decimal(value))
        cell.number_format = RATE
    else:
        cell.value = cents_to_euros(value)
        cell.number_format = EUROS


def _trainee_sheet(sheet, lines: list[dict]) -> dict:
    """One line per trainee and a totals row of formulas; returns {key: ("'Stagiaires'!X9", value)} and
    {"range:key": ("'Stagiaires'!X2:X8", None)} for the columns the summary reads line by line."""
    _header(sheet, 1, [title for title, _key, _kind in TRAINEE_COLUMNS])
    for row, line in enumerate(lines, start=2):
        for column, (_title, key, kind) in enumerate(TRAINEE_COLUMNS, start=1):
            _write_value(sheet.cell(row=row, column=column), observations(line) if kind == "observations" else line[key],
                         kind)
    total_row = len(lines) + 2
    excel.write_text(sheet.cell(row=total_row, column=1), "Total")
    sheet.cell(row=total_row, column=1).font = BOLD
    references = {}
    for column, (_title, key, kind) in enumerate(TRAINEE_COLUMNS, start=1):
        letter = get_column_letter(column)
        references[f"range:{key}"] = (f"'{TRAINEES_SHEET}'!{letter}2:{letter}{max(2, total_row - 1)}", None)
        if kind not in ("hours", "euros"):
            continue
        cell = sheet.cell(row=total_row, column=column)
        value = _column_total((line[key] for line in lines), kind)
        excel.write_formula(cell, f"=SUM({letter}2:{letter}{total_row - 1})" if lines else "=0", value)
        cell.number_format = HOURS if kind == "hours" else EUROS
        cell.font = BOLD
        references[key] = (f"'{TRAINEES_SHEET}'!{letter}{total_row}", value)
    for column, width in enumerate((30, 16, 28, 26, 16, 18, 24, 10, 10, 12, 12, 11, 14, 12, 12, 40), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    return references


def _annex_sheet(sheet, lines: list[dict], accepted: bool) -> tuple[str, Decimal]:
    titles = ["Stagiaire", "N° de dossier"]
    for kind in ANNEX_KINDS:
        titles += ANNEX_TITLES[kind]
    titles.append("Total facturé")
    _header(sheet, 1, titles)
    for row, line in enumerate(lines, start=2):
        excel.write_text(sheet.cell(row=row, column=1), line["trainee_name"])
        excel.write_text(sheet.cell(row=row, column=2), line["file_number"])
        column = 3
        for kind in ANNEX_KINDS:
            figures = line["annex"][kind]
            for key in ("agreed_cents", "actual_cents", "billed_cents"):
                _write_value(sheet.cell(row=row, column=column), figures[key], "euros")
                column += 1
        _write_value(sheet.cell(row=row, column=column), line["annex_cents"], "euros")
    total_row = len(lines) + 2
    excel.write_text(sheet.cell(row=total_row, column=1), "Total")
    sheet.cell(row=total_row, column=1).font = BOLD
    column_values = [[line["annex"][kind][key] for line in lines]
                     for kind in ANNEX_KINDS for key in ("agreed_cents", "actual_cents", "billed_cents")]
    column_values.append([line["annex_cents"] for line in lines])
    for column, cents in enumerate(column_values, start=3):
        letter = get_column_letter(column)
        cell = sheet.cell(row=total_row, column=column)
        excel.write_formula(cell, f"=SUM({letter}2:{letter}{total_row - 1})" if lines else "=0",
                            cents_to_euros(sum(cents)))
        cell.number_format = EUROS
        cell.font = BOLD
    if not accepted:
        excel.write_text(sheet.cell(row=total_row + 2, column=1),
                         "Ce financeur ne prend pas en charge les frais annexes : rien n'est facturé.")
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 16
    sheet.freeze_panes = "A2"
    return (f"'{ANNEX_SHEET}'!{get_column_letter(len(titles))}{total_row}",
            cents_to_euros(sum(line["annex_cents"] for line in lines)))


def _summary_sheet(sheet, snapshot: dict, totals: dict, annex_total: tuple[str, Decimal]) -> None:
    organisation, funder = snapshot["organisation"], snapshot["funder"]
    sessions = snapshot["sessions"]
    title = sheet.cell(row=1, column=1)
    excel.write_text(title, f"Demande de paiement n° {snapshot['number'] or DRAFT_NUMBER}")
    title.font = Font(bold=True, size=14)
    rows = [
        ("Organisme de formation", organisation.get("name", "")),
        ("Adresse", ", ".join(organisation.get("address_lines", []))),
        ("SIRET", organisation.get("siret", "")),
        ("N° de déclaration d'activité", organisation.get("declaration_number", "")),
        ("Financeur", funder["name"]),
        ("Adresse du financeur", " ".join((funder.get("address") or "").split())),
    ]
    if snapshot.get("period"):
        start, end = (date.fromisoformat(d) for d in snapshot["period"])
        rows.append(("Période", f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"))
    row = 3
    for label, value in rows:
        _label(sheet, row, label)
        excel.write_text(sheet.cell(row=row, column=2), value)
        row += 1
    for session in sessions:
        row += 1
        for label, value, kind in (
                ("Session", session["title"], "text"),
                ("Dates", f"du {_d(session['start']):%d/%m/%Y %H:%M} au {_d(session['end']):%d/%m/%Y %H:%M}",
                 "text"),
                ("Lieu", " ".join((session.get("place") or "").split()), "text"),
                ("Heures prévues", session["planned_minutes"], "hours")):
            _label(sheet, row, label)
            _write_value(sheet.cell(row=row, column=2), value, kind)
            row += 1
    row += 1
    _label(sheet, row, "Nombre de stagiaires")
    sheet.cell(row=row, column=2).value = len(snapshot["lines"])
    row += 1
    figures = [("Heures prévues (stagiaires)", totals["planned_minutes"], HOURS),
               ("Heures réalisées", totals["attended_minutes"], HOURS),
               ("Absences justifiées (h)", totals["absent_justified_minutes"], HOURS),
               ("Absences non justifiées (h)", totals["absent_unjustified_minutes"], HOURS),
               ("Frais pédagogiques", totals["pedagogical_cents"], EUROS),
               ("Frais annexes", annex_total, EUROS)]
    total_reference, total_value = totals["total_cents"]
    share = employer_share(snapshot["lines"])
    if share.trainees:
        # "=SUMIF(modes, label, amounts)": the reimbursement lines, taken off what the funder is asked to pay; as on
        # the invoice, a row only where it carries money (no annex costs: no row of them)
        modes = totals["range:mode"][0]
        taken_off = [(label, column, cents) for label, column, cents in (
            (EMPLOYER_PAYS_LABEL, "pedagogical_cents", share.pays_us_cents),
            (EMPLOYER_ANNEX_LABEL, "annex_cents", share.own_annex_cents)) if cents]
        first_row = row + len(figures) + 1
        figures.append(("Total des stagiaires", totals["total_cents"], EUROS))
        figures += [(label, (f'SUMIF({modes},"{MODE_LABELS[REIMBURSEMENT]}",{totals["range:" + column][0]})',
                             cents_to_euros(cents)), EUROS) for label, column, cents in taken_off]
        less = "".join(f"-B{first_row + i}" for i in range(len(taken_off)))
        figures.append(("Total demandé", (total_reference + less,
                                          total_value - cents_to_euros(share.not_asked_cents)), EUROS))
    else:
        figures.append(("Total demandé", totals["total_cents"], EUROS))
    for label, (reference, value), number_format in figures:
        _label(sheet, row, label)
        cell = sheet.cell(row=row, column=2)
        excel.write_formula(cell, f"={reference}", value)
        cell.number_format = number_format
        row += 1
    _label(sheet, row, "Paiement")
    excel.write_text(sheet.cell(row=row, column=2), payment_mention(snapshot["lines"]))
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["B"].width = 70


def _label(sheet, row: int, text: str) -> None:
    cell = sheet.cell(row=row, column=1)
    excel.write_text(cell, text)
    cell.font = BOLD


def invoice_context(snapshot: dict, invoice_date: date) -> dict:
    """Plain data for certificates/facture.docx."""
    organisation, funder, totals = snapshot["organisation"], snapshot["funder"], snapshot["totals"]
    share = employer_share(snapshot["lines"])
    sessions = [{"title": s["title"], "start": f"{_d(s['start']):%d/%m/%Y}", "end": f"{_d(s['end']):%d/%m/%Y}",
                 "planned_hours": hours_label(s["planned_minutes"]), "place": " ".join((s["place"] or "").split())}
                for s in snapshot["sessions"]]
    return {
        "number": snapshot["number"] or DRAFT_NUMBER,
        "invoice_date": f"{invoice_date:%d/%m/%Y}",
        "organisation": organisation,
        "funder": {"name": funder["name"], "address": ", ".join(
            line.strip() for line in (funder.get("address") or "").splitlines() if line.strip()),
            "contact_name": funder.get("contact_name", "")},
        "subject": sessions[0]["title"] if len(sessions) == 1 else f"{len(sessions)} sessions",
        "sessions": sessions,
        "lines": [{"trainee_name": line["trainee_name"], "employer_name": line["employer_name"],
                   "file_number": line["file_number"], "attended_hours": hours_label(line["attended_minutes"]),
                   "mode_note": " (remboursement de l'employeur, pour information)"
                   if is_reimbursement(line) else "",
                   "rate": _rate_label(line["hourly_rate_cents"]), "pedagogical": money(line["pedagogical_cents"]),
                   "annex": money(line["annex_cents"]), "observations": observations(line)}
                  for line in snapshot["lines"]],
        "totals": {"pedagogical": money(totals["pedagogical_cents"]), "annex": money(totals["annex_cents"]),
                   "total": money(totals["total_cents"]),
                   # the reimbursement lines' rows, each printed only when it carries money
                   "employer_pays_cents": share.pays_us_cents, "employer_pays": money(share.pays_us_cents),
                   "employer_annex_cents": share.own_annex_cents, "employer_annex": money(share.own_annex_cents),
                   "due": money(totals["total_cents"] - share.not_asked_cents)},
        "vat_mention": organisation.get("vat_mention") or "",
        "payment_mention": payment_mention(snapshot["lines"]),
    }


def payment_mention(lines: list[dict]) -> str:
    """Who pays what, as the invoice and the workbook state it."""
    reimbursed = sorted({line["file_number"] for line in lines if is_reimbursement(line)})
    if not reimbursed:
        return "Paiement direct à l'organisme de formation (subrogation)."
    if all(is_reimbursement(line) for line in lines):
        return ("Remboursement de l'employeur : l'employeur règle la formation à l'organisme, le financeur le "
                "rembourse ; facture adressée pour information au financeur, rien ne lui est demandé.")
    return ngettext(
        "Paiement direct à l'organisme de formation (subrogation) du net à payer. Dossier en remboursement de "
        "l'employeur (%(numbers)s) : ses frais pédagogiques sont réglés à l'organisme par l'employeur, ses frais "
        "annexes sont les propres dépenses de l'employeur, le financeur lui rembourse les uns et les autres ; "
        "indiqués pour information, ils ne sont pas demandés au financeur.",
        "Paiement direct à l'organisme de formation (subrogation) du net à payer. Dossiers en remboursement de "
        "l'employeur (%(numbers)s) : leurs frais pédagogiques sont réglés à l'organisme par l'employeur, leurs "
        "frais annexes sont ses propres dépenses, le financeur lui rembourse les uns et les autres ; indiqués pour "
        "information, ils ne sont pas demandés au financeur.", len(reimbursed),
        numbers=", ".join(n or "sans numéro" for n in reimbursed))


def _rate_label(rate_cents: str) -> str:
    """The rate applied, with every decimal it has (at least two): an agreed amount spread over the
    hours gives 15,873016 €/h, which times 21 h gives the line's 333,33 €; rounded to 15,87 it would not."""
    euros = f"{Decimal(rate_cents) / 100:.6f}".rstrip("0")
    whole, decimals = euros.split(".")
    return f"{whole},{decimals.ljust(2, '0')}{NNBSP}€/h"


def invoice(snapshot: dict, invoice_date: date) -> bytes:
    return word.render(word.template_path("facture.docx"), invoice_context(snapshot, invoice_date))
