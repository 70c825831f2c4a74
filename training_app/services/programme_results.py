"""A programme's results on its public page (Qualiopi indicator 2, *indicateurs de résultats*): computed from
the sessions, never typed.

Rules (the page says the period):
- the sessions counted are the programme's sessions that are over (their last day has passed, or the office
  marked them completed) and not cancelled, which ended in the RECENT_YEARS calendar years before this one or
  in this year so far; when none did, every such session of the programme's history ("depuis <first year>");
- their figures are those of the annual report (annual_report.results_of_sessions): people trained (at least
  one minute attended; a person once, however many of the sessions they followed), completion rate (went to
  the end against dropped out; a trainee who never came counts in neither: annual_report._completion),
  satisfaction rate (ratings of 4 or 5 out of 5 in the satisfaction questionnaires; anonymous ones only once
  closed with enough responses);
- the completion rate counts, as the satisfaction rate does, only the sessions with at least MIN_RESPONDENTS
  trainees who went to the end or dropped out (annual_report.PUBLIC_MIN_GROUP): one trainee's drop-out is never
  told by a small group's rate, nor by the change one small session makes to the programme's; none is given
  without such a session;
- shown to the public, every satisfaction questionnaire counts as an anonymous one does: once closed, with at
  least MIN_RESPONDENTS respondents in its session (a named one is no exception: the public must not read
  one trainee's ratings, nor watch them arrive); no rate is given on fewer than MIN_RESPONDENTS respondents, nor
  on fewer than MIN_RESPONDENTS ratings (a rating question left unanswered by all but one respondent would give
  that one person's rating).

A constant number of SQL statements, whatever the number of sessions. Closed anonymous questionnaires release
their pending answers when first counted: the caller commits.
"""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from training_app.clock import local_now
from training_app.extensions import db
from training_app.models import SessionStatus, TrainingSession
from training_app.services import annual_report, survey_results
from training_app.services import sessions as session_service

RECENT_YEARS = 3  # the calendar years before this one that the results cover, with this year so far
MIN_RESPONDENTS = survey_results.MIN_ANONYMOUS_RESPONSES  # per questionnaire counted, and for a rate at all


@dataclass
class ProgrammeResults:
    since: int  # calendar year of the first session counted (of the period's start when `recent`)
    recent: bool  # True: the RECENT_YEARS years before this one and this year; False: since the first session
    sessions: int
    trainees: int
    completion_rate: int | None  # percent; None without a session of MIN_RESPONDENTS trainees or more counted
    satisfaction_rate: int | None  # percent of ratings of 4 or 5; None below MIN_RESPONDENTS respondents or ratings
    ratings: int  # ratings counted
    respondents: int  # trainees whose answers are counted
    satisfied_from: int = annual_report.SATISFIED_FROM


def over_sessions(programme_id: int) -> list[tuple[int, date]]:
    """(id, last day) of the programme's sessions that are over and not cancelled (one query)."""
    rows = db.session.execute(
        select(TrainingSession.id, TrainingSession.end_at).where(
            TrainingSession.programme_id == programme_id, TrainingSession.status != SessionStatus.CANCELLED,
            session_service.over_condition())).all()
    return [(row.id, row.end_at.date()) for row in rows]


def results(programme_id: int) -> ProgrammeResults | None:
    """The programme's results (see the module's rules), or None before one of its sessions is over and was
    attended by somebody (a session scheduled in the past that nobody came to was not held)."""
    over = over_sessions(programme_id)
    if not over:
        return None
    start = local_now().year - RECENT_YEARS
    recent = [(session_id, day) for session_id, day in over if day.year >= start]
    counted = recent or over
    since = start if recent else min(day.year for _id, day in over)
    figures = annual_report.results_of_sessions({session_id for session_id, _day in counted}, public=True)
    if not figures.sessions:  # over, but nobody attended: none was held
        return None
    satisfaction = figures.indicators.satisfaction
    return ProgrammeResults(
        since=since, recent=bool(recent), sessions=figures.sessions, trainees=figures.trainees,
        completion_rate=figures.indicators.completion_rate,
        satisfaction_rate=satisfaction.share if min(satisfaction.counted_responded, satisfaction.ratings)
        >= MIN_RESPONDENTS else None,
        ratings=satisfaction.ratings, respondents=satisfaction.counted_responded)
