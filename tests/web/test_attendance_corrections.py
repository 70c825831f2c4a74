"""An administrator's correction of a closed sheet says what it is on every copy of the sheet: the Word
sheet (the reason in a numbered note below the table), the Excel grid and the session's grid page.
Julien was marked absent on Tuesday afternoon, the sheet was closed, then the office set him present."""
import io
from datetime import datetime, timedelta

import openpyxl

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.services import attendance

REASON = "Oubli de signature, présent selon la formatrice"


def corrected_course(trainer, admin):
    factories.make_organisation()
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device", actor=trainer)
        attendance.mark(slot, julien, "absent_unjustified", actor=trainer)
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))
    db.session.commit()
    with frozen_at(datetime(2030, 3, 12, 10, 0)):
        attendance.mark(slot, julien, "present", actor=admin, reason=REASON)
    db.session.commit()
    return session, julien


def test_the_word_sheet_says_present_corrected_by_the_office_with_the_reason_in_a_note(trainer, admin):
    session, julien = corrected_course(trainer, admin)
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    julien_row = text[text.index(julien.trainee.formal_name):]
    assert julien_row.split(" | ")[1].strip() == "Présent·e — corrigé par l'administration le 12/03/2030 (1)"
    assert f"(1) Motif de la correction : {REASON}." in text


def test_the_excel_grid_says_corrected_instead_of_missing_signature(trainer, admin):
    session, julien = corrected_course(trainer, admin)
    workbook = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    row = next(r for r in workbook.active.iter_rows(values_only=True) if r[0] == julien.trainee.full_name)
    assert row[2] == f"Présent·e (4 h) — corrigé par l'administration le 12/03/2030 : {REASON}"
    assert row[-1] == 0  # no missing signature


def test_the_grid_page_shows_the_correction_and_no_missing_signature(trainer_client, trainer, admin):
    session, _julien = corrected_course(trainer, admin)
    with frozen_at(datetime(2030, 3, 5, 18, 30)):  # after the first half-day, the others are to come
        page = trainer_client.get(f"/sessions/{session.id}/emargement").get_data(as_text=True).replace("&#39;", "'")
    assert 'class="grid-cell corrected"' in page and 'class="grid-cell missing"' not in page
    assert 'data-testid="missing-count"' not in page
    assert f"corrigé par l'administration le 12/03/2030 : {REASON}" in page
