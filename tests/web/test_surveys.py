"""Questionnaires through the web: administrators build and attach them, trainees answer through their
personal link, staff read the results and export them; bad input gets French messages."""
import io
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import (Question, Questionnaire, Survey, SurveyParticipation, SurveyPendingAnswers,
                                 SurveyResponse, TrainingSession)
from training_app.services import surveys as survey_service
from training_app.services.surveys import QuestionData

OPEN = datetime(2030, 3, 10, 12, 0)  # inside the factory survey's window (8 to 22 March 2030)
CLOSED = datetime(2030, 3, 23, 9, 0)  # the morning after it closed: anonymous results show from then on


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def _answer_url(survey, trainee):
    return factories.personal_path(trainee, "surveys.answer", survey_id=survey.id)


def _form(survey, values_by_position):
    return {f"q{q.id}": values_by_position[q.position] for q in survey.questionnaire.questions
            if q.position in values_by_position}


def _office_acts_while_the_answers_are_sent(app, monkeypatch, act):
    """`act()` runs and commits in its own transaction (another thread) just before the answers are recorded."""
    from tests.unit.test_enrolment_concurrency import _run_together
    real_submit = survey_service.submit

    def office_first(*args, **kwargs):
        def run(_):
            act()
            db.session.commit()
        assert _run_together(app, 1, run) == []
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(survey_service, "submit", office_first)


# --- trainees answer ------------------------------------------------------------------------------

def test_a_trainee_answers_through_their_personal_link(client):
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    with frozen_at(OPEN):
        home = _text(client.get(factories.personal_path(trainee)))
        assert f"/questionnaires/{survey.id}" in home and "Répondre" in home
        page = _text(client.get(_answer_url(survey, trainee)))
        assert "Comment avez-vous trouvé la formation ?" in page and "5 – Très satisfait·e" in page
        response = client.post(_answer_url(survey, trainee), data=_form(survey, {1: "4", 2: "yes", 3: "Super"}))
        assert response.status_code == 302
        page = _text(client.get(response.headers["Location"]))
        assert "Merci ! Vos réponses sont enregistrées." in page and "Vous avez répondu" in page
        assert "merci, vous avez répondu" in _text(client.get(factories.personal_path(trainee)))
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 1


def test_bad_answers_get_french_messages_next_to_the_questions_and_nothing_is_saved(client):
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    rating, yes_no, _free = survey.questionnaire.questions
    with frozen_at(OPEN):
        page = _text(client.post(_answer_url(survey, trainee), data=_form(survey, {1: "9", 3: "x"})))
    assert "La note doit être un nombre entier de 1 à 5." in page
    assert "Cette question demande une réponse." in page
    assert f'id="q{rating.id}-erreur"' in page and f'id="q{yes_no.id}-erreur"' in page
    assert "\nx</textarea>" in page  # what was typed is kept
    assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))) == 0
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0


def test_answering_twice_and_answering_a_closed_questionnaire_are_refused(client):
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    factories.answer_survey(survey, trainee, {1: "5", 2: "yes"})
    with frozen_at(OPEN):
        page = _text(client.post(_answer_url(survey, trainee), data=_form(survey, {1: "1", 2: "no"})))
    assert "Vous avez déjà répondu à ce questionnaire" in page
    late = factories.make_enrolment(survey.session).trainee
    with frozen_at(survey.closes_at + timedelta(hours=1)):
        assert "est fermé depuis le 22/03/2030" in _text(client.get(_answer_url(survey, late)))
        page = _text(client.post(_answer_url(survey, late), data=_form(survey, {1: "3", 2: "no"})))
        assert "est fermé depuis le 22/03/2030" in page
    with frozen_at(survey.opens_at - timedelta(days=1)):
        assert "pas encore ouvert" in _text(client.get(_answer_url(survey, late)))
    assert db.session.scalar(db.select(db.func.count(SurveyPendingAnswers.id))) == 1  # anonymous: until it closes


def test_the_questionnaire_of_a_cancelled_session_is_no_longer_offered_through_the_link(admin, client):
    """A trainee who withdrew keeps her link after the session is cancelled: it shows why instead of the form;
    an answer already given still shows as given."""
    from training_app.models import EnrolmentStatus
    from training_app.services import sessions as session_service
    survey = factories.make_survey()
    answered = factories.make_enrolment(survey.session, status=EnrolmentStatus.WITHDRAWN).trainee
    other = factories.make_enrolment(survey.session, status=EnrolmentStatus.WITHDRAWN).trainee
    factories.answer_survey(survey, answered, {1: "5", 2: "yes"})
    with frozen_at(survey.session.start_at - timedelta(days=1)):
        session_service.cancel_session(survey.session, "Formatrice malade", actor=admin)
    db.session.commit()
    with frozen_at(OPEN):
        page = _text(client.get(_answer_url(survey, other)))
        assert "Cette session est annulée : ce questionnaire n'est plus proposé." in page
        assert "Envoyer mes réponses" not in page and 'data-testid="question"' not in page
        page = _text(client.get(_answer_url(survey, answered)))
        assert "Vous avez répondu à ce questionnaire" in page and "Envoyer mes réponses" not in page


@pytest.mark.parametrize("position, value", [(2, "²"), (3, ["²", "1"]), (2, "9" * 5000), (1, "0_3")])
def test_odd_numbers_sent_as_answers_get_the_french_message_of_their_question(client, position, value):
    """"²" is a digit that int() refuses, 5000 nines a number it refuses to read, "0_3" a number it reads (3):
    none is an answer offered on the page."""
    questionnaire = factories.make_questionnaire([
        QuestionData("rating", "Note"), QuestionData("single_choice", "Un choix", options=["A", "B", "C"]),
        QuestionData("multiple_choice", "Plusieurs", options=["X", "Y", "Z"], required=False)], anonymous=False)
    survey = factories.make_survey(questionnaire=questionnaire)
    trainee = factories.make_enrolment(survey.session).trainee
    with frozen_at(OPEN):
        response = client.post(_answer_url(survey, trainee), data=_form(survey, {1: "3", 2: "0", position: value}))
    errors = re.findall(r'invalid-feedback d-block" role="alert">([^<]*)<', _text(response))
    assert response.status_code == 200
    assert errors == [("La note doit être un nombre entier de 1 à 5." if position == 1
                       else "Ce choix n'existe pas : choisissez parmi les réponses proposées.")]
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0


