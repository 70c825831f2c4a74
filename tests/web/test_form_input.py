"""Odd but possible input gets a French message on its field and writes nothing, or is cleaned: amounts
typed in scientific notation, text longer than its column (PostgreSQL refuses it), invisible characters
pasted from other programs, digits of other scripts, dates far off."""
import io
import re
from datetime import datetime

import openpyxl
import pytest

from tests import factories
from tests.web.test_sessions import session_form
from training_app.clock import frozen_at
from training_app.documents.excel import write_text
from training_app.extensions import db
from training_app.models import Employer, Enrolment, Programme, Slot, Trainee, TrainingSession

BEFORE = datetime(2030, 1, 10, 10)


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def programme_form(**overrides):
    return {"title": "Négocier", "kind": "external", "cycle_id": "0", "objectives": "Préparer",
            "duration_hours": "21", "default_capacity": "15", "price": "840", **overrides}


def registration(**overrides):
    return {"civility": "Mme", "first_name": "Awa", "last_name": "Diallo", "email": "awa@example.org", "phone": "",
            "job_title": "Assistante sociale", "employer_name": "CCAS de Rennes", "employer_siret": "",
            "funding_mode": "opco", "consent": "y", "website": "", **overrides}


@pytest.mark.parametrize("amount, message", [
    ("1e30", "ne peut pas dépasser 10\u202f000\u202f000,00\u202f€"), ("Infinity", "Indiquez un nombre"), ("NaN", "Indiquez un nombre"),
    ("-5", "ne peut pas être négatif"),
])
def test_amounts_that_are_not_prices_are_refused_on_their_field(admin_client, amount, message):
    response = admin_client.post("/admin/formations/nouvelle", data=programme_form(price=amount))
    assert response.status_code == 200 and message in _text(response)
    assert 'value="Négocier"' in _text(response)  # what was typed is kept
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0


NOT_A_CHOICE, NOT_A_NUMBER = "N'est pas un choix valide.", "Choix non valide, ne peut pas être converti."


@pytest.mark.parametrize("field, value, message", [
    ("cycle_id", "abc", NOT_A_NUMBER), ("cycle_id", "1.5", NOT_A_NUMBER), ("cycle_id", "999999", NOT_A_CHOICE),
    ("cycle_id", "99999999999999999999", NOT_A_CHOICE), ("kind", "bogus", NOT_A_CHOICE), ("kind", "", NOT_A_CHOICE),
])
def test_a_programme_with_an_odd_cycle_or_kind_gets_a_french_message(admin_client, field, value, message):
    """A cycle deleted since the page was read, or a forged value: the form says so in French on the field,
    writes nothing, no 500."""
    response = admin_client.post("/admin/formations/nouvelle", data=programme_form(**{field: value}))
    assert response.status_code == 200 and message in _text(response)
    assert 'value="Négocier"' in _text(response)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0
    programme = factories.make_programme(title="Accueillir", objectives=("Préparer",))
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier", data=dict(
        programme_form(title="Accueillir autrement", **{field: value}), version=factories.version_of(programme)))
    assert response.status_code == 200 and message in _text(response)
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).title == "Accueillir"


def test_a_capacity_too_large_says_so(admin_client):
    response = admin_client.post("/admin/formations/nouvelle", data=programme_form(default_capacity="5000"))
    assert "ne peut pas dépasser 1000 places" in _text(response) and "au moins 1 place" not in _text(response)


def test_text_longer_than_its_column_is_refused_on_its_field(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle",
                                 data=session_form(programme, contact_person="Claire Bernard, chargée " * 10))
    assert response.status_code == 200 and "plus de 200 caractères" in _text(response)
    assert db.session.scalar(db.select(db.func.count(TrainingSession.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Slot.id))) == 0


def test_a_session_of_several_years_is_refused(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(programme, end_date="2099-03-08"))
    assert "Une session dure au plus un an" in _text(response)
    assert db.session.scalar(db.select(db.func.count(Slot.id))) == 0


@pytest.mark.parametrize("field, value", [("start_date", "9999-12-30"), ("end_date", "9999-12-31"),
                                          ("start_date", "0001-01-01"), ("end_date", "2999-03-08")])
def test_a_date_of_an_impossible_year_is_refused_on_its_field_and_the_form_kept(admin_client, field, value):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle",
                                 data=session_form(programme, place="Salle Jean Jaurès", **{field: value}))
    page = _text(response)
    assert response.status_code == 200
    label = {"start_date": "Date de début", "end_date": "Date de fin"}[field]
    assert f"{label} : saisissez une date entre 2000 et 2100, au format JJ/MM/AAAA." in page
    assert "Salle Jean Jaurès" in page  # what was typed is still there
    assert db.session.scalar(db.select(db.func.count(TrainingSession.id))) == 0


