"""Cancelling a withdrawal recorded by mistake: POST /inscriptions/<id>/annuler-abandon, administrators only, from a
button next to the withdrawn trainee in the session's enrolment list."""
import re
from datetime import date, datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment
from training_app.services import enrolments

DURING = datetime(2030, 3, 6, 12)


def _withdrawn(trainer=None):
    session = factories.make_session(capacity=2, trainers=(trainer,) if trainer else ())
    enrolment = factories.enrol(session, factories.make_trainee("Awa", "Diallo"))
    with frozen_at(DURING):
        enrolments.withdraw(enrolment, date(2030, 3, 6), "Malade")
    db.session.commit()
    return enrolment


def _status(enrolment) -> str:
    db.session.expire_all()
    return db.session.get(Enrolment, enrolment.id).status


def test_the_office_cancels_a_withdrawal_from_the_button_of_the_enrolment_list(admin_client):
    enrolment = _withdrawn()
    url = f"/inscriptions/{enrolment.id}/annuler-abandon"
    with frozen_at(DURING):
        page = admin_client.get(f"/sessions/{enrolment.session_id}").get_data(as_text=True)
        assert f'action="{url}"' in page and 'data-testid="cancel-withdrawal"' in page
        response = admin_client.post(url)
        assert response.status_code == 302
        assert "Abandon annulé" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert _status(enrolment) == "confirmed"
    with frozen_at(DURING):  # a second click: a French refusal, not an error page
        response = admin_client.post(url, follow_redirects=True)
    assert response.status_code == 200 and "Seul un abandon peut être annulé" in response.get_data(as_text=True)


def test_the_button_asks_to_confirm_the_cancellation_naming_the_trainee(admin_client):
    """As the other buttons that undo something (post_button's confirm): the browser's dialog answers « OK » /
    « Annuler », so the question asks to confirm and « Annuler » keeps the withdrawal."""
    enrolment = _withdrawn()
    with frozen_at(DURING):
        page = admin_client.get(f"/sessions/{enrolment.session_id}").get_data(as_text=True)
    form = re.search(r'<form [^>]*data-testid="cancel-withdrawal"[^>]*>', page, re.S).group(0)
    assert factories.asked(form) == "Confirmer l'annulation de l'abandon d'Awa Diallo ?"


def test_the_office_enrolling_again_someone_who_withdrew_is_told_why(admin_client):
    enrolment = _withdrawn()
    with frozen_at(DURING):
        response = admin_client.post(f"/sessions/{enrolment.session_id}/inscrire", data={
            "trainee_id": str(enrolment.trainee_id), "employer_id": "0", "category": "employee",
            "funding_mode": "opco"})
    assert "a abandonné cette session" in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1


def test_nobody_else_may_cancel_a_withdrawal_nor_sees_the_button(app, client, trainer, trainer_client):
    enrolment = _withdrawn(trainer)
    url = f"/inscriptions/{enrolment.id}/annuler-abandon"
    with frozen_at(DURING):
        page = trainer_client.get(f"/sessions/{enrolment.session_id}").get_data(as_text=True)
        assert page and url not in page
        assert trainer_client.post(url).status_code == 403
        response = client.post(url)  # anonymous
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
        trainee = app.test_client()  # the trainee, through her personal link
        trainee.get(factories.personal_path(enrolment.trainee))
        response = trainee.post(url)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert _status(enrolment) == "withdrawn"


def test_the_cancellation_of_a_withdrawal_needs_the_csrf_token(app, admin):
    from training_app import create_app
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "WTF_CSRF_ENABLED": True})
    enrolment = _withdrawn()
    client = protected.test_client()
    factories.sign_in_session(client, admin)
    with frozen_at(DURING):
        response = client.post(f"/inscriptions/{enrolment.id}/annuler-abandon", data={})
    assert response.status_code == 400 and "Le formulaire a expiré" in response.get_data(as_text=True)
    assert _status(enrolment) == "withdrawn"


def test_the_enrolment_history_names_the_cancelled_withdrawal_in_french(admin_client):
    enrolment = _withdrawn()
    with frozen_at(DURING):
        enrolments.cancel_withdrawal(enrolment)
        db.session.commit()
        page = admin_client.get(f"/inscriptions/{enrolment.id}").get_data(as_text=True)
    assert "<td>Abandon annulé</td>" in page and "withdrawal_cancelled" not in page


