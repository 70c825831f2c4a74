"""A trainee who withdraws during the course: the half-days after the withdrawal in the hours
(claims, certificates) and on the attendance grid, Excel grid and Word sheet.

The course is the reference 21-hour session (Tue 11 Dec 2018 14:00 to Fri 14 Dec 12:30, half-days
of 4, 3, 4, 3, 4 and 3 h). Julien attends Tuesday afternoon and Wednesday morning, then withdraws on
Wednesday 12 at 13:00; his absence on Wednesday afternoon and after is unjustified absence, not a
missing signature.
"""
import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from tests import certificate_course as cc
from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.services import ServiceError, attendance, enrolments
from training_app.services.attendance import AttendanceTotals

WITHDRAWN = "abandon le 12/12/2018"


def dropout_course():
    factories.make_organisation()
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    programme = factories.make_programme(title="Du dialogue à la négociation", objectives=cc.OBJECTIVES)
    session = factories.make_session(programme=programme, start=cc.START, end=cc.END, status="completed",
                                     trainers=[trainer])
    funder = factories.make_funder("Uniformation")
    employer = factories.make_employer(name="CCAS de Rennes", funder=funder)
    awa = factories.make_enrolment(session, factories.make_trainee("Awa", "Diallo", employer=employer))
    julien = factories.make_enrolment(session, factories.make_trainee("Julien", "Bihan", employer=employer))
    for index, slot in enumerate(session.slots):
        if index == 2:
            with frozen_at(datetime(2018, 12, 12, 13, 0)):
                enrolments.withdraw(julien, date(2018, 12, 12), "Arrêt maladie")
            db.session.commit()
        cc.take_attendance(slot, [awa] if index >= 2 else [awa, julien], trainer)
    return session, funder, awa, julien


def test_half_days_after_the_withdrawal_are_unjustified_absence():
    session, funder, awa, julien = dropout_course()
    expected = AttendanceTotals(21 * 60, 7 * 60, 0, 14 * 60)
    assert attendance.totals_for(julien) == expected  # what certificates read: 7 h attended, as before
    assert attendance.totals_for_session(session)[julien.id] == expected
    assert attendance.totals_for(awa) == AttendanceTotals(21 * 60, 21 * 60, 0, 0)
    factories.make_agreement(session, [awa, julien], funder=funder, hourly_rate_cents=1500)
    line = next(row for row in factories.make_claim(funder, session).snapshot["lines"] if row["enrolment_id"] == julien.id)
    assert (line["planned_minutes"], line["attended_minutes"], line["absent_justified_minutes"],
            line["absent_unjustified_minutes"], line["pedagogical_cents"]) == (1260, 420, 0, 840, 7 * 1500)


def test_the_rule_counts_the_withdrawal_day_and_after_and_a_record_wins():
    session, funder, awa, julien = dropout_course()
    tuesday, wednesday_morning, wednesday_afternoon = session.slots[:3]
    assert not attendance.after_withdrawal(tuesday, julien.withdrawn_on)
    assert attendance.after_withdrawal(wednesday_morning, julien.withdrawn_on)
    assert attendance.after_withdrawal(wednesday_afternoon, julien.withdrawn_on)
    assert not attendance.after_withdrawal(wednesday_afternoon, None)
    grid = attendance.session_grid(session)
    row = next(r for r in grid.rows if r.enrolment == julien)
    assert [c.state for c in row.cells] == ["signed", "signed"] + ["withdrawn"] * 4  # Wed morning was signed
    assert {c.withdrawn_on for c in row.cells[2:]} == {date(2018, 12, 12)}
    assert grid.missing == 0
    assert all(c.missing == 0 for c in grid.columns)


def test_excel_grid_says_abandon_instead_of_missing_signature():
    session, funder, awa, julien = dropout_course()
    book = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    rows = list(book.active.iter_rows(min_row=5, values_only=True))
    julien_row = next(r for r in rows if r[0] == "Julien Bihan")
    cells, figures = julien_row[2:8], julien_row[8:]
    assert cells[0].startswith("Présent·e") and cells[1].startswith("Présent·e")
    assert list(cells[2:]) == [WITHDRAWN] * 4
    assert "signature manquante" not in " ".join(map(str, julien_row))
    assert figures == (21, 7, 0, 14, 0)   # hours planned, attended, justified, unjustified; missing signatures


