"""Form helpers shared by every blueprint."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField
from wtforms.validators import NumberRange, Optional


CAPACITY_RANGE = (NumberRange(min=1, message=_l("La capacité doit être d'au moins 1 place.")),
                  NumberRange(max=1000, message=_l("La capacité ne peut pas dépasser 1000 places.")))
MAX_EUROS = 10_000_000  # amounts are stored in integer cents (a 32-bit column): far above any course's figures


class FrenchDecimalField(DecimalField):
    """A decimal number typed the French way too: "25,50" and "1 200,00" are read as 25.50 and 1200.00.
    "NaN", "Infinity" and the like are not numbers here (a browser's number input lets "1e30" through)."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [value.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
                         for value in valuelist]
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(_l("Indiquez un nombre, par exemple 840 ou 840,50."))


def euros_field(label, required=False):
    """A price in euros (two decimals, not negative, at most MAX_EUROS); services take integer cents."""
    from wtforms.validators import InputRequired
    validators = [InputRequired(message=_l("Indiquez un montant."))] if required else [Optional()]
    validators += [NumberRange(min=0, message=_l("Le montant ne peut pas être négatif.")),
                   NumberRange(max=MAX_EUROS, message=_l("Le montant ne peut pas dépasser 10 000 000 €."))]
    return FrenchDecimalField(label, places=2, validators=validators,
                              render_kw={"inputmode": "decimal", "step": "0.01", "min": "0"})


def to_cents(value: Decimal | None) -> int | None:
    if value is None:
        return None
    return int((value * 100).quantize(Decimal("1")))


def from_cents(cents: int | None) -> Decimal | None:
    if cents is None:
        return None
    return Decimal(cents) / 100


def attach_service_error(form, error) -> None:
    """Show a ServiceError next to its field (or at the top of the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors or []) + [error.message]
    else:
        form.form_errors.append(error.message)


REFUSED = object()  # what commit_or_flash() returns when a rule refused the operation


def commit_or_flash(operation):
    """A button's action: run `operation` (a service call) and commit; if a rule refuses it, roll back (nothing
    half-written) and flash the refusal. Returns what `operation` returned, or REFUSED."""
    from flask import flash

    from training_app.extensions import db
    from training_app.services import ServiceError

    try:
        result = operation()
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return REFUSED
    db.session.commit()
    return result


def committed_or_flashed(operation, done: str) -> bool:
    """commit_or_flash(), then flash `done` when committed. True when committed."""
    from flask import flash

    if commit_or_flash(operation) is REFUSED:
        return False
    flash(done, "success")
    return True


def committed(form, operation) -> bool:
    """Run `operation` (a service call) and commit it; if a rule refuses it, roll back (nothing half-written)
    and show the refusal on `form`. True when committed."""
    from training_app.extensions import db
    from training_app.services import ServiceError

    try:
        operation()
    except ServiceError as error:
        db.session.rollback()
        attach_service_error(form, error)
        return False
    db.session.commit()
    return True
