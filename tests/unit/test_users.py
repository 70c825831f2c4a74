"""Staff accounts' rules (services/users.py): corrections, roles, the last administrator, temporary passwords."""
import pytest

from tests import factories
from training_app.extensions import db
from training_app.models import User
from training_app.services import ServiceError, audit, users

NEW = "un-nouveau-mot-de-passe"


def _reloaded(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_an_account_made_by_an_administrator_has_a_temporary_password():
    user = users.create_user("Ines@Example.org ", " Inès Martin ", "trainer", "mot-de-passe-provisoire")
    db.session.commit()
    assert (user.email, user.name, user.must_change_password) == ("ines@example.org", "Inès Martin", True)
    own = users.create_user("root@example.org", "Root", "admin", "mot-de-passe-choisi", temporary=False)
    assert own.must_change_password is False


def test_update_corrects_the_name_and_email_and_audits_both():
    admin = factories.make_user("admin")
    trainer = factories.make_user("trainer", name="Tom Trainr", email="tom@example.org")
    users.update_user(trainer, name="  Tom Trainer ", email="TOM.TRAINER@example.org", role="trainer", actor=admin)
    db.session.commit()
    trainer = _reloaded(trainer)
    assert (trainer.name, trainer.email, trainer.role) == ("Tom Trainer", "tom.trainer@example.org", "trainer")
    [entry] = audit.history(trainer)
    assert (entry.action, entry.actor_id) == ("updated", admin.id)
    assert entry.details == {"name": {"from": "Tom Trainr", "to": "Tom Trainer"},
                             "email": {"from": "tom@example.org", "to": "tom.trainer@example.org"}}


def test_update_without_change_writes_no_audit_entry():
    trainer = factories.make_user("trainer")
    users.update_user(trainer, name=trainer.name, email=trainer.email.upper(), role="trainer")
    db.session.commit()
    assert audit.history(trainer) == []


def test_a_trainer_becomes_an_administrator_keeping_their_email():
    trainer = factories.make_user("trainer", email="awa@example.org")
    users.update_user(trainer, name=trainer.name, email="awa@example.org", role="admin")
    db.session.commit()
    trainer = _reloaded(trainer)
    assert trainer.is_admin
    [entry] = audit.history(trainer)
    assert (entry.action, entry.from_state, entry.to_state) == ("role_changed", "trainer", "admin")


@pytest.mark.parametrize("changes, field, message", [
    ({"email": "other@example.org"}, "email", "Un compte existe déjà avec cette adresse e-mail."),
    ({"email": "OTHER@example.org "}, "email", "Un compte existe déjà avec cette adresse e-mail."),
    ({"email": "pas-une-adresse"}, "email", "L'adresse e-mail « pas-une-adresse » n'est pas valide."),
    ({"name": "   "}, "name", "Indiquez le nom."),
    ({"name": "x" * 201}, "name", "Le nom ne peut pas dépasser 200 caractères."),
    ({"role": "boss"}, "role", "Rôle inconnu : boss."),
])
def test_a_refused_update_changes_nothing(changes, field, message):
    factories.make_user("trainer", email="other@example.org")
    trainer = factories.make_user("trainer", name="Tom", email="tom@example.org")
    data = {"name": "Tom Trainer", "email": "tom@example.org", "role": "admin", **changes}
    with pytest.raises(ServiceError) as refused:
        users.update_user(trainer, **data)
    assert (refused.value.field, refused.value.message) == (field, message)
    db.session.rollback()
    trainer = _reloaded(trainer)
    assert (trainer.name, trainer.email, trainer.role) == ("Tom", "tom@example.org", "trainer")
    assert audit.history(trainer) == []


def test_the_last_active_administrator_cannot_step_down():
    admin = factories.make_user("admin")
    factories.make_user("admin", active=False)  # a deactivated administrator does not count
    with pytest.raises(ServiceError, match="Il doit rester au moins un compte administrateur actif"):
        users.update_user(admin, name=admin.name, email=admin.email, role="trainer", actor=admin)
    with pytest.raises(ServiceError, match="Il doit rester au moins un compte administrateur actif"):
        users.set_active(admin, False)  # e.g. from the command line, without an actor
    db.session.rollback()
    assert _reloaded(admin).is_admin and _reloaded(admin).active


def test_an_administrator_steps_down_when_another_remains():
    admin, other = factories.make_user("admin"), factories.make_user("admin")
    users.update_user(admin, name=admin.name, email=admin.email, role="trainer", actor=admin)
    db.session.commit()
    assert _reloaded(admin).is_trainer
    with pytest.raises(ServiceError, match="Il doit rester au moins un compte administrateur actif"):
        users.update_user(other, name=other.name, email=other.email, role="trainer", actor=other)


def test_nobody_deactivates_their_own_account():
    admin, other = factories.make_user("admin"), factories.make_user("admin")
    with pytest.raises(ServiceError, match="Vous ne pouvez pas désactiver votre propre compte."):
        users.set_active(admin, False, actor=admin)
    users.set_active(admin, False, actor=other)
    db.session.commit()
    assert not _reloaded(admin).active
    assert [e.action for e in audit.history(admin)] == ["deactivated"]


def test_a_reset_sets_a_temporary_password_and_audits_it():
    admin, trainer = factories.make_user("admin"), factories.make_user("trainer")
    users.reset_password(trainer, "provisoire-123", actor=admin)
    db.session.commit()
    trainer = _reloaded(trainer)
    assert trainer.check_password("provisoire-123") and not trainer.check_password(factories.PASSWORD)
    assert trainer.must_change_password
    [entry] = audit.history(trainer)
    assert (entry.action, entry.actor_id) == ("password_reset", admin.id)


def test_a_reset_refuses_a_short_password_and_an_administrators_own_account():
    admin, trainer = factories.make_user("admin"), factories.make_user("trainer")
    with pytest.raises(ServiceError, match="10 caractères"):
        users.reset_password(trainer, "court", actor=admin)
    with pytest.raises(ServiceError, match="Changer de mot de passe"):
        users.reset_password(admin, "provisoire-123", actor=admin)
    db.session.rollback()
    assert _reloaded(trainer).check_password(factories.PASSWORD) and not _reloaded(trainer).must_change_password


def test_changing_a_temporary_password_makes_it_the_owners():
    trainer = factories.make_user("trainer")
    users.reset_password(trainer, "provisoire-123")
    users.start_sign_in(trainer)
    db.session.commit()
    former_id = trainer.get_id()
    with pytest.raises(ServiceError, match="différent"):
        users.change_password(trainer, "provisoire-123", "provisoire-123")
    users.change_password(trainer, "provisoire-123", NEW)
    db.session.commit()
    assert users.signed_in_user(former_id) is None  # browsers signed in before are signed out
    trainer = _reloaded(trainer)
    assert trainer.check_password(NEW) and not trainer.must_change_password
    users.start_sign_in(trainer)
    db.session.commit()
    assert users.signed_in_user(trainer.get_id()) == trainer


def test_a_password_link_works_until_the_password_changes():
    trainer, other = factories.make_user("trainer"), factories.make_user("trainer")
    token = users.make_reset_link_token(trainer)
    assert users.user_from_reset_link(token) == trainer
    with pytest.raises(ServiceError, match="10 caractères"):
        users.set_password_from_link(token, "court")
    assert users.set_password_from_link(token, NEW) == trainer
    db.session.commit()
    with pytest.raises(ServiceError, match="Ce lien n'est plus valable"):
        users.user_from_reset_link(token)
    with pytest.raises(ServiceError, match="Ce lien n'est plus valable") as used:
        users.set_password_from_link(token, "encore-un-autre-mot")  # once only
    assert used.value.field is None
    db.session.rollback()
    assert _reloaded(trainer).check_password(NEW)
    assert users.user_from_reset_link(users.make_reset_link_token(other)) == other
    with pytest.raises(ServiceError, match="Ce lien n'est plus valable"):
        users.user_from_reset_link("pas-un-lien")


@pytest.mark.parametrize("change", ["owner", "administrator", "command line"])
def test_a_password_link_made_before_a_password_change_is_dead(change):
    trainer, admin = factories.make_user("trainer"), factories.make_user("admin")
    token = users.make_reset_link_token(trainer)
    if change == "owner":
        users.change_password(trainer, factories.PASSWORD, NEW)
    elif change == "administrator":
        users.reset_password(trainer, NEW, actor=admin)
    else:
        users.reset_password(trainer, NEW, actor_label="ligne de commande")
    db.session.commit()
    with pytest.raises(ServiceError, match="Ce lien n'est plus valable"):
        users.set_password_from_link(token, "encore-un-autre-mot")
    db.session.rollback()
    assert _reloaded(trainer).check_password(NEW)


def test_a_password_link_made_before_a_deactivation_or_a_reactivation_is_dead():
    admin = factories.make_user("admin")
    trainer, other = factories.make_user("trainer"), factories.make_user("trainer")
    before_deactivation, others = users.make_reset_link_token(trainer), users.make_reset_link_token(other)
    users.set_active(trainer, False, actor=admin)
    db.session.commit()
    while_inactive = users.make_reset_link_token(trainer)  # refused while inactive; not brought back after
    users.set_active(trainer, True, actor=admin)
    db.session.commit()
    for token in (before_deactivation, while_inactive):
        with pytest.raises(ServiceError, match="Ce lien n'est plus valable"):
            users.user_from_reset_link(token)
    assert users.user_from_reset_link(users.make_reset_link_token(trainer)) == trainer
    assert users.user_from_reset_link(others) == other  # nobody else's links


def test_a_password_link_sent_to_a_former_address_is_dead():
    trainer = factories.make_user("trainer", email="ancienne@example.org")
    token = users.make_reset_link_token(trainer)
    users.update_user(trainer, name=trainer.name, email="nouvelle@example.org", role="trainer")
    db.session.commit()
    with pytest.raises(ServiceError, match="Ce lien n'est plus valable"):
        users.user_from_reset_link(token)


def test_an_address_taken_by_another_request_past_the_check_is_refused_in_french(monkeypatch):
    """Two requests giving the same address at the same moment both pass the check; the unique index refuses
    the second: a French message on the e-mail field and nothing of it written, never a 500."""
    factories.make_user("trainer", email="camille@example.org")
    ines = factories.make_user("trainer", name="Inès Moreau", email="ines@example.org")
    monkeypatch.setattr(users, "check_email_free", lambda *args, **kwargs: None)  # the other request's moment
    with pytest.raises(ServiceError, match="Un compte existe déjà avec cette adresse e-mail") as error:
        users.create_user("camille@example.org", "Camille Bis", "trainer", "un-mot-de-passe-solide")
    assert error.value.field == "email"
    db.session.rollback()  # as every view does on a refusal
    with pytest.raises(ServiceError, match="Un compte existe déjà avec cette adresse e-mail"):
        users.update_user(ines, name="Inès Moreau", email="camille@example.org", role="trainer")
    db.session.rollback()
    assert sorted(db.session.scalars(db.select(User.email))) == ["camille@example.org", "ines@example.org"]


def test_an_address_the_forms_refuse_is_refused_everywhere(app):
    """The command line took addresses (a special-use domain) that the forms then refused: such an account
    could never be edited nor get a password link."""
    result = app.test_cli_runner().invoke(args=["create-user", "formatrice@asso.local", "--role", "trainer",
                                                "--name", "Zoé Martin"],
                                          input="un-mot-de-passe-solide\nun-mot-de-passe-solide\n")
    assert "n'est pas valide" in result.output
    assert users.find_by_email("formatrice@asso.local") is None


def test_an_unknown_address_costs_the_same_password_check_as_a_known_one(monkeypatch):
    """Without it the answer took 13 ms for an unknown address and 205 ms for a staff member's: the time told
    who has an account. Checked by the calls made, not by timing."""
    import werkzeug.security
    trainer = factories.make_user("trainer")
    checked = []

    def recording(pwhash, password):
        checked.append((pwhash, password))
        return werkzeug.security.check_password_hash(pwhash, password)
    monkeypatch.setattr(users, "check_password_hash", recording)
    assert users.authenticate("personne@example.org", "un-mot-de-passe") is None
    (unused_hash, password), = checked
    assert password == "un-mot-de-passe"
    method = unused_hash.split("$")[0]
    assert method == trainer.password_hash.split("$")[0]  # same method and cost as the accounts' hashes
    assert users.authenticate("", "") is None and len(checked) == 2
    assert users._unused_password_hash() == unused_hash  # made once


def test_a_deactivated_account_costs_a_password_check_too_and_is_refused():
    inactive = factories.make_user("trainer", active=False)
    assert users.authenticate(inactive.email, factories.PASSWORD) is None
    assert users.authenticate(inactive.email, "faux") is None


def test_a_deactivation_changes_the_sign_in_id_for_good_and_no_other_account_s():
    """An account never deactivated keeps the sign-in id it had (nobody is signed out by the upgrade)."""
    import hashlib
    admin, trainer, other = (factories.make_user(role) for role in ("admin", "trainer", "trainer"))
    for user in (trainer, other):
        users.start_sign_in(user)
    db.session.commit()
    account = f"{trainer.id}:{hashlib.sha256(trainer.password_hash.encode()).hexdigest()[:16]}"
    former = trainer.get_id()
    assert former == f"{account}:{trainer.sign_in_token}" and users.signed_in_user(former) == trainer
    other_id = other.get_id()
    users.set_active(trainer, False, actor=admin)
    users.set_active(trainer, True, actor=admin)
    db.session.commit()
    assert not trainer.get_id().startswith(account) and users.signed_in_user(former) is None
    users.start_sign_in(trainer)
    db.session.commit()
    assert users.signed_in_user(trainer.get_id()) == trainer
    assert users.signed_in_user(other_id) == other and other.get_id() == other_id


def test_a_sign_in_is_refused_from_the_minute_it_is_30_days_old(month_long_sign_ins):
    """Whatever the browser keeps (a copy of the "remember me" cookie), the server ends a sign-in 30 days after
    the password was typed, at the start of that minute (a page kept for the minute never outlives it)."""
    from datetime import datetime, timedelta

    from training_app.clock import frozen_at
    trainer = factories.make_user("trainer")
    signed_in_at = datetime(2030, 5, 6, 9, 0, 30)  # local time, no change to summer time in the month
    with frozen_at(signed_in_at):
        users.start_sign_in(trainer)
        db.session.commit()
        sign_in_id = trainer.get_id()
        assert users.signed_in_user(sign_in_id) == trainer
    for moment, signed_in in ((timedelta(days=30, seconds=-31), True), (timedelta(days=30, seconds=-30), False),
                              (timedelta(days=400), False)):
        with frozen_at(signed_in_at + moment):
            assert (users.signed_in_user(sign_in_id) == trainer) is signed_in, moment


def test_a_sign_in_id_naming_no_current_sign_in_signs_nobody_in():
    """Sessions and cookies from before sign-ins were recorded named the account only: signed in again once."""
    trainer = factories.make_user("trainer")
    users.start_sign_in(trainer)
    db.session.commit()
    sign_in_id = trainer.get_id()
    account, _sep, token = sign_in_id.rpartition(":")
    assert users.signed_in_user(sign_in_id) == trainer
    assert users.signed_in_user(account) is None
    assert users.signed_in_user(f"{account}:{token}x") is None
    other = factories.make_user("trainer")
    assert users.signed_in_user(f"{other.id}:{account.partition(':')[2]}:{token}") is None  # another's sign-in
    assert users.signed_in_user("pas un identifiant") is None


def test_sign_ins_end_one_by_one_and_are_deleted_when_over(month_long_sign_ins):
    from datetime import datetime

    from training_app.clock import frozen_at
    from training_app.models import SignIn
    admin, trainer = factories.make_user("admin"), factories.make_user("trainer")

    def sign_in_ids():
        users.start_sign_in(trainer)
        db.session.commit()
        first = trainer.get_id()
        users.start_sign_in(trainer)
        db.session.commit()
        return first, trainer.get_id()

    with frozen_at(datetime(2030, 5, 6, 9, 0)):
        old, _second = sign_in_ids()
    with frozen_at(datetime(2030, 6, 10, 9, 0)):  # more than a month later
        leaving, staying = sign_in_ids()  # the sign-ins that are over are deleted
        assert db.session.scalar(db.select(db.func.count()).select_from(SignIn)) == 2
        users.end_sign_in(users.signed_in_user(leaving))
        db.session.commit()
        assert users.signed_in_user(leaving) is None and users.signed_in_user(staying) == trainer
        assert users.signed_in_user(old) is None
        users.set_active(trainer, False, actor=admin)
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(SignIn)) == 0  # a deactivation ends all


