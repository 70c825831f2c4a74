"""Bad input on every form gets a clear answer (a page of the app, in French), never a 500, and a refused
request loses nothing and half-writes nothing: every table's rows are as they were.

Every URL rule accepting POST gets a few hostile bodies, as the access matrix walks every rule:
an empty body, every field 5,000 characters long, each number / date / choice field in turn set to
"abc", "-1", a 20-digit number and 30 February, a NUL character in the text fields, a text
file named .xlsx / .png where a file is expected, and each other field in turn posted as a file
(a hand-made request: the field gets nothing, training_app/form_input.form_data). Field names are
those of the forms the app renders on the pages of the world (tests/web/url_values.py), read once;
a form no page shows is read from the form classes its view uses, else a generic set of names is
sent. Administrators' and staff rules are posted signed in as an administrator; public rules and
trainees' rules (the personal link in the URL is the key) without signing in. Time is frozen while
the world's first half-day is open for signing (and, for the questionnaire, while it is open for answers).
"""
import inspect
import traceback
from datetime import datetime
from html.parser import HTMLParser
from io import BytesIO

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.security import generate_password_hash
from wtforms import FileField, HiddenField, StringField

from tests import factories
from tests.conftest import is_postgres
from tests.web.url_values import build_world
from training_app.access import PUBLIC, TRAINEE, access_level_of
from training_app.blueprints import BLUEPRINTS
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import users as user_model

SKIPPED = {
    "auth.logout": "would end the signed-in session (covered in test_auth)",
    "enrolments.revoke_links": "would revoke the world's personal link (covered in test_public_registration)",
}
SLOT_OPEN = datetime(2030, 3, 5, 14, 10)  # the world's first half-day (Tue 14:00-18:00), signing open
SURVEY_OPEN = datetime(2030, 3, 8, 10, 0)  # the world's questionnaire opens on Fri 8 at 9:30
BEFORE_START = datetime(2030, 2, 1, 10, 0)  # registrations to the world's session are open
# endpoint -> the moment its form is live (default SLOT_OPEN)
MOMENTS = {"surveys.answer": SURVEY_OPEN, "enrolments.public_register": BEFORE_START,
           "enrolments.public_confirm": BEFORE_START}  # the world's request's link works then

LONG = ("Élodie " * 715)[:5000]
BAD_VALUES = ("abc", "-1", "99999999999999999999", "2024-02-30")
NUL = "avant\x00après"
BAD_FILE_NAMES = ("x.xlsx", "x.png")
FILE_AS_TEXT = b"data:image/png;base64,"  # a file (multipart part with a file name) where text is expected
GENERIC_FIELDS = {"reason": "text", "id": "typed"}  # for a form without fields (a button) or none found
TYPED_INPUTS = {"number", "date", "time", "datetime-local", "month", "week", "hidden", "radio", "checkbox",
                "select", "range"}
FILLERS = {"email": "essai@example.org", "password": "Un-mot-de-passe-assez-long-42", "number": "1",
           "date": "2030-03-06", "time": "10:00", "datetime-local": "2030-03-06T10:00",
           "url": "https://example.org", "checkbox": "y"}
def _post_endpoints() -> list[str]:
    """The endpoints accepting POST, read from the blueprints (collecting needs no database)."""
    probe = Flask(__name__)
    for blueprint in BLUEPRINTS:
        probe.register_blueprint(blueprint)
    return sorted({r.endpoint for r in probe.url_map.iter_rules() if "POST" in r.methods})


def _rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


def _url(rule, values) -> str:
    return rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]


def _as_visitor(endpoint) -> bool:
    """Public rules and trainees' rules (the link in the URL is the key) are posted without signing in."""
    return access_level_of(endpoint) in (PUBLIC, TRAINEE)


# --- the forms the app renders ------------------------------------------------------------------------

