"""The "Annuler la session" action through the test client: who may use it, its reason, its CSRF token,
what the session, public and trainee pages show afterwards."""
from datetime import datetime

import pytest

from tests import factories
from tests.web.test_sessions import session_form
from training_app import create_app
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment, TrainingSession

REASON = "Formatrice indisponible : la session est reportée."


def _page(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


@pytest.fixture
def enrolled_session(trainer):
    """Capacity 1, taught by `trainer`: one confirmed (convoked), one waitlisted, one request."""
    factories.make_organisation(email="sionsalliait@example.org", phone="02 99 00 00 00")
    programme = factories.make_programme(title="Du dialogue à la négociation")
    session = factories.make_session(programme=programme, capacity=1, trainers=[trainer])
    confirmed = factories.enrol(session)
    factories.enrol(session)
    factories.enrol(session, confirm=False)
    from training_app.services import convocations
    convocations.send(confirmed)
    db.session.commit()
    return session


def _state(session_id) -> tuple:
    db.session.expire_all()
    session = db.session.get(TrainingSession, session_id)
    statuses = sorted(db.session.scalars(db.select(Enrolment.status).where(Enrolment.session_id == session_id)))
    audits = db.session.scalar(db.select(db.func.count(AuditEntry.id)))
    return session.status, statuses, audits


def test_admin_cancels_a_session_from_its_page(admin_client, enrolled_session, outbox):
    session_id = enrolled_session.id
    outbox.clear()
    detail = _page(admin_client.get(f"/sessions/{session_id}"))
    assert f'href="/sessions/{session_id}/annuler"' in detail and "Annuler la session" in detail

    page = _page(admin_client.get(f"/sessions/{session_id}/annuler"))
    assert "3 inscriptions seront annulées avec ce motif (1 confirmée, 1 en liste d'attente, 1 demande)" \
        in page
    # the dialog answers « OK » / « Annuler »: the question asks to confirm
    assert factories.asked(page) == ("Les stagiaires inscrit·es seront prévenu·es par e-mail. "
                                     "Confirmer l'annulation définitive de cette session ?")
    assert 'name="csrf_token"' in page

    response = admin_client.post(f"/sessions/{session_id}/annuler", data={"reason": REASON})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sessions/{session_id}")
    status, statuses, _audits = _state(session_id)
    assert status == "cancelled" and statuses == ["cancelled"] * 3
    assert len(outbox) == 3 and all(m.subject == "Session annulée : Du dialogue à la négociation" for m in outbox)
    assert all(REASON in m.body and "sionsalliait@example.org" in m.body for m in outbox)

    detail = _page(admin_client.get(response.headers["Location"]))
    assert "Session annulée. 3 inscriptions annulées" in detail
    assert "Session annulée le" in detail and "Alice Admin" in detail and f"Motif : {REASON}" in detail
    assert f'href="/sessions/{session_id}/annuler"' not in detail
    assert f'href="/sessions/{session_id}/inscrire"' not in detail
    enrolment = db.session.scalar(db.select(Enrolment).where(Enrolment.session_id == session_id))
    history = _page(admin_client.get(f"/inscriptions/{enrolment.id}"))
    assert "Annulation de la session" in history and REASON in history

    again = admin_client.get(f"/sessions/{session_id}/annuler", follow_redirects=True)
    assert "Cette session est déjà annulée." in _page(again)


def test_a_missing_reason_gets_a_french_message_and_changes_nothing(admin_client, enrolled_session, outbox):
    session_id = enrolled_session.id
    outbox.clear()
    before = _state(session_id)
    for data in ({}, {"reason": "   "}):
        response = admin_client.post(f"/sessions/{session_id}/annuler", data=data)
        assert response.status_code == 200
        assert "Indiquez le motif de l'annulation." in _page(response)
    assert _state(session_id) == before and outbox == []


def test_trainers_and_anonymous_visitors_cannot_cancel(app, trainer_client, enrolled_session, outbox):
    session_id = enrolled_session.id  # trainer_client's trainer teaches it
    outbox.clear()
    before = _state(session_id)
    assert trainer_client.get(f"/sessions/{session_id}/annuler").status_code == 403
    assert trainer_client.post(f"/sessions/{session_id}/annuler", data={"reason": REASON}).status_code == 403
    assert f"/sessions/{session_id}/annuler" not in _page(trainer_client.get(f"/sessions/{session_id}"))
    anonymous = app.test_client().post(f"/sessions/{session_id}/annuler", data={"reason": REASON})
    assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]
    assert _state(session_id) == before and outbox == []


def test_a_post_without_csrf_token_is_refused(app, admin, enrolled_session, outbox):
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "WTF_CSRF_ENABLED": True})
    client = protected.test_client()
    factories.sign_in_session(client, admin)
    session_id = enrolled_session.id
    outbox.clear()
    before = _state(session_id)
    response = client.post(f"/sessions/{session_id}/annuler", data={"reason": REASON})
    assert response.status_code == 400 and "Le formulaire a expiré" in _page(response)
    assert _state(session_id) == before and outbox == []


def test_an_ended_session_cannot_be_cancelled(admin_client, outbox):
    past = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    factories.make_enrolment(past)
    before = _state(past.id)
    assert f"/sessions/{past.id}/annuler" not in _page(admin_client.get(f"/sessions/{past.id}"))
    for method in ("get", "post"):
        response = getattr(admin_client, method)(f"/sessions/{past.id}/annuler", data={"reason": REASON},
                                                 follow_redirects=True)
        assert "Cette session est terminée : elle ne peut plus être annulée." in _page(response)
    assert _state(past.id) == before and outbox == []


