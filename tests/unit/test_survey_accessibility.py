"""The positioning questionnaire's question on adjustments (handicap, accessibility): a "yes" is told to the
accessibility contact by e-mail, with the trainee and the session and none of the other answers; its answers are
health data, shown to the office and not to the trainers (page and export)."""
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import surveys as survey_service
from training_app.services.surveys import QuestionData

PLANNING, ANSWERING = datetime(2030, 2, 20), datetime(2030, 3, 1)  # the session starts on 5 March 2030


def _positioning(programme=None, trainers=()):
    session = factories.make_session(programme, trainers=trainers)
    with frozen_at(PLANNING):
        survey = survey_service.attach_positioning(session)
        db.session.commit()
    return survey


def _answer(survey, need: str, expectation="Apprendre à négocier avec ma direction", trainee=None):
    """A trainee answers: 3 on every objective, their expectation, and `need` ("yes"/"no") to the last question."""
    trainee = trainee or factories.make_enrolment(survey.session).trainee
    questions = survey.questionnaire.questions
    raw = {question.id: {"rating": "3", "yes_no": need}.get(question.type, "") for question in questions}
    raw[questions[-3].id] = expectation  # "Qu'attendez-vous de cette formation ?"
    with frozen_at(ANSWERING):
        survey_service.submit(survey, trainee, raw)
    return trainee


def test_the_default_question_is_recognised_promises_a_referent_and_keeps_its_flag_through_versions():
    survey = _positioning()
    need = survey.questionnaire.questions[-1]
    assert survey_service.is_accessibility_question(need)
    assert need.help_text == "Si oui, le ou la référent·e handicap vous contactera avant la formation."
    assert not any(survey_service.is_accessibility_question(q) for q in survey.questionnaire.questions[:-1])
    copy = survey_service.new_version(survey.questionnaire)
    survey_service.update_question(copy.questions[-1], QuestionData("yes_no", "Un besoin d'aménagement ?"))
    assert survey_service.is_accessibility_question(copy.questions[-1])  # reworded, still the one
    # made before the flag existed: its wording tells it
    old = factories.make_questionnaire([QuestionData("yes_no", survey_service.ACCESSIBILITY_QUESTION)],
                                       anonymous=False)
    assert old.questions[0].options == [] and survey_service.is_accessibility_question(old.questions[0])


def test_a_yes_tells_the_programmes_contact_after_the_commit_and_nothing_else_of_the_answers(outbox):
    programme = factories.make_programme(accessibility_contact="Claire Martin, référente handicap : "
                                                               "claire.martin@example.org, 06 12 34 56 78")
    factories.make_organisation(accessibility_contact="Bureau : accueil@example.org")
    survey = _positioning(programme)
    trainee = _answer(survey, "no")
    db.session.commit()
    assert outbox == []
    trainee = _answer(survey, "yes", expectation="Secret attendu")
    assert outbox == []  # not before the commit
    db.session.commit()
    [message] = outbox
    assert message.to == ["claire.martin@example.org"]
    assert trainee.full_name in message.subject and survey.session.title in message.body
    assert trainee.email in message.body and "05/03/2030" in message.body
    assert "Secret attendu" not in message.body and "Je m'y essaie" not in message.body
    enrolment_id = survey_service.enrolment_for(survey, trainee).id
    assert message.tag == f"office:accessibility:{enrolment_id}"  # deleted with the trainee's data


def test_without_an_address_the_office_is_told_and_an_anonymous_questionnaire_tells_nobody(app, outbox):
    factories.make_organisation(accessibility_contact="Claire Martin, au 06 12 34 56 78")
    _answer(_positioning(), "yes")
    db.session.commit()
    [message] = outbox
    assert message.to == [app.config["MAIL_OFFICE"]]
    assert "Aucune adresse e-mail" in message.body and "Claire Martin, au 06 12 34 56 78" in message.body
    # made before anonymous questionnaires refused the question (see the tests below)
    legacy = factories.make_questionnaire([QuestionData("yes_no", survey_service.ACCESSIBILITY_QUESTION)],
                                          anonymous=False)
    legacy.anonymous = True
    db.session.commit()
    anonymous = factories.make_survey(questionnaire=legacy)
    trainee = factories.make_enrolment(anonymous.session).trainee
    factories.answer_survey(anonymous, trainee, {1: "yes"})
    assert len(outbox) == 1  # a message naming them would tie the anonymous answer to its author


