"""The attendance sheet as documents: the printable Word sheet (signed or blank) and the Excel grid.

Both read the session grid of services/attendance (a constant number of queries) and give the
templates plain data only.
"""

import openpyxl
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from training_app.clock import local_now, to_local
from training_app.documents import excel, word
from training_app.formatting import date_fr, de, hours, label, time_fr
from training_app.models import Organisation, TrainingSession
from training_app.services import attendance
from training_app.services.enrolments import course_employers

TEMPLATE = "feuille_emargement.docx"
COLUMNS_PER_PAGE = 6
SIGNATURE_WIDTH_MM = 28


def _period(slot) -> str:
    return _("Matin") if slot.is_morning else _("Après-midi")


def _times(slot) -> str:
    return f"{time_fr(slot.start_time)} – {time_fr(slot.end_time)}"


def _cell_text(cell) -> str:
    record = cell.record
    if cell.state in ("withdrawn", "not_enrolled") or (cell.state == "not_expected" and record is None):
        return _not_expected_text(cell)
    if record is None:
        return ""
    if record.is_absent:
        return str(attendance.STATUS_LABELS[record.status])
    parts = []
    if record.arrival_time:
        parts.append(_("arrivée %(time)s", time=time_fr(record.arrival_time)))
    if record.departure_time:
        parts.append(_("départ %(time)s", time=time_fr(record.departure_time)))
    if cell.signature is not None:
        parts.append(_("signé à %(time)s", time=time_fr(to_local(cell.signature.signed_at))))
    elif cell.state == "paper":
        parts.append(_("voir la feuille papier"))
    return ", ".join(parts)


def _word_text(cell, notes: list[str]) -> str:
    """A Word cell's text; a corrected status and a voided signature say so, their reasons go in numbered
    notes below the table."""
    text, numbers = _cell_text(cell), []
    if cell.correction is not None:
        status = str(attendance.STATUS_LABELS[cell.record.status])
        text = text if cell.record.is_absent else ", ".join(p for p in (status, text) if p)
    text = " — ".join(p for p in (text, _voided_text(cell), cell.correction and _correction_text(cell)) if p)
    if cell.correction is not None:
        numbers.append(_note(notes, _("Motif de la correction : %(reason)s", reason=cell.correction.reason)))
    numbers += [_note(notes, _("Motif de l'annulation de la signature : %(reason)s", reason=reason))
                for reason in _voided_reasons(cell)]
    return text + "".join(f" ({n})" for n in numbers)


def _note(notes: list[str], note: str) -> int:
    notes.append(note)
    return len(notes)


def _voided_text(cell) -> str:
    """A signature made in this cell's row by someone else, then voided: kept, counted for nothing."""
    return _("signature annulée") if cell.voided else ""


def _voided_reasons(cell) -> list[str]:
    """The reasons of the cell's voided signatures, but the one its correction already gives (the office
    voids a signature by correcting the status, with one reason)."""
    covered = cell.correction.reason if cell.correction is not None else None
    return [v.voided_reason for v in cell.voided if v.voided_reason != covered]


def _correction_text(cell) -> str:
    return _("corrigé par l'administration le %(date)s", date=date_fr(cell.correction.day, "short"))


def _notes_text(notes: list[str]) -> str:
    return " ".join(f"({n}) {note}." for n, note in enumerate(notes, start=1))


def _not_expected_text(cell) -> str:
    """A half-day the trainee was not expected at: after their withdrawal, over before they enrolled, or any
    without a record once their enrolment was cancelled (or moved, or is not confirmed)."""
    if cell.state == "not_enrolled":
        return _("pas encore inscrit·e")
    if cell.state == "not_expected":
        return _("non attendu·e")
    return _("abandon le %(date)s", date=date_fr(cell.withdrawn_on, "short"))


def employer_names(sheet) -> dict[int, str]:
    """enrolment id -> the employer a sheet (a session's grid, or a half-day's sheet: rows with their enrolment)
    prints on the trainee's row: the one they followed the course for, as the certificates name it
    (enrolments.course_employers), not their record as it is now; "" on their own account, and once their records
    expired (personal_data.expire_records: the sheet no longer names them)."""
    enrolments = [row.enrolment for row in sheet.rows]
    employers = course_employers(enrolments)
    return {e.id: employers[e.id].name if employers[e.id] and not e.trainee.records_expired else ""
            for e in enrolments}


