"""The attendance sheets (Word, Excel, the half-day's page) print the employer the trainee followed the course for,
as the certificates name it (enrolments.course_employers), not the trainee's record as it is now."""
import io

import openpyxl

from tests import factories
from tests.certificate_course import completed_course
from tests.unit.test_certificates_review import _move_to
from training_app.documents import attendance_sheet
from training_app.extensions import db


def _excel_employers(session) -> dict[str, str]:
    sheet = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session))).active
    return {row[0]: row[1] or "" for row in sheet.iter_rows(min_row=5, values_only=True)
            if row[0] and row[0] not in ("Total", "Formateur·rice")}


def _word_rows(session, blank=False) -> str:
    return factories.docx_text(attendance_sheet.word_sheet(session, blank=blank))


def test_the_sheets_print_the_employer_of_the_course_not_the_one_the_trainee_moved_to():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    _move_to(course.enrolments[1].trainee, "Mairie de Vitré")  # after the course: the enrolment keeps CCAS

    for blank in (False, True):
        text = _word_rows(course.session, blank)
        assert "M. Julien LE BIHAN\nCCAS de Rennes |" in text and "Vitré" not in text
    assert _excel_employers(course.session) == {"Awa Diallo": "", "Julien Le Bihan": "CCAS de Rennes"}


def test_the_sheets_print_the_employer_named_by_the_funding_agreement():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    association = factories.make_employer(name="Association Les Liens", siret="44195127000004")
    factories.make_agreement(course.session, [course.enrolments[0]], employer=association)
    db.session.commit()

    assert "Mme Awa DIALLO\nAssociation Les Liens |" in _word_rows(course.session)
    assert _excel_employers(course.session)["Awa Diallo"] == "Association Les Liens"


def test_the_half_day_s_page_shows_the_employer_of_the_course(admin_client):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    _move_to(course.enrolments[1].trainee, "Mairie de Vitré")
    slot = course.session.slots[0]
    page = admin_client.get(f"/sessions/{course.session.id}/emargement/{slot.id}").get_data(as_text=True)
    assert "CCAS de Rennes" in page and "Vitré" not in page