def test_a_questionnaire_removed_from_the_session_while_the_answers_are_sent(app, client, monkeypatch):
    """The office removes the questionnaire (nobody had answered it) while a trainee's answers are on their way:
    the trainee is told on their page, nothing is kept."""
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    survey_id = survey.id
    _office_acts_while_the_answers_are_sent(
        app, monkeypatch, lambda: survey_service.detach(db.session.get(Survey, survey_id)))
    answer_url = _answer_url(survey, trainee)
    token = answer_url.split("/")[2]  # the link's own: another made a second later would differ (its timestamp)
    with frozen_at(OPEN):
        response = client.post(answer_url, data=_form(survey, {1: "4", 2: "yes"}))
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/moi/{token}")
        page = _text(client.get(response.headers["Location"]))
    assert "Ce questionnaire n'est plus proposé : vos réponses n'ont pas été enregistrées." in page
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 0
    assert db.session.scalar(db.select(db.func.count(SurveyPendingAnswers.id))) == 0


def test_answers_sent_while_the_office_cancels_the_session_are_refused(app, admin, client, monkeypatch):
    """submit() takes the session's lock before reading its status (as cancel_session does): a cancellation
    committed just before is seen, nothing is kept."""
    from training_app.models import EnrolmentStatus
    from training_app.services import sessions as session_service
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session, status=EnrolmentStatus.WITHDRAWN).trainee
    session_id, admin_id = survey.session_id, admin.id
    db.session.commit()
    _office_acts_while_the_answers_are_sent(app, monkeypatch, lambda: session_service.cancel_session(
        db.session.get(TrainingSession, session_id), "Formatrice malade", actor=db.session.get(type(admin), admin_id)))
    with frozen_at(OPEN):
        page = _text(client.post(_answer_url(survey, trainee), data=_form(survey, {1: "4", 2: "yes"})))
    assert "Cette session est annulée : ce questionnaire n'est plus proposé." in page
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0
    assert db.session.scalar(db.select(db.func.count(SurveyPendingAnswers.id))) == 0


def test_a_tampered_link_or_someone_else_s_questionnaire_shows_nothing(client):
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    url = _answer_url(survey, trainee)
    token = url.split("/")[2]
    tampered = url.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with frozen_at(OPEN):
        response = client.get(tampered)
        assert response.status_code == 403 and "n'est pas reconnu" in _text(response)
        assert client.post(tampered, data=_form(survey, {1: "5", 2: "yes"})).status_code == 403
        outsider = factories.make_trainee()
        assert client.get(_answer_url(survey, outsider)).status_code == 404
        waiting = factories.make_enrolment(survey.session, status="waitlisted").trainee
        assert client.get(_answer_url(survey, waiting)).status_code == 404
        assert client.get(factories.personal_path(trainee, "surveys.answer", survey_id=999999)).status_code == 404
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0


# --- administrators build questionnaires ------------------------------------------------------------

def test_admin_builds_a_questionnaire_and_bad_questions_are_explained(admin_client):
    response = admin_client.post("/admin/questionnaires/nouveau", data={
        "title": "Suivi à froid", "kind": "follow_up", "anonymous": "y", "introduction": "Trois mois après."})
    assert response.status_code == 302
    questionnaire = db.session.scalar(db.select(Questionnaire))
    assert (questionnaire.kind, questionnaire.anonymous, questionnaire.follow_up_days) == ("follow_up", True, 60)
    url = f"/admin/questionnaires/{questionnaire.id}"
    page = _text(admin_client.post(f"{url}/questions/nouvelle", data={
        "type": "single_choice", "text": "Avez-vous utilisé les outils ?", "options": "Oui\n", "required": "y"}))
    assert "Indiquez au moins deux choix, un par ligne." in page
    page = _text(admin_client.post(f"{url}/questions/nouvelle", data={"type": "rating", "text": ""}))
    assert "Indiquez le texte de la question." in page
    for data in ({"type": "single_choice", "text": "Avez-vous utilisé les outils ?",
                  "options": "Souvent\nParfois\nJamais", "required": "y"},
                 {"type": "free_text", "text": "Qu'avez-vous changé dans votre pratique ?"}):
        assert admin_client.post(f"{url}/questions/nouvelle", data=data).status_code == 302
    db.session.expire_all()
    questions = db.session.scalars(db.select(Question).order_by(Question.position)).all()
    assert [(q.position, q.type, q.required, q.options) for q in questions] == [
        (1, "single_choice", True, ["Souvent", "Parfois", "Jamais"]), (2, "free_text", False, [])]
    admin_client.post(f"{url}/questions/{questions[1].id}/deplacer", data={"direction": "up"})
    db.session.expire_all()
    assert db.session.get(Question, questions[1].id).position == 1
    page = _text(admin_client.get(url))
    assert page.index("Qu'avez-vous changé") < page.index("Avez-vous utilisé les outils")


def test_choices_typed_for_a_yes_no_question_are_refused_not_dropped(admin_client):
    questionnaire = factories.make_questionnaire()
    db.session.commit()
    url = f"/admin/questionnaires/{questionnaire.id}"
    before = len(questionnaire.questions)
    response = admin_client.post(f"{url}/questions/nouvelle", data={
        "type": "yes_no", "text": "Recommanderiez-vous la formation ?", "options": "Oui\nNon\nPeut-être"})
    page = _text(response)
    assert response.status_code != 302 and "Question ajoutée." not in page
    assert "Une question « Oui / non » n'a pas de choix à indiquer" in page and "« Oui / Non / Peut-être »" in page
    assert "Oui\nNon\nPeut-être</textarea>" in page  # what was typed is kept
    db.session.expire_all()
    assert len(db.session.get(Questionnaire, questionnaire.id).questions) == before