def word_sheet(session: TrainingSession, blank: bool = False) -> bytes:
    """The feuille d'émargement; `blank` leaves every cell empty for signing on paper."""
    grid = attendance.session_grid(session, with_images=not blank)
    employers = employer_names(grid)
    organisation = Organisation.get()
    empty = {"image": "", "text": ""}
    notes = []  # reasons of the administrator's corrections, numbered in the cells
    pages = []
    chunks = [grid.columns[i:i + COLUMNS_PER_PAGE] for i in range(0, len(grid.columns), COLUMNS_PER_PAGE)] or [[]]
    for number, columns in enumerate(chunks, start=1):
        first = (number - 1) * COLUMNS_PER_PAGE
        padding = COLUMNS_PER_PAGE - len(columns)
        cols = [{"date": date_fr(c.slot.date), "period": _period(c.slot), "times": _times(c.slot)} for c in columns]
        cols += [{"date": "", "period": "", "times": ""}] * padding
        rows = []
        for row in grid.rows:
            cells = [empty if blank else _word_cell(cell, notes) for cell in row.cells[first:first + len(columns)]]
            rows.append({"name": row.enrolment.trainee.formal_name,
                         "employer": employers[row.enrolment.id],
                         "cells": cells + [empty] * padding})
        trainers = [empty if blank else _trainer_cell(c) for c in columns] + [empty] * padding
        pages.append({"label": _("Demi-journées %(first)d à %(last)d sur %(total)d", first=first + 1,
                                 last=first + len(columns), total=len(grid.columns)),
                      "cols": cols, "rows": rows, "trainers": trainers})
    context = {
        "organisation_name": organisation.name, "organisation_address": organisation.address.replace("\n", ", "),
        "declaration_number": organisation.declaration_number, "siret": organisation.siret,
        "title": session.title, "start": date_fr(session.start_at), "end": date_fr(session.end_at),
        "planned_hours": hours(grid.planned_minutes), "place": session.place.replace("\n", ", "),
        "modality": label(session.modality), "trainers": ", ".join(t.name for t in session.trainers),
        "pages": pages, "printed_on": date_fr(local_now()),
        "legend": " ".join(filter(None, [
            _("Chaque stagiaire signe pour chaque demi-journée ; le ou la formateur·rice signe chaque "
              "demi-journée. Horaires en heure locale."), _notes_text(notes)])),
        "mode": _("Feuille vierge, à signer sur papier") if blank else
        _("Feuille signée électroniquement (signatures horodatées, historique conservé)")
        if attendance.signs_in_app(session) else attendance.recorded_afterwards_note(),
    }
    return word.render(word.template_path(TEMPLATE), context)


def _word_cell(cell, notes: list[str]) -> dict:
    # An image deleted at the end of the retention period (services/personal_data.expire_records) prints nothing.
    image = (word.Picture(cell.signature.image, SIGNATURE_WIDTH_MM)
             if cell.signature is not None and cell.signature.image else "")
    return {"image": image, "text": _word_text(cell, notes)}


def _office_closing_text(column) -> str:
    return _("Clôturée par l'administration sans signature du / de la formateur·rice : %(reason)s",
             reason=column.office_closing_reason)


def voided_trainers_text(column) -> str:
    """The trainers' signatures a reopening voided (services/attendance.reopen_slot), one each with its time, as
    the Word and Excel sheets and the session's grid say them: they vouched for the sheet as it was closed then,
    not for what it says now."""
    return " ; ".join(_("signature %(of_name)s (%(time)s) annulée à la réouverture du %(date)s",
                        of_name=de(s.signer_name), time=time_fr(to_local(s.signed_at)),
                        date=date_fr(to_local(s.voided_at), "short"))
                      for s in column.voided_trainer_signatures)


def _with_voided_trainers(column, text: str) -> str:
    """`text`, then the signatures a reopening voided (voided_trainers_text); their images are not printed."""
    return " — ".join(p for p in (text, voided_trainers_text(column)) if p)


def _trainer_cell(column) -> dict:
    if not column.trainer_signatures:
        text = (_office_closing_text(column) if column.office_closing_reason
                else _("voir la feuille papier") if column.trainer_on_paper else "")
        return {"image": "", "text": _with_voided_trainers(column, text)}
    signature = column.trainer_signatures[0]
    names = ", ".join(s.signer_name for s in column.trainer_signatures)
    text = _("%(names)s, signé à %(time)s", names=names, time=time_fr(to_local(signature.signed_at)))
    return {"image": word.Picture(signature.image, SIGNATURE_WIDTH_MM),
            "text": _with_voided_trainers(column, text)}