def test_word_sheet_says_abandon_and_the_blank_sheet_stays_blank():
    session, funder, awa, julien = dropout_course()
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    julien_row = text.split("Julien BIHAN")[1].split("Awa DIALLO")[0]   # a table row over several lines
    assert julien_row.count("signé à") == 2 and julien_row.count(WITHDRAWN) == 4
    assert WITHDRAWN not in factories.docx_text(attendance_sheet.word_sheet(session, blank=True))


def no_show_course(trainer, admin):
    """Bob never came: withdrawn on the first day, before anyone marked him; the course then ran."""
    factories.make_organisation()
    session, (awa, bob) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    first = session.slots[0]
    with frozen_at(first.starts_at + timedelta(minutes=20)):
        enrolments.withdraw(bob, first.date, "Ne s'est jamais présenté", actor=admin)
        db.session.commit()
    factories.take_attendance(session, trainer)
    return session, awa, bob


def test_a_no_show_withdrawn_before_any_mark_is_on_the_grid_as_the_totals_count_him(trainer, admin):
    session, awa, bob = no_show_course(trainer, admin)
    totals = attendance.totals_for_session(session)
    assert totals[bob.id] == AttendanceTotals(21 * 60, 0, 0, 21 * 60)
    grid = attendance.session_grid(session)
    assert {row.enrolment.id: row.totals for row in grid.rows} == totals  # the grid, the claim: the same people
    bob_row = next(row for row in grid.rows if row.enrolment == bob)
    assert [c.state for c in bob_row.cells] == ["withdrawn"] * 6 and grid.missing == 0
    sheet = attendance.slot_sheet(session.slots[0])
    bob_line = next(row for row in sheet.rows if row.enrolment == bob)
    assert bob_line.withdrawn_on == session.slots[0].date and not bob_line.signature_missing
    assert sheet.is_closed  # the trainer closed it: a withdrawn row is neither to sign nor to mark


def test_the_word_and_excel_sheets_of_the_claim_show_the_no_show(trainer, admin):
    session, awa, bob = no_show_course(trainer, admin)
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert bob.trainee.formal_name in text and text.count("abandon le 05/03/2030") == 6
    book = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    bob_row = next(r for r in book.active.iter_rows(min_row=5, values_only=True) if r[0] == bob.trainee.full_name)
    assert list(bob_row[2:8]) == ["abandon le 05/03/2030"] * 6
    assert bob_row[8:] == (21, 0, 0, 21, 0)  # hours planned, attended, justified, unjustified; missing signatures


def test_a_half_day_before_the_withdrawal_left_unmarked_is_marked_before_its_sheet_closes(trainer, admin):
    """Tuesday's sheet is still open when Bob's withdrawal is recorded from Wednesday: he was expected on
    Tuesday (the totals plan it), so Tuesday's sheet lists him and asks for his status before closing."""
    session, (awa, bob) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    tuesday, wednesday = session.slots[0], session.slots[1]
    with frozen_at(tuesday.starts_at + timedelta(minutes=10)):
        attendance.sign(tuesday, awa, factories.signature_data_url(), method="device")
        db.session.commit()
    with frozen_at(wednesday.starts_at + timedelta(minutes=10)):
        enrolments.withdraw(bob, wednesday.date, "Arrêt maladie", actor=admin)
        db.session.commit()
        assert [r.enrolment for r in attendance.slot_sheet(tuesday).rows] == [awa, bob]
        with pytest.raises(ServiceError, match=f"marquez absent·e : {bob.trainee.full_name}"):
            attendance.close_slot(tuesday, admin)
        db.session.rollback()
        attendance.mark(tuesday, bob, "absent_unjustified", actor=admin)  # Tuesday is over: the office marks
        db.session.commit()
        with pytest.raises(ServiceError, match="n'est pas confirmée"):
            attendance.mark(wednesday, bob, "absent_unjustified", actor=trainer)  # withdrawn by then
        db.session.rollback()
    assert attendance.totals_for(bob).absent_unjustified_minutes == 21 * 60