class _Forms(HTMLParser):
    """Each <form method="post">: its action and its fields {name: {kind, type, value a browser sends}}.
    kind: "text" (typed freely), "typed" (a number, date, time, choice, hidden value) or "file"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = {"action": a.get("action", ""), "fields": {}}
                self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "option" and self._select:
            field = self._form["fields"][self._select]
            if "selected" in a:
                field["value"] = a.get("value", "")
            field["first"] = field["first"] or a.get("value")
            return
        name = a.get("name")
        if not name or name == "csrf_token" or "disabled" in a:  # CSRF: tests/web/test_csrf.py
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            value = None if kind in ("checkbox", "radio") and "checked" not in a else a.get("value") or None
            if kind == "file":
                self._add(name, "file", kind, None)
            elif kind in TYPED_INPUTS or a.get("inputmode") in ("numeric", "decimal"):
                self._add(name, "typed", kind, value, a.get("value") if kind in ("checkbox", "radio") else None)
            else:
                self._add(name, "text", kind, value)
        elif tag == "select":
            self._select = name
            self._add(name, "typed", "select", None)
        elif tag == "textarea":
            self._textarea = name
            self._add(name, "text", "textarea", None)

    def handle_data(self, data):
        if self._form is not None and self._textarea and data.strip():
            field = self._form["fields"][self._textarea]
            field["value"] = (field["value"] or "") + data.lstrip("\r\n")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag in ("select", "textarea"):
            setattr(self, f"_{tag}", None)

    def _add(self, name, kind, input_type, value, first=None):
        """`first`: the first choice of a list or of radio buttons (sent when none is chosen)."""
        fields = self._form["fields"]
        if name in fields:  # radio buttons and checkboxes share a name: keep the checked one
            if value is not None and fields[name]["value"] is None:
                fields[name]["value"] = value
            return
        fields[name] = {"kind": kind, "type": input_type, "value": value, "first": first}


_FORMS: dict[str, dict] = {}  # endpoint -> fields, read once from the pages of the first test's world


def _rendered_forms(app, admin, values) -> dict[str, dict]:
    """Every POST form of every page the world shows, by the endpoint it posts to (most fields wins)."""
    if _FORMS:
        return _FORMS
    staff = app.test_client()
    factories.login(staff, admin)
    visitor = app.test_client()
    adapter = app.url_map.bind("localhost")
    for moment in sorted({SLOT_OPEN, *MOMENTS.values()}):
        with frozen_at(moment):
            for rule in _rules(app):
                if "GET" not in rule.methods or rule.endpoint == "static" or rule.arguments - values.keys():
                    continue
                if moment != SLOT_OPEN and MOMENTS.get(rule.endpoint) != moment:
                    continue  # at another moment, only the pages whose form is live then
                url = _url(rule, values)
                response = (visitor if _as_visitor(rule.endpoint) else staff).get(url)
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                parser = _Forms()
                parser.feed(response.get_data(as_text=True))
                for form in parser.forms:
                    action = (form["action"] or url).split("?")[0].split("#")[0]
                    try:
                        endpoint = adapter.match(action, method="POST")[0]
                    except HTTPException:  # posts elsewhere: another site, a rule without POST
                        continue
                    if len(form["fields"]) > len(_FORMS.get(endpoint, {})):
                        _FORMS[endpoint] = form["fields"]
    return _FORMS


def _form_class_fields(app, endpoint) -> dict:
    """The fields of the form classes a view names (for a form no page of the world shows)."""
    view = inspect.unwrap(app.view_functions[endpoint])
    fields = {}
    for name in view.__code__.co_names:
        form_class = view.__globals__.get(name)
        if not (isinstance(form_class, type) and issubclass(form_class, FlaskForm)):
            continue
        for field_name, unbound in inspect.getmembers(form_class):
            field_class = getattr(unbound, "field_class", None)
            if field_class is None or field_name == "csrf_token":
                continue
            if issubclass(field_class, FileField):
                kind = "file"
            elif issubclass(field_class, StringField) and not issubclass(field_class, HiddenField):
                kind = "text"
            else:
                kind = "typed"
            fields[field_name] = {"kind": kind, "type": kind, "value": None}
    return fields


def _fields(app, endpoint, rendered) -> dict:
    return (rendered.get(endpoint) or _form_class_fields(app, endpoint)
            or {name: {"kind": kind, "type": kind, "value": None} for name, kind in GENERIC_FIELDS.items()})


# --- hostile bodies ------------------------------------------------------------------------------------

def _baseline(fields: dict) -> dict:
    """What a browser would send, empty fields filled with something plausible (so that one bad
    value at a time goes as far as it can)."""
    data = {}
    for name, field in fields.items():
        if field["kind"] != "file":
            data[name] = field["value"] or field.get("first") or FILLERS.get(field["type"], "Essai")
    return data


def _payloads(fields: dict) -> list[tuple[str, dict]]:
    """(label, form data); a file is a (BytesIO, file name) pair."""
    base = _baseline(fields)
    names = [n for n, f in fields.items() if f["kind"] != "file"]
    typed = [n for n in names if fields[n]["kind"] == "typed"]
    text = [n for n in names if fields[n]["kind"] == "text"] or names
    files = [n for n, f in fields.items() if f["kind"] == "file"]
    payloads = [("empty body", {}), ("every field 5,000 characters", dict.fromkeys(fields, LONG))]
    payloads += [(f"{name}={bad!r}", {**base, name: bad}) for name in typed for bad in BAD_VALUES]
    payloads.append((f"NUL in {', '.join(text)}", {**base, **dict.fromkeys(text, NUL)}))
    if files:
        payloads += [(f"a text file {file_name} as {', '.join(files)}",
                      {**base, **{n: (BytesIO(b"pas ce que dit son nom\n"), file_name) for n in files}})
                     for file_name in BAD_FILE_NAMES]
    payloads += [(f"a file as {name}", {**base, name: (BytesIO(FILE_AS_TEXT), "x.png")}) for name in names]
    return payloads


def _where(error: BaseException) -> str:
    """The innermost frame of the app's own code, then the frame that raised."""
    frames = traceback.extract_tb(error.__traceback__)
    shown = [f for f in frames if "/training_app/" in f.filename][-1:]
    if frames and frames[-1] not in shown:
        shown.append(frames[-1])
    return " <- ".join(f"{f.filename}:{f.lineno}" for f in shown)


