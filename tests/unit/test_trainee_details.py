"""An administrator corrects a trainee's details (services/registrations.py update_trainee), and why a
personal link does not open (services/trainee_links.py)."""
import time

import pytest
from itsdangerous import TimestampSigner

from tests import factories
from training_app.extensions import db
from training_app.formatting import wait_fr
from training_app.models import AuditEntry, Employer, Trainee
from training_app.services import ServiceError, registrations, trainee_links
from training_app.services.registrations import PersonDetails


def _details(trainee: Trainee, **overrides) -> PersonDetails:
    """The trainee's details as the form shows them, with some changed."""
    values = {"civility": trainee.civility, "first_name": trainee.first_name, "last_name": trainee.last_name,
              "email": trainee.email, "phone": trainee.phone, "job_title": trainee.job_title,
              "category": trainee.category, "employer_name": trainee.employer.name if trainee.employer else "",
              "employer_siret": trainee.employer.siret if trainee.employer else ""}
    values.update(overrides)
    return PersonDetails(**values)


def _awa(**fields) -> Trainee:
    trainee = factories.make_trainee("Awa", "Diallo", email="awa@exemple.org", phone="06 00 00 00 00",
                                     job_title="Animatrice", **fields)
    factories.enrol(factories.make_session(), trainee)
    return trainee


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == action)))


def test_details_are_corrected_and_the_change_is_audited_without_touching_the_links(outbox):
    awa, admin = _awa(), factories.make_user("admin", name="Alice Admin")
    link = factories.personal_path(awa)
    changes = registrations.update_trainee(awa, _details(awa, last_name="Diallo-Traoré", phone="", civility="mx",
                                                         job_title="Coordinatrice", category="other"),
                                           actor=admin)
    db.session.commit()
    assert changes == {"civility": ["Mme", "Mx"], "last_name": ["Diallo", "Diallo-Traoré"],
                       "phone": ["06 00 00 00 00", ""], "job_title": ["Animatrice", "Coordinatrice"],
                       "category": ["employee", "other"]}
    db.session.expire_all()
    stored = db.session.get(Trainee, awa.id)
    assert (stored.civility, stored.last_name, stored.phone, stored.category, stored.link_version) == (
        "Mx", "Diallo-Traoré", "", "other", 1)
    [entry] = _audit("details_changed")
    assert (entry.entity_type, entry.entity_id, entry.actor_label, entry.details) == (
        "trainees", awa.id, "Alice Admin", {"changes": changes})
    assert _audit("links_revoked") == [] and outbox == []  # the address did not change: the links stay
    assert trainee_links.trainee_from_token(link.rsplit("/", 1)[1]).id == awa.id


def test_nothing_changed_writes_nothing(outbox):
    namesake = factories.make_employer("ccas de rennes", siret="")  # found first by name: not taken instead
    awa = _awa(employer=factories.make_employer("CCAS de Rennes", siret=""))
    changes = registrations.update_trainee(awa, _details(awa, email="  AWA@Exemple.org "),
                                           actor=factories.make_user("admin"))
    db.session.commit()
    assert changes == {}
    assert awa.employer.id != namesake.id
    assert _audit("details_changed") == [] and outbox == []


def test_a_new_address_revokes_the_old_links_and_sends_a_new_one_to_it(outbox):
    awa, admin = _awa(), factories.make_user("admin")
    old_token = factories.personal_path(awa).rsplit("/", 1)[1]
    changes = registrations.update_trainee(awa, _details(awa, email="Awa.Diallo@Example.org"), actor=admin)
    db.session.commit()
    assert changes == {"email": ["awa@exemple.org", "awa.diallo@example.org"]}
    with pytest.raises(trainee_links.LinkError) as refused:
        trainee_links.trainee_from_token(old_token)
    assert refused.value.reason == "revoked"
    [message] = outbox
    assert message.to == ["awa.diallo@example.org"] and "a enregistré cette adresse e-mail" in message.body
    new_token = message.body.split("http://127.0.0.1:5000/moi/")[1].split()[0]
    assert trainee_links.trainee_from_token(new_token).id == awa.id
    [revoked] = _audit("links_revoked")
    assert (revoked.entity_id, revoked.reason) == (awa.id, "Adresse e-mail modifiée")
    # "Recevoir un nouveau lien" now writes to the new address only.
    trainee_links.send_new_link("awa@exemple.org")
    trainee_links.send_new_link("awa.diallo@example.org")
    db.session.commit()
    assert [m.to for m in outbox] == [["awa.diallo@example.org"], ["awa.diallo@example.org"]]


