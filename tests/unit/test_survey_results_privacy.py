"""Anonymous answers are shown only once the questionnaire is closed and has enough responses, session by
session: watching the results while it is open, or subtracting two periods of a programme, must not tell
who answered what. Named questionnaires are not concerned."""
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests import factories
from training_app.clock import frozen_at
from training_app.services import ServiceError
from training_app.services import survey_results as results_service
from training_app.services import surveys as survey_service
from training_app.services.survey_results import WITHHELD_OPEN, WITHHELD_TOO_FEW, withheld_reason

# The factory survey is open from 8 March 2030 9:30 to 22 March 2030 18:00.
BEFORE = datetime(2030, 3, 1, 12, 0)
OPEN = datetime(2030, 3, 10, 12, 0)
CLOSED = datetime(2030, 3, 23, 9, 0)


def _answered(ratings, *, anonymous=True, session=None, questionnaire=None, invited_extra=1, **window):
    """A survey where one trainee per rating answered (rating, yes, "Avis <rating>"), plus trainees who did not."""
    questionnaire = questionnaire or factories.make_questionnaire(anonymous=anonymous)
    survey = factories.make_survey(session, questionnaire, **window)
    for rating in ratings:
        trainee = factories.make_enrolment(survey.session).trainee
        factories.answer_survey(survey, trainee, {1: str(rating), 2: "yes", 3: f"Avis {rating}"})
    for _ in range(invited_extra):
        factories.make_enrolment(survey.session)
    return survey


def test_the_rule_open_closed_and_the_threshold():
    anonymous = factories.make_survey()
    named = factories.make_survey(questionnaire=factories.make_questionnaire(anonymous=False))
    assert withheld_reason(anonymous, 5, BEFORE) == WITHHELD_OPEN  # not open yet is not closed either
    assert withheld_reason(anonymous, 5, OPEN) == WITHHELD_OPEN
    assert withheld_reason(anonymous, 5, anonymous.closes_at) == WITHHELD_OPEN  # the last minute still counts
    assert withheld_reason(anonymous, 3, CLOSED) is None
    assert withheld_reason(anonymous, 2, CLOSED) == WITHHELD_TOO_FEW
    assert withheld_reason(anonymous, 0, CLOSED) == WITHHELD_TOO_FEW
    for now, responded in ((BEFORE, 1), (OPEN, 1), (CLOSED, 1), (CLOSED, 0)):
        assert withheld_reason(named, responded, now) is None


def test_an_open_anonymous_survey_gives_its_rate_only_and_reads_no_answer():
    survey = _answered([5, 4, 2])
    with frozen_at(OPEN), factories.count_queries() as statements:
        results = results_service.survey_results(survey)
    assert (results.invited, results.responded, results.rate) == (4, 3, 75)
    assert results.hidden and results.withheld == WITHHELD_OPEN and results.closes_at == survey.closes_at
    assert results.questions == []
    assert not any("survey_answers" in statement for statement in statements)
    with frozen_at(OPEN):
        message = results_service.withheld_message(results.withheld, survey)
    assert message.startswith("Les réponses de ce questionnaire anonyme seront visibles après sa clôture, "
                              "le 22/03/2030 à 18h00")


def test_the_same_survey_shows_its_answers_once_closed():
    survey = _answered([5, 4, 2])
    with frozen_at(CLOSED):
        results = results_service.survey_results(survey)
    assert not results.hidden and results.withheld is None
    rating, _yes_no, texts = results.questions
    assert rating.average == Decimal("3.7") and [b.count for b in rating.bars] == [0, 1, 0, 1, 1]
    assert sorted(texts.texts) == ["Avis 2", "Avis 4", "Avis 5"]


def test_a_closed_anonymous_survey_with_two_answers_stays_hidden():
    survey = _answered([5, 1])
    with frozen_at(CLOSED):
        results = results_service.survey_results(survey)
        assert results.hidden and results.withheld == WITHHELD_TOO_FEW and results.questions == []
        assert results.responded == 2
        with pytest.raises(ServiceError, match="moins de 3 réponses"):
            results_service.survey_export(survey)


def test_the_export_is_refused_while_open_and_given_once_closed():
    survey = _answered([5, 4, 2, 3])
    with frozen_at(OPEN), pytest.raises(ServiceError, match="seront visibles après sa clôture, le 22/03/2030"):
        results_service.survey_export(survey)
    with frozen_at(CLOSED):
        assert results_service.survey_export(survey)[:2] == b"PK"  # an .xlsx (a zip)


def test_named_questionnaires_show_their_answers_while_open():
    survey = _answered([5], anonymous=False)
    with frozen_at(OPEN):
        results = results_service.survey_results(survey)
        assert not results.hidden and results.questions[0].average == Decimal("5.0")
        assert results_service.survey_export(survey)[:2] == b"PK"


def _session(programme, day):
    return factories.make_session(programme=programme, start=datetime(2030, 3, day, 14),
                                  end=datetime(2030, 3, day + 3, 12, 30))


