"""A whole number (forms.FrenchIntegerField: a funder's cap year, seats, days): what cannot be read gets one
message naming the field, not WTForms' English-born "N'est pas un entier valide." followed by the range check's."""
import pytest
from werkzeug.datastructures import MultiDict

from training_app.blueprints.funding.forms import HourlyCapForm


def _errors(app, year):
    with app.test_request_context(), app.app_context():
        form = HourlyCapForm(formdata=MultiDict({"year": year, "cap": "28"}), meta={"csrf": False})
        form.validate()
        return form.year.errors, form.year.data


@pytest.mark.parametrize("typed", ["abc", "2026,5", "deux mille"])
def test_a_year_that_cannot_be_read_gets_one_message_naming_the_field(app, typed):
    assert _errors(app, typed) == (["Année : saisissez un nombre entier."], None)


@pytest.mark.parametrize("typed, errors", [
    ("", ["Indiquez l'année."]),
    ("1999", ["Indiquez une année entre 2000 et 2100."]),
    ("2026", []),
])
def test_a_year_read_is_still_checked_against_its_range(app, typed, errors):
    assert _errors(app, typed)[0] == errors