def test_another_trainees_address_is_refused_and_nothing_changes(outbox):
    awa = _awa()
    factories.make_trainee("Julien", "Martin", email="julien@example.org")
    with pytest.raises(ServiceError) as refused:
        registrations.update_trainee(awa, _details(awa, last_name="Autre", email="Julien@example.org"),
                                     actor=factories.make_user("admin"))
    db.session.rollback()
    assert refused.value.field == "email"
    assert "a déjà cette adresse e-mail" in refused.value.message and "Julien MARTIN" in refused.value.message
    db.session.expire_all()
    assert (awa.email, awa.last_name, awa.link_version) == ("awa@exemple.org", "Diallo", 1)
    assert _audit("details_changed") == [] and outbox == []


def test_an_address_taken_at_the_same_moment_is_refused_by_the_unique_index(monkeypatch):
    """Two administrators give the same address to two trainees at once: the second meets the unique index."""
    awa = _awa()
    factories.make_trainee("Julien", "Martin", email="julien@example.org")
    monkeypatch.setattr(registrations, "_refuse_taken_email", lambda trainee, email: None)  # read before the other
    with pytest.raises(ServiceError) as refused:
        registrations.update_trainee(awa, _details(awa, email="julien@example.org"),
                                     actor=factories.make_user("admin"))
    db.session.rollback()
    assert refused.value.field == "email" and "rien n'a été modifié" in refused.value.message
    db.session.expire_all()
    assert awa.email == "awa@exemple.org" and _audit("details_changed") == []


@pytest.mark.parametrize("overrides, field, words", [
    ({"email": "pas-une-adresse"}, "email", "n'est pas valide"),
    ({"email": ""}, "email", "Indiquez l'adresse e-mail"),
    ({"first_name": "  "}, "first_name", "Indiquez le prénom"),
    ({"last_name": "x" * 101}, "last_name", "dépasse 100 caractères"),
    ({"job_title": "x" * 201}, "job_title", "dépasse 200 caractères"),
    ({"civility": "Docteur"}, "civility", "Civilité inconnue"),
    ({"employer_siret": "123"}, "employer_siret", "14 chiffres"),
    ({"employer_name": "", "employer_siret": "78324521000001"}, "employer_name", "nom de la structure"),
    ({"category": "retired"}, "category", "catégorie"),
])
def test_bad_details_are_refused_with_a_french_message(overrides, field, words):
    awa = _awa()
    with pytest.raises(ServiceError) as refused:
        registrations.update_trainee(awa, _details(awa, **overrides), actor=factories.make_user("admin"))
    db.session.rollback()
    assert refused.value.field == field and words in refused.value.message
    assert _audit("details_changed") == []


def test_the_employer_is_changed_found_or_removed():
    known = factories.make_employer("Mission locale")
    awa = _awa(employer=factories.make_employer("CCAS de Rennes"))
    admin = factories.make_user("admin")
    assert registrations.update_trainee(awa, _details(awa, employer_name="mission LOCALE", employer_siret=""),
                                        actor=admin) == {"employer": ["CCAS de Rennes (SIRET 78324521000001)", "Mission locale (SIRET 78324521000001)"]}
    assert awa.employer.id == known.id
    registrations.update_trainee(awa, _details(awa, employer_name="Nouvelle asso", employer_siret=""), actor=admin)
    assert awa.employer.name == "Nouvelle asso" and awa.employer.id != known.id
    assert registrations.update_trainee(awa, _details(awa, employer_name="", employer_siret="",
                                                      category="individual"), actor=admin) == {
        "category": ["employee", "individual"], "employer": ["Nouvelle asso", None]}
    db.session.commit()
    db.session.expire_all()
    assert awa.employer is None and db.session.scalar(db.select(db.func.count(Employer.id))) == 3


