"""What a trainer's signature of a sheet vouches for, and when it is asked for.

- The trainer's signature is "missing" only once the trainer can sign (closing_opens).
"""
import io
from datetime import timedelta

import openpyxl

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.services import attendance


def test_the_trainers_signature_is_missing_only_once_it_can_be_given(trainer):
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    slot = session.slots[1]  # 9:30-12:30: the trainer signs from 12:00 (closing_opens)

    def trainer_state():
        grid = attendance.session_grid(session)
        book = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
        row = next(r for r in book.active.iter_rows(values_only=True) if r[0] == "Formateur·rice")
        return grid.columns[1].trainer_missing, grid.columns[1].missing, row[3]

    with frozen_at(slot.starts_at + timedelta(minutes=20)):
        attendance.sign(slot, awa, factories.signature_data_url(), method="device")
        db.session.commit()
        assert trainer_state() == (False, 0, None)
    with frozen_at(attendance.closing_opens(slot)):
        assert trainer_state() == (True, 0, "signature manquante")