def test_editing_an_answered_questionnaire_is_refused_and_a_new_version_is_made(admin_client):
    survey = factories.make_survey()
    questionnaire = survey.questionnaire
    factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee, {1: "4", 2: "yes"})
    url = f"/admin/questionnaires/{questionnaire.id}"
    assert "ne peut plus être modifiée" in _text(admin_client.get(url))
    response = admin_client.post(f"{url}/modifier", data={"title": "Changé", "kind": "satisfaction"},
                                 follow_redirects=True)
    assert "Créez-en une nouvelle version" in _text(response)
    question = questionnaire.questions[0]
    response = admin_client.post(f"{url}/questions/{question.id}", data={"type": "yes_no", "text": "Changé ?"},
                                 follow_redirects=True)
    assert "Créez-en une nouvelle version" in _text(response)
    response = admin_client.post(f"{url}/questions/{question.id}/supprimer", follow_redirects=True)
    assert "Créez-en une nouvelle version" in _text(response)
    db.session.expire_all()
    assert db.session.get(Questionnaire, questionnaire.id).title == questionnaire.title
    assert len(db.session.get(Questionnaire, questionnaire.id).questions) == 3

    response = admin_client.post(f"{url}/nouvelle-version")
    copy = db.session.scalar(db.select(Questionnaire).where(Questionnaire.version == 2))
    assert response.headers["Location"].endswith(f"/admin/questionnaires/{copy.id}")
    assert admin_client.post(f"/admin/questionnaires/{copy.id}/modifier", data={
        "title": "Satisfaction v2", "kind": "satisfaction", "anonymous": "y", "version": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Questionnaire, copy.id).title == "Satisfaction v2"
    assert db.session.get(Questionnaire, questionnaire.id).archived


def test_archiving_a_questionnaire_twice_leaves_it_archived(admin_client):
    questionnaire = factories.make_questionnaire()
    url = f"/admin/questionnaires/{questionnaire.id}"
    assert 'name="archived" value="1"' in _text(admin_client.get(url))
    for _ in range(2):  # a double click
        assert admin_client.post(f"{url}/archiver", data={"archived": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Questionnaire, questionnaire.id).archived
    assert 'name="archived" value="0"' in _text(admin_client.get(url))
    admin_client.post(f"{url}/archiver", data={"archived": "0"})
    db.session.expire_all()
    assert not db.session.get(Questionnaire, questionnaire.id).archived


def test_a_version_replaced_by_a_newer_one_is_not_offered_again_from_its_page(admin_client):
    """Its page says why instead of offering the button; the request sent anyway (another tab, a page kept) is
    refused in French, nothing changed: never two versions offered at once."""
    first = factories.make_questionnaire(anonymous=False)
    second = survey_service.new_version(first)
    db.session.commit()
    why = "Une version plus récente de ce questionnaire existe (version 2) : seule celle-là peut être proposée"

    page = _text(admin_client.get(f"/admin/questionnaires/{first.id}"))
    assert why in page and 'name="archived" value="0"' not in page
    response = admin_client.post(f"/admin/questionnaires/{first.id}/archiver", data={"archived": "0"},
                                 follow_redirects=True)
    assert response.status_code == 200 and why in _text(response)
    assert "Questionnaire de nouveau proposé." not in _text(response)
    db.session.expire_all()
    assert [(q.version, q.archived) for q in db.session.scalars(db.select(Questionnaire).where(
        Questionnaire.lineage_id == first.lineage_id).order_by(Questionnaire.version))] == [(1, True), (2, False)]
    assert 'name="archived" value="1"' in _text(admin_client.get(f"/admin/questionnaires/{second.id}"))


def test_attaching_a_new_version_to_a_session_that_answered_the_old_one_is_refused_on_the_form(admin_client):
    survey = factories.make_survey()
    factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee, {1: "5", 2: "yes"})
    second = survey_service.new_version(survey.questionnaire)
    db.session.commit()
    response = admin_client.post(f"/sessions/{survey.session_id}/questionnaires/ajouter",
                                 data={"questionnaire_id": second.id})
    assert response.status_code == 200
    assert "déjà proposé dans cette session, dans sa version 1" in _text(response)
    assert db.session.scalars(db.select(Survey.questionnaire_id)).all() == [survey.questionnaire_id]


def test_admin_attaches_questionnaires_to_a_session(admin_client):
    session = factories.make_session()
    questionnaire = factories.make_questionnaire(title="Satisfaction maison")
    url = f"/sessions/{session.id}/questionnaires"
    page = _text(admin_client.post(f"{url}/ajouter", data={
        "questionnaire_id": questionnaire.id, "opens_date": "2030-03-08", "opens_time": "09:30",
        "closes_date": "2030-03-01", "closes_time": "18:00"}))
    assert "La fermeture doit être postérieure à l'ouverture." in page
    assert admin_client.post(f"{url}/ajouter", data={"questionnaire_id": questionnaire.id}).status_code == 302
    survey = db.session.scalar(db.select(Survey))
    assert (survey.opens_at, survey.closes_at) == (datetime(2030, 3, 8, 9, 30), datetime(2030, 3, 22, 23, 59))
    assert "déjà proposé" in _text(admin_client.post(f"{url}/ajouter", data={"questionnaire_id": questionnaire.id}))
    assert admin_client.post(f"{url}/positionnement").status_code == 302
    positioning = db.session.scalar(db.select(Questionnaire).where(Questionnaire.kind == "positioning"))
    assert [q.objective_id for q in positioning.questions if q.type == "rating"] == [
        o.id for o in session.programme.objectives]
    page = _text(admin_client.get(f"/sessions/{session.id}"))
    assert "Satisfaction maison" in page and "Positionnement avant la formation" in page
    assert admin_client.post(f"{url}/{survey.id}/dates", data={
        "opens_date": "2030-03-07", "opens_time": "14:00", "closes_date": "2030-03-30",
        "closes_time": "18:00"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).opens_at == datetime(2030, 3, 7, 14)
    survey_id = survey.id
    assert admin_client.post(f"{url}/{survey_id}/retirer").status_code == 302
    db.session.expunge_all()
    assert db.session.get(Survey, survey_id) is None


def test_a_window_that_does_not_fit_its_kind_is_warned_of_once_saved(admin_client):
    session = factories.make_session()  # Tue 5 March 2030 14:00 to Fri 8 March 12:30
    survey = factories.make_survey(session)  # satisfaction
    url = f"/sessions/{session.id}/questionnaires/{survey.id}/dates"
    page = _text(admin_client.post(url, data={"opens_date": "01/01/2020", "opens_time": "09:00",
                                              "closes_date": "05/01/2020", "closes_time": "18:00"},
                                   follow_redirects=True))
    assert "Ouvert aux réponses du 01/01/2020 à 9h00 au 05/01/2020 à 18h00." in page
    assert ("Attention : ce questionnaire ferme avant le début de la session (05/03/2030 à 14h00) : les stagiaires "
            "ne pourront pas y répondre sur la formation suivie.") in page
    page = _text(admin_client.post(url, data={"opens_date": "01/03/2030", "opens_time": "09:00",
                                              "closes_date": "22/03/2030", "closes_time": "18:00"},
                                   follow_redirects=True))
    assert "Dates du questionnaire modifiées." in page and "ouvre avant le début de la session" in page
    page = _text(admin_client.post(url, data={"opens_date": "08/03/2030", "opens_time": "09:30",
                                              "closes_date": "22/03/2030", "closes_time": "18:00"},
                                   follow_redirects=True))
    assert "Dates du questionnaire modifiées." in page and "Attention" not in page


def test_an_opening_date_alone_says_the_closing_it_took(admin_client):
    session = factories.make_session()
    questionnaire = factories.make_questionnaire(kind="positioning")
    url = f"/sessions/{session.id}/questionnaires/ajouter"
    assert "positionnement pendant les trois semaines avant le début, jusqu'à l'heure du début" in _text(
        admin_client.get(url))
    page = _text(admin_client.post(url, data={"questionnaire_id": questionnaire.id, "opens_date": "01/03/2030"},
                                   follow_redirects=True))
    assert "Ouvert aux réponses du 01/03/2030 à 0h00 au 05/03/2030 à 14h00." in page


def test_a_closing_date_without_a_time_closes_at_the_end_of_that_day_as_the_form_says(admin_client):
    session = factories.make_session()
    questionnaire = factories.make_questionnaire()
    url = f"/sessions/{session.id}/questionnaires/ajouter"
    assert "Vide : 23:59, la fin de la journée de fermeture indiquée." in _text(admin_client.get(url))
    assert admin_client.post(url, data={"questionnaire_id": questionnaire.id, "opens_date": "08/03/2030",
                                        "closes_date": "22/03/2030"}).status_code == 302
    survey = db.session.scalar(db.select(Survey))
    assert (survey.opens_at, survey.closes_at) == (datetime(2030, 3, 8, 0, 0), datetime(2030, 3, 22, 23, 59))


def test_the_questionnaire_list_runs_as_many_statements_for_twelve_questionnaires_as_for_two(admin_client):
    statements = []
    for how_many in (2, 10):
        for _ in range(how_many):
            questionnaire = factories.make_questionnaire()
            questionnaire.programme = factories.make_programme(title=f"Programme {questionnaire.id}")
        db.session.commit()
        count, page = factories.page_statements(admin_client, "/admin/questionnaires")
        statements.append(count)
    assert statements[0] == statements[1]
    assert f"Programme {questionnaire.id}" in page and "<td>3</td>" in page  # its programme, its 3 questions


def test_positioning_asks_a_session_planned_after_an_edit_about_the_new_objectives(admin_client):
    """The office rewords an objective and adds one: the next session's positioning rates those, while the
    questionnaire answered under the old ones keeps its questions (and its answers their meaning)."""
    from tests.web.test_catalogue import FORM
    first = factories.make_session()
    programme = first.programme
    assert admin_client.post(f"/sessions/{first.id}/questionnaires/positionnement").status_code == 302
    answered = db.session.scalar(db.select(Survey).where(Survey.session_id == first.id))
    factories.answer_survey(answered, factories.make_enrolment(first).trainee, {1: "2", 2: "3"})
    old_questions = [q.text for q in answered.questionnaire.questions]
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier", data=dict(
        FORM, version=factories.version_of(programme), title=programme.title,
        objectives="Préparer une négociation raisonnée\nSuivre une négociation\nConduire une délégation"))
    assert response.status_code == 302
    later = factories.make_session(programme, start=datetime(2031, 3, 4, 14), end=datetime(2031, 3, 7, 12, 30))
    assert admin_client.post(f"/sessions/{later.id}/questionnaires/positionnement").status_code == 302
    db.session.expire_all()
    survey = db.session.scalar(db.select(Survey).where(Survey.session_id == later.id))
    asked = [q.text for q in survey.questionnaire.questions if q.type == "rating"]
    assert [text.split("« ")[1].split(" »")[0] for text in asked] == [
        "Préparer une négociation raisonnée", "Suivre une négociation", "Conduire une délégation"]
    assert [q.objective_id for q in survey.questionnaire.questions if q.type == "rating"] == [
        o.id for o in db.session.get(type(programme), programme.id).objectives]
    answered = db.session.get(Survey, answered.id)
    assert [q.text for q in answered.questionnaire.questions] == old_questions
    assert survey.questionnaire.lineage_id == answered.questionnaire.lineage_id  # one questionnaire, two versions
    assert "Positionnement avant la formation" in _text(admin_client.get(f"/sessions/{later.id}"))


