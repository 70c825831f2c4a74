"""Administrators keep the staff accounts: correct a name or an e-mail, change a role, set a temporary
password (to be changed at the next sign-in); `flask reset-password` does it for the last administrator."""
import html
import re

import pytest

from tests import factories
from training_app.extensions import db
from training_app.models import AuditEntry, User
from training_app.services import audit, users

TEMPORARY = "provisoire-2024"
OWN = "mon-propre-mot-de-passe"


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _reloaded(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _account(user, **changes) -> dict:
    return {"name": user.name, "email": user.email, "role": user.role, "version": user.version, **changes}


def _audit_count() -> int:
    return db.session.scalar(db.select(db.func.count(AuditEntry.id)))


def signed_out(response) -> bool:
    return response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_the_navigation_links_to_the_password_change(trainer_client):
    page = trainer_client.get("/tableau-de-bord").get_data(as_text=True)
    assert re.search(r'<a class="dropdown-item" href="/mot-de-passe">Changer de mot de passe</a>', page)


def test_the_account_list_links_to_each_edit_page(admin_client, trainer):
    page = admin_client.get("/admin/comptes").get_data(as_text=True)
    assert f'href="/admin/comptes/{trainer.id}/modifier"' in page


def test_an_administrator_corrects_a_trainers_name_and_email(admin_client, admin, app):
    trainer = factories.make_user("trainer", name="Tom Trainr", email="tom@example.org")
    page = _text(admin_client.get(f"/admin/comptes/{trainer.id}/modifier"))
    assert "Compte de Tom Trainr" in page
    response = admin_client.post(f"/admin/comptes/{trainer.id}/modifier",
                                 data=_account(trainer, name="Tom Trainer", email="Tom.Trainer@example.org"))
    assert response.status_code == 302
    trainer = _reloaded(trainer)
    assert (trainer.name, trainer.email) == ("Tom Trainer", "tom.trainer@example.org")
    page = _text(admin_client.get(f"/admin/comptes/{trainer.id}/modifier"))
    assert f"{admin.name} Nom ou e-mail modifié Tom Trainr → Tom Trainer ; tom@example.org → " \
           "tom.trainer@example.org" in page
    # the trainer signs in with the corrected address
    client = app.test_client()
    factories.login(client, trainer)
    assert client.get("/tableau-de-bord").status_code == 200


def test_a_trainer_becomes_an_administrator(admin_client, app):
    trainer = factories.make_user("trainer")
    response = admin_client.post(f"/admin/comptes/{trainer.id}/modifier", data=_account(trainer, role="admin"))
    assert response.status_code == 302
    assert _reloaded(trainer).is_admin
    client = app.test_client()
    factories.login(client, trainer)
    assert client.get("/admin/comptes").status_code == 200
    assert "Administrateur·rice" in _text(admin_client.get(f"/admin/comptes/{trainer.id}/modifier"))


@pytest.mark.parametrize("changes, message", [
    ({"email": "pris@example.org"}, "Un compte existe déjà avec cette adresse e-mail."),
    ({"email": "pas-une-adresse"}, "Cette adresse e-mail n'est pas valide."),
    ({"email": ""}, "Indiquez l'adresse e-mail."),
    ({"name": ""}, "Indiquez le nom."),
    ({"name": "x" * 201}, "Le nom ne peut pas dépasser 200 caractères."),
])
def test_bad_input_on_the_edit_page_is_refused_in_french_and_changes_nothing(admin_client, changes, message):
    factories.make_user("trainer", email="pris@example.org")
    trainer = factories.make_user("trainer", name="Tom", email="tom@example.org")
    before = _audit_count()
    response = admin_client.post(f"/admin/comptes/{trainer.id}/modifier",
                                 data=_account(trainer, **{"name": "Thomas", **changes}))
    assert response.status_code == 200
    assert message in _text(response)
    trainer = _reloaded(trainer)
    assert (trainer.name, trainer.email) == ("Tom", "tom@example.org")
    assert _audit_count() == before


def test_the_last_administrator_cannot_remove_their_own_role(admin_client, admin):
    response = admin_client.post(f"/admin/comptes/{admin.id}/modifier",
                                 data=_account(admin, name="Alice A.", role="trainer"))
    assert response.status_code == 200
    assert "Il doit rester au moins un compte administrateur actif" in _text(response)
    admin = _reloaded(admin)
    assert admin.is_admin and admin.name == "Alice Admin"


def test_an_administrator_steps_down_when_another_remains(admin_client, admin):
    factories.make_user("admin")
    response = admin_client.post(f"/admin/comptes/{admin.id}/modifier", data=_account(admin, role="trainer"))
    assert response.status_code == 302 and response.headers["Location"] == "/tableau-de-bord"
    assert _reloaded(admin).is_trainer
    assert admin_client.get("/admin/comptes").status_code == 403


def test_an_administrator_cannot_deactivate_themselves(admin_client, admin):
    factories.make_user("admin")
    response = admin_client.post(f"/admin/comptes/{admin.id}/activation", data={"active": "0"}, follow_redirects=True)
    assert "Vous ne pouvez pas désactiver votre propre compte." in _text(response)
    assert _reloaded(admin).active


def test_an_administrator_deactivates_and_reactivates_another_administrator(admin_client, admin):
    other = factories.make_user("admin")
    assert 'name="active" value="0"' in admin_client.get("/admin/comptes").get_data(as_text=True)  # a state asked
    assert admin_client.post(f"/admin/comptes/{other.id}/activation", data={"active": "0"}).status_code == 302
    assert not _reloaded(other).active
    # A double click (or a list left open while a colleague deactivated it) asks the same: it stays deactivated.
    assert admin_client.post(f"/admin/comptes/{other.id}/activation", data={"active": "0"}).status_code == 302
    assert not _reloaded(other).active
    assert admin_client.post(f"/admin/comptes/{other.id}/activation", data={"active": "1"}).status_code == 302
    assert _reloaded(other).active
    assert admin_client.post(f"/admin/comptes/{other.id}/activation", data={}).status_code == 400
    assert [e.action for e in audit.history(_reloaded(other))].count("deactivated") == 1


def test_an_account_created_on_the_web_must_change_its_password_at_first_sign_in(admin_client, app):
    data = {"name": "Inès", "email": "ines@example.org", "role": "trainer", "password": TEMPORARY}
    assert admin_client.post("/admin/comptes", data=data).status_code == 302
    ines = db.session.scalar(db.select(User).where(User.email == "ines@example.org"))
    client = app.test_client()
    response = factories.login(client, ines, TEMPORARY)
    assert response.headers["Location"] == "/mot-de-passe"
    assert "Votre mot de passe est provisoire" in _text(client.get("/mot-de-passe"))


def test_a_temporary_password_set_by_an_administrator(admin_client, admin, app):
    trainer = factories.make_user("trainer")
    page = f"/sessions/{factories.make_session(trainers=(trainer,)).id}"
    remembered = app.test_client()
    factories.login(remembered, trainer)
    assert remembered.get(page).status_code == 200

    form = _text(admin_client.get(f"/admin/comptes/{trainer.id}/mot-de-passe"))
    assert f"Mot de passe provisoire pour {trainer.name}" in form
    response = admin_client.post(f"/admin/comptes/{trainer.id}/mot-de-passe", data={"password": TEMPORARY})
    assert response.status_code == 302
    assert signed_out(remembered.get(page))  # every browser of the trainer is signed out
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "password_reset"))
    assert (entry.entity_id, entry.actor_id) == (trainer.id, admin.id)

    client = app.test_client()
    assert client.post("/connexion", data={"email": trainer.email, "password": factories.PASSWORD}
                       ).status_code == 200  # the former password no longer works
    response = factories.login(client, trainer, TEMPORARY)
    assert response.headers["Location"] == "/mot-de-passe"
    for url in (page, "/tableau-de-bord", "/sessions"):  # nothing else until a password is chosen
        assert client.get(url).headers["Location"] == f"/mot-de-passe?next={url}"  # then back there
    response = client.post("/mot-de-passe", data={"current_password": TEMPORARY, "password": TEMPORARY,
                                                  "confirm": TEMPORARY})
    assert "Choisissez un mot de passe différent de l'actuel." in _text(response)
    assert client.get(page).headers["Location"] == f"/mot-de-passe?next={page}"
    response = client.post("/mot-de-passe", data={"current_password": TEMPORARY, "password": OWN, "confirm": OWN})
    assert response.status_code == 302
    assert client.get(page).status_code == 200
    assert not _reloaded(trainer).must_change_password


