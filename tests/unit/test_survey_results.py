"""Aggregation of questionnaire answers: plain data in, results out; then the loaders on real rows."""
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import enrolments as enrolment_service
from training_app.services import survey_results as results_service
from training_app.services import surveys as survey_service
from training_app.services.survey_results import QuestionSpec, aggregate
from training_app.services.surveys import QuestionData

LABELS = ("Très mal", "Plutôt mal", "Moyennement", "Bien", "Très bien")
AFTER_CLOSING = datetime(2030, 3, 23, 9, 0)  # the factory survey closes on 22 March 2030 at 18:00


def _bars(question):
    return [(bar.label, bar.count, bar.percent) for bar in question.bars]


def test_rating_average_and_distribution():
    spec = QuestionSpec("q", "rating", "Globalement ?", LABELS)
    results = aggregate([spec], [("q", 5), ("q", 4), ("q", 4), ("q", 2)], invited=5, responded=4, anonymous=False)
    question = results.questions[0]
    assert question.answered == 4
    assert question.average == Decimal("3.8")  # 15 / 4 = 3.75, rounded half up
    assert _bars(question) == [("1 – Très mal", 0, 0), ("2 – Plutôt mal", 1, 25), ("3 – Moyennement", 0, 0),
                               ("4 – Bien", 2, 50), ("5 – Très bien", 1, 25)]
    assert results.rate == 80 and not results.hidden


def test_unanswered_optional_questions_do_not_count():
    spec = QuestionSpec("q", "rating", "Note", LABELS)
    question = aggregate([spec], [("q", None), ("q", 3)], invited=2, responded=2, anonymous=False).questions[0]
    assert question.answered == 1 and question.average == Decimal("3.0")
    empty = aggregate([spec], [], invited=2, responded=0, anonymous=False).questions[0]
    assert empty.answered == 0 and empty.average is None and [b.count for b in empty.bars] == [0] * 5


def test_yes_no_single_and_multiple_choices():
    specs = [QuestionSpec("yn", "yes_no", "Recommanderiez-vous ?"),
             QuestionSpec("one", "single_choice", "Rythme", ("Trop lent", "Adapté", "Trop rapide")),
             QuestionSpec("many", "multiple_choice", "Apprécié", ("Apports", "Jeux de rôle", "Échanges"))]
    values = [("yn", True), ("yn", True), ("yn", False),
              ("one", "Adapté"), ("one", "Adapté"), ("one", "Trop rapide"),
              ("many", ["Apports", "Jeux de rôle"]), ("many", ["Jeux de rôle"]), ("many", [])]
    yes_no, single, multiple = aggregate(specs, values, invited=3, responded=3, anonymous=False).questions
    assert _bars(yes_no) == [("Oui", 2, 67), ("Non", 1, 33)]
    assert _bars(single) == [("Trop lent", 0, 0), ("Adapté", 2, 67), ("Trop rapide", 1, 33)]
    # percentages of the people who answered the question: they may add up to more than 100
    assert multiple.answered == 2
    assert _bars(multiple) == [("Apports", 1, 50), ("Jeux de rôle", 2, 100), ("Échanges", 0, 0)]


def test_free_text_answers_are_listed_and_blank_ones_dropped():
    spec = QuestionSpec("t", "free_text", "Suggestions ?")
    question = aggregate([spec], [("t", "Plus de pauses"), ("t", ""), ("t", "=1+1")], invited=3, responded=3,
                         anonymous=True).questions[0]
    assert question.texts == ["Plus de pauses", "=1+1"] and question.answered == 2 and not question.has_chart


def test_rate_and_anonymity_threshold():
    spec = QuestionSpec("q", "yes_no", "?")
    assert aggregate([spec], [], invited=0, responded=0, anonymous=True).rate is None
    assert aggregate([spec], [("q", True)] * 2, invited=12, responded=2, anonymous=True).hidden
    assert not aggregate([spec], [("q", True)] * 2, invited=12, responded=2, anonymous=False).hidden
    shown = aggregate([spec], [("q", True)] * 3, invited=12, responded=3, anonymous=True)
    assert not shown.hidden and shown.rate == 25


def _three_answers(survey):
    trainees = [factories.make_enrolment(survey.session).trainee for _ in range(4)]
    for trainee, (rating, yes) in zip(trainees, [(5, "yes"), (4, "yes"), (2, "no")]):
        factories.answer_survey(survey, trainee, {1: str(rating), 2: yes, 3: f"Texte {rating}"})
    return trainees


def test_survey_results_read_the_stored_answers():
    survey = factories.make_survey()
    _three_answers(survey)
    with frozen_at(AFTER_CLOSING):  # anonymous: shown once the questionnaire is closed
        results = results_service.survey_results(survey)
    assert (results.invited, results.responded, results.rate) == (4, 3, 75)
    rating, yes_no, text = results.questions
    assert rating.average == Decimal("3.7")
    assert [b.count for b in rating.bars] == [0, 1, 0, 1, 1]
    assert _bars(yes_no) == [("Oui", 2, 67), ("Non", 1, 33)]
    assert sorted(text.texts) == ["Texte 2", "Texte 4", "Texte 5"]