def test_answers_sent_while_the_office_changed_the_objectives_lead_to_the_new_questions(app, client, monkeypatch):
    """The office saves new objectives while the trainee's answers are on their way: the answers to questions
    no longer asked are not kept; the trainee is told and shown the new questions."""
    from training_app.models import Programme
    from training_app.services import programmes as programme_service
    session = factories.make_session(start=datetime(2030, 3, 25, 9, 30), end=datetime(2030, 3, 26, 18))
    survey = survey_service.attach_positioning(session, datetime(2030, 3, 1, 9), datetime(2030, 3, 24, 18))
    trainee = factories.make_enrolment(session).trainee
    db.session.commit()
    programme_id, survey_id = session.programme_id, survey.id
    _office_acts_while_the_answers_are_sent(app, monkeypatch, lambda: programme_service.save_programme(
        db.session.get(Programme, programme_id), {}, ["Conduire une délégation"]))
    with frozen_at(OPEN):
        response = client.post(_answer_url(survey, trainee), data=_form(survey, {1: "2", 2: "3"}))
        assert response.status_code == 302
        page = _text(client.get(response.headers["Location"]))
    assert "L'organisme vient de mettre à jour ce questionnaire" in page
    assert "« Conduire une délégation »" in page and "Préparer une négociation" not in page
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0
    assert db.session.get(Survey, survey_id).questionnaire.lineage_id == survey.questionnaire.lineage_id


def test_the_office_is_told_which_answered_positioning_still_asks_about_the_former_objectives(admin_client, client):
    """An answered positioning questionnaire keeps its questions when the objectives change: its other trainees
    are still asked about the former ones, so the office is told which session, why and what to do."""
    from tests.web.test_catalogue import FORM
    session = factories.make_session(start=datetime(2030, 3, 25, 9, 30), end=datetime(2030, 3, 26, 18))
    programme = session.programme
    survey = survey_service.attach_positioning(session, datetime(2030, 3, 1, 9), datetime(2030, 3, 24, 18))
    first, second = factories.make_enrolment(session).trainee, factories.make_enrolment(session).trainee
    db.session.commit()
    factories.answer_survey(survey, first, {1: "2", 2: "3"})
    with frozen_at(OPEN):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier", data=dict(
            FORM, version=factories.version_of(programme), title=programme.title,
            objectives="Préparer une négociation\nConduire une délégation"), follow_redirects=True)
        asked = _text(client.get(_answer_url(survey, second)))
    page = _text(response)
    assert "La formation a été mise à jour." in page
    assert ("Session du 25/03/2030 : son questionnaire de positionnement a déjà des réponses, ses questions ne "
            "peuvent plus changer. Il interroge encore sur « Suivre une négociation », que la formation "
            "n'enseigne plus. Il ne demande rien sur « Conduire une délégation ». Les stagiaires qui n'ont pas "
            "répondu le recevront tel quel jusqu'au 24/03/2030 à 18h00 : avancez sa date de fermeture sur la page "
            "de la session pour ne plus l'envoyer, et faites le point sur les nouveaux objectifs en début de "
            "formation.") in page
    assert "« Suivre une négociation »" in asked  # as the warning says: the answered version stays


