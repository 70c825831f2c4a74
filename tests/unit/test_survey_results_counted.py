"""Results counted by the database (the pages) agree with results read answer by answer (the export);
a page lists a bounded number of written answers and says how many more the export holds."""
from tests import factories
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