def test_programme_results_count_each_session_only_when_closed_with_enough_answers():
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire()
    closes = {"opens_at": datetime(2030, 3, 8, 9, 30), "closes_at": datetime(2030, 3, 22, 18)}
    counted_a = _answered([5, 4, 3], session=_session(programme, 4), questionnaire=questionnaire, **closes)
    counted_b = _answered([2, 2, 5, 1], session=_session(programme, 5), questionnaire=questionnaire,
                          invited_extra=2, **closes)
    too_few = _answered([1, 1], session=_session(programme, 6), questionnaire=questionnaire, **closes)
    still_open = _answered([1, 1, 1, 1], session=_session(programme, 7), questionnaire=questionnaire,
                           opens_at=datetime(2030, 3, 10, 9, 30), closes_at=datetime(2030, 4, 30, 18))
    query = results_service.ProgrammeQuery(programme, questionnaire.lineage_id, date(2030, 1, 1), date(2030, 12, 31))

    with frozen_at(CLOSED):
        results, surveys = results_service.programme_results(query)
    assert surveys.counted == [counted_a, counted_b]
    assert surveys.left_out == [(too_few, WITHHELD_TOO_FEW), (still_open, WITHHELD_OPEN)]
    assert (results.invited, results.responded, results.rate) == (4 + 6, 3 + 4, 70)
    rating, _yes_no, texts = results.questions
    assert rating.answered == 7 and rating.average == Decimal("3.1")  # (5 + 4 + 3 + 2 + 2 + 5 + 1) / 7
    assert [b.count for b in rating.bars] == [1, 2, 1, 1, 2]  # no 1 from the left-out sessions' answers
    assert sorted(texts.texts) == ["Avis 1", "Avis 2", "Avis 2", "Avis 3", "Avis 4", "Avis 5", "Avis 5"]

    # A period around the small session alone shows nothing of it: nothing to subtract.
    alone = results_service.ProgrammeQuery(programme, questionnaire.lineage_id, date(2030, 3, 6), date(2030, 3, 6))
    with frozen_at(CLOSED):
        results, surveys = results_service.programme_results(alone)
    assert surveys.counted == [] and surveys.left_out == [(too_few, WITHHELD_TOO_FEW)]
    assert (results.invited, results.responded, results.questions) == (0, 0, [])

    # Once the open one closes, it counts.
    with frozen_at(datetime(2030, 5, 1)):
        results, surveys = results_service.programme_results(query)
    assert surveys.counted == [counted_a, counted_b, still_open]
    assert results.responded == 11 and results.questions[0].bars[0].count == 5


def test_the_programme_export_holds_the_counted_sessions_only_and_says_why():
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire()
    _answered([5, 4, 3], session=_session(programme, 4), questionnaire=questionnaire)
    _answered([1, 1], session=_session(programme, 6), questionnaire=questionnaire)
    query = results_service.ProgrammeQuery(programme, questionnaire.lineage_id, date(2030, 1, 1), date(2030, 12, 31))
    with frozen_at(CLOSED):
        book = load_workbook(io.BytesIO(results_service.programme_export(query)))
    summary = [cell.value for row in book["Synthèse"].iter_rows() for cell in row if cell.value is not None]
    assert summary[1].endswith("(1 session) — 1 session n'est pas comptée : son questionnaire anonyme n'est pas "
                               "encore clos ou a reçu moins de 3 réponses, et l'on pourrait sinon deviner par "
                               "différence les réponses d'un petit groupe.")
    assert summary[2:5] == ["Réponses", 3, "sur 4 stagiaires"]
    assert sorted(row[0].value for row in book["Réponses"].iter_rows(min_row=2)) == [3, 4, 5]


def test_named_sessions_count_in_programme_results_while_open():
    programme = factories.make_programme()
    questionnaire = factories.make_questionnaire(anonymous=False)
    survey = _answered([4], session=_session(programme, 4), questionnaire=questionnaire)
    query = results_service.ProgrammeQuery(programme, questionnaire.lineage_id, date(2030, 1, 1), date(2030, 12, 31))
    with frozen_at(OPEN):
        results, surveys = results_service.programme_results(query)
    assert surveys.counted == [survey] and surveys.left_out == []
    assert results.responded == 1 and results.questions[0].average == Decimal("4.0")


def test_a_closed_anonymous_survey_whose_answers_show_is_not_reopened():
    survey = _answered([5, 4, 3])
    with frozen_at(CLOSED):
        with pytest.raises(ServiceError, match="le rouvrir permettrait de relier les réponses tardives"):
            survey_service.update_window(survey, survey.opens_at, CLOSED + timedelta(days=7))
        survey_service.update_window(survey, survey.opens_at, CLOSED - timedelta(hours=1))  # still closed: fine
    assert survey.closes_at == CLOSED - timedelta(hours=1)
    # While open, it may close earlier or later; with too few answers (never shown) it may reopen.
    open_one = _answered([5, 4, 3])
    with frozen_at(OPEN):
        survey_service.update_window(open_one, open_one.opens_at, OPEN + timedelta(days=30))
        survey_service.update_window(open_one, open_one.opens_at, OPEN + timedelta(hours=1))
    few = _answered([5, 4])
    with frozen_at(CLOSED):
        survey_service.update_window(few, few.opens_at, CLOSED + timedelta(days=7))
    named = _answered([5, 4, 3], anonymous=False)
    with frozen_at(CLOSED):
        survey_service.update_window(named, named.opens_at, CLOSED + timedelta(days=7))
