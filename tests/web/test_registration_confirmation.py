"""The link e-mailed for a request of the public registration page: opening it confirms nothing, its button
does, once; an expired, unknown or altered link, or a session closed since, is told in French and writes
nothing (services/registration_requests.py, enrolments.public_confirm)."""
import re
from datetime import date, datetime, timedelta

import pytest

from tests import factories
from tests.web.test_access_matrix import _client_as, _is_sign_in_redirect
from tests.web.test_public_registration import ANSWER, _page, _result, _url, registration
from tests.web.url_values import REQUESTED, build_world
from training_app import create_app
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment, OutgoingMail, RegistrationRequest, Trainee, TrainingSession
from training_app.services import enrolments, mail, sessions

ASKED = datetime(2030, 2, 1, 10, 0)  # the sessions made here start on Tue 5 March 2030
BUTTON = ">Confirmer ma demande</button>"


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _ask(client, session, email="awa.diallo@example.org", **overrides) -> str:
    """The request posted on the public page; the path of the link e-mailed for it."""
    response = client.post(_url(session), data=registration(email=email, **overrides))
    assert _result(response) == ANSWER
    return factories.confirmation_path(email)


def _outcome(response) -> str:
    return _page(response).split('data-testid="confirmation-result">')[1].split("</div>")[0]


def test_opening_the_link_shows_the_request_and_only_its_button_confirms_it_once(client, outbox):
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    with frozen_at(ASKED):
        link = _ask(client, session)
        outbox.clear()
        for _ in range(2):  # a mail scanner, then the person
            page = _page(client.get(link))
            assert BUTTON in page and "Votre place n'est pas réservée" in page
            details = page.split('data-testid="request-details">')[1].split("</dl>")[0]
            for shown in ("Mme Awa Diallo", "awa.diallo@example.org", "06 00 00 00 00", "Assistante sociale",
                          "CCAS de Rennes (SIRET 78324521000001)", "OPCO"):
                assert shown in details, shown
        assert "jusqu'au 03/02/2030 à 10h00" in page
        assert _count(Trainee) == 1 and _count(Enrolment) == 1 and outbox == []  # GET confirmed nothing

        confirmed = client.post(link)
        assert confirmed.status_code == 200
        outcome = _outcome(confirmed)
        assert "Merci, votre adresse e-mail est confirmée." in outcome
        assert "vous êtes sur la liste d'attente, en position 1." in outcome
        assert "Un e-mail vous le confirme, avec votre lien personnel" in _page(confirmed)
        assert BUTTON not in _page(confirmed)
        assert [m.subject for m in outbox] == ["Vous êtes sur la liste d'attente", f"Inscription : Awa Diallo — "
                                               f"{session.title}"]

    with frozen_at(ASKED + timedelta(hours=5)):  # the link again, and its button sent again (a reload)
        for again in (client.get(link), client.post(link)):
            assert again.status_code == 200
            outcome = _outcome(again)
            assert "Cette demande a déjà été confirmée, le 01/02/2030 à 10h00" in outcome
            assert "en position 1." in outcome and "Merci" not in outcome
    assert _count(Enrolment) == 2 and _count(Trainee) == 2 and len(outbox) == 2


def test_a_confirmed_request_tells_what_became_of_its_enrolment_since(client):
    session = factories.make_session(capacity=2)  # starts on Tue 5 March 2030 at 9:30
    with frozen_at(datetime(2030, 3, 4, 12, 0)):  # the link works 48 hours
        link = _ask(client, session)
        assert "Votre place est confirmée. Votre convocation vous sera envoyée avant la formation." in _outcome(
            client.post(link))
    with frozen_at(datetime(2030, 3, 5, 15, 0)):  # the link again once the course has begun: no promise before it
        outcome = " ".join(_outcome(client.get(link)).split())
        assert "La formation a commencé : l'équipe de formation vous dira comment la rejoindre." in outcome
        assert "avant la formation" not in outcome
    with frozen_at(datetime(2030, 3, 5, 16, 0)):  # dropped out on the first day: not a cancellation
        enrolments.withdraw(db.session.scalars(db.select(Enrolment)).one(), date(2030, 3, 5), "Raisons personnelles",
                            actor_label="test")
        db.session.commit()
        withdrawn = _outcome(client.get(link))
    assert "un abandon en cours de formation a été enregistré" in withdrawn
    assert "annulée" not in withdrawn