def test_the_edit_form_no_longer_cancels_and_points_to_the_action(admin_client, enrolled_session, outbox):
    session_id = enrolled_session.id
    outbox.clear()
    form = _page(admin_client.get(f"/sessions/{session_id}/modifier"))
    assert 'value="cancelled"' not in form and "utilisez le bouton « Annuler la session »" in form
    before = _state(session_id)
    response = admin_client.post(f"/sessions/{session_id}/modifier",
                                 data=session_form(enrolled_session.programme, status="cancelled", capacity="1",
                                                   version=factories.version_of(enrolled_session)))
    assert response.status_code == 200
    assert "N'est pas un choix valide." in _page(response)  # the form offers no "cancelled" any more
    assert _state(session_id) == before and outbox == []

    admin_client.post(f"/sessions/{session_id}/annuler", data={"reason": REASON})
    form = _page(admin_client.get(f"/sessions/{session_id}/modifier"))
    assert 'value="cancelled"' in form and 'value="open"' not in form
    response = admin_client.post(f"/sessions/{session_id}/modifier", data=session_form(
        enrolled_session.programme, status="cancelled", capacity="1", place="Salle B",
        version=factories.version_of(enrolled_session)))
    assert response.status_code == 302
    db.session.expire_all()
    session = db.session.get(TrainingSession, session_id)
    assert (session.status, session.place) == ("cancelled", "Salle B")


def test_after_cancelling_the_entry_points_refuse_in_french(app, admin_client, enrolled_session, outbox):
    session_id = enrolled_session.id
    programme_id = enrolled_session.programme_id
    confirmed = db.session.scalar(db.select(Enrolment).where(Enrolment.session_id == session_id,
                                                             Enrolment.status == "confirmed"))
    trainee = confirmed.trainee
    home = factories.personal_path(trainee)
    assert "Convocation (Word)" in _page(app.test_client().get(home))
    public = _page(app.test_client().get(f"/formations/{programme_id}"))
    assert f"/formations/sessions/{session_id}/inscription" in public

    admin_client.post(f"/sessions/{session_id}/annuler", data={"reason": REASON})
    outbox.clear()

    public = _page(app.test_client().get(f"/formations/{programme_id}"))
    assert f"/formations/sessions/{session_id}/inscription" not in public and "05/03/2030" not in public
    visitor = app.test_client()
    response = visitor.post(f"/formations/sessions/{session_id}/inscription", data={
        "first_name": "Awa", "last_name": "Diallo", "email": "awa.diallo@example.org", "funding_mode": "personal",
        "consent": "y"})
    assert "a été annulée." in _page(response) and 'name="email"' not in _page(response)

    response = admin_client.post(f"/sessions/{session_id}/inscrire", data={
        "trainee_id": "0", "civility": "Mme", "first_name": "Inès", "last_name": "Barbier",
        "email": "ines@example.org", "category": "employee", "employer_id": "0", "funding_mode": "opco"})
    assert "Cette session est annulée : on ne peut plus s'y inscrire." in _page(response)
    response = admin_client.post(f"/sessions/{session_id}/convocations/envoyer", data={"only_new": "0"},
                                 follow_redirects=True)
    assert "Cette session est annulée : pas de convocation." in _page(response)
    response = admin_client.post(f"/inscriptions/{confirmed.id}/convocation", follow_redirects=True)
    assert "La convocation n'est envoyée qu'aux inscriptions confirmées" in _page(response)

    own = _page(app.test_client().get(home))
    assert "Cette session est annulée" in own and f"Motif : {REASON}" in own
    assert "Convocation (Word)" not in own
    download = app.test_client().get(factories.personal_path(trainee, "enrolments.trainee_convocation",
                                                             enrolment_id=confirmed.id), follow_redirects=True)
    assert "sa convocation n'est plus valable" in _page(download)
    assert db.session.scalar(db.select(db.func.count(Enrolment.id)).where(Enrolment.session_id == session_id)) == 3
    assert outbox == []


def test_a_session_without_enrolments_is_cancelled_without_counting_zero(admin_client, outbox):
    session = factories.make_session()
    response = admin_client.post(f"/sessions/{session.id}/annuler", data={"reason": REASON}, follow_redirects=True)
    page = _page(response)
    assert "Session annulée. Elle n'avait aucune inscription en cours : personne n'est à prévenir." in page
    assert "0 inscription" not in page and outbox == []


def test_a_cancelled_session_page_offers_no_half_day_action(admin_client, outbox):
    """Every change of a cancelled session's half-days is refused (sessions._check_not_cancelled): the page does
    not offer them."""
    session = factories.make_session()
    slot = session.slots[0]
    detail = _page(admin_client.get(f"/sessions/{session.id}"))
    assert f"/sessions/{session.id}/creneaux/{slot.id}\"" in detail and 'data-testid="slot-form"' in detail
    admin_client.post(f"/sessions/{session.id}/annuler", data={"reason": REASON})
    detail = _page(admin_client.get(f"/sessions/{session.id}"))
    assert f"/sessions/{session.id}/creneaux/{slot.id}" not in detail  # neither edited nor deleted
    assert 'data-testid="slot-form"' not in detail and "Ajouter une demi-journée" not in detail
    assert "Demi-journées (6)" in detail  # still listed, as its trainees were told
