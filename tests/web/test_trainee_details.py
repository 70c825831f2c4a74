"""The office corrects a trainee's details (e-mail included) from the session's enrolment list or the
enrolment's page; and a trainee asks for a new link, alone or with the whole group from the room's Wi-Fi."""
import html
import re

import pytest

from tests import factories
from training_app import create_app
from training_app.extensions import db, limiter
from training_app.models import AuditEntry, Trainee


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _page(response)))


def _awa():
    trainee = factories.make_trainee("Awa", "Diallo", email="awa@exemple.org", phone="06 00 00 00 00")
    return factories.enrol(factories.make_session(), trainee)


def _form(enrolment, **overrides) -> dict:
    trainee = enrolment.trainee
    data = {"civility": trainee.civility, "first_name": trainee.first_name, "last_name": trainee.last_name,
            "email": trainee.email, "phone": trainee.phone, "job_title": trainee.job_title,
            "category": trainee.category, "employer_name": "", "employer_siret": "",
            "version": factories.version_of(trainee)}
    data.update(overrides)
    return data


def _url(enrolment) -> str:
    return f"/inscriptions/{enrolment.id}/stagiaire"


def _rows():
    with db.engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
                for table in db.metadata.sorted_tables}


def test_the_form_is_reached_from_the_enrolment_list_and_page(admin_client):
    enrolment = _awa()
    session_page = _page(admin_client.get(f"/sessions/{enrolment.session_id}"))
    enrolment_page = _page(admin_client.get(f"/inscriptions/{enrolment.id}"))
    assert f'href="{_url(enrolment)}"' in session_page and f'href="{_url(enrolment)}"' in enrolment_page
    form = _page(admin_client.get(_url(enrolment)))
    assert "Modifier la fiche de Mme Awa DIALLO" in form
    assert 'value="awa@exemple.org"' in form and 'value="06 00 00 00 00"' in form
    (title,) = re.findall(r"<title>(.*?)</title>", form, re.S)
    assert "Modifier la fiche d'Awa Diallo" in title and "<" not in title  # no section's markup in the tab


def test_an_administrator_corrects_a_mistyped_address_and_the_trainee_gets_a_working_link(app, admin_client,
                                                                                          outbox):
    enrolment = _awa()
    awa = enrolment.trainee
    phone = app.test_client()
    old_link = factories.personal_path(awa)
    assert phone.get(old_link).status_code == 200
    response = admin_client.post(_url(enrolment), data=_form(enrolment, email="Awa@Example.org",
                                                             last_name="Diallo-Traoré"), follow_redirects=True)
    text = _text(response)
    assert ("Fiche d'Awa Diallo-Traoré enregistrée. Ses liens personnels précédents sont révoqués ; un nouveau "
            "lien a été envoyé à awa@example.org.") in text
    assert "awa@example.org" in text and "Diallo-Traoré" in text  # the enrolment's page, updated
    assert phone.get(old_link).status_code == 403
    [message] = outbox
    assert message.to == ["awa@example.org"]
    new_link = message.body.split("http://127.0.0.1:5000")[1].split()[0]
    assert "Bonjour Awa Diallo-Traoré" in _page(phone.get(new_link))
    # Still one trainee, with the same enrolments: nothing was created for the new address.
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 1
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "details_changed"))
    assert (entry.entity_id, entry.actor_label, entry.details["changes"]["email"]) == (
        awa.id, "Alice Admin", ["awa@exemple.org", "awa@example.org"])
    history = _text(admin_client.get(_url(enrolment)))
    assert ("Alice Admin : Nom « Diallo » → « Diallo-Traoré » ; "
            "Adresse e-mail « awa@exemple.org » → « awa@example.org »") in history


def test_other_details_change_without_touching_the_links(app, admin_client, outbox):
    enrolment = _awa()
    link = factories.personal_path(enrolment.trainee)
    response = admin_client.post(_url(enrolment), data=_form(enrolment, job_title="Coordinatrice",
                                                             employer_name="Mission locale", category="employee"),
                                 follow_redirects=True)
    assert "Fiche d'Awa Diallo enregistrée." in _text(response) and "révoqués" not in _text(response)
    assert "Mission locale" in _text(response) and "Coordinatrice" in _text(response)
    assert outbox == [] and app.test_client().get(link).status_code == 200
    db.session.expire_all()  # the trainee as the request left it
    again = admin_client.post(_url(enrolment), data=_form(enrolment, employer_name="Mission locale"),
                              follow_redirects=True)
    assert "Aucune modification : la fiche est déjà à jour." in _text(again)


def test_an_address_another_trainee_has_is_refused_and_nothing_changes(admin_client, outbox):
    enrolment = _awa()
    factories.make_trainee("Julien", "Martin", email="julien@example.org")
    before = _rows()
    response = admin_client.post(_url(enrolment), data=_form(enrolment, email="julien@example.org",
                                                             last_name="Autre"))
    assert response.status_code == 200
    assert ("Un·e autre stagiaire (Mme Julien MARTIN) a déjà cette adresse e-mail : rien n'a été modifié."
            in _text(response))
    assert 'value="Autre"' in _page(response)  # what was typed is shown again, to correct
    assert _rows() == before and outbox == []


