"""Form helpers shared by every blueprint."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateField, DecimalField, FileField, HiddenField, IntegerField, PasswordField,
                     SubmitField, TimeField)
from wtforms.fields.choices import SelectFieldBase
from wtforms.validators import InputRequired, NumberRange, Optional, StopValidation

from training_app.formatting import money


CAPACITY_RANGE = (NumberRange(min=1, message=_l("La capacité doit être d'au moins 1 place.")),
                  NumberRange(max=1000, message=_l("La capacité ne peut pas dépasser 1000 places.")))
MAX_EUROS = 10_000_000  # amounts are stored in integer cents (a 32-bit column): far above any course's figures


NOT_A_NUMBER = _l("Indiquez un nombre, par exemple 840 ou 840,50.")


class FrenchDecimalField(DecimalField):
    """A decimal number typed the French way too: "25,50" and "1 200,00" are read as 25.50 and 1200.00.
    "NaN", "Infinity" and the like are not numbers here (a browser's number input lets "1e30" through).
    What cannot be read gets one message (NOT_A_NUMBER): the range checks, which would say the nothing read is
    out of range, are not run."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [value.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
                         for value in valuelist]
            if not valuelist[0]:
                self.data = None  # nothing typed: Optional or InputRequired says what it means
                return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(NOT_A_NUMBER) from None
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(NOT_A_NUMBER)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message is already there


DATE_YEARS = (2000, 2100)  # a date typed outside is a typo (9999 for 2029): refused before any rule sees it
# What a date field reads. A browser's <input type="date"> sends 2030-03-05 whatever it shows (jj/mm/aaaa in
# French) once the date is complete, nothing while it is not, and a year typed in part as such (0020-03-05, refused
# by DATE_YEARS); a browser without a date picker, or a hand-made request, sends what was typed: 05/03/2030 is read
# too (the format the messages ask for).
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]  # the first one is also the value written into the page's input
TIME_FORMATS = ["%H:%M"]  # <input type="time"> sends 09:30


def format_message(label, expected) -> str:
    """"<field> : saisissez <expected>." — the message of a date or time field that is empty or cannot be read:
    which field, and the format expected. A label holding a colon ("Matin : début") is quoted, so that the
    sentence still reads."""
    label = str(label)
    named = f"« {label} »" if ":" in label else label[:1].upper() + label[1:]
    return str(_l("%(field)s : saisissez %(expected)s.", field=named, expected=expected))


class _NamedFormat:
    """A date or time field whose value cannot be read is refused with format_message() (WTForms said "N'est pas
    une date valide.", naming neither the field nor the format), what was typed kept in the form."""

    expected = ""

    def format_message(self, expected=None) -> str:
        return format_message(self.label.text, expected or self.expected)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(self.format_message()) from None