def test_a_trainee_who_answered_then_cancelled_leaves_the_rate_and_the_named_answers():
    survey = factories.make_survey(questionnaire=factories.make_questionnaire(anonymous=False))
    a, b, c, d = (factories.make_enrolment(survey.session) for _ in range(4))
    for enrolment, rating in ((a, "1"), (b, "4"), (c, "5")):
        factories.answer_survey(survey, enrolment.trainee, {1: rating, 2: "yes"})
    with frozen_at(AFTER_CLOSING):
        before = results_service.survey_results(survey)  # counted, and kept between requests
    assert (before.invited, before.responded, before.questions[0].average) == (4, 3, Decimal("3.3"))
    enrolment_service.cancel(a, "Empêchement")  # before the start: a is no longer invited
    db.session.commit()
    with frozen_at(AFTER_CLOSING):
        results = results_service.survey_results(survey)
        named = results_service.named_responses(survey)
        listed = survey_service.surveys_of_session(survey.session)[0]
    assert (results.invited, results.responded, results.rate) == (3, 2, 67)  # not 3 of 3
    assert results.questions[0].answered == 2 and results.questions[0].average == Decimal("4.5")
    assert {row["name"] for row in named} == {b.trainee.full_name, c.trainee.full_name}
    assert (listed["responded"], listed["invited"]) == (2, 3)
    assert [t.id for t in survey_service.non_respondents(survey)] == [d.trainee_id]


def test_programme_results_gather_every_session_of_the_period_and_every_version():
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire()
    first = factories.make_session(programme=programme, start=datetime(2030, 3, 5, 14), end=datetime(2030, 3, 8, 12, 30))
    survey = factories.make_survey(first, questionnaire)
    _three_answers(survey)
    # the questionnaire changes: a new version with one more question; the shared ones aggregate together
    second_version = survey_service.new_version(questionnaire)
    survey_service.add_question(second_version, QuestionData("yes_no", "Reviendriez-vous ?"))
    db.session.commit()
    second = factories.make_session(programme=programme, start=datetime(2030, 6, 4, 14),
                                    end=datetime(2030, 6, 7, 12, 30))
    later = factories.make_survey(second, second_version, opens_at=datetime(2030, 6, 7, 9, 30),
                                  closes_at=datetime(2030, 6, 21, 18))
    # anonymous: each session counts with three answers of its own at least
    for rating, again in (("1", "yes"), ("3", "yes"), ("5", "no")):
        factories.answer_survey(later, factories.make_enrolment(second).trainee, {1: rating, 2: "no", 4: again})
    outside = factories.make_session(programme=programme, start=datetime(2031, 1, 7, 14),
                                     end=datetime(2031, 1, 10, 12, 30))
    factories.make_survey(outside, second_version, opens_at=datetime(2031, 1, 10, 9), closes_at=datetime(2031, 2, 1))

    query = results_service.ProgrammeQuery(programme, questionnaire.lineage_id, date(2030, 1, 1), date(2030, 12, 31))
    with frozen_at(datetime(2030, 7, 1)):  # both questionnaires closed
        results, surveys = results_service.programme_results(query)
    assert [s.id for s in surveys.counted] == [survey.id, later.id] and surveys.left_out == []
    assert (results.invited, results.responded) == (7, 6)
    texts = [q.text for q in results.questions]
    assert texts == ["Comment avez-vous trouvé la formation ?", "La recommanderiez-vous ?", "Un commentaire ?",
                     "Reviendriez-vous ?"]
    rating = results.questions[0]
    assert rating.answered == 6 and rating.average == Decimal("3.3")  # (5 + 4 + 2 + 1 + 3 + 5) / 6
    assert _bars(results.questions[3]) == [("Oui", 2, 67), ("Non", 1, 33)]