def test_moving_a_session_to_another_programme_tells_which_answered_positioning_stays_on_the_former_one(
        admin_client):
    """As an edit of the objectives does: the session's positioning questionnaire was answered (by someone who
    cancelled since), it keeps its questions, so the office is told on saving the session."""
    from tests.web.test_stale_edits import edit_form
    from training_app.services import enrolments
    session = factories.make_session(start=datetime(2030, 3, 25, 9, 30), end=datetime(2030, 3, 26, 18))
    survey = survey_service.attach_positioning(session, datetime(2030, 3, 1, 9), datetime(2030, 3, 24, 18))
    enrolment = factories.make_enrolment(session)
    db.session.commit()
    factories.answer_survey(survey, enrolment.trainee, {1: "2", 2: "3"})
    enrolments.cancel(enrolment, "Empêchement")
    other = factories.make_programme(objectives=("Préparer une négociation", "Conduire une délégation"))
    url = f"/sessions/{session.id}/modifier"
    with frozen_at(OPEN):
        response = admin_client.post(url, data=dict(edit_form(admin_client, url), programme_id=str(other.id)),
                                     follow_redirects=True)
    page = _text(response)
    assert "Session mise à jour." in page
    assert ("Session du 25/03/2030 : son questionnaire de positionnement a déjà des réponses, ses questions ne "
            "peuvent plus changer. Il interroge encore sur « Suivre une négociation », que la formation "
            "n'enseigne plus. Il ne demande rien sur « Conduire une délégation ». Les stagiaires qui n'ont pas "
            "répondu le recevront tel quel jusqu'au 24/03/2030 à 18h00") in page
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).programme_id == other.id


@pytest.mark.parametrize("required", [True, False])
def test_answers_to_a_version_replaced_since_the_page_was_opened_are_not_recorded(client, required):
    """The trainee opens the questionnaire; the office makes a new version (the session's survey moves to it)
    before they send: their answers were to the old questions. Nothing is recorded (not even an empty answer
    when every question is optional, which would close the questionnaire to them) and they are shown the new
    questions with a message."""
    questionnaire = factories.make_questionnaire(
        [QuestionData("rating", "Note ?", required=required), QuestionData("free_text", "Un commentaire ?", required=False)],
        anonymous=False)
    answered, opened = (factories.make_survey(factories.make_session(), questionnaire) for _ in range(2))
    factories.answer_survey(answered, factories.make_enrolment(answered.session).trainee, {1: "4"})
    trainee = factories.make_enrolment(opened.session).trainee
    path = _answer_url(opened, trainee)
    old_ids = [q.id for q in questionnaire.questions]
    with frozen_at(OPEN):
        shown = _shown(client.get(path))
        assert shown.startswith(f"{questionnaire.id}-")
        survey_service.new_version(questionnaire)
        db.session.commit()
        response = client.post(path, data={"questionnaire": shown, f"q{old_ids[0]}": "5",
                                           f"q{old_ids[1]}": "Texte soigneusement rédigé"})
        assert response.status_code == 302
        page = _text(client.get(response.headers["Location"]))
    assert "L'organisme vient de mettre à jour ce questionnaire" in page and "Vous avez répondu" not in page
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id)).where(
        SurveyParticipation.trainee_id == trainee.id)) == 0
    assert db.session.get(Survey, opened.id).questionnaire_id != questionnaire.id


def _shown(page) -> str:
    return re.search(r'name="questionnaire" type="hidden" value="([\w-]+)"', _text(page)).group(1)


@pytest.mark.parametrize("change", ["choices", "anonymity"])
def test_answers_to_a_questionnaire_edited_in_place_since_the_page_was_opened_are_not_recorded(client, change):
    """Before anyone answered, the office may still edit the questionnaire in place. A trainee whose page showed
    the old choices (their "Oui" would be stored as the new first choice) or the promise of anonymity (their
    answer would be stored under their name) is refused and shown the questionnaire as it now is."""
    from training_app.services.surveys import QuestionnaireData
    questionnaire = factories.make_questionnaire(
        [QuestionData("single_choice", "Les objectifs ont-ils été atteints ?", options=["Oui", "En partie", "Non"]),
         QuestionData("free_text", "Un commentaire ?", required=False)], anonymous=True)
    survey = factories.make_survey(questionnaire=questionnaire)
    trainee = factories.make_enrolment(survey.session).trainee
    path = _answer_url(survey, trainee)
    first, comment = questionnaire.questions
    with frozen_at(OPEN):
        shown = _shown(client.get(path))
        if change == "choices":
            survey_service.update_question(first, QuestionData("single_choice", first.text,
                                                               options=["Non", "En partie", "Oui"]))
        else:
            survey_service.update_questionnaire(questionnaire, QuestionnaireData(
                title=questionnaire.title, kind=questionnaire.kind, anonymous=False))
        db.session.commit()
        response = client.post(path, data={"questionnaire": shown, f"q{first.id}": "0",
                                           f"q{comment.id}": "Le formateur m'a mise mal à l'aise"})
        assert response.status_code == 302
        page = client.get(response.headers["Location"])
    assert "L'organisme vient de mettre à jour ce questionnaire" in _text(page) and _shown(page) != shown
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0
    assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))) == 0


# --- results ---------------------------------------------------------------------------------------

def _answered_survey(anonymous=True, answers=((5, "yes", "Très utile"), (4, "yes", ""), (2, "no", "=1+2"))):
    survey = factories.make_survey(questionnaire=factories.make_questionnaire(anonymous=anonymous))
    trainees = [factories.make_enrolment(survey.session).trainee for _ in range(len(answers) + 1)]
    for trainee, (rating, yes, text) in zip(trainees, answers):
        factories.answer_survey(survey, trainee, {1: str(rating), 2: yes, 3: text})
    return survey, trainees


def test_results_show_the_rate_the_chart_and_the_texts_but_not_who_answered(admin_client):
    survey, trainees = _answered_survey()
    with frozen_at(CLOSED):
        page = _text(admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}"))
    assert "3 réponses sur 4 stagiaires (75\u202f%)" in page
    assert "moyenne 3,7 / 5" in page
    assert '<svg class="survey-chart" role="img"' in page and "<title id=" in page and "<desc id=" in page
    assert "4 – Satisfait·e : 1 (33\u202f%)" in page  # the numbers are in the chart's description too
    assert "Très utile" in page and "=1+2" in page
    for trainee in trainees:  # neither who answered nor who did not
        assert trainee.last_name not in page
    assert "Relancer la personne qui n'a pas répondu" not in page  # the survey is closed


def test_anonymous_results_wait_for_enough_answers(admin_client):
    survey, _ = _answered_survey(answers=((5, "yes", "Seul avis"),))
    with frozen_at(CLOSED):
        page = _text(admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}"))
        assert "1 réponse sur 2 stagiaires" in page and "a reçu moins de 3 réponses" in page
        assert "Seul avis" not in page and "<svg" not in page
        response = admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}/resultats.xlsx",
                                    follow_redirects=True)
    assert "a reçu moins de 3 réponses : ses résultats ne sont pas affichés" in _text(response)


