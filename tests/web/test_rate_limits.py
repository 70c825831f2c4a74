"""Rate limits in production: the README's Redis storage starts, and its limits hold across processes (with
`memory://` each gunicorn worker counts on its own, so four workers let four times as much through)."""
import socket
import urllib.error
import urllib.request

import pytest
import redis

from tests import factories
from tests.web.test_public_registration import registration
from training_app import create_app
from training_app.extensions import db, limiter
from training_app.models import TrainingSession

REDIS_DATABASE = 15  # the tests' own; emptied first
VERIFY_PER_MINUTE = 20  # certificates/views.py VERIFY_LIMIT


def _redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # a new connection each time
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379 (the README's production setup)")
def test_limits_kept_in_redis_hold_across_processes(app, tmp_path):
    """Two servers (as two workers, whichever takes each request): the limit counts their requests together."""
    storage = f"redis://127.0.0.1:6379/{REDIS_DATABASE}"
    redis.Redis.from_url(storage).flushdb()
    production = {"config": "production", "SECRET_KEY": "x" * 64, "PUBLIC_URL": "https://formation.example.org",
                  "RATELIMIT_STORAGE_URI": storage, "RATELIMIT_ENABLED": "1", "SESSION_COOKIE_SECURE": "0"}
    with factories.gunicorn_serving(app, tmp_path / "a", workers=1, **production) as first, \
            factories.gunicorn_serving(app, tmp_path / "b", workers=1, **production) as second:
        half = VERIFY_PER_MINUTE // 2
        answers = [_get(f"{first}/verify") for _ in range(half)]
        answers += [_get(f"{second}/verify") for _ in range(VERIFY_PER_MINUTE - half)]
        answers += [_get(f"{first}/verify"), _get(f"{second}/verify")]
    assert [status for status, _ in answers] == [200] * VERIFY_PER_MINUTE + [429, 429]
    assert "Trop de demandes" in answers[-1][1]


# --- every limit per network counts an IPv6 network by its /64 (extensions.network_key) ------------------------

@pytest.fixture
def limited_app(app):
    """Rate limiting on; the trainees' link requests 3 a minute per network (30 otherwise), the registration
    requests 3 an hour per typed address (5 otherwise), as its link requests and forgotten passwords."""
    yield create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                 "STORAGE_DIR": app.config["STORAGE_DIR"], "RATELIMIT_ENABLED": True,
                                 "LINK_REQUESTS_PER_NETWORK": "3 per minute",
                                 "REGISTRATION_REQUESTS_PER_ADDRESS": "3 per hour"})
    limiter.enabled = False
    limiter.reset()


def _forgotten_password_for(client, email, network):
    return client.post("/mot-de-passe-oublie", data={"email": email}, environ_base={"REMOTE_ADDR": network})


def _link_request_for(client, email, network):
    return client.post("/moi/nouveau-lien", data={"email": email}, environ_base={"REMOTE_ADDR": network})


def _registration_for(client, email, network):
    session = db.session.scalar(db.select(TrainingSession)) or factories.make_session(capacity=100)
    return client.post(f"/formations/sessions/{session.id}/inscription", data=registration(email=email),
                       environ_base={"REMOTE_ADDR": network})


def _forgotten_password(client, n, network):
    return _forgotten_password_for(client, f"personne{n}@example.org", network)


def _link_request(client, n, network):
    return _link_request_for(client, f"personne{n}@example.org", network)


def _registration(client, n, network):
    return _registration_for(client, f"personne{n}@example.org", network)


def _confirmation(client, n, network):  # a secret tried counts as much as one opened
    return client.get(f"/formations/inscription/confirmer/secret{n}", environ_base={"REMOTE_ADDR": network})


def _verification(client, n, network):  # the limiter's own key (key_func), as on every route without another
    return client.get(f"/verify/AAAA-BBBB-CC{n:02d}", environ_base={"REMOTE_ADDR": network})


# (what is asked, how many times a network may ask it: auth, trainee, enrolments and certificates views)
PER_NETWORK = [pytest.param(_forgotten_password, 5, id="forgotten-password"),
               pytest.param(_link_request, 3, id="trainee-link-request"),
               pytest.param(_registration, 5, id="public-registration"),  # count_against's own key
               pytest.param(_confirmation, 30, id="registration-confirmation"),
               pytest.param(_verification, 20, id="certificate-verification")]


@pytest.mark.parametrize(("ask", "budget"), PER_NETWORK)
def test_the_addresses_of_one_ipv6_network_share_its_budget(limited_app, ask, budget):
    """It was: each IPv6 address a network of its own, so one /64 (any home or office has one) asked without
    end, one address per request. Another /64 is another network."""
    client = limited_app.test_client()
    codes = [ask(client, n, f"2001:db8:1:2::{n:x}").status_code for n in range(budget)]
    assert 429 not in codes
    assert ask(client, budget, "2001:db8:1:2:ffff:ffff:ffff:ffff").status_code == 429
    assert ask(client, budget + 1, "2001:db8:1:3::1").status_code != 429


@pytest.mark.parametrize(("ask", "budget"), PER_NETWORK)
def test_an_ipv4_address_keeps_its_own_budget_even_written_as_ipv6(limited_app, ask, budget):
    client = limited_app.test_client()
    codes = [ask(client, n, "10.0.0.1").status_code for n in range(budget)]
    assert 429 not in codes
    assert ask(client, budget, "::ffff:10.0.0.1").status_code == 429
    assert ask(client, budget + 1, "10.0.0.2").status_code != 429  # its neighbour is another network


# --- the limits per typed e-mail address count an address however it is spelt ---------------------------------

# One address as accounts and trainees store it (registrations.email_to_look_up), spelt four ways.
SPELLINGS = ["jean@bücher.de", "Jean@XN--BCHER-KVA.de", "jean@xn--bcher-kva.DE", "JEAN@BÜCHER.DE"]


@pytest.mark.parametrize("ask", [_forgotten_password_for, _link_request_for, _registration_for],
                         ids=["forgotten-password", "trainee-link-request", "public-registration"])
def test_the_spellings_of_one_address_share_its_budget(limited_app, ask):
    """It was: the typed address only stripped and lowered, so its punycode and Unicode spellings were as many
    addresses, each with its own budget: one mailbox got several times as many e-mails."""
    client = limited_app.test_client()
    codes = [ask(client, email, f"203.0.113.{n}").status_code for n, email in enumerate(SPELLINGS)]
    assert codes == [200, 200, 200, 429]
    assert ask(client, "jeanne@bücher.de", "203.0.113.9").status_code == 200  # another address
