"""Text typed or pasted into a form reaches the application without invisible characters.

Control characters (a backspace or an escape pasted from another program) cannot be stored in an Excel
file, and PostgreSQL refuses NUL; zero-width spaces and byte order marks (pasted from spreadsheets) make
a name look filled in while it shows nothing. They are removed from every submitted form value, before
any form or service reads it. Tabs and line breaks stay, each line break as one character ("\n"): a browser
sends a text box's line breaks as two (CR LF) while its `maxlength` counts them as one, so a text as long as
the box allows would otherwise be refused as too long.
"""
import re

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

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
