"""Who stays signed in when a password changes, an account is deactivated, a browser signs out or a month has
gone by: the session and the "remember me" cookie hold the user's id with a fingerprint of the password and of the
last deactivation, and the sign-in they belong to (User.get_id(), SignIn), which the server ends."""
from datetime import datetime, timedelta, timezone

import pytest

from tests import factories
from training_app.clock import frozen_at

NEW_PASSWORD = "un-tout-nouveau-mot-de-passe"
REMEMBER = "remember_token"


def sign_in(app, user, remember=False):
    client = app.test_client()
    data = {"email": user.email, "password": factories.PASSWORD}
    assert client.post("/connexion", data={**data, "remember": "y"} if remember else data).status_code == 302
    return client


def with_only_the_remember_cookie(app, client):
    """A browser that has kept the "remember me" cookie of `client`, but not its session."""
    remembered = app.test_client()
    remembered.set_cookie(REMEMBER, client.get_cookie(REMEMBER).value)
    return remembered


def with_only_the_session_cookie(app, client):
    """Another browser given a copy of `client`'s session cookie (taken from it, say)."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def signed_out(response) -> bool:
    return response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_changing_the_password_signs_out_every_other_browser(app):
    trainer = factories.make_user("trainer")
    page = f"/sessions/{factories.make_session(trainers=(trainer,)).id}"
    remembered, forgotten = sign_in(app, trainer, remember=True), sign_in(app, trainer)
    assert remembered.get(page).status_code == 200 and forgotten.get(page).status_code == 200
    assert with_only_the_remember_cookie(app, remembered).get(page).status_code == 200

    owner = sign_in(app, trainer)
    response = owner.post("/mot-de-passe", data={"current_password": factories.PASSWORD,
                                                 "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302

    assert signed_out(remembered.get(page))
    assert signed_out(forgotten.get(page))
    assert signed_out(with_only_the_remember_cookie(app, remembered).get(page))
    assert owner.get(page).status_code == 200  # the browser that changed it stays signed in
    assert signed_out(app.test_client().get(page))


def test_the_browser_that_changes_the_password_stays_remembered(app):
    trainer = factories.make_user("trainer")
    owner = sign_in(app, trainer, remember=True)
    response = owner.post("/mot-de-passe", data={"current_password": factories.PASSWORD,
                                                 "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert with_only_the_remember_cookie(app, owner).get("/tableau-de-bord").status_code == 200


def test_a_refused_password_change_signs_nobody_out(app):
    trainer = factories.make_user("trainer")
    other, owner = sign_in(app, trainer, remember=True), sign_in(app, trainer)
    response = owner.post("/mot-de-passe", data={"current_password": "faux", "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert "Le mot de passe actuel est incorrect." in response.get_data(as_text=True)
    assert other.get("/tableau-de-bord").status_code == 200
    assert with_only_the_remember_cookie(app, other).get("/tableau-de-bord").status_code == 200


def test_deactivating_an_account_signs_out_its_browsers(app, admin_client):
    trainer = factories.make_user("trainer")
    remembered = sign_in(app, trainer, remember=True)
    assert admin_client.post(f"/admin/comptes/{trainer.id}/activation", data={"active": "0"}).status_code == 302
    assert signed_out(remembered.get("/tableau-de-bord"))
    assert signed_out(with_only_the_remember_cookie(app, remembered).get("/tableau-de-bord"))


def test_reactivating_an_account_does_not_bring_its_former_browsers_back(app, admin_client):
    """The sign-in id named the password only: an account deactivated (a trainer leaving, a lost laptop) then
    reactivated was signed in again on every browser that had it, a "remember me" cookie kept for months
    included. Its owner now signs in again; a new sign-in after the reactivation stays."""
    trainer = factories.make_user("trainer")
    remembered, current = sign_in(app, trainer, remember=True), sign_in(app, trainer)
    kept_cookie = with_only_the_remember_cookie(app, remembered)
    assert kept_cookie.get("/tableau-de-bord").status_code == 200
    for active in ("0", "1"):  # deactivated, then reactivated
        assert admin_client.post(f"/admin/comptes/{trainer.id}/activation", data={"active": active}).status_code \
            == 302
    assert signed_out(remembered.get("/tableau-de-bord"))
    assert signed_out(current.get("/tableau-de-bord"))
    assert signed_out(kept_cookie.get("/tableau-de-bord"))
    again = sign_in(app, trainer, remember=True)
    assert again.get("/tableau-de-bord").status_code == 200
    assert with_only_the_remember_cookie(app, again).get("/tableau-de-bord").status_code == 200


def test_remember_me_lasts_30_days_and_is_not_sent_from_other_sites(app):
    trainer = factories.make_user("trainer")
    client = sign_in(app, trainer, remember=True)
    cookie = client.get_cookie(REMEMBER)
    assert cookie.same_site == "Lax" and cookie.http_only
    lifetime = cookie.expires - datetime.now(timezone.utc)
    assert timedelta(days=29) < lifetime <= timedelta(days=30)


def test_a_sign_in_lasts_as_long_as_remember_me_outside_the_tests():
    from training_app.config import DevelopmentConfig, ProductionConfig
    for config in (DevelopmentConfig, ProductionConfig):
        assert config.SIGN_IN_LIFETIME == config.REMEMBER_COOKIE_DURATION == timedelta(days=30)


SIGNED_IN_AT = datetime(2030, 5, 6, 9, 0, 30)  # local time, with no change to summer time within 60 days


def test_a_remember_cookie_replayed_after_30_days_no_longer_signs_in(app, month_long_sign_ins):
    """The cookie's 30 days were the browser's business only: a copy of it (or a browser that ignores expiry)
    signed in for ever. The server now ends the sign-in 30 days after the password was typed."""
    trainer = factories.make_user("trainer")
    with frozen_at(SIGNED_IN_AT):
        browser = sign_in(app, trainer, remember=True)
    with frozen_at(SIGNED_IN_AT + timedelta(days=29, hours=23)):
        assert with_only_the_remember_cookie(app, browser).get("/tableau-de-bord").status_code == 200
        assert browser.get("/tableau-de-bord").status_code == 200
        copy = with_only_the_remember_cookie(app, browser)
        assert copy.get("/tableau-de-bord").status_code == 200  # now signed in by its session too
    with frozen_at(SIGNED_IN_AT + timedelta(days=30, minutes=1)):
        assert signed_out(with_only_the_remember_cookie(app, browser).get("/tableau-de-bord"))
        assert signed_out(browser.get("/tableau-de-bord"))
        assert signed_out(copy.get("/tableau-de-bord"))
        again = sign_in(app, trainer, remember=True)  # the password typed again: another month
        assert with_only_the_remember_cookie(app, again).get("/tableau-de-bord").status_code == 200
    with frozen_at(SIGNED_IN_AT + timedelta(days=59)):
        assert with_only_the_remember_cookie(app, again).get("/tableau-de-bord").status_code == 200


def test_signing_out_ends_every_copy_of_this_browsers_cookies_and_no_other_browser(app):
    """Signing out only asked the browser to forget its cookies: a copy of them, taken before, went on
    signing in (for ever, for the remember cookie)."""
    trainer = factories.make_user("trainer")
    leaving, other = sign_in(app, trainer, remember=True), sign_in(app, trainer, remember=True)
    kept_cookie, kept_session = with_only_the_remember_cookie(app, leaving), with_only_the_session_cookie(app, leaving)
    assert kept_session.get("/tableau-de-bord").status_code == 200

    response = leaving.post("/deconnexion")
    assert response.status_code == 302 and leaving.get_cookie(REMEMBER) is None
    assert signed_out(leaving.get("/tableau-de-bord"))
    assert signed_out(kept_cookie.get("/tableau-de-bord"))
    assert signed_out(kept_session.get("/tableau-de-bord"))
    assert other.get("/tableau-de-bord").status_code == 200  # the trainer's other browser stays signed in
    assert with_only_the_remember_cookie(app, other).get("/tableau-de-bord").status_code == 200
    assert app.test_client().post("/deconnexion").status_code == 302  # nobody signed in: nothing to end


@pytest.mark.parametrize("by", ["administrator", "link"])
def test_a_password_set_by_an_administrator_or_through_a_link_signs_out_remembered_browsers(app, admin_client,
                                                                                          by):
    from training_app.services import users
    trainer = factories.make_user("trainer")
    remembered = sign_in(app, trainer, remember=True)
    kept_cookie = with_only_the_remember_cookie(app, remembered)
    assert kept_cookie.get("/tableau-de-bord").status_code == 200
    if by == "administrator":
        response = admin_client.post(f"/admin/comptes/{trainer.id}/mot-de-passe",
                                     data={"password": "provisoire-12345"})
    else:
        response = app.test_client().post(f"/mot-de-passe-oublie/{users.make_reset_link_token(trainer)}",
                                          data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert signed_out(remembered.get("/tableau-de-bord"))
    assert signed_out(with_only_the_remember_cookie(app, remembered).get("/tableau-de-bord"))