def test_a_refused_temporary_password_changes_nothing(admin_client, app):
    trainer = factories.make_user("trainer")
    signed_in = app.test_client()
    factories.login(signed_in, trainer)
    for data, message in (({"password": "court"}, "10 caractères"), ({}, "Choisissez un mot de passe.")):
        response = admin_client.post(f"/admin/comptes/{trainer.id}/mot-de-passe", data=data)
        assert response.status_code == 200 and message in _text(response)
    trainer = _reloaded(trainer)
    assert trainer.check_password(factories.PASSWORD) and not trainer.must_change_password
    assert signed_in.get("/tableau-de-bord").status_code == 200
    assert _audit_count() == 0


def test_an_administrator_changes_their_own_password_on_their_own_page(admin_client, admin):
    response = admin_client.get(f"/admin/comptes/{admin.id}/mot-de-passe")
    assert response.headers["Location"] == "/mot-de-passe"
    assert _reloaded(admin).check_password(factories.PASSWORD)


@pytest.mark.parametrize("url", ["/admin/comptes/{id}/modifier", "/admin/comptes/{id}/mot-de-passe"])
def test_trainers_and_visitors_cannot_edit_accounts(trainer_client, trainer, client, url):
    other = factories.make_user("trainer", name="Autre")
    url = url.format(id=other.id)
    data = {"name": "Piraté", "email": trainer.email, "role": "admin", "password": TEMPORARY}
    assert trainer_client.get(url).status_code == 403
    assert trainer_client.post(url, data=data).status_code == 403
    assert signed_out(client.get(url)) and signed_out(client.post(url, data=data))
    other = _reloaded(other)
    assert other.name == "Autre" and other.check_password(factories.PASSWORD) and not other.must_change_password


