"""A count of one reads in the singular: "1 stagiaire", "1 objectif", "1 place occupée", "chaque minute", "1 an"
(ngettext; the pages used to print "1 stagiaires, 1 objectifs chacun", "1 confirmées")."""
import io
import re
from datetime import datetime

import openpyxl

from tests import factories
from tests.web.test_sessions import session_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import outcomes

DURING = datetime(2030, 3, 6, 10)  # the factory session runs Tue 5 March 2030 14:00 - Fri 8 March 12:30


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True).replace("&#39;", "'"))


def test_the_session_page_counts_one_trainee_and_one_objective_in_the_singular(trainer_client, trainer):
    session = factories.make_session(programme=factories.make_programme(objectives=("Un seul objectif",)),
                                     trainers=[trainer])
    awa = factories.make_enrolment(session)
    page = _text(trainer_client.get(f"/sessions/{session.id}"))
    assert "1 place occupée sur 15" in page
    assert "0 objectif évalué sur 1 (1 stagiaire, 1 objectif chacun)." in page
    with frozen_at(DURING):
        outcomes.record_outcome(awa, session.course.objectives[0], "acquired")
        db.session.commit()
    assert "1 objectif évalué sur 1 (1 stagiaire, 1 objectif chacun)." in _text(
        trainer_client.get(f"/sessions/{session.id}"))
    factories.make_enrolment(session)
    assert "2 places occupées sur 15" in _text(trainer_client.get(f"/sessions/{session.id}"))


def test_survey_results_of_one_trainee(trainer_client, trainer):
    session = factories.make_session(trainers=[trainer])
    awa = factories.make_enrolment(session)
    survey = factories.make_survey(session, factories.make_questionnaire(anonymous=False))
    factories.answer_survey(survey, awa.trainee, {1: "4", 2: "yes"})
    url = f"/sessions/{session.id}/questionnaires/{survey.id}"
    assert "1 réponse sur 1 stagiaire" in _text(trainer_client.get(url))
    book = openpyxl.load_workbook(io.BytesIO(trainer_client.get(f"{url}/resultats.xlsx").data))
    values = [cell.value for row in book.worksheets[0].iter_rows() for cell in row]
    assert "sur 1 stagiaire" in values and "1 réponse" in values


def test_a_follow_up_opening_one_day_after_the_end(admin_client):
    questionnaire = factories.make_questionnaire(kind="follow_up")
    questionnaire.follow_up_days = 1
    db.session.commit()
    assert "ouvre 1 jour après la fin" in _text(admin_client.get(f"/admin/questionnaires/{questionnaire.id}"))


def test_settings_of_one(app, admin_client, client, monkeypatch):
    """Settings an organisation may set to 1: the retry delay of e-mail, the life of a public request's link, the
    years records are kept."""
    monkeypatch.setitem(app.config, "MAIL_RETRY_MINUTES", 1)
    monkeypatch.setitem(app.config, "REGISTRATION_CONFIRM_HOURS", 1)
    monkeypatch.setitem(app.config, "RECORD_RETENTION_YEARS", 1)
    session = factories.make_session()
    with frozen_at(datetime(2030, 2, 1, 10)):
        response = client.post(f"/formations/sessions/{session.id}/inscription", data={
            "civility": "Mme", "first_name": "Awa", "last_name": "Diallo", "email": "awa@example.org",
            "job_title": "Assistante sociale", "employer_name": "", "funding_mode": "personal", "consent": "y",
            "website": ""})
        assert "Ouvrez le lien qu'il contient dans l'heure et cliquez" in _text(response)
    with frozen_at(datetime(2030, 2, 1, 11, 1)):
        page = _text(client.get(factories.confirmation_path("awa@example.org")))
    assert "Ce lien a expiré : il était valable une heure." in page
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")  # the page says it with a server only
    assert "est retenté chaque minute ;" in _text(admin_client.get("/admin/courriels"))
    enrolment = factories.make_enrolment(session)
    page = _text(admin_client.get(f"/inscriptions/{enrolment.id}/stagiaire"))
    assert "conservés (avec son nom) 1 an après la fin de sa dernière session" in page


def test_confirming_a_waiting_trainee_of_a_full_session_of_one_seat(admin_client):
    session = factories.make_session(capacity=1)
    factories.make_enrolment(session)
    waiting = factories.make_enrolment(session, status="waitlisted")
    page = _text(admin_client.post(f"/inscriptions/{waiting.id}/confirmer", follow_redirects=True))
    assert "La session est complète (1 place occupée sur 1) : l'inscription reste en liste d'attente." in page


def test_a_session_of_one_half_day_is_created_in_the_singular(admin_client):
    """« Session créée : 1 demi-journées, 1 h 45 prévues. » read wrong."""
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, start_date="2030-03-05", start_time="14:00", end_date="2030-03-05", end_time="15:45"))
    assert response.status_code == 302
    page = _text(admin_client.get(response.headers["Location"]))
    assert "Session créée : 1 demi-journée, 1 h 45 prévues." in page