def test_named_results_list_who_answered_what(admin_client):
    survey, trainees = _answered_survey(anonymous=False)
    page = _text(admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}"))
    assert trainees[0].full_name in page and "Très utile" in page
    assert f"Pas encore de réponse de : {trainees[3].full_name}" in page


def test_trainers_read_the_results_of_their_sessions_only(trainer_client, trainer):
    mine, _ = _answered_survey()
    mine.session.trainers = [trainer]
    db.session.commit()
    other, _ = _answered_survey()
    assert trainer_client.get(f"/sessions/{mine.session_id}/questionnaires/{mine.id}").status_code == 200
    assert trainer_client.get(f"/sessions/{other.session_id}/questionnaires/{other.id}").status_code == 403
    assert trainer_client.get(f"/sessions/{mine.session_id}/questionnaires/{other.id}").status_code == 404
    assert trainer_client.get("/admin/questionnaires").status_code == 403


def test_the_results_page_uses_constant_queries(admin_client):
    few, _ = _answered_survey()
    many, _ = _answered_survey(answers=[(n % 5 + 1, "yes", f"Avis {n}") for n in range(12)])
    with frozen_at(CLOSED), factories.count_queries() as small:
        assert "<svg" in _text(admin_client.get(f"/sessions/{few.session_id}/questionnaires/{few.id}"))
    with frozen_at(CLOSED), factories.count_queries() as large:
        assert "<svg" in _text(admin_client.get(f"/sessions/{many.session_id}/questionnaires/{many.id}"))
    assert len(small) == len(large)


def _workbook(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.data))


def test_export_is_formula_safe_and_anonymous_exports_name_nobody(admin_client):
    survey, trainees = _answered_survey()
    with frozen_at(CLOSED):
        book = _workbook(admin_client.get(
            f"/sessions/{survey.session_id}/questionnaires/{survey.id}/resultats.xlsx"))
    assert book.sheetnames == ["Synthèse", "Réponses"]
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    formula = [cell for cell in cells if cell.value == "=1+2"]
    assert formula and all(cell.data_type == "s" for cell in formula)
    values = " ".join(str(cell.value) for cell in cells)
    for trainee in trainees:
        assert trainee.last_name not in values and trainee.email not in values
    responses = book["Réponses"]
    assert [c.value for c in responses[1]] == ["Comment avez-vous trouvé la formation ?", "La recommanderiez-vous ?",
                                               "Un commentaire ?"]
    assert sorted(row[0].value for row in responses.iter_rows(min_row=2)) == [2, 4, 5]

    named, trainees = _answered_survey(anonymous=False)  # named: exported whenever, even before it opens
    book = _workbook(admin_client.get(f"/sessions/{named.session_id}/questionnaires/{named.id}/resultats.xlsx"))
    names = [row[0].value for row in book["Réponses"].iter_rows(min_row=2)]
    assert sorted(names) == sorted(t.full_name for t in trainees[:3])


def test_reminders_e_mail_those_who_have_not_answered(admin_client, outbox):
    survey, trainees = _answered_survey()
    url = f"/sessions/{survey.session_id}/questionnaires/{survey.id}"
    with frozen_at(OPEN):
        assert "Relancer la personne qui n'a pas répondu" in _text(admin_client.get(url))
        response = admin_client.post(f"{url}/relancer", follow_redirects=True)
    assert "Relance envoyée à 1 stagiaire qui n'a pas répondu." in _text(response)
    assert [m.to for m in outbox] == [[trainees[3].email]]
    with frozen_at(datetime(2030, 5, 1)):
        response = admin_client.post(f"{url}/relancer", follow_redirects=True)
    assert "pas ouvert" in _text(response) and len(outbox) == 1


def test_the_reminders_of_a_positioning_questionnaire_say_it_comes_before_the_course(admin_client, outbox):
    """Sent before the course: it asks where the trainee stands, not their opinion of the course."""
    session = factories.make_session()  # 5 to 8 March 2030
    questionnaire = factories.make_questionnaire(kind="positioning", title="Positionnement")
    survey = factories.make_survey(session, questionnaire, opens_at=datetime(2030, 2, 10, 9),
                                   closes_at=datetime(2030, 2, 25, 23))
    factories.make_enrolment(session)
    title = session.title
    for day in (15, 18):
        with frozen_at(datetime(2030, 2, day, 10)):
            response = admin_client.post(f"/sessions/{session.id}/questionnaires/{survey.id}/relancer",
                                         follow_redirects=True)
        assert "Relance envoyée à 1 stagiaire qui n'a pas répondu." in _text(response)
    assert [m.subject for m in outbox] == [f"Avant la formation « {title} » : votre positionnement",
                                           f"Rappel avant la formation « {title} » : votre positionnement"]
    assert all("avis" not in m.body for m in outbox)


def test_rates_keep_their_sign_on_the_number_s_line_on_the_page_the_chart_and_the_export(admin_client):
    """Every percentage goes through formatting.percent: "75 %" with a narrow no-break space (U+202F), in the
    page's text and table, the chart's bars and description, and the workbook's cells."""
    survey, _ = _answered_survey()
    url = f"/sessions/{survey.session_id}/questionnaires/{survey.id}"
    with frozen_at(CLOSED):
        page = admin_client.get(url).get_data(as_text=True)  # the raw HTML, blanks as they are sent
        book = _workbook(admin_client.get(f"{url}/resultats.xlsx"))
    assert "(75\u202f%)" in page  # the response rate
    assert '<td class="text-end">33\u202f%</td>' in page  # a bar of the table
    assert re.search(r"<desc [^>]*>[^<]*: 1 \(33\u202f%\)", page)  # the chart's description
    assert re.search(r"<text [^>]*>1 \(33\u202f%\)</text>", page)  # the label next to a bar
    assert not re.search(r"\d[ \u00a0]%", page)
    summary = [cell.value for row in book["Synthèse"].iter_rows() for cell in row if isinstance(cell.value, str)]
    assert "75\u202f%" in summary and "33\u202f%" in summary and "67\u202f%" in summary
    assert not [value for value in summary if re.search(r"\d[ \u00a0]%", value)]


def test_programme_results_over_a_period_and_their_export(admin_client):
    survey, _ = _answered_survey()
    programme = survey.session.programme
    url = (f"/questionnaires/resultats?programme={programme.id}&questionnaire={survey.questionnaire.lineage_id}"
           f"&start=2030-01-01&end=2030-12-31")
    with frozen_at(CLOSED):
        page = _text(admin_client.get(url))
        assert "3 réponses sur 4 stagiaires (75\u202f%)" in page and "<svg" in page and "05/03/2030" in page
        page = _text(admin_client.get(url.replace("start=2030-01-01", "start=2030-04-01")))
        assert "0 réponse sur 0 stagiaire" in page and "<svg" not in page
        page = _text(admin_client.get(url.replace("start=2030-01-01", "start=2031-01-01")))
        assert "La fin de la période doit suivre son début." in page
        assert admin_client.get("/questionnaires/resultats?programme=abc&start=zzz").status_code == 200
        book = _workbook(admin_client.get(url.replace("/resultats?", "/resultats.xlsx?")))
    assert "3" in " ".join(str(c.value) for c in book["Synthèse"][3])