def test_an_unknown_account_is_not_found(admin_client):
    assert admin_client.get("/admin/comptes/999999/modifier").status_code == 404
    assert admin_client.post("/admin/comptes/999999/mot-de-passe", data={"password": TEMPORARY}).status_code == 404


# --- flask reset-password -------------------------------------------------------------------------------

def test_reset_password_on_the_command_line_asks_for_a_temporary_password(app):
    admin = factories.make_user("admin", email="alice@example.org")
    result = app.test_cli_runner().invoke(args=["reset-password", "Alice@Example.org"],
                                          input=f"{TEMPORARY}\n{TEMPORARY}\n")
    assert result.exit_code == 0, result.output
    assert "Mot de passe provisoire enregistré pour alice@example.org" in result.output
    admin = _reloaded(admin)
    assert admin.check_password(TEMPORARY) and admin.must_change_password
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "password_reset"))
    assert (entry.entity_id, entry.actor_id, entry.actor_label) == (admin.id, None, "ligne de commande")


def test_reset_password_on_the_command_line_can_make_one_up(app):
    admin = factories.make_user("admin")
    result = app.test_cli_runner().invoke(args=["reset-password", admin.email, "--generate"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Mot de passe provisoire : (\S+)", result.output).group(1)
    assert len(password) >= 10 and _reloaded(admin).check_password(password)
    client = app.test_client()
    assert factories.login(client, admin, password).headers["Location"] == "/mot-de-passe"


@pytest.mark.parametrize("args, entered, message", [
    (["reset-password", "personne@example.org"], "", "Aucun compte avec l'adresse personne@example.org."),
    (["reset-password", "{email}"], "court\ncourt\n", "10 caractères"),
])
def test_reset_password_on_the_command_line_refuses_in_french(app, args, entered, message):
    admin = factories.make_user("admin")
    result = app.test_cli_runner().invoke(args=[a.format(email=admin.email) for a in args], input=entered)
    assert result.exit_code == 1 and message in result.output
    admin = _reloaded(admin)
    assert admin.check_password(factories.PASSWORD) and not admin.must_change_password


def test_create_user_on_the_command_line_keeps_the_chosen_password_unless_temporary(app):
    runner = app.test_cli_runner()
    for email, flags in (("a@example.org", []), ("b@example.org", ["--temporary"])):
        result = runner.invoke(args=["create-user", email, "--role", "admin", "--name", "A", *flags],
                               input=f"{OWN}\n{OWN}\n")
        assert result.exit_code == 0, result.output
    temporary = dict(db.session.execute(db.select(User.email, User.must_change_password)).all())
    assert temporary == {"a@example.org": False, "b@example.org": True}


def test_the_history_names_a_password_chosen_through_an_e_mailed_link(admin_client, trainer):
    users.set_password_from_link(users.make_reset_link_token(trainer), "un-nouveau-mot-de-passe")
    db.session.commit()
    page = admin_client.get(f"/admin/comptes/{trainer.id}/modifier").get_data(as_text=True)
    assert "Mot de passe choisi par la personne (lien par e-mail)" in page and "password_reset_by_link" not in page


def test_an_address_failing_two_checks_with_one_message_says_it_once(admin_client):
    """A 10,000-character address fails both the length and the format check, which say the same: said once."""
    data = {"name": "Inès", "email": "x" * 10_000 + "@example.org", "role": "trainer", "password": TEMPORARY}
    response = admin_client.post("/admin/comptes", data=data)
    assert response.status_code == 200
    assert _text(response).count("Cette adresse e-mail n'est pas valide.") == 1
    assert db.session.scalar(db.select(User).where(User.name == "Inès")) is None