def _french_page_or_redirect(response) -> bool:
    """A refusal is one of the app's pages (French), not a bare server message."""
    if response.status_code < 400 or response.mimetype != "text/html":
        return True
    return 'lang="fr"' in response.get_data(as_text=True)


REFUSAL_MARKS = ('class="invalid-feedback', 'class="alert alert-danger"', 'class="alert alert-warning"')


def _refused(response, client) -> bool:
    """The app said no: an error status, a form shown again with its errors, or a redirect with an error
    message waiting to be shown: a danger one, or a warning without a success (a session created is told so,
    then warned when its hours differ from its programme's: a warning after a success is no refusal)."""
    with client.session_transaction() as session:  # the messages this answer left (taken: not seen again)
        flashed = session.pop("_flashes", [])
    if response.status_code >= 400:
        return True
    if response.status_code == 200 and response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        return any(mark in page for mark in REFUSAL_MARKS)
    categories = {category for category, _ in flashed}
    return "danger" in categories or ("warning" in categories and "success" not in categories)


def _rows() -> dict[str, list]:
    """Every table's rows, in a stable order: an insert, an update and a delete all change them."""
    with db.engine.connect() as conn:
        return {table.name: sorted((tuple(row) for row in conn.execute(table.select())), key=repr)
                for table in db.metadata.sorted_tables}


def _changed(before: dict, after: dict) -> str:
    return ", ".join(f"{name} ({len(before[name])} → {len(after[name])} rows)"
                     for name in before if after[name] != before[name])


@pytest.fixture(autouse=True)
def _quick_passwords(monkeypatch):
    """Accounts with a one-round hash: the walk makes and signs in accounts for each rule."""
    def quick(password, method="pbkdf2:sha256:1", salt_length=16):
        return generate_password_hash(password, method=method, salt_length=salt_length)
    monkeypatch.setattr(user_model, "generate_password_hash", quick)


@pytest.mark.parametrize("endpoint", _post_endpoints())
def test_bad_input_never_answers_500_and_a_refusal_writes_nothing(app, endpoint):
    if endpoint in SKIPPED:
        pytest.skip(SKIPPED[endpoint])
    database = "postgresql" if is_postgres(app) else "sqlite"
    trainer = factories.make_user("trainer")
    admin = factories.make_user("admin")
    values = build_world(trainer)
    fields = _fields(app, endpoint, _rendered_forms(app, admin, values))
    rule = next(r for r in _rules(app) if r.endpoint == endpoint and "POST" in r.methods)
    url = _url(rule, values)
    client = app.test_client()
    if not _as_visitor(endpoint):
        factories.login(client, admin)
    failures = []
    with frozen_at(MOMENTS.get(endpoint, SLOT_OPEN)):
        for label, data in _payloads(fields):
            before = _rows()
            try:
                response = client.post(url, data=data)
            except Exception as error:  # noqa: BLE001 - the test client raises what would be a 500
                failure = (f"POST {rule.rule} [{label}] on {database}: {type(error).__name__}: "
                           f"{str(error)[:300]} at {_where(error)}")
            else:
                if response.status_code < 500:
                    if not _french_page_or_redirect(response):
                        failures.append(f"POST {rule.rule} [{label}] on {database}: {response.status_code}, "
                                        f"not a page of the app (French)")
                    if _refused(response, client) and (changed := _changed(before, _rows())):
                        failures.append(f"POST {rule.rule} [{label}] on {database}: refused "
                                        f"({response.status_code}) but rows changed: {changed}")
                    continue
                failure = f"POST {rule.rule} [{label}] on {database}: {response.status_code}"
            failures.append(failure)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def test_every_post_rule_is_walked(app):
    """The POST rules the app serves are those read from the blueprints (none added elsewhere)."""
    assert sorted({r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}) == _post_endpoints()


def test_a_json_body_fills_no_form(client):
    """None of the app's pages posts JSON; a JSON body's numbers and lists would land where text is expected:
    the form gets nothing, as an empty one (training_app/form_input.form_data)."""
    response = client.post("/connexion", json={"email": 5, "password": ["Un-mot-de-passe-assez-long-42"]})
    assert response.status_code < 500 and _refused(response, client) and _french_page_or_redirect(response)


@pytest.mark.parametrize("method, path, headers, status, message", [
    ("get", "/nulle-part", {}, 404, "Cette page n'existe pas."),
    ("get", "/deconnexion", {}, 405, "Cette action n'est pas possible ici."),
    ("get", "/static/css/app.css", {"Range": "bytes=99999999-"}, 416,
     "Cette partie du fichier n'existe pas : téléchargez-le en entier."),
])
def test_error_pages_speak_french(client, method, path, headers, status, message):
    response = getattr(client, method)(path, headers=headers)
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == status and message in page and '<html lang="fr">' in page
