"""The demo tells the questionnaires' and outcomes' story on the reference course, and runs twice unchanged."""
from training_app import demo
from training_app.demo.sessions import past_session, upcoming_session
from training_app.extensions import db
from training_app.models import (AttendanceRecord, Enrolment, LearningOutcome, Survey, SurveyParticipation,
                                 SurveyResponse)
from training_app.services import outcomes
from training_app.services import survey_results
from training_app.services import surveys as survey_service


def _counts():
    return [db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (Survey, SurveyParticipation, SurveyResponse, LearningOutcome)]


def test_demo_surveys_and_outcomes():
    demo.seed()
    before = _counts()
    demo.seed()
    assert _counts() == before

    past = past_session()
    (survey,) = db.session.scalars(db.select(Survey).where(Survey.session_id == past.id)).all()
    results = survey_results.survey_results(survey)
    # anonymous: its answers show because it is closed (since 28 December 2018) with ten responses
    assert survey.questionnaire.anonymous and survey_service.window_state(survey) == "closed"
    assert (results.responded, results.invited) == (10, 12) and not results.hidden
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id)).where(
        SurveyParticipation.response_id.is_not(None))) == 0
    free_texts = [text for q in results.questions for text in q.texts]
    assert any("négoci" in text for text in free_texts)

    by_enrolment = outcomes.results_for_session(past)
    assessed = [code for rows in by_enrolment.values() for _o, code, _c in rows]
    assert len(assessed) == 12 * 6 and assessed.count("acquired") > 50
    # The comments, printed on the attestations beside the hours, speak of an absence only where the sheets
    # show one: Karim Benali's Thursday afternoon.
    absent = {r.enrolment_id for r in db.session.scalars(db.select(AttendanceRecord).join(AttendanceRecord.enrolment)
                                                         .where(Enrolment.session_id == past.id)) if r.is_absent}
    mentions = {enrolment_id for enrolment_id, rows in by_enrolment.items()
                for _o, _code, comment in rows if "absen" in (comment or "").lower() or "manqué" in (comment or "")}
    assert len(absent) == 1 and mentions == absent
    assert "bilan final oral" in outcomes.review_for(past).text.lower()

    upcoming = upcoming_session()
    surveys = db.session.scalars(db.select(Survey).where(Survey.session_id == upcoming.id)).all()
    kinds = {s.questionnaire.kind for s in surveys}
    assert kinds == {"positioning", "satisfaction"}

    # The programme's satisfaction results: the past session counts, the upcoming one (not closed) waits.
    satisfaction = next(s for s in surveys if s.questionnaire.kind == "satisfaction")
    query = survey_results.ProgrammeQuery(past.programme, satisfaction.questionnaire.lineage_id,
                                          past.start_at.date(), upcoming.start_at.date())
    programme_results, split = survey_results.programme_results(query)
    assert split.counted == [survey] and split.left_out == [(satisfaction, survey_results.WITHHELD_OPEN)]
    assert (programme_results.responded, programme_results.invited) == (10, 12)
    assert programme_results.questions[0].answered == 10