def test_a_half_day_or_a_funding_date_of_an_impossible_year_is_refused_on_its_field(admin_client):
    session = factories.make_session()
    with frozen_at(BEFORE):
        added = admin_client.post(f"/sessions/{session.id}/creneaux",
                                  data={"date": "9999-12-31", "start_time": "09:30", "end_time": "12:30"},
                                  follow_redirects=True)
        assert "Date : saisissez une date entre 2000 et 2100, au format JJ/MM/AAAA." in _text(added)
        funder = factories.make_funder()
        agreement = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau", data={
            "funder_id": str(funder.id), "employer_id": "0", "enrolments": [], "requested_on": "9999-01-01",
            "file_number": "", "mode": "subrogation", "hourly_rate": "15", "amount": "", "hourly_cap": "",
            "notes": ""})
        assert "Date de la demande : saisissez une date entre 2000 et 2100, au format JJ/MM/AAAA." in _text(agreement)
    assert db.session.scalar(db.select(db.func.count(Slot.id))) == 6


def test_invisible_characters_are_removed_from_what_is_typed(client, admin_client):
    """A backspace pasted into a name cannot be written to Excel (the grid was a 500); a name made of zero-width
    spaces only is no name."""
    session = factories.make_session(capacity=5)
    with frozen_at(BEFORE):
        response = client.post(f"/formations/sessions/{session.id}/inscription",
                               data=registration(first_name="\u200b\ufeff", email="z@example.org"))
        assert "Indiquez le prénom" in _text(response)
        assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 0
        response = factories.register_and_confirm(client, session, registration(
            last_name="Dia\x08llo\x00", job_title="Assistante\tsociale"))
        assert response.status_code == 200
    trainee = db.session.scalar(db.select(Trainee))
    assert (trainee.last_name, trainee.job_title) == ("Diallo", "Assistante sociale")
    grid = admin_client.get(f"/sessions/{session.id}/emargement/grille.xlsx")
    assert grid.status_code == 200
    cells = [c.value for row in openpyxl.load_workbook(io.BytesIO(grid.data)).active.iter_rows() for c in row]
    assert any("Diallo" in str(value) for value in cells)


def test_line_breaks_arrive_as_one_character_each(admin_client):
    """Browsers send a text box's line breaks as CR LF but count them as one character against its maxlength:
    stored as one, a text as long as the box allows is not refused as too long."""
    response = admin_client.post("/admin/formations/nouvelle", data=programme_form(
        objectives="Préparer\r\nSuivre\rConclure", rationale="Pourquoi ?\r\nParce que."))
    assert response.status_code == 302
    programme = db.session.scalar(db.select(Programme))
    assert programme.rationale == "Pourquoi ?\nParce que."
    assert [o.text for o in programme.objectives] == ["Préparer", "Suivre", "Conclure"]


def test_text_stored_with_control_characters_is_still_exported():
    """Text stored before forms cleaned it (or written by a script) must not stop an export."""
    sheet = openpyxl.Workbook().active
    write_text(sheet["A1"], "Très bien\x08\x1b !")
    write_text(sheet["A2"], "=SUM(A1)")
    out = io.BytesIO()
    sheet.parent.save(out)
    read = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert (read["A1"].value, read["A2"].value, read["A2"].data_type) == ("Très bien !", "=SUM(A1)", "s")


@pytest.mark.parametrize("siret", ["７８３２４５２１０００００１", "٧٨٣٢٤٥٢١٠٠٠٠٠١"])
def test_a_siret_in_other_scripts_digits_is_refused(client, siret):
    session = factories.make_session()
    with frozen_at(BEFORE):
        response = client.post(f"/formations/sessions/{session.id}/inscription",
                               data=registration(employer_siret=siret))
    assert "doit compter 14 chiffres" in _text(response)
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 0


def test_an_imported_cell_longer_than_its_column_is_reported_on_its_row(admin_client):
    """On PostgreSQL the whole list used to be lost at the confirmation (a generic error page)."""
    session = factories.make_session()
    rows = [("Civilité", "Nom", "Prénom", "E-mail", "Fonction", "Structure employeuse", "SIRET de la structure"),
            ("Mme", "Diallo", "Awa", "awa@example.org", "Assistante sociale", "", ""),
            ("Mme", "Renaud", "Sophie", "sophie@example.org", "Assistante sociale de secteur, référente " * 6, "", "")]
    with frozen_at(BEFORE):
        preview = admin_client.post(f"/sessions/{session.id}/import",
                                    data={"file": (io.BytesIO(factories.xlsx_bytes(rows)), "liste.xlsx")})
        assert "La fonction dépasse 200 caractères." in _text(preview)
        token = re.search(r'name="upload"[^>]*value="([^"]+)"', _text(preview)).group(1)
        confirm = admin_client.post(f"/sessions/{session.id}/import/confirmer", data={"upload": token})
    assert confirm.status_code in (200, 302)
    emails = db.session.scalars(db.select(Trainee.email).join(Enrolment, Enrolment.trainee_id == Trainee.id)).all()
    assert emails == ["awa@example.org"]


def test_a_withdrawal_cannot_be_dated_before_the_session(admin_client):
    session = factories.make_session()
    enrolment = factories.enrol(session)
    with frozen_at(datetime(2030, 3, 6, 10)):
        response = admin_client.post(f"/inscriptions/{enrolment.id}/abandon",
                                     data={"withdrawn_on": "2001-01-01", "reason": "Ne vient plus"},
                                     follow_redirects=True)
    assert "Un abandon se date à partir du premier jour de la session (05/03/2030)" in _text(response)
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).status == "confirmed"