class Filled(InputRequired):
    """InputRequired for a FrenchDateField or FrenchTimeField, with the same message as a value it cannot read
    (format_message): empty is also what a browser sends for a date typed in part."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except StopValidation:
            raise StopValidation(field.format_message()) from None


class FrenchIntegerField(_NamedFormat, IntegerField):
    """A whole number (a year, seats, days). What cannot be read gets one message naming the field (WTForms said
    "N'est pas un entier valide.", then the range checks said the nothing read was out of range)."""

    expected = _l("un nombre entier")

    def process_formdata(self, valuelist):
        if valuelist and not valuelist[0].strip():
            self.data = None  # nothing typed: Optional or InputRequired says what it means
            return
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message is already there


class FrenchTimeField(_NamedFormat, TimeField):
    """A time of day (hh:mm), refused with a message naming the field and the format."""

    expected = _l("une heure au format HH:MM (par exemple 09:30)")

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        super().__init__(label, validators, format or list(TIME_FORMATS), **kwargs)


class FrenchDateField(_NamedFormat, DateField):
    """A date of the training office's work, read as the browser sends it or as a person writes it (DATE_FORMATS);
    anything else is refused with a message naming the field and the format. A year outside DATE_YEARS is
    refused next to the field, with what was typed kept (a date near 9999 overflowed once combined with a time:
    a 400 page, the form lost)."""

    expected = _l("une date au format JJ/MM/AAAA")

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        super().__init__(label, validators, format or list(DATE_FORMATS), **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not DATE_YEARS[0] <= self.data.year <= DATE_YEARS[1]:
            self.data = None
            raise ValueError(self.format_message(_l("une date entre %(first)d et %(last)d, au format JJ/MM/AAAA",
                                                    first=DATE_YEARS[0], last=DATE_YEARS[1])))


def _cents(form, field) -> None:
    """An amount in euros has two decimals at most (15,545 € is a typo, not 15,54 € nor 15,55 €)."""
    if field.data is not None and field.data.normalize().as_tuple().exponent < -2:
        raise StopValidation(_l("Indiquez au plus deux décimales (les centimes), par exemple 15,55."))


def euros_field(label, required=False):
    """A price in euros (two decimals, not negative, at most MAX_EUROS); services take integer cents."""
    validators = [InputRequired(message=_l("Indiquez un montant."))] if required else [Optional()]
    validators += [NumberRange(min=0, message=_l("Le montant ne peut pas être négatif.")),
                   NumberRange(max=MAX_EUROS, message=_l("Le montant ne peut pas dépasser %(max)s.",
                                                          max=money(MAX_EUROS * 100))), _cents]
    return FrenchDecimalField(label, places=2, validators=validators,
                              render_kw={"inputmode": "decimal", "step": "0.01", "min": "0"})


def to_cents(value: Decimal | None) -> int | None:
    """Euros (two decimals at most, as euros_field takes them) in integer cents."""
    if value is None:
        return None
    return int((value * 100).quantize(Decimal("1")))


def from_cents(cents: int | None) -> Decimal | None:
    if cents is None:
        return None
    return Decimal(cents) / 100


class PhoneNumber:
    """A phone number typed, checked by the services' own rule (registrations.phone_mistake), which
    PersonDetails.cleaned() applies again whoever enrols someone."""

    def __call__(self, form, field) -> None:
        from training_app.services.registrations import phone_mistake  # services import forms' helpers
        mistake = phone_mistake(field.data)
        if mistake:
            raise StopValidation(mistake)


def attach_service_error(form, error) -> None:
    """Show a ServiceError next to its field (or at the top of the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors or []) + [error.message]
    else:
        form.form_errors.append(error.message)


def rules_passed(form, *checks) -> bool:
    """Run a service's own checks (callables raising ServiceError) on what `form` read, from its validate(): each
    refusal is shown next to its field (attach_service_error), all of them at once, so that one submit lists every
    mistake rather than one more at each submit. The rules stay in the service, which runs them again when it
    saves."""
    from training_app.services import ServiceError

    passed = True
    for check in checks:
        try:
            check()
        except ServiceError as error:
            attach_service_error(form, error)
            passed = False
    return passed


REFUSED = object()  # what commit_or_flash() returns when a rule refused the operation


def posted_state(name: str) -> bool:
    """The yes/no state a button asks for (`post_button(..., fields={name: 1})`), not a toggle: a double
    click, or a page left open while a colleague acted, asks for the same state again and changes nothing."""
    from flask import abort, request

    value = request.form.get(name)
    if value not in ("0", "1"):
        abort(400)
    return value == "1"


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


# --- edit forms with a version (optimistic locking: services/edit_versions.py) ----------------------------