def test_purge_expired_deletes_the_sign_ins_that_are_over_of_people_who_no_longer_sign_in(app, month_long_sign_ins):
    """start_sign_in deletes the sign-ins that are over of whoever signs in; `flask purge-expired` deletes those
    of everybody else (`--dry-run` counts them), and leaves those still running, which still sign in."""
    from datetime import datetime

    from click.testing import CliRunner

    from training_app.clock import frozen_at
    from training_app.models import SignIn
    gone, staying = factories.make_user("trainer"), factories.make_user("admin")

    def sign_in(user, when):
        with frozen_at(when):
            users.start_sign_in(user)
            db.session.commit()
        return user.get_id()

    sign_in(gone, datetime(2030, 5, 6, 9, 0))
    sign_in(gone, datetime(2030, 5, 7, 9, 0))  # on a second browser; never again since
    staying_id = sign_in(staying, datetime(2030, 6, 1, 9, 0))

    def purge(*args) -> str:
        with frozen_at(datetime(2030, 6, 10, 9, 0)):  # more than a month after the first two, not the third
            result = CliRunner().invoke(app.cli, ["purge-expired", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def left() -> list[int]:
        db.session.expire_all()
        return list(db.session.scalars(db.select(SignIn.user_id)))

    assert "2 connexions de l'équipe terminées (ouvertes il y a 30 jours ou plus) seraient supprimées." \
        in purge("--dry-run")
    assert sorted(left()) == sorted([gone.id, gone.id, staying.id])
    assert "2 connexions terminées supprimées." in purge()
    assert left() == [staying.id]
    with frozen_at(datetime(2030, 6, 10, 9, 0)):
        assert users.signed_in_user(staying_id) == staying


@pytest.mark.parametrize("typed", ["Jean@XN--BCHER-KVA.de", " jean@xn--bcher-kva.de ", "JEAN@BÜCHER.DE",
                                   "jean@bücher.de"])
def test_an_account_is_found_by_its_address_however_its_domain_is_written(typed):
    """It was stored as the forms normalise it (a punycode domain in Unicode), but looked for only in lower case:
    its owner could neither sign in nor get a password link with the address as typed."""
    user = users.create_user("Jean@XN--BCHER-KVA.de", "Jean", "trainer", NEW, temporary=False)
    db.session.commit()
    assert user.email == "jean@bücher.de"
    assert users.find_by_email(typed) == user
    assert users.authenticate(typed, NEW) == user
    assert users.sign_in_failures_key(typed) == users.sign_in_failures_key(user.email)


def test_an_address_that_is_not_valid_finds_nobody_and_is_counted_as_typed():
    factories.make_user("trainer", email="camille@example.org")
    assert users.find_by_email("camille@") is None and users.find_by_email("") is None
    assert users.sign_in_failures_key("  Camille@ ") == "email:camille@"
    assert users.sign_in_failures_key("Inconnu@XN--BCHER-KVA.de") == "email:inconnu@bücher.de"


@pytest.mark.parametrize("length", [129, 10_000])
def test_a_password_longer_than_128_characters_is_refused_everywhere_one_is_chosen(length):
    """A passphrase or a password manager's password fits in 128 characters; a paste gone wrong does not, and is
    refused in French on the password's field, whichever way the password is chosen."""
    admin, trainer = factories.make_user("admin"), factories.make_user("trainer")
    too_long = "x" * length
    attempts = [lambda: users.create_user("nouveau@example.org", "Nouveau", "trainer", too_long),
                lambda: users.reset_password(trainer, too_long, actor=admin),
                lambda: users.change_password(trainer, factories.PASSWORD, too_long),
                lambda: users.set_password_from_link(users.make_reset_link_token(trainer), too_long)]
    for attempt in attempts:
        with pytest.raises(ServiceError, match="au plus 128 caractères") as refused:
            attempt()
        assert refused.value.field == "password"
    db.session.rollback()
    assert _reloaded(trainer).check_password(factories.PASSWORD)
    users.reset_password(trainer, "y" * 128, actor=admin)  # 128 is still accepted
    assert trainer.check_password("y" * 128)