def test_a_siret_correction_moves_the_trainee_to_that_establishment_and_is_audited(outbox):
    awa = _awa(employer=factories.make_employer("Mission locale", siret="78324521000001"))
    changes = registrations.update_trainee(awa, _details(awa, employer_siret="44195127000004"),
                                           actor=factories.make_user("admin"))
    db.session.commit()
    db.session.expire_all()
    assert changes == {"employer": ["Mission locale (SIRET 78324521000001)", "Mission locale (SIRET 44195127000004)"]}
    assert awa.employer.siret == "44195127000004" and _audit("details_changed")[0].details["changes"] == changes


def test_a_siret_completed_on_the_employer_is_audited():
    employer = factories.make_employer("Mission locale", siret="")
    awa = _awa(employer=employer)
    changes = registrations.update_trainee(awa, _details(awa, employer_siret="44195127000004"),
                                           actor=factories.make_user("admin"))
    db.session.commit()
    assert changes == {"employer": ["Mission locale", "Mission locale (SIRET 44195127000004)"]}
    assert awa.employer.id == employer.id and len(_audit("details_changed")) == 1


def test_a_siret_left_blank_keeps_the_trainee_at_their_establishment():
    factories.make_employer("Mission locale", siret="44195127000004")  # a namesake, older
    awa = _awa(employer=factories.make_employer("Mission locale", siret="78324521000001"))
    before = awa.employer.id
    changes = registrations.update_trainee(awa, _details(awa, employer_siret="", phone="07 00 00 00 00"),
                                           actor=factories.make_user("admin"))
    db.session.commit()
    assert changes == {"phone": ["06 00 00 00 00", "07 00 00 00 00"]} and awa.employer.id == before
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 2  # nothing new written


@pytest.mark.parametrize("kind", ["expired", "invalid", "revoked", "unknown"])
def test_a_link_that_does_not_open_says_why(monkeypatch, kind):
    awa = _awa()
    if kind == "expired":
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() - 200 * 86400))
    token = trainee_links.make_token(awa)
    monkeypatch.undo()
    if kind == "invalid":
        token = token[:-3] + "abc"
    elif kind == "revoked":
        trainee_links.revoke_links(awa, actor=factories.make_user("admin"))
    elif kind == "unknown":
        token = trainee_links._serializer().dumps({"t": awa.id + 1000, "v": 1})
    with pytest.raises(trainee_links.LinkError) as refused:
        trainee_links.trainee_from_token(token)
    assert refused.value.reason == kind


@pytest.mark.parametrize("seconds, shown", [
    (5, "1 minute"), (60, "1 minute"), (61, "2 minutes"), (59 * 60, "59 minutes"), (3599.5, "1 heure"),
    (3601, "2 heures"), (23.5 * 3600, "24 heures"),
])
def test_a_wait_is_shown_rounded_up(seconds, shown):
    assert wait_fr(seconds) == shown


def test_a_new_link_is_sent_to_an_address_with_a_punycode_domain_as_typed(outbox):
    """Addresses are stored as normalise_email writes them (a punycode domain in Unicode): « Recevoir un nouveau
    lien » looks for the address typed written the same way."""
    admin = factories.make_user("admin")
    awa = _awa()
    registrations.update_trainee(awa, _details(awa, email="Awa@XN--BCHER-KVA.de"), actor=admin)
    db.session.commit()
    assert awa.email == "awa@bücher.de"
    outbox.clear()
    trainee_links.send_new_link(" AWA@xn--bcher-kva.de")
    db.session.commit()
    assert [m.to for m in outbox] == [["awa@bücher.de"]]
