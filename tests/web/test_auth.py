import html
import re
from contextlib import contextmanager

from tests import factories
from training_app import create_app
from training_app.extensions import db, limiter
from training_app.models import User
from training_app.services import users


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_sign_in_and_out(client, admin):
    response = client.post("/connexion", data={"email": admin.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert client.get("/tableau-de-bord").status_code == 200
    client.post("/deconnexion")
    assert client.get("/tableau-de-bord").status_code == 302


def test_wrong_password_shows_a_french_message(client, admin):
    response = client.post("/connexion", data={"email": admin.email, "password": "nope"})
    assert response.status_code == 200
    assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)


def test_inactive_account_cannot_sign_in(client):
    user = factories.make_user(active=False)
    response = client.post("/connexion", data={"email": user.email, "password": factories.PASSWORD})
    assert "incorrect" in response.get_data(as_text=True)


def test_next_parameter_cannot_leave_the_site(client, admin):
    response = client.post("/connexion?next=//evil.example/x",
                           data={"email": admin.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/tableau-de-bord"


def test_change_password(trainer_client, trainer):
    response = trainer_client.post("/mot-de-passe", data={
        "current_password": "wrong", "password": "nouveau-mot-de-passe", "confirm": "nouveau-mot-de-passe"})
    assert "Le mot de passe actuel est incorrect." in response.get_data(as_text=True)
    response = trainer_client.post("/mot-de-passe", data={
        "current_password": factories.PASSWORD, "password": "court", "confirm": "court"})
    assert "10 caractères" in response.get_data(as_text=True)
    response = trainer_client.post("/mot-de-passe", data={
        "current_password": factories.PASSWORD, "password": "nouveau-mot-de-passe",
        "confirm": "nouveau-mot-de-passe"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, trainer.id).check_password("nouveau-mot-de-passe")


def test_admin_creates_accounts_and_duplicates_are_refused(admin_client):
    data = {"name": "Inès", "email": "ines@example.org", "role": "trainer", "password": "un-long-mot-de-passe"}
    assert admin_client.post("/admin/comptes", data=data).status_code == 302
    response = admin_client.post("/admin/comptes", data=data)
    assert "Un compte existe déjà avec cette adresse e-mail." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.email == "ines@example.org")) == 1


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database():
    from training_app import create_app
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_security_headers(client):
    response = client.get("/")
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = dict(directive.split(" ", 1) for directive in response.headers["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'self'" and "unsafe" not in response.headers["Content-Security-Policy"]
    assert policy["form-action"] == "'self'" and policy["object-src"] == "'none'"


# --- a temporary password keeps the address the person was going to ------------------------------------

NEW_PASSWORD = "nouveau-mot-de-passe"


def _temporary(role="trainer"):
    user = factories.make_user(role)
    user.must_change_password = True
    db.session.commit()
    return user


def _choose_password(client, url):
    return client.post(url, data={"current_password": factories.PASSWORD, "password": NEW_PASSWORD,
                                  "confirm": NEW_PASSWORD})


def test_a_temporary_password_sends_to_the_password_page_then_to_the_page_asked_for(client):
    user = _temporary("admin")
    session = factories.make_session()
    asked = client.get(f"/sessions/{session.id}?onglet=inscriptions")
    assert asked.status_code == 302 and "/connexion?next=" in asked.headers["Location"]
    response = client.post(asked.headers["Location"], data={"email": user.email, "password": factories.PASSWORD})
    password_page = response.headers["Location"]
    assert password_page.startswith("/mot-de-passe?next=")
    assert client.get(password_page).status_code == 200
    assert client.get("/tableau-de-bord").headers["Location"].startswith("/mot-de-passe")  # nothing else yet
    response = _choose_password(client, password_page)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sessions/{session.id}?onglet=inscriptions"
    assert client.get(response.headers["Location"]).status_code == 200


def test_a_signed_in_temporary_password_keeps_the_page_opened(client):
    user = _temporary()
    factories.login(client, user)
    response = client.get("/sessions?page=1")
    assert response.status_code == 302
    password_page = response.headers["Location"]
    assert _choose_password(client, password_page).headers["Location"] == "/sessions?page=1"


def test_a_temporary_password_keeps_only_local_addresses(client):
    user = _temporary()
    response = client.post("/connexion?next=//evil.example/x",
                           data={"email": user.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/mot-de-passe"
    passwords = [factories.PASSWORD, NEW_PASSWORD]
    for target in ("//evil.example/x", "https://evil.example/x", "javascript:alert(1)", "tableau-de-bord"):
        response = client.post("/mot-de-passe", query_string={"next": target}, data={
            "current_password": passwords[0], "password": passwords[1], "confirm": passwords[1]})
        assert response.headers["Location"] == "/tableau-de-bord", target
        passwords.reverse()


# --- failed sign-ins: limited per network address, and per account typed from each network address ------------

def _attempt(client, email, password="pas-le-bon-mot-de-passe", network="10.0.0.1"):
    return client.post("/connexion", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": network})


@contextmanager
def _limited_app(app, **config):
    """Like the `rate_limited_app` fixture, with other limits."""
    limited = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                     "STORAGE_DIR": app.config["STORAGE_DIR"], "RATELIMIT_ENABLED": True, **config})
    try:
        yield limited
    finally:
        limiter.enabled = False
        limiter.reset()


def test_strangers_who_type_an_address_do_not_lock_its_owner_out(rate_limited_app):
    """It was: 10 attempts an hour per address typed, from any network, the right password refused after them (a
    password link did not help): anyone could keep a trainer from the attendance sheets on a training day."""
    admin = factories.make_user("admin", email="direction@example.org")
    attacker = rate_limited_app.test_client()
    for n in range(40):
        assert _attempt(attacker, admin.email, network=f"198.51.100.{n}").status_code == 200
    owner = rate_limited_app.test_client()
    response = _attempt(owner, f"  {admin.email.upper()} ", password=factories.PASSWORD, network="203.0.113.7")
    assert response.status_code == 302
    assert owner.get("/tableau-de-bord").status_code == 200


def test_a_network_gets_a_bounded_number_of_guesses_at_one_account_then_not_even_the_right_password(app):
    with _limited_app(app, SIGN_IN_FAILURES_PER_ACCOUNT="3 per hour; 30 per day") as limited:
        admin, trainer = factories.make_user("admin"), factories.make_user("trainer")
        client = limited.test_client()
        assert [_attempt(client, admin.email).status_code for _ in range(3)] == [200] * 3
        refused = _attempt(client, admin.email.upper(), password=factories.PASSWORD)
        assert refused.status_code == 429
        assert re.search(r"Trop de tentatives de connexion échouées depuis votre adresse réseau : "
                         r"réessayez dans (\d+ minutes|1 heure)\.", _text(refused))
        assert client.get("/tableau-de-bord").status_code == 302  # not signed in
        assert _attempt(client, trainer.email, password=factories.PASSWORD).status_code == 302  # another account
        elsewhere = limited.test_client()
        assert _attempt(elsewhere, admin.email, password=factories.PASSWORD, network="10.0.0.2").status_code == 302


def test_successful_sign_ins_are_not_counted(rate_limited_app):
    admin = factories.make_user("admin")
    client = rate_limited_app.test_client()
    for _ in range(12):  # more than a network's failures a minute and an account's an hour
        assert _attempt(client, admin.email, password=factories.PASSWORD).status_code == 302
        client.post("/deconnexion")
    assert [_attempt(client, admin.email).status_code for _ in range(10)] == [200] * 10
    assert _attempt(client, admin.email, password=factories.PASSWORD).status_code == 429


def test_failures_sent_together_cannot_pass_the_limit_together(rate_limited_app):
    """Each attempt is counted before its password is checked, atomically, and given back if it succeeds:
    a check before the request and a count after it (Flask-Limiter's deduct_when) let every attempt arriving
    together through. The sign-ins that succeeded first are not counted."""
    admin = factories.make_user("admin")
    client = rate_limited_app.test_client()
    for _ in range(5):
        assert _attempt(client, admin.email, password=factories.PASSWORD).status_code == 302
        client.post("/deconnexion")
    guesses = [lambda n=n: _attempt(rate_limited_app.test_client(), f"p{n}@example.org").status_code
               for n in range(14)]
    codes, errors = factories.run_together(rate_limited_app, *guesses)
    assert errors == []
    assert sorted(codes) == [200] * 10 + [429] * 4


def test_a_password_chosen_through_the_link_starts_the_account_count_again(app):
    with _limited_app(app, SIGN_IN_FAILURES_PER_ACCOUNT="3 per hour; 30 per day") as limited:
        trainer = factories.make_user("trainer")
        client = limited.test_client()
        assert [_attempt(client, trainer.email).status_code for _ in range(4)] == [200] * 3 + [429]
        new_password = "un-tout-nouveau-mot-de-passe"
        link = f"/mot-de-passe-oublie/{users.make_reset_link_token(trainer)}"
        assert client.post(link, data={"password": new_password, "confirm": new_password}).status_code == 302
        assert _attempt(client, trainer.email, password=new_password).status_code == 302


def test_one_network_address_gets_ten_failures_a_minute_whatever_the_account(rate_limited_app):
    client = rate_limited_app.test_client()
    codes = [_attempt(client, f"personne{n}@example.org").status_code for n in range(11)]
    assert codes == [200] * 10 + [429]
    assert _attempt(client, "autre@example.org", network="10.0.0.2").status_code == 200


def test_the_limits_have_a_daily_cap_and_come_from_the_configuration(app):
    assert "per day" in app.config["SIGN_IN_FAILURES_PER_ACCOUNT"]
    assert "per day" in app.config["SIGN_IN_FAILURES_PER_NETWORK"]
    with _limited_app(app, SIGN_IN_FAILURES_PER_ACCOUNT="100 per hour; 3 per day") as limited:
        client = limited.test_client()
        codes = [_attempt(client, "camille@example.org").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert re.search(r"réessayez dans 2[34] heures\.", _text(_attempt(client, "camille@example.org")))


def test_the_addresses_of_one_ipv6_network_share_its_failures(rate_limited_app):
    """It was: each IPv6 address its own network, so one /64 (any home or office has one) could guess without
    end, one address per guess. Another /64 is another network."""
    admin = factories.make_user("admin", email="direction@example.org")
    client = rate_limited_app.test_client()
    codes = [_attempt(client, f"personne{n}@example.org", network=f"2001:db8:1:2::{n:x}").status_code
             for n in range(11)]
    assert codes == [200] * 10 + [429]
    refused = _attempt(client, admin.email, password=factories.PASSWORD, network="2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert refused.status_code == 429
    assert _attempt(client, admin.email, password=factories.PASSWORD, network="2001:db8:1:3::1").status_code == 302


def test_one_account_typed_from_the_addresses_of_one_ipv6_network_is_counted_once(app):
    with _limited_app(app, SIGN_IN_FAILURES_PER_ACCOUNT="3 per hour; 30 per day") as limited:
        trainer = factories.make_user("trainer")
        client = limited.test_client()
        codes = [_attempt(client, trainer.email, network=f"2001:db8:a:b:{n}::1").status_code for n in range(4)]
        assert codes == [200] * 3 + [429]
        other = _attempt(client, trainer.email, password=factories.PASSWORD, network="2001:db8:a:c::1")
        assert other.status_code == 302


def test_ipv4_addresses_stay_networks_of_their_own_even_written_as_ipv6(rate_limited_app):
    client = rate_limited_app.test_client()
    codes = [_attempt(client, f"personne{n}@example.org", network="10.0.0.1" if n % 2 else "::ffff:10.0.0.1")
             .status_code for n in range(11)]
    assert codes == [200] * 10 + [429]
    assert _attempt(client, "autre@example.org", network="10.0.0.2").status_code == 200
