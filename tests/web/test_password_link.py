"""A member of staff who forgot their password asks for a link by e-mail: valid an hour, once; the same
answer whether or not the address has an account."""
import re

import pytest

from tests import factories
from tests.web.test_accounts import _reloaded, _text
from training_app.extensions import db
from training_app.models import AuditEntry
from training_app.services import users

NEW = "mon-nouveau-mot-de-passe"


def _link_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/mot-de-passe-oublie/\S+)", message.body).group(1)


def test_the_sign_in_page_links_to_the_forgotten_password_page(client):
    assert 'href="/mot-de-passe-oublie"' in client.get("/connexion").get_data(as_text=True)


def test_the_answer_is_the_same_for_a_known_an_unknown_and_a_deactivated_address(client, outbox):
    trainer = factories.make_user("trainer")
    inactive = factories.make_user("trainer", active=False)
    answers = [_text(client.post("/mot-de-passe-oublie", data={"email": email}))
               for email in (trainer.email.upper(), "personne@example.org", inactive.email)]
    assert "Si cette adresse correspond à un compte de l'équipe" in answers[0]
    assert answers[0] == answers[1] == answers[2]
    assert [m.to for m in outbox] == [[trainer.email]]


def test_a_link_sets_a_new_password_once_and_signs_out_every_browser(app, client, outbox):
    trainer = factories.make_user("trainer")
    users.reset_password(trainer, "provisoire-123")  # even a temporary password is replaced
    db.session.commit()
    signed_in = app.test_client()
    factories.login(signed_in, trainer, "provisoire-123")
    client.post("/mot-de-passe-oublie", data={"email": trainer.email})
    path = _link_path(outbox[0])
    assert trainer.email in _text(client.get(path))

    for data, message in (({"password": NEW, "confirm": "autre-chose-encore"}, "Les deux mots de passe diffèrent."),
                          ({"password": "court", "confirm": "court"}, "10 caractères")):
        response = client.post(path, data=data)
        assert response.status_code == 200 and message in _text(response)
    assert _reloaded(trainer).check_password("provisoire-123")

    response = client.post(path, data={"password": NEW, "confirm": NEW})
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    trainer = _reloaded(trainer)
    assert trainer.check_password(NEW) and not trainer.must_change_password
    assert signed_in.get("/tableau-de-bord").status_code == 302  # signed out
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "password_reset_by_link"))
    assert (entry.entity_id, entry.actor_id) == (trainer.id, trainer.id)

    again = client.post(path, data={"password": "encore-un-autre-mot", "confirm": "encore-un-autre-mot"})
    assert again.status_code == 403 and "Ce lien n'est plus valable" in _text(again)
    assert _reloaded(trainer).check_password(NEW)
    assert factories.login(app.test_client(), trainer, NEW).headers["Location"] == "/tableau-de-bord"


def test_an_expired_or_altered_link_is_refused_in_french(client, monkeypatch):
    trainer = factories.make_user("trainer")
    path = f"/mot-de-passe-oublie/{users.make_reset_link_token(trainer)}"
    altered = client.get(path[:-3] + "abc")
    assert altered.status_code == 403 and "Ce lien n'est plus valable" in _text(altered)
    monkeypatch.setattr(users, "RESET_LINK_MAX_AGE_MINUTES", -1)  # any age is beyond it
    expired = client.post(path, data={"password": NEW, "confirm": NEW})
    assert expired.status_code == 403 and "Ce lien n'est plus valable" in _text(expired)
    assert _reloaded(trainer).check_password(factories.PASSWORD)


def test_a_link_of_a_deactivated_account_is_refused(client):
    trainer = factories.make_user("trainer")
    path = f"/mot-de-passe-oublie/{users.make_reset_link_token(trainer)}"
    trainer.active = False
    db.session.commit()
    assert client.get(path).status_code == 403


def test_a_link_sent_before_a_deactivation_is_dead_once_the_account_is_reactivated(client, admin_client, outbox):
    """The link named the password and the address only: an account deactivated (a trainer leaving, a mailbox
    read by someone else) then reactivated within the hour could still have its password chosen through it."""
    trainer = factories.make_user("trainer")
    client.post("/mot-de-passe-oublie", data={"email": trainer.email})
    path = _link_path(outbox[0])
    for active in ("0", "1"):
        assert admin_client.post(f"/admin/comptes/{trainer.id}/activation", data={"active": active}).status_code \
            == 302
    assert _reloaded(trainer).active
    for response in (client.get(path), client.post(path, data={"password": NEW, "confirm": NEW})):
        assert response.status_code == 403 and "Ce lien n'est plus valable" in _text(response)
    assert _reloaded(trainer).check_password(factories.PASSWORD)
    client.post("/mot-de-passe-oublie", data={"email": trainer.email})  # a link asked for after it works
    response = client.post(_link_path(outbox[-1]), data={"password": NEW, "confirm": NEW})
    assert response.status_code == 302 and _reloaded(trainer).check_password(NEW)


def test_a_link_sent_before_the_owner_changed_their_password_is_dead(app, client, outbox):
    trainer = factories.make_user("trainer")
    client.post("/mot-de-passe-oublie", data={"email": trainer.email})
    path = _link_path(outbox[0])
    owner = app.test_client()
    factories.login(owner, trainer)
    assert owner.post("/mot-de-passe", data={"current_password": factories.PASSWORD, "password": NEW,
                                             "confirm": NEW}).status_code == 302
    response = client.post(path, data={"password": "encore-un-autre-mot", "confirm": "encore-un-autre-mot"})
    assert response.status_code == 403 and "Ce lien n'est plus valable" in _text(response)
    assert _reloaded(trainer).check_password(NEW)