def test_the_button_is_not_offered_when_the_withdrawal_could_not_be_cancelled(admin_client):
    """No seat left (the withdrawal, dated before the start, gave its seat away), or the trainee holds another live
    enrolment in the session: cancel_withdrawal would refuse, the list offers no button."""
    session = factories.make_session(capacity=1)
    gave_away = factories.make_enrolment(session, status="withdrawn")
    gave_away.withdrawn_on = date(2030, 3, 1)
    factories.make_enrolment(session)
    other = factories.make_session(capacity=5)
    again = factories.make_enrolment(other, status="withdrawn")
    again.withdrawn_on = date(2030, 3, 6)
    factories.make_enrolment(other, again.trainee)
    kept = factories.make_enrolment(other, status="withdrawn")
    kept.withdrawn_on = date(2030, 3, 6)
    db.session.commit()
    with frozen_at(DURING):
        page = admin_client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert 'data-testid="cancel-withdrawal"' not in page
        page = admin_client.get(f"/sessions/{other.id}").get_data(as_text=True)
    assert f"/inscriptions/{again.id}/annuler-abandon" not in page
    assert f"/inscriptions/{kept.id}/annuler-abandon" in page


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_a_withdrawal_billed_by_a_claim_sent_has_no_button_and_the_refusal_names_the_claim(admin_client):
    enrolment = _withdrawn()
    funder = factories.make_funder("Uniformation")
    factories.make_agreement(enrolment.session, [enrolment], funder=funder)
    claim = factories.make_claim(funder, enrolment.session, status="sent")
    claim.sent_on = date(2030, 3, 20)
    db.session.commit()
    url = f"/inscriptions/{enrolment.id}/annuler-abandon"
    with frozen_at(datetime(2030, 3, 21, 10)):
        assert url not in admin_client.get(f"/sessions/{enrolment.session_id}").get_data(as_text=True)
        response = admin_client.post(url, follow_redirects=True)  # a page left open before the sending
    assert response.status_code == 200
    assert (f"Awa Diallo figure dans la demande de paiement n° {claim.number}, envoyée le 20/03/2030 à "
            "Uniformation : l'abandon ne peut plus être annulé") in _text(response)
    assert _status(enrolment) == "withdrawn"


def test_a_withdrawal_cancelled_after_its_documents_were_issued_tells_the_office_to_reissue_them(admin_client):
    enrolment = _withdrawn()
    attestation = factories.make_issued_certificate(enrolment, "attestation")
    realisation = factories.make_issued_certificate(enrolment, "realisation")
    attestation.issued_at = realisation.issued_at = datetime(2030, 3, 9, 10)  # after the withdrawal, recorded
    db.session.commit()
    with frozen_at(datetime(2030, 3, 21, 10)):
        response = admin_client.post(f"/inscriptions/{enrolment.id}/annuler-abandon", follow_redirects=True)
    page = _text(response)
    assert "Abandon annulé : l'inscription est de nouveau confirmée." in page
    assert (f"Documents déjà émis : Attestation individuelle de fin de formation n° {attestation.number}, "
            f"Certificat de réalisation n° {realisation.number}. Ils indiquent les heures suivies jusqu'à "
            "l'abandon") in page and "signalés comme à réémettre" in page
    assert _status(enrolment) == "confirmed"
    other = _withdrawn()  # none issued: nothing to say about documents
    with frozen_at(datetime(2030, 3, 21, 10)):
        response = admin_client.post(f"/inscriptions/{other.id}/annuler-abandon", follow_redirects=True)
    assert "Abandon annulé" in _text(response) and "Documents déjà émis" not in _text(response)


def test_the_office_moving_someone_into_a_session_they_withdrew_from_is_told_why(admin_client):
    programme = factories.make_programme()
    source = factories.make_session(programme=programme, capacity=3)
    target = factories.make_session(programme=programme, capacity=3, start=datetime(2030, 4, 2, 9, 30),
                                    end=datetime(2030, 4, 3, 18))
    trainee = factories.make_trainee("Awa", "Diallo")
    left = factories.make_enrolment(target, trainee, status="withdrawn")
    left.withdrawn_on = date(2030, 3, 1)  # recorded before withdrawals were dated from the first day on
    moving = factories.make_enrolment(source, trainee)
    with frozen_at(datetime(2030, 3, 1, 10)):
        response = admin_client.post(f"/inscriptions/{moving.id}/deplacer",
                                     data={"target": str(target.id), "reason": "Dates plus pratiques"})
    assert response.status_code == 200
    assert "Awa Diallo a abandonné cette session : on ne peut pas l'y inscrire de nouveau." in _text(response)
    assert _status(moving) == "confirmed"
    assert db.session.scalar(db.select(db.func.count(Enrolment.id)).where(Enrolment.session_id == target.id)) == 1
