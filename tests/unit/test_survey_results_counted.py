"""Results counted by the database (the pages) agree with results read answer by answer (the export);
a page lists a bounded number of written answers and says how many more the export holds."""
import io
from datetime import datetime

from openpyxl import load_workbook

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import survey_results as results_service
from training_app.services.survey_results import QuestionSpec, aggregate, aggregate_counts
from training_app.services.surveys import QuestionData


def test_counts_give_the_same_results_as_single_values():
    specs = [QuestionSpec("r", "rating", "Note", ("1", "2", "3", "4", "5")),
             QuestionSpec("m", "multiple_choice", "Quoi ?", ("A", "B", "C")),
             QuestionSpec("t", "free_text", "Un mot ?")]
    values = [("r", 5), ("r", 4), ("r", 4), ("m", ["A", "C"]), ("m", ["A"]), ("t", "Bien"), ("t", ""), ("t", "Bien")]
    counts = [("r", 5, 1), ("r", 4, 2), ("m", ("A", "C"), 1), ("m", ("A",), 1), ("t", "Bien", 1), ("t", "Bien", 1)]
    single = aggregate(specs, values, invited=4, responded=3, anonymous=False)
    counted = aggregate_counts(specs, counts, invited=4, responded=3, anonymous=False)
    assert counted == single
    assert [b.count for b in counted.questions[1].bars] == [2, 0, 1]
    assert counted.questions[0].average == single.questions[0].average


def _survey_with_texts(texts):
    questions = [QuestionData("rating", "Note ?"),
                 QuestionData("multiple_choice", "Quoi ?", required=False, options=["Jeux", "Apports", "Échanges"]),
                 QuestionData("free_text", "Un commentaire ?", required=False)]
    survey = factories.make_survey(questionnaire=factories.make_questionnaire(questions, anonymous=False))
    for n, text_ in enumerate(texts):
        trainee = factories.make_enrolment(survey.session).trainee
        factories.answer_survey(survey, trainee, {1: str(n % 5 + 1), 2: ["0", "2"] if n % 2 else ["1"], 3: text_})
    return survey


def test_database_counts_agree_with_the_answers_one_by_one():
    survey = _survey_with_texts(["Très utile", "", "Trop court", "Très utile"])
    page = results_service.survey_results(survey)
    questions = results_service._survey_questions(survey)
    one_by_one = results_service._results([survey], questions, False, key=results_service._by_question_id)[0]
    assert page == one_by_one
    rating, choices, texts = page.questions
    assert rating.answered == 4 and choices.answered == 4
    assert [(b.label, b.count) for b in choices.bars] == [("Jeux", 2), ("Apports", 2), ("Échanges", 2)]
    assert sorted(texts.texts) == ["Trop court", "Très utile", "Très utile"] and texts.more_texts == 0


def test_a_page_lists_a_bounded_number_of_written_answers(monkeypatch, admin_client):
    monkeypatch.setattr(results_service, "TEXTS_SHOWN", 2)
    survey = _survey_with_texts([f"Avis numéro {n}" for n in range(5)])
    texts = results_service.survey_results(survey).questions[2]
    assert texts.answered == 5 and len(texts.texts) == 2 and texts.more_texts == 3
    page = admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}").get_data(as_text=True)
    assert "… et 3 autres réponses écrites, dans l&#39;export (.xlsx)." in page or \
        "… et 3 autres réponses écrites, dans l'export (.xlsx)." in page
    assert sum(f"Avis numéro {n}" in page for n in range(5)) >= 2  # and the named list keeps every answer


def test_anonymous_answers_of_someone_who_cancelled_since_are_said_to_be_counted(admin_client):
    """3 trainees counted in the response rate, 4 questionnaires in the answers (one who answered then cancelled:
    anonymous answers name nobody, so they cannot be taken out): the page and the export say so, not whose."""
    survey = factories.make_survey()  # anonymous, open 8 to 22 March 2030
    enrolments = [factories.make_enrolment(survey.session) for _ in range(4)]
    for enrolment in enrolments:
        factories.answer_survey(survey, enrolment.trainee, {1: "5", 2: "yes", 3: "Bien"})
    enrolments[0].status = "cancelled"
    db.session.commit()
    closed = datetime(2030, 3, 23, 9)
    with frozen_at(closed):
        results = results_service.survey_results(survey)
        db.session.commit()
        page = admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}").get_data(as_text=True)
        export = admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}/resultats.xlsx")
    assert (results.responded, results.responses, results.questions[0].answered) == (3, 4, 4)
    sentence = ("Les réponses aux questions comptent aussi celles d&#39;une personne qui n&#39;est plus parmi les "
                "stagiaires (inscription annulée ou données effacées) : 4 questionnaires remplis en tout.")
    assert sentence in page and enrolments[0].trainee.full_name not in page
    summary = [row[0] for row in load_workbook(io.BytesIO(export.data))["Synthèse"].iter_rows(values_only=True)]
    assert sentence.replace("&#39;", "'") + " Les réponses anonymes ne disent pas qui les a données." in summary