def excel_grid(session: TrainingSession) -> bytes:
    """Trainees × half-days with statuses, then hours planned, attended and absent."""
    grid = attendance.session_grid(session)
    employers = employer_names(grid)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = _("Émargement")
    excel.write_text(sheet["A1"], session.title)
    sheet["A1"].font = Font(bold=True, size=12)
    excel.write_text(sheet["A2"], _("Du %(start)s au %(end)s — %(place)s", start=date_fr(session.start_at, "short"),
                                    end=date_fr(session.end_at, "short"), place=session.place.replace("\n", ", ")))
    if not attendance.signs_in_app(session):
        excel.write_text(sheet["A3"], attendance.recorded_afterwards_note())
    header = [_("Stagiaire"), _("Structure employeuse")]
    header += [f"{date_fr(c.slot.date, 'short')} {_period(c.slot).lower()} {_times(c.slot)}" for c in grid.columns]
    header += [_("Heures prévues"), _("Heures suivies"), _("Absences justifiées (h)"),
               _("Absences non justifiées (h)"), _("Signatures manquantes")]
    top = 4
    for col, title in enumerate(header, start=1):
        cell = sheet.cell(row=top, column=col)
        excel.write_text(cell, title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    missing_fill = PatternFill("solid", fgColor="FFE3B0")
    column_hours = [[], [], [], []]  # each total column's figures, whose sum the total formula carries
    for index, row in enumerate(grid.rows, start=top + 1):
        trainee = row.enrolment.trainee
        excel.write_text(sheet.cell(row=index, column=1), trainee.full_name)
        excel.write_text(sheet.cell(row=index, column=2), employers[row.enrolment.id])
        for offset, cell in enumerate(row.cells):
            target = sheet.cell(row=index, column=3 + offset)
            excel.write_text(target, _excel_status(cell))
            if cell.state == "missing":
                target.fill = missing_fill
        totals = row.totals
        base = 3 + len(row.cells)
        for offset, minutes in enumerate((totals.planned_minutes, totals.attended_minutes,
                                          totals.absent_justified_minutes, totals.absent_unjustified_minutes)):
            target = sheet.cell(row=index, column=base + offset, value=round(minutes / 60, 2))
            target.number_format = "0.00"
            column_hours[offset].append(target.value)
        sheet.cell(row=index, column=base + 4, value=sum(1 for c in row.cells if c.state == "missing"))
    total_row = top + len(grid.rows) + 1
    excel.write_text(sheet.cell(row=total_row, column=1), _("Total"))
    sheet.cell(row=total_row, column=1).font = Font(bold=True)
    excel.write_text(sheet.cell(row=total_row + 1, column=1), _("Formateur·rice"))
    sheet.cell(row=total_row + 1, column=1).font = Font(bold=True)
    for offset, column in enumerate(grid.columns):
        excel.write_text(sheet.cell(row=total_row + 1, column=3 + offset), _excel_trainer(column))
    base = 3 + len(grid.columns)
    for offset in range(4):
        column = get_column_letter(base + offset)
        if grid.rows:
            excel.write_formula(sheet.cell(row=total_row, column=base + offset),
                                f"=SUM({column}{top + 1}:{column}{total_row - 1})",
                                round(sum(column_hours[offset]), 2))
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 30
    for col in range(3, base + 5):
        sheet.column_dimensions[get_column_letter(col)].width = 16
    sheet.freeze_panes = sheet.cell(row=top + 1, column=3)
    return excel.save(workbook)


def _excel_trainer(column) -> str:
    """Who signed the half-day as trainer, the paper sheet standing for it, or why the office closed it without;
    then the signatures a reopening voided."""
    if column.trainer_signatures:
        text = _("signé par %(names)s", names=", ".join(s.signer_name for s in column.trainer_signatures))
    elif column.office_closing_reason:
        text = _office_closing_text(column)
    elif column.trainer_on_paper:
        text = _("voir la feuille papier")
    else:
        text = _("signature manquante") if column.trainer_missing else ""
    return _with_voided_trainers(column, text)


def _excel_status(cell) -> str:
    if cell.state == "upcoming":
        return ""
    if cell.state in ("withdrawn", "not_enrolled") or (cell.state == "not_expected" and cell.record is None):
        return _not_expected_text(cell)
    if cell.record is None:
        return _("non émargé")
    text = str(attendance.STATUS_LABELS[cell.record.status])
    detail = _cell_text(cell) if not cell.record.is_absent else ""
    text = f"{text} ({hours(cell.record.minutes_attended)})" if not cell.record.is_absent else text
    if cell.state == "missing":
        text += " — " + _("signature manquante")
    elif detail:
        text += " — " + detail
    if cell.voided:
        reasons = _voided_reasons(cell)
        text += " — " + (_("signature annulée : %(reason)s", reason=" ; ".join(reasons)) if reasons
                         else _voided_text(cell))
    if cell.correction is not None:
        text += " — " + _("%(correction)s : %(reason)s", correction=_correction_text(cell),
                          reason=cell.correction.reason)
    return text