def test_the_session_page_lists_its_questionnaires_and_the_trainee_page_hides_closed_ones(admin_client, client):
    survey, trainees = _answered_survey()
    page = _text(admin_client.get(f"/sessions/{survey.session_id}"))
    assert survey.questionnaire.title in page and "3 sur 4" in page and "Évaluation des acquis" in page
    with frozen_at(datetime(2031, 1, 1)):
        assert survey.questionnaire.title not in _text(client.get(factories.personal_path(trainees[3])))


# --- anonymous answers wait for the questionnaire to close (privacy) -------------------------------

def _results_url(survey, suffix=""):
    return f"/sessions/{survey.session_id}/questionnaires/{survey.id}{suffix}"


def test_an_open_anonymous_questionnaire_shows_its_response_rate_only(admin_client):
    survey, trainees = _answered_survey(answers=((5, "yes", "Très utile"), (4, "yes", "Trop court"),
                                                 (2, "no", "Salle froide")))
    with frozen_at(OPEN):
        page = _text(admin_client.get(_results_url(survey)))
        assert "3 réponses sur 4 stagiaires (75\u202f%)" in page
        assert ("Les réponses de ce questionnaire anonyme seront visibles après sa clôture, le 22/03/2030 à 18h00, "
                "s'il a reçu au moins 3 réponses") in page
        for detail in ("<svg", "moyenne", "Très utile", "Trop court", "Salle froide", 'data-testid="question-result"',
                       "resultats.xlsx"):
            assert detail not in page
        response = admin_client.get(_results_url(survey, "/resultats.xlsx"))
        assert response.status_code == 302 and response.headers["Location"].endswith(_results_url(survey))
        page = _text(admin_client.get(response.headers["Location"]))
        assert "seront visibles après sa clôture, le 22/03/2030 à 18h00" in page and "Très utile" not in page
        # a fourth answer comes in: still the rate only
        factories.answer_survey(survey, trainees[3], {1: "1", 2: "no", 3: "Dernier avis"})
        page = _text(admin_client.get(_results_url(survey)))
        assert "4 réponses sur 4 stagiaires (100\u202f%)" in page and "Dernier avis" not in page

    with frozen_at(CLOSED):  # closed: everything shows, and exports
        page = _text(admin_client.get(_results_url(survey)))
        assert "4 réponses sur 4 stagiaires (100\u202f%)" in page and "moyenne 3,0 / 5" in page and "<svg" in page
        assert all(text in page for text in ("Très utile", "Trop court", "Salle froide", "Dernier avis"))
        assert "seront visibles après sa clôture" not in page
        book = _workbook(admin_client.get(_results_url(survey, "/resultats.xlsx")))
    assert sorted(row[0].value for row in book["Réponses"].iter_rows(min_row=2)) == [1, 2, 4, 5]


def test_a_closed_anonymous_questionnaire_with_two_answers_stays_hidden(admin_client):
    survey, _ = _answered_survey(answers=((5, "yes", "Premier avis"), (1, "no", "Second avis")))
    with frozen_at(CLOSED):
        page = _text(admin_client.get(_results_url(survey)))
        assert "2 réponses sur 3 stagiaires (67\u202f%)" in page
        assert "Ce questionnaire anonyme a reçu moins de 3 réponses : ses résultats ne sont pas affichés" in page
        assert "Premier avis" not in page and "Second avis" not in page and "<svg" not in page
        response = admin_client.get(_results_url(survey, "/resultats.xlsx"), follow_redirects=True)
    assert response.status_code == 200 and "a reçu moins de 3 réponses" in _text(response)
    assert "Premier avis" not in _text(response)


def test_a_named_questionnaire_shows_its_answers_while_open(admin_client):
    survey, trainees = _answered_survey(anonymous=False, answers=((5, "yes", "Très utile"),))
    with frozen_at(OPEN):
        page = _text(admin_client.get(_results_url(survey)))
        assert "1 réponse sur 2 stagiaires (50\u202f%)" in page and "<svg" in page and "moyenne 5,0 / 5" in page
        assert trainees[0].full_name in page and "Très utile" in page
        assert "seront visibles après sa clôture" not in page
        book = _workbook(admin_client.get(_results_url(survey, "/resultats.xlsx")))
    assert [row[0].value for row in book["Réponses"].iter_rows(min_row=2)] == [trainees[0].full_name]


def _programme_survey(programme, questionnaire, day, ratings, closes_at=datetime(2030, 3, 22, 18)):
    session = factories.make_session(programme=programme, start=datetime(2030, 3, day, 14),
                                     end=datetime(2030, 3, day + 3, 12, 30), include_weekends=True)  # 2-3 March: a weekend
    survey = factories.make_survey(session, questionnaire, opens_at=datetime(2030, 3, 8, 9, 30), closes_at=closes_at)
    for rating in ratings:
        factories.answer_survey(survey, factories.make_enrolment(session).trainee,
                                {1: str(rating), 2: "yes", 3: f"Avis de la session du {day}"})
    factories.make_enrolment(session)  # one trainee who did not answer
    return survey


def test_programme_results_leave_out_open_and_small_anonymous_sessions(admin_client):
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire()
    _programme_survey(programme, questionnaire, 2, [5, 5, 4])
    _programme_survey(programme, questionnaire, 3, [3, 2, 4, 1])
    _programme_survey(programme, questionnaire, 4, [1, 1])  # closed, two answers
    _programme_survey(programme, questionnaire, 5, [1, 1, 1], closes_at=datetime(2030, 4, 30, 18))  # still open
    url = (f"/questionnaires/resultats?programme={programme.id}&questionnaire={questionnaire.lineage_id}"
           f"&start=2030-01-01&end=2030-12-31")
    with frozen_at(CLOSED):
        page = _text(admin_client.get(url))
        book = _workbook(admin_client.get(url.replace("/resultats?", "/resultats.xlsx?")))
        alone = _text(admin_client.get(url.replace("start=2030-01-01", "start=2030-03-04")
                                       .replace("end=2030-12-31", "end=2030-03-04")))
    # counted: the sessions of 2 and 3 March, 7 answers out of 9 trainees, average (5+5+4+3+2+4+1) / 7 = 3.4
    assert "7 réponses sur 9 stagiaires (78\u202f%)" in page and "moyenne 3,4 / 5" in page
    assert "Avis de la session du 2" in page and "Avis de la session du 3" in page
    assert "Avis de la session du 4" not in page and "Avis de la session du 5" not in page
    assert ("2 sessions ne sont pas comptées : leur questionnaire anonyme n'est pas encore clos ou a reçu moins de "
            "3 réponses, et l'on pourrait sinon deviner par différence les réponses d'un petit groupe.") in page
    assert "Non comptées : " in page and "04/03/2030" in page and "05/03/2030" in page
    summary = [c.value for row in book["Synthèse"].iter_rows(max_row=3) for c in row if c.value is not None]
    assert "(2 sessions) — 2 sessions ne sont pas comptées" in summary[1]
    assert summary[2:5] == ["Réponses", 7, "sur 9 stagiaires"]
    assert sorted(row[0].value for row in book["Réponses"].iter_rows(min_row=2)) == [1, 2, 3, 4, 4, 5, 5]
    # the small session alone: nothing to subtract
    assert "1 session n'est pas comptée" in alone and "Avis de la session du 4" not in alone
    assert "<svg" not in alone and "Exporter (.xlsx)" not in alone


