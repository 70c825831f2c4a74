"""Text typed or pasted into a form reaches the application without invisible characters.

Control characters (a backspace or an escape pasted from another program) cannot be stored in an Excel
file, and PostgreSQL refuses NUL; zero-width spaces and byte order marks (pasted from spreadsheets) make
a name look filled in while it shows nothing. They are removed from every submitted form value, before
any form or service reads it. Tabs and line breaks stay, each line break as one character ("\n"): a browser
sends a text box's line breaks as two (CR LF) while its `maxlength` counts them as one, so a text as long as
the box allows would otherwise be refused as too long.

A form reads the submitted text values, and files only in its file fields (`form_data`): Flask-WTF hands
every field the request's files with its values, so a file posted under the name of a text or hidden field
(a hand-made request) reached the application as a file object where text is expected, a 500. Such a field
now gets nothing, and is refused as an empty field would be. A JSON body is not a form: it fills no field
(none of the app's pages posts JSON; its values could be numbers or lists where text is expected).
"""
import re

from flask import Request, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict, MultiDict
from wtforms import FileField

# C0 and C1 controls except tab, line feed and carriage return; zero-width space, non-joiner and joiner;
# word joiner; byte order mark (zero-width no-break space).
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
LINE_BREAK = re.compile("\r\n?")  # CR LF (browsers) or a lone CR


def without_invisible(text: str) -> str:
    return INVISIBLE.sub("", LINE_BREAK.sub("\n", text))


class CleanFormRequest(Request):
    """Flask's request, whose `form` values have their invisible characters removed."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form:
            self.__dict__["form"] = ImmutableMultiDict(
                [(key, without_invisible(value)) for key, value in form.items(multi=True)])


_flask_wtf_form_data = FlaskForm.Meta.wrap_formdata


def form_data(meta, form, formdata):
    """What `form`'s fields read (FlaskForm.Meta.wrap_formdata, for every form of the app: install_form_data()): as
    Flask-WTF, but from the request only its form values, and its files posted under the name of one of
    `form`'s file fields (FileField, MultipleFileField). Data given explicitly (`formdata=`) is kept as is."""
    wrapped = _flask_wtf_form_data(meta, form, formdata)
    if wrapped is None or wrapped is formdata:
        return wrapped
    file_fields = {field.name for field in form if isinstance(field, FileField)}
    files = MultiDict([(name, file) for name, file in request.files.items(multi=True) if name in file_fields])
    if files:
        return CombinedMultiDict((files, request.form))
    return request.form or None


def install_form_data() -> None:
    """Every form of the app (all are FlaskForms) reads its submitted data through form_data()."""
    FlaskForm.Meta.wrap_formdata = form_data


def whole_number(value) -> int | None:
    """A posted number made of decimal digits only ("3"), else None: "²" is a digit that int() refuses,
    "1_0" and "+1" are numbers that int() accepts; neither is a number a page offers. At most 9 digits (no
    number a page posts is that long; a database integer holds them all)."""
    text = str(value if value is not None else "").strip()
    if not text.isdecimal() or len(text) > 9:
        return None
    try:
        return int(text)
    except ValueError:  # a decimal character int() would not read: refused as any other odd value
        return None