def test_asking_for_links_is_rate_limited_per_network_address(rate_limited_app):
    client = rate_limited_app.test_client()
    codes = [client.post("/mot-de-passe-oublie", data={"email": f"personne{n}@example.org"}).status_code
             for n in range(6)]
    assert codes == [200] * 5 + [429]


def test_one_address_gets_three_links_an_hour_from_any_network(rate_limited_app):
    """Nobody's mailbox is flooded: the limit per typed address holds whatever the network address."""
    trainer = factories.make_user("trainer")
    client = rate_limited_app.test_client()
    statuses = [client.post("/mot-de-passe-oublie", data={"email": trainer.email},
                            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    other = client.post("/mot-de-passe-oublie", data={"email": "personne@example.org"},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200  # another address is not held back


def test_another_administrator_cannot_take_an_account_from_its_password_link_in_the_outbox(client, admin_client,
                                                                                          outbox):
    """Without a mail server, a link asked for an administrator's address on the public page was shown whole on
    the outbox page, where any other administrator could open it and choose that account's password."""
    target = factories.make_user("admin", name="Bérénice Admin")
    client.post("/mot-de-passe-oublie", data={"email": target.email})
    path = _link_path(outbox[0])  # what the owner's mailbox would get
    page = admin_client.get("/admin/courriels").get_data(as_text=True)
    assert "Choisir un nouveau mot de passe" in page
    assert path not in page and path.rsplit("/", 1)[1] not in page
    assert "/mot-de-passe-oublie/[masqué]" in page


@pytest.mark.parametrize("mail_server", [None, "127.0.0.1"])
def test_password_links_are_always_hidden_from_staff_personal_links_only_when_mail_leaves(app, monkeypatch,
                                                                                        mail_server):
    from training_app.services import mail
    monkeypatch.setitem(app.config, "MAIL_SERVER", mail_server)
    text = ("Votre espace : https://formation.example.org/moi/eyJ0IjoxMn0.abcdefghijklmnop/\n"
            "Mot de passe : https://formation.example.org/mot-de-passe-oublie/eyJ1IjozfQ.ZZZZZZZZZZZZ")
    with app.test_request_context():
        shown = mail.shown_to_staff(text)
        assert mail.mask_links(text) == ("Votre espace : https://formation.example.org/moi/[masqué]/\n"
                                         "Mot de passe : https://formation.example.org/mot-de-passe-oublie/[masqué]")
    assert "/mot-de-passe-oublie/[masqué]" in shown and "ZZZZZZZZZZZZ" not in shown
    if mail_server:
        assert "/moi/[masqué]/" in shown and "abcdefghijklmnop" not in shown
    else:  # the office hands the convocations over itself
        assert "/moi/eyJ0IjoxMn0.abcdefghijklmnop/" in shown


def test_an_address_with_a_punycode_domain_signs_in_and_gets_its_link_as_typed(client, outbox):
    user = users.create_user("Jean@XN--BCHER-KVA.de", "Jean", "trainer", NEW, temporary=False)
    db.session.commit()
    client.post("/mot-de-passe-oublie", data={"email": "Jean@XN--BCHER-KVA.de"})
    assert [m.to for m in outbox] == [["jean@bücher.de"]]
    response = client.post("/connexion", data={"email": "Jean@XN--BCHER-KVA.de", "password": NEW})
    assert response.status_code == 302
    assert client.get("/tableau-de-bord").status_code == 200 and user.active


def _without_mail_server(app, monkeypatch):
    """As the site runs without MAIL_SERVER (the tests otherwise read the outbox as the mailboxes)."""
    monkeypatch.setitem(app.config, "MAIL_CAPTURED_AS_DELIVERED", False)
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)


def test_without_a_mail_server_the_page_says_no_link_can_arrive_and_sends_none(app, client, admin, outbox,
                                                                               monkeypatch):
    """It was: « un lien ... vient d'y être envoyé », while the e-mail was only kept in the outbox, its password
    link masked there: it could never arrive."""
    from training_app.models import OutgoingMail
    _without_mail_server(app, monkeypatch)
    assert 'href="/mot-de-passe-oublie"' in client.get("/connexion").get_data(as_text=True)
    asked = client.post("/mot-de-passe-oublie", data={"email": admin.email})
    for answer in (client.get("/mot-de-passe-oublie"), asked):
        said = _text(answer)
        assert answer.status_code == 200
        assert "Ce site n'envoie pas d'e-mails" in said and "un mot de passe provisoire" in said
        assert "vient d'y être envoyé" not in said and 'name="email"' not in answer.get_data(as_text=True)
    assert outbox == [] and db.session.scalar(db.select(db.func.count(OutgoingMail.id))) == 0


def test_with_a_mail_server_the_page_offers_the_link(app, client, monkeypatch):
    _without_mail_server(app, monkeypatch)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    said = _text(client.get("/mot-de-passe-oublie"))
    assert "Envoyer le lien" in said and "Ce site n'envoie pas d'e-mails" not in said