@pytest.fixture
def answered(trainer):
    """A positioning questionnaire of a session the trainer teaches, answered "yes" by Awa Diallo."""
    survey = _positioning(trainers=(trainer,))
    _answer(survey, "yes", trainee=factories.make_enrolment(survey.session, factories.make_trainee("Awa", "Diallo"))
            .trainee)
    db.session.commit()
    return survey


def _page(client, survey):
    with frozen_at(ANSWERING):
        return client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}").get_data(as_text=True)


def _export_texts(client, survey) -> str:
    with frozen_at(ANSWERING):
        response = client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}/resultats.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    return " ".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)


def test_trainers_do_not_see_the_answers_to_it_the_office_does(answered, admin_client, trainer_client):
    trainer_page, office_page = _page(trainer_client, answered), _page(admin_client, answered)
    assert "Awa Diallo" in trainer_page and "Apprendre à négocier" in trainer_page  # the other answers stay
    assert "aménagement" not in trainer_page.split('data-testid="accessibility-hidden"')[0]
    assert 'data-testid="accessibility-hidden"' in trainer_page
    assert "Avez-vous besoin d" in office_page and 'data-testid="accessibility-hidden"' not in office_page
    assert "aménagement" not in _export_texts(trainer_client, answered)
    assert "aménagement" in _export_texts(admin_client, answered)


def test_its_edit_form_hides_the_flag_and_the_list_says_what_a_yes_does(admin_client):
    questionnaire = factories.make_questionnaire([QuestionData("rating", "Note ?"), QuestionData(
        "yes_no", "Un besoin ?", options=[survey_service.ACCESSIBILITY_FLAG])], anonymous=False)
    need = questionnaire.questions[1]
    page = admin_client.get(f"/admin/questionnaires/{questionnaire.id}").get_data(as_text=True)
    assert 'data-testid="accessibility-question"' in page and survey_service.ACCESSIBILITY_FLAG not in page
    form = admin_client.get(f"/admin/questionnaires/{questionnaire.id}/questions/{need.id}").get_data(as_text=True)
    assert survey_service.ACCESSIBILITY_FLAG not in form


# --- an anonymous questionnaire never holds the question (a "yes" there could reach nobody) ------------

_ANONYMOUS_REFUSAL = "anonyme ne peut pas contenir la question sur les besoins d'aménagement"


def test_an_anonymous_questionnaire_is_not_created_with_the_question():
    from training_app.services import ServiceError
    from training_app.services.surveys import QuestionnaireData
    for need in (QuestionData("yes_no", "Un besoin ?", options=[survey_service.ACCESSIBILITY_FLAG]),
                 QuestionData("yes_no", survey_service.ACCESSIBILITY_QUESTION)):
        with pytest.raises(ServiceError, match=_ANONYMOUS_REFUSAL):
            survey_service.create_questionnaire(QuestionnaireData(title="Anonyme", anonymous=True),
                                                [QuestionData("rating", "Note ?"), need])
        db.session.rollback()
    named = survey_service.create_questionnaire(QuestionnaireData(title="Nommé", anonymous=False), [need])
    assert survey_service.is_accessibility_question(named.questions[0])


def test_the_question_is_not_added_to_an_anonymous_questionnaire_nor_made_there_by_an_edit():
    from training_app.services import ServiceError
    questionnaire = factories.make_questionnaire([QuestionData("yes_no", "Un souci ?")], anonymous=True)
    with pytest.raises(ServiceError, match=_ANONYMOUS_REFUSAL) as refused:
        survey_service.add_question(questionnaire, QuestionData(
            "yes_no", "Un besoin ?", options=[survey_service.ACCESSIBILITY_FLAG]))
    assert refused.value.field == "text"
    db.session.rollback()
    with pytest.raises(ServiceError, match=_ANONYMOUS_REFUSAL):
        survey_service.update_question(questionnaire.questions[0],
                                       QuestionData("yes_no", survey_service.ACCESSIBILITY_QUESTION))
    db.session.rollback()
    assert [q.text for q in questionnaire.questions] == ["Un souci ?"]


def test_a_questionnaire_holding_the_question_is_not_made_anonymous():
    from training_app.services import ServiceError
    from training_app.services.surveys import QuestionnaireData
    questionnaire = factories.make_questionnaire([QuestionData("yes_no", survey_service.ACCESSIBILITY_QUESTION)],
                                                 anonymous=False, title="Besoins")
    with pytest.raises(ServiceError, match=_ANONYMOUS_REFUSAL) as refused:
        survey_service.update_questionnaire(questionnaire, QuestionnaireData(title="Besoins", anonymous=True))
    assert refused.value.field == "anonymous"
    db.session.rollback()
    assert not db.session.get(type(questionnaire), questionnaire.id).anonymous