def test_the_confirmation_needs_the_page_s_csrf_token(app):
    """A form of another site cannot confirm someone's request: the button's POST carries the page's token."""
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "WTF_CSRF_ENABLED": True})
    session = factories.make_session()
    client = protected.test_client()
    with frozen_at(ASKED):
        page = _page(client.get(_url(session)))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        link = _ask(client, session, csrf_token=token)
        refused = client.post(link)
        assert refused.status_code == 400 and "Le formulaire a expiré" in _page(refused)
        assert _count(Enrolment) == 0
        form = _page(client.get(link))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        confirmed = client.post(link, data={"csrf_token": token})
    assert "Votre place est confirmée." in _outcome(confirmed) and _count(Enrolment) == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_says_so_and_leads_back_to_the_programme(client, outbox, method):
    session = factories.make_session()
    with frozen_at(ASKED):
        link = _ask(client, session)
    outbox.clear()
    with frozen_at(ASKED + timedelta(hours=48)):
        response = getattr(client, method)(link)
    page = _page(response)
    assert response.status_code == 410
    assert "Ce lien a expiré : il était valable 48 heures." in page
    assert "La demande n'a pas été confirmée : aucune place n'a été réservée." in page
    assert f'href="/formations/{session.programme_id}"' in page and BUTTON not in page
    assert _count(Enrolment) == _count(Trainee) == 0 and outbox == []


def test_an_expired_link_of_a_confirmed_request_tells_when_it_was_confirmed(client):
    session = factories.make_session()
    with frozen_at(ASKED):
        link = _ask(client, session)
        client.post(link)
    with frozen_at(ASKED + timedelta(days=3)):
        response = client.get(link)
    assert response.status_code == 410
    assert "La demande avait été confirmée le 01/02/2030 à 10h00" in _page(response)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_or_altered_link_names_nothing_and_leads_to_the_catalogue(client, method):
    session = factories.make_session()
    with frozen_at(ASKED):
        link = _ask(client, session)
        for wrong in (link[:-2], link[:-1] + ("A" if link[-1] != "A" else "B"),
                      "/formations/inscription/confirmer/" + "x" * 3000):
            response = getattr(client, method)(wrong)
            page = _page(response)
            assert response.status_code == 404, wrong
            assert "Ce lien ne correspond à aucune demande d'inscription en attente" in page
            assert 'href="/"' in page and "Awa" not in page
    assert _count(Enrolment) == 0 and _count(RegistrationRequest) == 1


def test_a_session_cancelled_since_the_request_refuses_the_confirmation_in_french(client, outbox):
    session = factories.make_session()
    with frozen_at(ASKED):
        link = _ask(client, session)
        sessions.cancel_session(session, "Formateur malade", actor_label="test")
        db.session.commit()
        outbox.clear()
        response = client.post(link)
    page = _page(response)
    assert response.status_code == 409
    assert "Cette session a été annulée : votre demande ne peut plus être confirmée." in page
    assert BUTTON not in page and f'href="/formations/{session.programme_id}"' in page
    with frozen_at(ASKED):
        opened = _page(client.get(link))  # said as soon as the link is opened
    assert "Cette session a été annulée : votre demande ne peut plus être confirmée." in opened
    assert BUTTON not in opened
    assert _count(Enrolment) == _count(Trainee) == 0 and outbox == []
    assert db.session.scalar(db.select(RegistrationRequest.confirmed_at)) is None