def test_programme_results_run_a_constant_number_of_queries(admin_client):
    counts = []
    for sessions in (2, 5):
        programme = factories.make_programme()
        questionnaire = factories.make_questionnaire()
        for day in range(1, sessions + 1):  # every other session left out (too few answers)
            _programme_survey(programme, questionnaire, day, [4, 5, 3] if day % 2 else [2])
        url = (f"/questionnaires/resultats?programme={programme.id}&questionnaire={questionnaire.lineage_id}"
               f"&start=2030-01-01&end=2030-12-31")
        with frozen_at(CLOSED), factories.count_queries() as statements:
            assert "<svg" in _text(admin_client.get(url))
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_a_closed_anonymous_questionnaire_whose_answers_show_cannot_be_reopened(admin_client):
    survey, _ = _answered_survey()
    form = {"opens_date": "2030-03-08", "opens_time": "09:30", "closes_date": "2030-03-30", "closes_time": "18:00"}
    with frozen_at(CLOSED):
        page = _text(admin_client.post(_results_url(survey, "/dates"), data=form))
    assert "Ce questionnaire anonyme est clos et ses résultats sont visibles : le rouvrir permettrait" in page
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).closes_at == datetime(2030, 3, 22, 18)


# --- anonymous answers released when the questionnaire closes ----------------------------------------

def _pending(survey) -> int:
    return db.session.scalar(db.select(db.func.count(SurveyPendingAnswers.id))
                             .where(SurveyPendingAnswers.survey_id == survey.id))


def _responses(survey) -> int:
    return db.session.scalar(db.select(db.func.count(SurveyResponse.id)).where(SurveyResponse.survey_id == survey.id))


def test_the_results_page_after_closing_releases_and_shows_the_answers(admin_client):
    survey, _ = _answered_survey(answers=((5, "yes", "Très utile"), (4, "yes", "Trop court"),
                                          (2, "no", "Salle froide")))
    with frozen_at(OPEN):
        assert "Très utile" not in _text(admin_client.get(_results_url(survey)))
    assert (_pending(survey), _responses(survey)) == (3, 0)  # looking while open releases nothing
    with frozen_at(CLOSED):
        page = _text(admin_client.get(_results_url(survey)))
    assert "3 réponses sur 4 stagiaires (75\u202f%)" in page and "moyenne 3,7 / 5" in page
    assert all(text in page for text in ("Très utile", "Trop court", "Salle froide"))
    db.session.expire_all()
    assert (_pending(survey), _responses(survey)) == (0, 3)  # committed by the page
    with frozen_at(CLOSED):
        assert "moyenne 3,7 / 5" in _text(admin_client.get(_results_url(survey), headers={"Cache-Control": "no-cache"}))
    db.session.expire_all()
    assert _responses(survey) == 3


def test_the_export_after_closing_releases_the_answers_first(admin_client):
    survey, _ = _answered_survey(answers=((5, "yes", "Très utile"), (4, "yes", "Trop court"),
                                          (2, "no", "Salle froide")))
    with frozen_at(CLOSED):
        book = _workbook(admin_client.get(_results_url(survey, "/resultats.xlsx")))
    assert sorted(row[0].value for row in book["Réponses"].iter_rows(min_row=2)) == [2, 4, 5]
    assert sorted(row[2].value for row in book["Réponses"].iter_rows(min_row=2)) == [
        "Salle froide", "Trop court", "Très utile"]
    db.session.expire_all()
    assert (_pending(survey), _responses(survey)) == (0, 3)


def test_the_programme_results_and_export_release_the_closed_surveys_only(admin_client):
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire()
    closed = _programme_survey(programme, questionnaire, 2, [5, 4, 3])
    still_open = _programme_survey(programme, questionnaire, 4, [1, 2, 2], closes_at=datetime(2030, 4, 30, 18))
    url = (f"/questionnaires/resultats?programme={programme.id}&questionnaire={questionnaire.lineage_id}"
           f"&start=2030-01-01&end=2030-12-31")
    with frozen_at(CLOSED):
        page = _text(admin_client.get(url))
    assert "Avis de la session du 2" in page and "Avis de la session du 4" not in page
    db.session.expire_all()
    assert (_pending(closed), _responses(closed)) == (0, 3)
    assert (_pending(still_open), _responses(still_open)) == (3, 0)
    with frozen_at(datetime(2030, 5, 1, 9)):
        book = _workbook(admin_client.get(url.replace("/resultats?", "/resultats.xlsx?")))
    assert sorted(row[0].value for row in book["Réponses"].iter_rows(min_row=2)) == [1, 2, 2, 3, 4, 5]
    db.session.expire_all()
    assert (_pending(still_open), _responses(still_open)) == (0, 3)


def test_programme_results_count_every_session_when_the_period_is_left_to_its_default(admin_client):
    """The empty form shows no start date (it would be sent with the programme chosen, and hide the programme's
    earlier sessions): once a programme is chosen, the period starts at its first session."""
    survey, _ = _answered_survey()
    programme = survey.session.programme
    with frozen_at(CLOSED):
        empty = _text(admin_client.get("/questionnaires/resultats"))
        start_field = re.search(r'<input[^>]*name="start"[^>]*>', empty).group(0)
        assert 'value="' not in start_field or 'value=""' in start_field
        assert "— Choisissez d'abord une formation —" in empty
        chosen = _text(admin_client.get(f"/questionnaires/resultats?programme={programme.id}&questionnaire=0"
                                         f"&start=&end="))
    start_field = re.search(r'<input[^>]*name="start"[^>]*>', chosen).group(0)
    assert 'value="2030-03-05"' in start_field, start_field  # the programme's first session
    assert "3 réponses sur 4 stagiaires (75\u202f%)" in chosen
