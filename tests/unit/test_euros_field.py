"""An amount in euros (forms.euros_field): typed to the cent, the French way; what cannot be read gets one message,
not the range checks' too; more than two decimals is a typo, refused rather than rounded."""
import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from training_app.forms import euros_field, to_cents


class AmountForm(FlaskForm):
    class Meta:
        csrf = False

    amount = euros_field("Montant", required=True)
    rate = euros_field("Taux")


def _read(app, **typed):
    with app.test_request_context(), app.app_context():
        form = AmountForm(formdata=MultiDict(typed))
        form.validate()
        return {name: field.errors for name, field in form._fields.items() if field.errors}, form


@pytest.mark.parametrize("typed, errors", [
    ("abc", ["Indiquez un nombre, par exemple 840 ou 840,50."]),
    ("15,545", ["Indiquez au plus deux décimales (les centimes), par exemple 15,55."]),
    ("0,001", ["Indiquez au plus deux décimales (les centimes), par exemple 15,55."]),
    ("-1", ["Le montant ne peut pas être négatif."]),
    ("", ["Indiquez un montant."]),
])
def test_an_amount_that_cannot_be_stored_to_the_cent_gets_one_message(app, typed, errors):
    assert _read(app, amount=typed, rate="")[0] == {"amount": errors}


@pytest.mark.parametrize("typed, cents", [("15,54", 1554), ("15,540", 1554), ("1 200,5", 120050), ("840", 84000)])
def test_an_amount_to_the_cent_is_read_to_the_cent(app, typed, cents):
    errors, form = _read(app, amount=typed)
    assert errors == {} and to_cents(form.amount.data) == cents and form.rate.data is None
