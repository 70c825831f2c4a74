"""Every URL rule, with every role: a view without a declared access level fails here; every page it shows keeps
to the Content-Security-Policy (no inline script, event handler or style)."""
import re
from urllib.parse import urlsplit

import pytest

from tests import factories
from tests.web.url_values import build_world
from training_app.access import ADMIN, LEVELS, PASSWORD_CHANGE, PUBLIC, STAFF, TRAINEE, access_level_of
from training_app.extensions import db


def _rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


def test_every_view_declares_its_access(app):
    undeclared = [r.endpoint for r in _rules(app) if access_level_of(r.endpoint) not in LEVELS]
    assert undeclared == []


def _is_sign_in_redirect(response) -> bool:
    return response.status_code == 302 and "/connexion" in response.headers["Location"]


def _denied(response) -> bool:
    return response.status_code in (401, 403) or _is_sign_in_redirect(response)


EXPECTED = {  # level -> role -> "allowed", "sign-in" or "forbidden"
    # "trainee": a phone that opened the world's trainee's personal link (it remembers it; no account)
    PUBLIC: {"anonymous": "allowed", "trainee": "allowed", "trainer": "allowed", "admin": "allowed"},
    # TRAINEE: the link in the URL is the key
    TRAINEE: {"anonymous": "allowed", "trainee": "allowed", "trainer": "allowed", "admin": "allowed"},
    STAFF: {"anonymous": "sign-in", "trainee": "sign-in", "trainer": "allowed", "admin": "allowed"},
    ADMIN: {"anonymous": "sign-in", "trainee": "sign-in", "trainer": "forbidden", "admin": "allowed"},
}


@pytest.mark.parametrize("role", ["anonymous", "trainee", "trainer", "admin"])
def test_access_matrix(app, role):
    trainer = factories.make_user("trainer")
    admin = factories.make_user("admin")
    values = build_world(trainer)
    client = _client_as(app, role, values, trainer, admin)
    failures = []
    for rule in _rules(app):
        if rule.endpoint in ("auth.logout",):
            continue  # would end the signed-in session mid-walk; covered in test_auth
        if rule.endpoint == "enrolments.revoke_links" and role == "admin":
            continue  # would revoke the world's personal link mid-walk; covered in test_public_registration
        missing = [arg for arg in rule.arguments if arg not in values]
        assert not missing, f"tests/web/url_values.py has no value for {missing} ({rule.rule})"
        url = rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method)
        expected = EXPECTED[access_level_of(rule.endpoint)][role]
        if response.status_code >= 500:
            failures.append(f"{method} {url}: {response.status_code}")
        elif expected == "allowed" and _denied(response):
            failures.append(f"{method} {url}: {role} refused ({response.status_code})")
        elif expected == "sign-in" and not _is_sign_in_redirect(response):
            failures.append(f"{method} {url}: {role} not sent to sign in ({response.status_code})")
        elif expected == "forbidden" and response.status_code != 403:
            failures.append(f"{method} {url}: {role} not forbidden ({response.status_code})")
        failures += [f"{method} {url}: {inline}" for inline in _inline_content(response)]
    assert failures == []


# What the policy (training_app.CONTENT_SECURITY_POLICY) makes the browser refuse: a <script> without src, an
# on…= handler, a style attribute or a <style> element, a javascript: link.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style\b|javascript:", re.I)


def _inline_content(response) -> list[str]:
    if response.mimetype != "text/html":
        return []
    found = INLINE.findall(response.get_data(as_text=True))
    if "Content-Security-Policy" not in response.headers:
        found.insert(0, "no Content-Security-Policy")
    return found


def _client_as(app, role, values, trainer, admin):
    """A client as `role`: "trainee" opened the world's personal link; staff signed in; "anonymous" neither."""
    client = app.test_client()
    if role == "trainee":
        assert client.get(f"/moi/{values['token']}").status_code == 200
    elif role != "anonymous":
        factories.login(client, trainer if role == "trainer" else admin)
    return client


def _is_password_change_redirect(response) -> bool:
    """Sent to the password change (with ?next= the page asked for, when it was one)."""
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/mot-de-passe"


@pytest.mark.parametrize("role", ["trainer", "admin"])
def test_a_temporary_password_opens_only_the_password_change(app, role):
    """Signed in with a temporary password (set by an administrator), every staff page sends to the
    change-password page (an administrators' page still refuses a trainer); public pages stay open."""
    user = factories.make_user(role)
    values = build_world(user if role == "trainer" else factories.make_user("trainer"))
    client = app.test_client()
    factories.login(client, user)
    user.must_change_password = True
    db.session.commit()
    failures = []
    for rule in _rules(app):
        if rule.endpoint in ("auth.logout", "static", "enrolments.revoke_links"):
            continue
        url = rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method)
        level = access_level_of(rule.endpoint)
        if response.status_code >= 500:
            failures.append(f"{method} {url}: {response.status_code}")
        elif rule.endpoint == PASSWORD_CHANGE:
            if response.status_code != 200:
                failures.append(f"{method} {url}: the password change refused ({response.status_code})")
        elif level == ADMIN and role == "trainer":
            if response.status_code != 403:
                failures.append(f"{method} {url}: trainer not forbidden ({response.status_code})")
        elif level in (STAFF, ADMIN) and not _is_password_change_redirect(response):
            failures.append(f"{method} {url}: not sent to the password change ({response.status_code})")
        elif level in (PUBLIC, TRAINEE) and _denied(response):
            failures.append(f"{method} {url}: refused ({response.status_code})")
    assert failures == []


@pytest.mark.parametrize("path", ["/rapports/bilan?annee=2030", "/rapports/bilan.xlsx?annee=2030"])
@pytest.mark.parametrize("role, expected", [("anonymous", "sign-in"), ("trainee", "sign-in"),
                                            ("trainer", "forbidden"), ("admin", "allowed")])
def test_the_annual_report_is_for_administrators(app, path, role, expected):
    """The walk above builds the report's URLs without a year; here with one, for each role."""
    assert access_level_of("reports.annual") == access_level_of("reports.annual_workbook") == ADMIN
    trainer, admin = factories.make_user("trainer"), factories.make_user("admin")
    client = _client_as(app, role, build_world(trainer), trainer, admin)
    response = client.get(path)
    if expected == "sign-in":
        assert _is_sign_in_redirect(response)
    elif expected == "forbidden":
        assert response.status_code == 403
    elif path.startswith("/rapports/bilan.xlsx"):
        assert response.status_code == 200 and "bilan-2030.xlsx" in response.headers["Content-Disposition"]
    else:
        assert response.status_code == 200 and "Bilan pédagogique et financier 2030" in response.get_data(as_text=True)
