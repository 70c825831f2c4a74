"""Dates and times typed badly: the message names the field and the format expected (forms.FrenchDateField,
FrenchTimeField), never WTForms' "N'est pas une date valide." alone, and what else was typed stays in the form.
A date is read as the browser's <input type="date"> sends it (2030-03-05) and as a person writes it (05/03/2030)."""
from datetime import date, datetime, time

import pytest
from flask_wtf import FlaskForm
from wtforms.fields import DateTimeField

from tests import factories
from tests.web.test_funding import make_world
from tests.web.test_sessions import session_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app import forms
from training_app.models import FundingAgreement, Slot, TrainingSession

WTFORMS_DEFAULTS = ("N'est pas une date valide", "Not a valid date value", "Not a valid time value",
                    "N'est pas une heure valide", "Not a valid datetime value")


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def _field_error(page: str, field_id: str) -> str:
    return page.split(f'id="{field_id}-erreur"')[1].split(">", 1)[1].split("</div>")[0]


def _every_form_class(cls=FlaskForm):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _every_form_class(subclass)


def test_every_date_and_time_field_of_the_app_names_itself_and_its_format(app):
    """The app's forms (each blueprint's forms module is imported with the app) use no WTForms date or time field
    of their own: a new one would say "N'est pas une date valide." again."""
    fields = [(form.__name__, name, unbound.field_class) for form in set(_every_form_class())
              if form.__module__.startswith("training_app")
              for name, unbound in vars(form).items() if hasattr(unbound, "field_class")
              and issubclass(unbound.field_class, DateTimeField)]
    assert len(fields) > 20
    assert [(form, name) for form, name, field_class in fields
            if not issubclass(field_class, (forms.FrenchDateField, forms.FrenchTimeField))] == []


@pytest.mark.parametrize("overrides, field_id, message", [
    ({"start_date": "2030-13-45"}, "start_date", "Date de début : saisissez une date au format JJ/MM/AAAA."),
    ({"end_date": "8 mars"}, "end_date", "Date de fin : saisissez une date au format JJ/MM/AAAA."),
    ({"start_date": "31/02/2030"}, "start_date", "Date de début : saisissez une date au format JJ/MM/AAAA."),
    ({"start_time": "9h75"}, "start_time",
     "Heure de début : saisissez une heure au format HH:MM (par exemple 09:30)."),
    ({"morning_end": "midi"}, "morning_end",
     "« Matin : fin » : saisissez une heure au format HH:MM (par exemple 09:30)."),
    # what a browser sends for a date typed in part (day and month): nothing
    ({"end_date": ""}, "end_date", "Date de fin : saisissez une date au format JJ/MM/AAAA."),
    ({"end_time": ""}, "end_time", "Heure de fin : saisissez une heure au format HH:MM (par exemple 09:30)."),
])
def test_a_date_or_time_typed_badly_names_its_field_and_format_and_keeps_the_rest(admin_client, overrides,
                                                                                  field_id, message):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, place="Salle Jean Jaurès", contact_person="Claire Bernard", capacity="12", **overrides))
    page = _text(response)
    assert response.status_code == 200
    assert _field_error(page, field_id) == message
    assert not any(default in page for default in WTFORMS_DEFAULTS)
    typed = overrides[field_id]
    assert f'value="{typed}"' in page  # what was typed, to correct
    for kept in ('Salle Jean Jaurès</textarea>', 'value="Claire Bernard"', 'value="12"', 'value="840"'):
        assert kept in page, kept
    for other, value in session_form(programme).items():  # the other dates and times, as typed
        if other.endswith(("_date", "_time", "_start", "_end")) and other != field_id:
            assert f'name="{other}" required type="{"date" if other.endswith("_date") else "time"}" ' \
                   f'value="{value}"' in page, other
    assert db.session.scalar(db.select(db.func.count(TrainingSession.id))) == 0


def test_a_date_is_read_as_the_browser_sends_it_and_as_a_person_writes_it(admin_client):
    """<input type="date"> sends 2030-03-05 whatever it shows; typed by hand (no date picker), 05/03/2030."""
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, start_date="05/03/2030", end_date="2030-03-08"))
    assert response.status_code == 302
    session = db.session.scalar(db.select(TrainingSession))
    assert (session.start_at, session.end_at) == (datetime(2030, 3, 5, 14, 0), datetime(2030, 3, 8, 12, 30))
    page = _text(admin_client.get(f"/sessions/{session.id}/modifier"))  # forms.DATE_FORMATS[0]
    assert 'type="date" value="2030-03-05"' in page and 'type="time" value="14:00"' in page


def test_a_half_day_typed_badly_is_refused_on_the_session_page_with_the_times_kept(admin_client):
    """The half-day form sits on the session's page: refused, the page comes back with what was typed (it used to
    redirect, the times lost and the message at the top of the page)."""
    session = factories.make_session()
    with frozen_at(datetime(2030, 1, 10, 10)):
        response = admin_client.post(f"/sessions/{session.id}/creneaux",
                                     data={"date": "20/13/2030", "start_time": "09:30", "end_time": "12:30"})
        page = _text(response)
        assert response.status_code == 422
        assert _field_error(page, "date") == "Date : saisissez une date au format JJ/MM/AAAA."
        assert "La demi-journée n'a pas été ajoutée : voyez le formulaire « Ajouter une demi-journée » plus bas." \
            in page  # at the top of the page
        form = page.split('data-testid="slot-form"')[1].split("</form>")[0]
        assert 'value="20/13/2030"' in form and 'value="09:30"' in form and 'value="12:30"' in form
        assert not any(default in page for default in WTFORMS_DEFAULTS)
        added = admin_client.post(f"/sessions/{session.id}/creneaux",
                                  data={"date": "20/03/2030", "start_time": "09:30", "end_time": "12:30"})
        assert added.status_code == 302
    assert db.session.scalar(db.select(Slot).where(Slot.date == date(2030, 3, 20))).start_time == time(9, 30)


def test_a_funding_date_typed_badly_names_its_field_and_keeps_the_request(admin_client):
    world = make_world()
    session, (awa, *_rest) = world["session"], world["enrolments"]
    response = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau", data={
        "funder_id": str(world["funder"].id), "employer_id": "0", "enrolments": [str(awa.id)],
        "requested_on": "le 2 novembre", "file_number": "UNI-777", "mode": "subrogation", "hourly_rate": "15",
        "amount": "", "hourly_cap": "", "notes": "Envoyé par courrier"})
    page = _text(response)
    assert _field_error(page, "requested_on") == "Date de la demande : saisissez une date au format JJ/MM/AAAA."
    assert 'value="UNI-777"' in page and "Envoyé par courrier</textarea>" in page and 'value="15"' in page
    assert f'<input checked class="form-check-input" id="enrolments-0" name="enrolments" type="checkbox" ' \
           f'value="{awa.id}">' in page  # the trainee chosen
    assert db.session.scalar(db.select(db.func.count(FundingAgreement.id))) == 0
