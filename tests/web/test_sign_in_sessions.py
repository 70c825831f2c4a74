"""Who stays signed in when a password changes or an account is deactivated: the session and the
"remember me" cookie hold the user's id with a fingerprint of the password (User.get_id())."""
from tests import factories

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