def test_a_session_moved_to_another_programme_since_the_request_refuses_the_confirmation(client, outbox):
    """A request made at the very moment its session moved to another programme (the move's check ran before the
    request was committed, simulated here by moving it in the database): the person asked for the former course."""
    moved = ("Cette session propose désormais une autre formation que celle que vous avez demandée : votre demande "
             "ne peut plus être confirmée.")
    session = factories.make_session()
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    with frozen_at(ASKED):
        link = _ask(client, session)
        db.session.execute(db.update(TrainingSession).where(TrainingSession.id == session.id)
                           .values(programme_id=other.id))
        db.session.commit()
        outbox.clear()
        response = client.post(link)
        opened = _page(client.get(link))  # said as soon as the link is opened
    page = _page(response)
    assert response.status_code == 409
    assert moved in page and BUTTON not in page
    assert moved in opened and BUTTON not in opened
    assert _count(Enrolment) == _count(Trainee) == 0 and outbox == []
    assert db.session.scalar(db.select(RegistrationRequest.confirmed_at)) is None


def test_the_confirmation_is_rate_limited_per_address(rate_limited_app):
    session = factories.make_session()
    client = rate_limited_app.test_client()
    with frozen_at(ASKED):
        link = _ask(client, session)
        codes = [client.get(link).status_code for _ in range(30)]
        assert codes == [200] * 30
        refused = client.post(link)
        unknown = client.get(link[:-3])  # trying secrets counts as much
    assert refused.status_code == unknown.status_code == 429
    assert "Trop de demandes en peu de temps" in _page(refused)
    assert _count(Enrolment) == 0


@pytest.mark.parametrize("role", ["anonymous", "trainee", "trainer", "admin"])
def test_everybody_may_open_and_confirm_a_link_and_only_administrators_see_the_requests(app, role):
    """The link's secret is the key: whoever holds it (signed in or not) opens and confirms it. The requests not
    confirmed yet are listed on the session's page for administrators only: a trainer sees the enrolments of
    the session they teach, not the addresses typed by anyone on the public page."""
    trainer, admin = factories.make_user("trainer"), factories.make_user("admin")
    values = build_world(trainer)
    client = _client_as(app, role, values, trainer, admin)
    link = f"/formations/inscription/confirmer/{values['request_token']}"
    with frozen_at(REQUESTED + timedelta(hours=1)):
        assert BUTTON in _page(client.get(link))
        session_page = client.get(f"/sessions/{values['session_id']}")
        if role in ("anonymous", "trainee"):
            assert _is_sign_in_redirect(session_page)
        else:
            page = _page(session_page)
            assert session_page.status_code == 200 and 'data-testid="enrolment-section"' in page
            listed = 'data-testid="unconfirmed-requests"' in page and "ines@example.org" in page
            assert listed == (role == "admin")
            if role == "admin":
                row = page.split('data-testid="unconfirmed-requests-row">')[1].split("</tr>")[0]
                assert "BARBIER Inès" in row and "01/02/2030 à 9h00" in row and "03/02/2030 à 9h00" in row
        confirmed = client.post(link)
    assert "Votre place est confirmée." in _outcome(confirmed)
    with frozen_at(REQUESTED + timedelta(hours=2)):
        if role == "admin":  # confirmed: no longer waiting
            assert 'data-testid="unconfirmed-requests"' not in _page(client.get(f"/sessions/{values['session_id']}"))


def test_the_confirmation_link_is_hidden_from_the_office_once_mail_is_sent(app, client, monkeypatch):
    """Only the person proves that the address is theirs: with an SMTP server the outbox page does not show the
    link (without one, nothing leaves and the office hands the messages over itself)."""
    session = factories.make_session()
    with frozen_at(ASKED):
        link = _ask(client, session)
    body = db.session.scalar(db.select(OutgoingMail.body))
    secret = link.rsplit("/", 1)[1]
    assert secret in mail.shown_to_staff(body)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    shown = mail.shown_to_staff(body)
    assert secret not in shown and "/formations/inscription/confirmer/[masqué]" in shown
    assert secret not in mail.mask_links(body)
