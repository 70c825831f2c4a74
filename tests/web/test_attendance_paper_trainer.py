"""A half-day closed on the paper sheet's scan, no trainer having signed in the application: the scan stands
for the trainer's signature (attendance.scan_stands_for_trainer). The closing says so, and the overview, the
Word sheet and the Excel grid send to the paper sheet instead of an empty trainer box, like a half-day to come."""
import io
from datetime import timedelta

import docx
import openpyxl

from tests import factories
from tests.unit.test_attendance_office_closing import with_paper_scan
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.services import attendance

ON_PAPER = "voir la feuille papier"


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def closed_on_paper(trainer, admin, admin_client):
    """Tuesday afternoon, both trainees marked present, signed on paper; the office closes on the scan."""
    factories.make_organisation()
    session, enrolments = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        for enrolment in enrolments:
            attendance.mark(slot, enrolment, "present", actor=trainer)
        db.session.commit()
        with_paper_scan(slot, admin)
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        response = admin_client.post(f"/sessions/{session.id}/emargement/{slot.id}/clore", data={},
                                     follow_redirects=True)
    db.session.expire_all()
    return session, slot, response


def test_closing_on_a_scan_does_not_say_signed(trainer, admin, admin_client):
    _session, slot, response = closed_on_paper(trainer, admin, admin_client)
    assert response.status_code == 200 and attendance.slot_sheet(slot).is_closed
    page = text(response)
    assert "Feuille close (feuille papier jointe)." in page
    assert "Feuille signée et close." not in page


def test_the_overview_sends_to_the_paper_sheet_for_the_trainer(trainer, admin, admin_client):
    session, slot, _response = closed_on_paper(trainer, admin, admin_client)
    with frozen_at(slot.ends_at + timedelta(minutes=30)):
        page = text(admin_client.get(f"/sessions/{session.id}/emargement"))
    footer = page[page.index("<tfoot>"):]
    assert 'data-testid="trainer-on-paper"' in footer and ON_PAPER in footer
    assert footer.count('data-testid="trainer-on-paper"') == 1  # the half-days to come stay empty


def test_the_word_sheet_sends_to_the_paper_sheet_for_the_trainer(trainer, admin, admin_client):
    session, _slot, _response = closed_on_paper(trainer, admin, admin_client)
    document = docx.Document(io.BytesIO(attendance_sheet.word_sheet(session)))
    trainer_row = next(row for table in document.tables for row in table.rows
                       if row.cells[0].text.startswith("Signature du / de la formateur"))
    cells = [cell.text.strip() for cell in trainer_row.cells[1:]]
    assert cells[0] == ON_PAPER
    assert not any(cells[1:])  # the half-days to come: nothing yet


def test_the_excel_grid_sends_to_the_paper_sheet_for_the_trainer(trainer, admin, admin_client):
    session, _slot, _response = closed_on_paper(trainer, admin, admin_client)
    rows = list(openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session))).active
                .iter_rows(values_only=True))
    trainer_row = next(row for row in rows if row[0] == "Formateur·rice")
    assert trainer_row[2] == ON_PAPER
    assert not any(trainer_row[3:8])