class VersionField(HiddenField):
    """The version of the record the form was opened at (hidden). Missing or not a whole number: the form
    was not sent by our page as it is, refused with a message at the top of the form."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            try:
                self.data = int(valuelist[0])
            except (TypeError, ValueError):
                self.data = None

    def pre_validate(self, form):
        if not isinstance(self.data, int) or not 1 <= self.data <= 2**31 - 1:
            raise StopValidation(str(_l(
                "Le formulaire ne dit pas quelle version de la fiche vous avez ouverte : rien n'a été "
                "enregistré. Rechargez la page de modification, puis saisissez à nouveau vos changements.")))


class Versioned:
    """Mixin of an edit form carrying the version of its record (filled from `obj=record`): edit_committed()."""

    version = VersionField()


def edit_form(form_class, record, stored: bool = False, prepare=None, fill=None):
    """An edit form of `record`: as typed when submitted, else (or with `stored`: what edit_committed() compares
    with) filled from the record as stored, `fill(form)` setting what `obj=record` does not. `prepare(form)`
    sets what both need (choices)."""
    from training_app.services.edit_versions import version_of

    form = form_class(formdata=None, obj=record) if stored else form_class(obj=record)
    if prepare is not None:
        prepare(form)
    if stored or not form.is_submitted():
        form.version.data = version_of(record)  # not always `record.version` (questionnaires)
        if fill is not None:
            fill(form)
    return form


def edit_committed(form, record, operation, stored_form):
    """Save an edit form: run `operation` (the service call changing `record`) and commit, only if `record` is
    still at the version `form` was opened at. Returns what `operation` returned, or REFUSED:
    - a rule refused it: rolled back, the refusal shown on `form` (as committed());
    - someone else saved the record since (or saves it while we do): nothing written, `form` keeps what was
      typed and shows the message, the fields whose stored value now differs from it with that value, and
      carries the new version, so that saving again is a deliberate overwrite; edit_status(form) is 409.
    `stored_form()` builds the same form filled from the record as it is stored (as the edit page opens)."""
    from training_app.services import edit_versions

    return committed_unless_stale(form, lambda: edit_versions.save(record, form.version.data, operation),
                                  lambda _error: show_stale(form, stored_form()))


def committed_unless_stale(form, operation, on_stale):
    """edit_committed() for an `operation` that checks the version itself, under its lock (a service given the
    form's version: convocation texts, the assessment grid): run it and commit. A rule refusing it: rolled back,
    the refusal on `form`. Someone else saved meanwhile (StaleEdit, or the ORM's StaleDataError): rolled back,
    then `on_stale(error)` shows it on `form` (show_stale), so that edit_status(form) is 409. Returns what
    `operation` returned, or REFUSED."""
    from sqlalchemy.orm.exc import StaleDataError

    from training_app.extensions import db
    from training_app.services import ServiceError, edit_versions

    try:
        result = operation()
        db.session.commit()
    except (edit_versions.StaleEdit, StaleDataError) as error:
        db.session.rollback()
        on_stale(error)
        return REFUSED
    except ServiceError as error:
        db.session.rollback()
        attach_service_error(form, error)
        return REFUSED
    return result


NOT_COMPARED = (HiddenField, SubmitField, FileField, PasswordField)  # not typed, or not stored as typed


def show_stale(form, stored, names=None, message: str | None = None) -> None:
    """Tell on `form` (as typed) that its record changed: the message (`message`, or stale_message()), the
    stored values that differ from what was typed (form.stale_differences: [(label, stored value shown)];
    form.stale_values: {field name: stored value shown}), among the fields `names` (all by default), and the
    stored version, if the form carries one."""
    from training_app.services.edit_versions import stale_message

    form.form_errors.append(message or stale_message())
    form.stale_values = {
        name: _shown(stored_field) for name, stored_field in stored._fields.items()
        if not isinstance(stored_field, NOT_COMPARED) and name in form._fields and (names is None or name in names)
        and _comparable(stored_field.data) != _comparable(form[name].data)}
    form.stale_differences = [(stored[name].label.text, shown) for name, shown in form.stale_values.items()]
    if "version" in form._fields:
        form.version.data = stored.version.data
    form.stale = True


def edit_status(form) -> int:
    """The HTTP status of an edit page showing `form`: 409 when it came back stale, 200 otherwise."""
    return 409 if getattr(form, "stale", False) else 200


def _comparable(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    if isinstance(value, (list, tuple, set)):
        return sorted(str(item) for item in value)
    return value


def _shown(field) -> str:
    """A stored field's value as the user reads it: a choice's label, Oui/Non, the text."""
    from flask_babel import gettext as _

    if isinstance(field, BooleanField):
        return _("Oui") if field.data else _("Non")
    if isinstance(field, SelectFieldBase):
        labels = [str(choice[1]) for choice in field.iter_choices() if choice[2]]
        return ", ".join(labels) or _("(vide)")
    return field._value() or _("(vide)")