@pytest.mark.parametrize("overrides, message", [
    ({"email": "awa@"}, "Cette adresse e-mail n'est pas valide."),
    ({"email": ""}, "Indiquez l'adresse e-mail."),
    ({"first_name": ""}, "Indiquez le prénom."),
    ({"last_name": "x" * 101}, "100"),
    ({"employer_siret": "1234"}, "doit compter 14 chiffres"),
    ({"employer_siret": "78324521000001"}, "Indiquez le nom de la structure employeuse qui a ce SIRET."),
    ({"category": "retired"}, "N'est pas un choix valide."),
    ({"civility": "Dr"}, "N'est pas un choix valide."),
])
def test_bad_input_is_refused_in_french_and_writes_nothing(admin_client, outbox, overrides, message):
    enrolment = _awa()
    before = _rows()
    response = admin_client.post(_url(enrolment), data=_form(enrolment, **overrides))
    assert response.status_code == 200 and message in _text(response)
    assert 'class="invalid-feedback' in _page(response)
    assert _rows() == before and outbox == []


def test_only_administrators_edit_a_trainee(app, trainer_client, client):
    enrolment = _awa()
    trainee_phone = app.test_client()  # holds the trainee's own personal link
    assert trainee_phone.get(factories.personal_path(enrolment.trainee)).status_code == 200
    before = _rows()
    for method in ("get", "post"):
        assert getattr(trainer_client, method)(_url(enrolment), data=_form(enrolment, email="x@example.org")
                                               ).status_code == 403
        for visitor in (client, trainee_phone):
            response = getattr(visitor, method)(_url(enrolment), data=_form(enrolment, email="x@example.org"))
            assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert _rows() == before


def test_the_form_refuses_a_post_without_its_csrf_token(app, admin):
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "STORAGE_DIR": app.config["STORAGE_DIR"], "WTF_CSRF_ENABLED": True})
    enrolment = _awa()
    client = protected.test_client()
    factories.sign_in_session(client, admin)  # signed in without going through the form
    before = _rows()
    response = client.post(_url(enrolment), data=_form(enrolment, email="autre@example.org"))
    assert response.status_code == 400 and "Le formulaire a expiré" in _text(response)
    assert _rows() == before
    page = _page(client.get(_url(enrolment)))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(_url(enrolment), data=_form(enrolment, email="autre@example.org", csrf_token=token))
    assert response.status_code == 302


# --- asking for a new link: the rate limits ---------------------------------------------------------------

def test_a_whole_group_asks_for_its_links_from_the_rooms_wi_fi(rate_limited_app, outbox):
    """The room's QR page sends trainees to this form; they all share the room's network address."""
    session = factories.make_session()
    trainees = [factories.make_enrolment(session).trainee for _ in range(12)]
    room = rate_limited_app.test_client()
    codes = [room.post("/moi/nouveau-lien", data={"email": t.email}).status_code for t in trainees]
    assert codes == [200] * 12
    assert sorted(m.to[0] for m in rate_limited_app.extensions["outbox"]) == sorted(t.email for t in trainees)


@pytest.mark.parametrize("known", [True, False])
def test_one_address_asks_three_times_an_hour_known_or_not(rate_limited_app, known):
    """The same limit and the same answers whether or not the address is enrolled: they tell nobody who is."""
    if known:
        factories.make_trainee(email="awa@example.org")
    client = rate_limited_app.test_client()
    addresses = ["awa@example.org", "AWA@example.org ", "Awa@Example.org", "awa@example.org"]
    responses = [client.post("/moi/nouveau-lien", data={"email": a}) for a in addresses]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    refused = _text(responses[-1])
    assert re.search(r"Trop de demandes en peu de temps : réessayez dans (\d+ minutes|1 heure)\.", refused)
    assert "quelques minutes" not in refused
    # Another address from the same network is not held up by this one.
    assert client.post("/moi/nouveau-lien", data={"email": "julien@example.org"}).status_code == 200


def test_the_network_limit_is_much_looser_and_its_page_tells_the_right_wait(rate_limited_app):
    client = rate_limited_app.test_client()
    codes = [client.post("/moi/nouveau-lien", data={"email": f"p{i}@example.org"}).status_code for i in range(31)]
    assert codes == [200] * 30 + [429]
    assert "réessayez dans 1 minute." in _text(client.post("/moi/nouveau-lien", data={"email": "x@example.org"}))


@pytest.fixture
def daily_limited_app(app):
    """Rate limiting on, with a network limit of 2 a day (a deployment may set LINK_REQUESTS_PER_NETWORK)."""
    limited = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                     "STORAGE_DIR": app.config["STORAGE_DIR"], "RATELIMIT_ENABLED": True,
                                     "LINK_REQUESTS_PER_NETWORK": "2 per day"})
    yield limited
    limiter.enabled = False
    limiter.reset()


def test_a_daily_limit_says_to_come_back_in_hours_not_minutes(daily_limited_app):
    client = daily_limited_app.test_client()
    codes = [client.post("/moi/nouveau-lien", data={"email": f"p{i}@example.org"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    refused = _text(client.post("/moi/nouveau-lien", data={"email": "x@example.org"}))
    assert re.search(r"réessayez dans (2[34]) heures\.", refused) and "quelques minutes" not in refused