def test_two_questions_worded_alike_stay_two_and_each_gathers_its_own_across_versions():
    """"Commentaire" after each part of one questionnaire: two questions, in the programme's results and export as
    in the session's; the next version's first "Commentaire" gathers with the first, its second with the second."""
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire([
        QuestionData("rating", "Le contenu"), QuestionData("free_text", "Commentaire", required=False),
        QuestionData("rating", "L'animation"), QuestionData("free_text", " commentaire ", required=False)],
        anonymous=False)
    first = factories.make_session(programme=programme)
    survey = factories.make_survey(first, questionnaire)
    for n in range(3):
        factories.answer_survey(survey, factories.make_enrolment(first).trainee,
                                {1: "5", 2: f"contenu-{n}", 3: "2", 4: f"animation-{n}"})
    second_version = survey_service.new_version(questionnaire)
    db.session.commit()
    second = factories.make_session(programme=programme, start=datetime(2030, 6, 4, 14),
                                    end=datetime(2030, 6, 7, 12, 30))
    later = factories.make_survey(second, second_version, opens_at=datetime(2030, 6, 7, 9, 30),
                                  closes_at=datetime(2030, 6, 21, 18))
    factories.answer_survey(later, factories.make_enrolment(second).trainee,
                            {1: "4", 2: "contenu-later", 3: "3", 4: "animation-later"})

    query = results_service.ProgrammeQuery(programme, questionnaire.lineage_id, date(2030, 1, 1), date(2030, 12, 31))
    with frozen_at(datetime(2030, 7, 1)):
        results, _surveys = results_service.programme_results(query)
        book = load_workbook(io.BytesIO(results_service.programme_export(query)))
        session_results = results_service.survey_results(survey)
    assert [(q.text, q.answered) for q in results.questions] == [
        ("Le contenu", 4), ("Commentaire", 4), ("L'animation", 4), ("commentaire", 4)]
    assert sorted(results.questions[1].texts) == ["contenu-0", "contenu-1", "contenu-2", "contenu-later"]
    assert sorted(results.questions[3].texts) == ["animation-0", "animation-1", "animation-2", "animation-later"]
    rows = [[cell.value for cell in row] for row in book["Réponses"].iter_rows()]
    assert rows[0] == ["Stagiaire", "Le contenu", "Commentaire", "L'animation", "commentaire"]
    assert sorted(row[1:] for row in rows[1:]) == sorted(
        [[5, f"contenu-{n}", 2, f"animation-{n}"] for n in range(3)] + [[4, "contenu-later", 3, "animation-later"]])
    assert [(q.text, q.answered) for q in session_results.questions] == [
        ("Le contenu", 3), ("Commentaire", 3), ("L'animation", 3), ("commentaire", 3)]


def _comments_per_column(sheet) -> dict[str, list[str]]:
    """The "Réponses" sheet: the answers in each "Commentaire" column, named by the part they are about."""
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    columns = {}
    for index, title in enumerate(header):
        if title == "Commentaire":
            written = sorted(row[index] for row in rows if row[index])
            columns[written[0].split("-")[0]] = written
    return columns


def _comments_per_question(sheet) -> dict[str, list[str]]:
    """The "Synthèse" sheet: the answers listed under each "Commentaire" question, named as above."""
    listed, current = [], None
    for (line,) in sheet.iter_rows(min_col=1, max_col=1, values_only=True):
        heading = re.match(r"^\d+\. (.*)$", str(line or ""))
        if heading:  # "3. Commentaire": a question, its bars or answers below it
            current = [] if heading.group(1) == "Commentaire" else None
            if current is not None:
                listed.append(current)
        elif current is not None and line:
            current.append(line)
    return {sorted(texts)[0].split("-")[0]: sorted(texts) for texts in listed}


@pytest.mark.parametrize("removed", ["first", "second"])
def test_the_only_comment_left_in_the_next_version_gathers_with_the_one_after_the_same_part(removed):
    """Version 1 asks "Commentaire" after each of its two parts; version 2 drops one part with its "Commentaire".
    Its only "Commentaire" follows the part kept: in the programme's results and export it gathers with the one
    that followed that part in version 1 (counting occurrences gathered it with the first one of version 1, even
    when it follows the second part)."""
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire([
        QuestionData("rating", "Le contenu"), QuestionData("free_text", "Commentaire", required=False),
        QuestionData("rating", "L'animation"), QuestionData("free_text", "Commentaire", required=False)],
        anonymous=False)
    survey = factories.make_survey(factories.make_session(programme=programme), questionnaire)
    for n in range(2):
        factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee,
                                {1: "5", 2: f"contenu-{n}", 3: "2", 4: f"animation-{n}"})
    second_version = survey_service.new_version(questionnaire)
    db.session.commit()
    part = 0 if removed == "first" else 2
    for _ in range(2):  # the part's rating, then its comment
        survey_service.delete_question(second_version.questions[part])
    db.session.commit()
    kept = "animation" if removed == "first" else "contenu"
    second = factories.make_session(programme=programme, start=datetime(2030, 6, 4, 14),
                                    end=datetime(2030, 6, 7, 12, 30))
    later = factories.make_survey(second, second_version, opens_at=datetime(2030, 6, 7, 9, 30),
                                  closes_at=datetime(2030, 6, 21, 18))
    factories.answer_survey(later, factories.make_enrolment(second).trainee, {1: "3", 2: f"{kept}-later"})

    query = results_service.ProgrammeQuery(programme, questionnaire.lineage_id, date(2030, 1, 1), date(2030, 12, 31))
    with frozen_at(datetime(2030, 7, 1)):
        results, _surveys = results_service.programme_results(query)
        book = load_workbook(io.BytesIO(results_service.programme_export(query)))
    expected = {part: [f"{part}-0", f"{part}-1"] + ([f"{part}-later"] if part == kept else [])
                for part in ("contenu", "animation")}
    assert {q.texts[0].split("-")[0]: sorted(q.texts) for q in results.questions if q.type == "free_text"} == expected
    assert _comments_per_question(book["Synthèse"]) == expected
    assert _comments_per_column(book["Réponses"]) == expected
    ratings = {q.text: (q.answered, q.average) for q in results.questions if q.type == "rating"}
    assert ratings == ({"Le contenu": (2, 5), "L'animation": (3, Decimal("2.3"))} if kept == "animation"
                       else {"Le contenu": (3, Decimal("4.3")), "L'animation": (2, 2)})
