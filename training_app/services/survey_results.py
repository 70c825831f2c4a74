"""Questionnaire results: response rate, average and distribution per question, free-text answers,
per session and per programme over a period; and their .xlsx export.

`aggregate()` is pure (plain values in, plain values out) and unit-tested; the loaders
read with a constant number of queries. Anonymous results never say who answered what:
answers are read without any trainee, free-text answers come in the order of the random
response ids, and the details of an anonymous survey are shown only once it is closed and
has at least MIN_ANONYMOUS_RESPONSES responses (see `withheld_reason`). While it is open,
staff see who has answered, so a new response appearing right after someone answered
would be theirs; with one or two answers, everybody would know whose they are. Programme
results leave such surveys out, session by session, so that two periods cannot be
subtracted down to a small group.

Anonymous answers become responses only when their survey is closed (services/surveys.release_pending):
the loaders of closed results release them first, in the caller's transaction, which the views commit.
The number of trainees who answered always comes from the participations, released or not, of the
trainees still invited (_responded; responded_per_survey per survey): one who answered and then cancelled is
not counted; one who answered two questionnaires of a session is one person.
"""
import io
import json
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import Text, cast, func
from sqlalchemy.orm import aliased, contains_eager

from training_app.clock import local_now
from training_app.documents.excel import write_text
from training_app.extensions import db
from training_app.formatting import date_fr, datetime_fr, label, percent
from training_app.models import (Programme, Question, Questionnaire, QuestionType, Survey, SurveyAnswer,
                                 SurveyParticipation, SurveyResponse, Trainee, TrainingSession)
from training_app.services import ServiceError
from training_app.services.surveys import (CHOICE_TYPES, MIN_ANONYMOUS_RESPONSES, invited_trainees,
                                          is_accessibility_question, is_invited, release_closed, release_pending,
                                          responded_per_survey, window_state)

WITHHELD_OPEN = "open"  # an anonymous survey not closed yet (open, or not open yet)
WITHHELD_TOO_FEW = "too_few"  # an anonymous survey closed with fewer than MIN_ANONYMOUS_RESPONSES responses


@dataclass(frozen=True)
class QuestionSpec:
    """A question as results see it. Across versions, the same (type, text) is the same question; one asked twice
    in a questionnaire is told apart by the question before it (see _spec_keys)."""
    key: object
    type: str
    text: str
    options: tuple[str, ...] = ()


@dataclass
class Bar:
    label: str
    count: int
    percent: int  # of the people who answered this question


@dataclass
class QuestionResult:
    number: int
    type: str
    text: str
    answered: int = 0
    average: Decimal | None = None  # ratings only, one decimal
    bars: list[Bar] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    more_texts: int = 0  # written answers not listed on the page (they are all in the export)

    @property
    def has_chart(self) -> bool:
        return self.type != QuestionType.FREE_TEXT


@dataclass
class Results:
    invited: int
    responded: int
    anonymous: bool
    questions: list[QuestionResult]
    withheld: str | None = None  # why an anonymous survey's details are not shown (WITHHELD_*), if so
    closes_at: datetime | None = None  # when the survey closes (set when withheld because it is not closed)
    responses: int | None = None  # the filled-in questionnaires whose answers are counted (None: not counted)

    @property
    def answers_of_others(self) -> int:
        """Counted questionnaires filled in by people no longer among the trainees counted in `responded`: anonymous
        answers name nobody, so those of a trainee who answered and then cancelled (or whose data was erased) stay
        in the answers, though not in the response rate. How many, never whose."""
        return max(0, (self.responses or 0) - self.responded)

    def answers_of_others_sentence(self) -> str | None:
        """The French sentence saying so (None when the answers and the response rate agree)."""
        if not self.answers_of_others:
            return None
        return ngettext(
            "Les réponses aux questions comptent aussi celles d'une personne qui n'est plus parmi les stagiaires "
            "(inscription annulée ou données effacées) : %(total)d questionnaires remplis en tout. Les réponses "
            "anonymes ne disent pas qui les a données.",
            "Les réponses aux questions comptent aussi celles de %(num)d personnes qui ne sont plus parmi les "
            "stagiaires (inscription annulée ou données effacées) : %(total)d questionnaires remplis en tout. Les "
            "réponses anonymes ne disent pas qui les a données.",
            self.answers_of_others, total=self.responses)

    @property
    def rate(self) -> int | None:
        """Response rate in percent (None when nobody was asked)."""
        if not self.invited:
            return None
        return percent_of(min(self.responded, self.invited), self.invited)

    @property
    def hidden(self) -> bool:
        """Anonymous results that could tell who answered what are not shown: a survey still open,
        or too few responses to stay anonymous."""
        return self.withheld is not None or (self.anonymous and 0 < self.responded < MIN_ANONYMOUS_RESPONSES)


def withheld_reason(survey: Survey, responded: int, now: datetime | None = None, *,
                    public: bool = False) -> str | None:
    """Why the answers of this survey may not be shown (WITHHELD_OPEN, WITHHELD_TOO_FEW), or None.

    Named questionnaires are always shown to the staff. An anonymous one only once its window has ended
    (before, a response appearing right after a trainee answered would be theirs) and with at least
    MIN_ANONYMOUS_RESPONSES responses (with fewer, one would guess whose they are). Figures shown to the
    public (`public`) treat every questionnaire as anonymous: the staff may know who answered what, the
    public may not.
    """
    if not survey.questionnaire.anonymous and not public:
        return None
    if window_state(survey, now) != "closed":
        return WITHHELD_OPEN
    if responded < MIN_ANONYMOUS_RESPONSES:
        return WITHHELD_TOO_FEW
    return None


def withheld_message(reason: str, survey: Survey) -> str:
    """The French explanation of `withheld_reason` for this survey."""
    if reason == WITHHELD_OPEN:
        return _("Les réponses de ce questionnaire anonyme seront visibles après sa clôture, le %(when)s, s'il a "
                 "reçu au moins %(n)d réponses : tant qu'il est ouvert, une réponse qui apparaît juste après le "
                 "passage d'un·e stagiaire pourrait lui être attribuée.",
                 when=datetime_fr(survey.closes_at), n=MIN_ANONYMOUS_RESPONSES)
    return _("Ce questionnaire anonyme a reçu moins de %(n)d réponses : ses résultats ne sont pas affichés, on "
             "devinerait qui a répondu quoi.", n=MIN_ANONYMOUS_RESPONSES)


def percent_of(part: int, whole: int) -> int:
    """`part` of `whole` in percent, rounded half up (0 without a whole); a number, shown by formatting.percent."""
    if not whole:
        return 0
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rating_label(value: int, labels) -> str:
    labels = list(labels or [])
    return f"{value} – {labels[value - 1]}" if len(labels) >= value else str(value)


def aggregate(specs: list[QuestionSpec], values: list[tuple[object, object]], *, invited: int, responded: int,
              anonymous: bool) -> Results:
    """Results from plain data.

    `values` are (spec key, value) with value an int 1-5 (rating), a bool (yes/no), an option
    label (single choice), a list of option labels (multiple choice) or a string (free text).
    """
    return aggregate_counts(specs, ((key, value, 1) for key, value in values), invited=invited,
                            responded=responded, anonymous=anonymous)


def _blank(value) -> bool:
    return value is None or value == "" or value == [] or value == ()


def aggregate_counts(specs: list[QuestionSpec], counts, *, invited: int, responded: int, anonymous: bool,
                     text_totals: dict | None = None) -> Results:
    """Results from (spec key, value, how many) triples, as the database counts them.

    Values are those of aggregate(). Free-text answers come one by one, in their order; when only
    some of them are given, `text_totals` (spec key -> number of written answers) gives the count.
    """
    by_key = defaultdict(list)
    for key, value, count in counts:
        if not _blank(value):
            by_key[key].append((value, count))
    questions = []
    for number, spec in enumerate(specs, start=1):
        answers = by_key.get(spec.key, [])
        answered = sum(count for _value, count in answers)
        result = QuestionResult(number=number, type=spec.type, text=spec.text, answered=answered)
        if spec.type == QuestionType.RATING:
            per_value = {n: 0 for n in range(1, 6)}
            for value, count in answers:
                per_value[int(value)] += count
            result.bars = [Bar(rating_label(n, spec.options), per_value[n], percent_of(per_value[n], answered))
                           for n in range(1, 6)]
            if answered:
                total = sum(n * per_value[n] for n in per_value)
                result.average = (Decimal(total) / answered).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        elif spec.type == QuestionType.YES_NO:
            yes = sum(count for value, count in answers if value is True)
            no = answered - yes
            result.bars = [Bar(_("Oui"), yes, percent_of(yes, answered)), Bar(_("Non"), no, percent_of(no, answered))]
        elif spec.type in CHOICE_TYPES:
            per_option = {option: 0 for option in spec.options}
            for value, count in answers:
                for option in (value if isinstance(value, (list, tuple)) else [value]):
                    per_option[option] = per_option.get(option, 0) + count
            result.bars = [Bar(option, count, percent_of(count, answered)) for option, count in per_option.items()]
        else:
            result.texts = [str(value) for value, count in answers for _ in range(count)]
            if text_totals is not None:
                result.answered = max(text_totals.get(spec.key, 0), len(result.texts))
                result.more_texts = result.answered - len(result.texts)
        questions.append(result)
    return Results(invited=invited, responded=responded, anonymous=anonymous, questions=questions)


# --- reading answers ------------------------------------------------------------------------------

def _spec_keys(questions: list[Question]) -> dict[int, tuple]:
    """Question id -> its key in results over several versions, from its wording: its type and its text (spaces
    and case aside). A wording asked once in each questionnaire concerned is one question in all of them, wherever
    it stands. A wording asked twice in one of them (a "Commentaire" after each part) is two questions, told apart
    by the question each follows: the nearest one before it worded otherwise (none at the start), and how many of
    the same wording stand in between. So the next version's only "Commentaire", after "L'animation", gathers
    with the one that followed "L'animation" before, also once the first part and its "Commentaire" are removed
    (counting occurrences would gather it with the first one). One whose question before was reworded stands
    apart: never with another one's answers. `questions`: those of each questionnaire concerned, all of them or
    all of one type (the keys of one call agree with each other)."""
    by_questionnaire = defaultdict(list)
    for question in sorted(questions, key=lambda q: (q.questionnaire_id, q.position, q.id)):
        by_questionnaire[question.questionnaire_id].append(question)
    wording = {q.id: (q.type, " ".join(q.text.split()).casefold()) for q in questions}
    repeated = {words for asked in by_questionnaire.values()
                for words, count in Counter(wording[q.id] for q in asked).items() if count > 1}
    keys = {}
    for asked in by_questionnaire.values():
        seen = Counter()
        for index, question in enumerate(asked):
            words = wording[question.id]
            if words not in repeated:
                keys[question.id] = words
                continue
            start = index  # the first of the questions worded alike just before it, itself included
            while start and wording[asked[start - 1].id] == words:
                start -= 1
            place = (*words, wording[asked[start - 1].id] if start else None, index - start)
            keys[question.id] = (*place, seen[place])  # two alike after alike questions: still two
            seen[place] += 1
    return keys


def _by_question_id(questions: list[Question]) -> dict[int, int]:
    """Question id -> itself: the key of results within one version, where each question is its own."""
    return {question.id: question.id for question in questions}


def _specs(questions: list[Question], key=_spec_keys) -> tuple[list[QuestionSpec], dict[int, Question], dict]:
    """One spec per distinct question (first seen first); options merged across versions. Also the questions
    by id, and the spec key of each question id (`key`: _spec_keys or _by_question_id)."""
    keys = key(questions)
    specs: dict[object, QuestionSpec] = {}
    for question in questions:
        k = keys[question.id]
        options = tuple(question.options or ())
        if k in specs:
            merged = specs[k].options + tuple(o for o in options if o not in specs[k].options)
            options = specs[k].options if question.type == QuestionType.RATING else merged
            specs[k] = QuestionSpec(k, question.type, specs[k].text, options)
        else:
            specs[k] = QuestionSpec(k, question.type, question.text, options)
    return list(specs.values()), {q.id: q for q in questions}, keys


def answer_value(question: Question, answer) -> object:
    """The plain value of a stored answer (option indexes become their labels)."""
    options = list(question.options or [])
    if question.type == QuestionType.RATING:
        return answer.rating
    if question.type == QuestionType.YES_NO:
        return answer.yes
    if question.type == QuestionType.SINGLE_CHOICE:
        return options[answer.choice] if answer.choice is not None and answer.choice < len(options) else None
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return [options[i] for i in (answer.choices or []) if i < len(options)]
    return answer.text


def _counted_responses(survey_ids: list[int]):
    """SQL condition on SurveyResponse: of these surveys, and not the named response of a trainee who is no
    longer invited (who answered, then cancelled), so that answers agree with the number of respondents.
    Anonymous responses name nobody: they are all counted."""
    participation, survey = aliased(SurveyParticipation), aliased(Survey)
    uninvited = db.select(participation.id).join(survey, survey.id == participation.survey_id).where(
        participation.response_id == SurveyResponse.id, ~is_invited(participation, survey))
    return SurveyResponse.survey_id.in_(survey_ids) & ~uninvited.exists()


def _answer_rows(survey_ids: list[int]):
    """Every answer of these surveys, grouped by response in the order of their random ids."""
    if not survey_ids:
        return []
    return db.session.execute(
        db.select(SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.rating, SurveyAnswer.yes,
                  SurveyAnswer.choice, SurveyAnswer.choices, SurveyAnswer.text)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(_counted_responses(survey_ids))
        .order_by(SurveyAnswer.response_id, SurveyAnswer.question_id)).all()


TEXTS_SHOWN = 100  # written answers listed per question on a results page; the export has them all


class _Answer:
    """The columns answer_value() reads, from a counted row."""
    __slots__ = ("choice", "choices", "rating", "text", "yes")

    def __init__(self, rating=None, yes=None, choice=None, choices=None, text=None):
        self.rating, self.yes, self.choice, self.choices, self.text = rating, yes, choice, choices, text


def _counted_values(survey_ids: list[int], by_id: dict[int, Question], keys: dict) -> tuple[list, dict]:
    """The answers of these surveys counted by the database: (spec key, value, count) triples, and
    the number of written answers per spec key. Two queries, whatever the number of answers:
    choices and ratings come grouped; free texts come in the order of the random response ids,
    at most TEXTS_SHOWN per question."""
    text_ids = [qid for qid, q in by_id.items() if q.type == QuestionType.FREE_TEXT]
    other_ids = [qid for qid in by_id if qid not in set(text_ids)]
    counts, text_totals = [], defaultdict(int)
    if not survey_ids:
        return counts, text_totals
    in_surveys = _counted_responses(survey_ids)
    choices_text = cast(SurveyAnswer.choices, Text)
    grouped = db.session.execute(
        db.select(SurveyAnswer.question_id, SurveyAnswer.rating, SurveyAnswer.yes, SurveyAnswer.choice,
                  choices_text, func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(in_surveys, SurveyAnswer.question_id.in_(other_ids or [0]))
        .group_by(SurveyAnswer.question_id, SurveyAnswer.rating, SurveyAnswer.yes, SurveyAnswer.choice,
                  choices_text)
        .order_by(SurveyAnswer.question_id)).all()
    for question_id, rating, yes, choice, choices, count in grouped:
        question = by_id[question_id]
        answer = _Answer(rating, yes, choice, json.loads(choices) if choices else None)
        value = answer_value(question, answer)
        counts.append((keys[question_id], tuple(value) if isinstance(value, list) else value, count))
    written = (SurveyAnswer.text.is_not(None)) & (SurveyAnswer.text != "")
    ranked = (
        db.select(SurveyAnswer.question_id, SurveyAnswer.text, SurveyAnswer.response_id,
                  func.row_number().over(partition_by=SurveyAnswer.question_id,
                                         order_by=SurveyAnswer.response_id).label("rank"),
                  func.count().over(partition_by=SurveyAnswer.question_id).label("total"))
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(in_surveys, SurveyAnswer.question_id.in_(text_ids or [0]), written)
        .subquery())
    seen = set()
    for question_id, text_, rank, total in db.session.execute(
            db.select(ranked.c.question_id, ranked.c.text, ranked.c.rank, ranked.c.total)
            .where(ranked.c.rank <= TEXTS_SHOWN).order_by(ranked.c.response_id, ranked.c.question_id)):
        spec_key = keys[question_id]
        counts.append((spec_key, text_, 1))
        if question_id not in seen:
            seen.add(question_id)
            text_totals[spec_key] += total
    return counts, text_totals


# Counted answers kept in this process, by what they were counted from (see _counted_results).
_kept_counts: OrderedDict = OrderedDict()
KEPT_COUNTS = 64


def _responses_fingerprint(survey_ids: list[int]) -> tuple:
    """How many responses of these surveys are counted, the lowest and highest of their random ids and a
    checksum of them all (a named response leaves the count when its trainee cancels)."""
    if not survey_ids:
        return (0, None, None, None)
    return tuple(db.session.execute(
        db.select(func.count(SurveyResponse.id), func.min(SurveyResponse.id), func.max(SurveyResponse.id),
                  func.sum(SurveyResponse.id % 1000003))
        .where(_counted_responses(survey_ids))).one())


def _counted_results(surveys: list[Survey], questions: list[Question], anonymous: bool, key=_spec_keys, *,
                     responded: int | None = None) -> Results:
    """Results for a page: counted by the database, a bounded number of written answers.

    A response never changes once given and its id is random, so the number of counted responses with
    their lowest and highest ids and a checksum of the ids tells whether the set changed: the counts are
    kept between requests and counted again only then (a programme's results over years are read often and change rarely).
    `responded`, when the caller has counted it already, saves a query.
    """
    specs, by_id, keys = _specs(questions, key)
    ids = [s.id for s in surveys]
    counted_responses = _responses_fingerprint(ids)
    fingerprint = (tuple(ids), tuple((q.id, q.type, q.text, tuple(q.options or ()), q.position) for q in questions),
                   key, TEXTS_SHOWN, counted_responses)
    counted = _kept_counts.get(fingerprint)
    if counted is None:
        counted = _counted_values(ids, by_id, keys)
        _kept_counts[fingerprint] = counted
        while len(_kept_counts) > KEPT_COUNTS:
            _kept_counts.popitem(last=False)
    else:
        _kept_counts.move_to_end(fingerprint)
    counts, text_totals = counted
    if responded is None:
        responded = _responded(ids)
    results = aggregate_counts(specs, counts, invited=_invited(surveys), responded=responded,
                               anonymous=anonymous, text_totals=text_totals)
    results.responses = counted_responses[0]
    return results


def _invited(surveys: list[Survey]) -> int:
    """Trainees asked to answer these surveys (surveys.invited_trainees of their sessions)."""
    return invited_trainees({s.session_id for s in surveys})


def _responded(survey_ids: list[int]) -> int:
    """Invited trainees who answered at least one of these surveys, each (trainee, session) once (as _invited
    counts them; responded_per_survey gives the count of each survey, which the anonymity threshold reads)."""
    if not survey_ids:
        return 0
    pairs = (db.select(Survey.session_id, SurveyParticipation.trainee_id)
             .join(Survey, Survey.id == SurveyParticipation.survey_id)
             .where(SurveyParticipation.survey_id.in_(survey_ids), is_invited()).distinct())
    return db.session.scalar(db.select(func.count()).select_from(pairs.subquery()))


def _results(surveys: list[Survey], questions: list[Question], anonymous: bool,
             key=_spec_keys) -> tuple[Results, list[QuestionSpec], list, dict]:
    specs, by_id, keys = _specs(questions, key)
    ids = [s.id for s in surveys]
    rows = _answer_rows(ids)
    values = []
    for row in rows:
        question = by_id.get(row.question_id)
        if question is not None:
            values.append((keys[question.id], answer_value(question, row)))
    results = aggregate(specs, values, invited=_invited(surveys), responded=_responded(ids), anonymous=anonymous)
    results.responses = _responses_fingerprint(ids)[0]
    return results, specs, rows, keys


def _survey_questions(survey: Survey, office: bool = True) -> list[Question]:
    """The survey's questions, in order; without the accessibility question unless for the `office` (its answers are
    health data: trainers are not shown them, see surveys.is_accessibility_question)."""
    questions = db.session.scalars(db.select(Question).where(
        Question.questionnaire_id == survey.questionnaire_id).order_by(Question.position))
    return [question for question in questions if office or not is_accessibility_question(question)]


def survey_results(survey: Survey, now: datetime | None = None, *, office: bool = True) -> Results:
    """Results of one survey (a questionnaire in a session): four to six queries. Trainers (not `office`) are not
    shown the accessibility question (_survey_questions).

    An anonymous survey that is not closed, or closed with too few responses, gives its response
    rate only (see withheld_reason): its answers are not even read. A closed one first releases its
    pending answers (release_pending: the caller commits).
    """
    release_pending(survey)
    responded = _responded([survey.id])
    withheld = withheld_reason(survey, responded, now)
    if withheld is not None:
        return Results(invited=_invited([survey]), responded=responded, anonymous=True, questions=[],
                       withheld=withheld, closes_at=survey.closes_at if withheld == WITHHELD_OPEN else None)
    return _counted_results([survey], _survey_questions(survey, office), survey.questionnaire.anonymous,
                            key=_by_question_id, responded=responded)


@dataclass
class ProgrammeQuery:
    programme: Programme
    lineage_id: int
    start: date
    end: date


def lineages(programme: Programme | None = None) -> list[Questionnaire]:
    """The latest version of each questionnaire (optionally: those used for this programme)."""
    query = db.select(Questionnaire)
    if programme is not None:
        used = db.select(Questionnaire.lineage_id).join(Survey, Survey.questionnaire_id == Questionnaire.id) \
            .join(TrainingSession, TrainingSession.id == Survey.session_id) \
            .where(TrainingSession.programme_id == programme.id)
        query = query.where(Questionnaire.lineage_id.in_(used))
    latest = {}
    for questionnaire in db.session.scalars(query.order_by(Questionnaire.version)):
        latest[questionnaire.lineage_id] = questionnaire
    return sorted(latest.values(), key=lambda q: (q.kind != "satisfaction", q.kind, q.title))  # satisfaction first


def first_session_date(programme: Programme) -> date | None:
    first = db.session.scalar(db.select(func.min(TrainingSession.start_at))
                              .where(TrainingSession.programme_id == programme.id))
    return first.date() if first else None


def programme_surveys(query: ProgrammeQuery) -> list[Survey]:
    """Surveys of every version of the questionnaire in the programme's sessions that start in the period."""
    return list(db.session.scalars(
        db.select(Survey).join(Survey.session).join(Survey.questionnaire)
        .options(contains_eager(Survey.session), contains_eager(Survey.questionnaire))
        .where(TrainingSession.programme_id == query.programme.id,
               Questionnaire.lineage_id == query.lineage_id,
               TrainingSession.start_at >= datetime.combine(query.start, time.min),
               TrainingSession.start_at <= datetime.combine(query.end, time.max))
        .order_by(TrainingSession.start_at)))


@dataclass
class ProgrammeSurveys:
    """The surveys of a programme's period: those counted, and those left out (anonymous ones that are
    not closed, or closed with fewer than MIN_ANONYMOUS_RESPONSES responses of their own)."""
    counted: list[Survey]
    left_out: list[tuple[Survey, str]]  # (survey, WITHHELD_* reason)
    responded: int  # trainees who answered the counted surveys, each (trainee, session) once


def _split_programme_surveys(surveys: list[Survey], now: datetime | None = None, *,
                             public: bool = False) -> ProgrammeSurveys:
    """Apply withheld_reason session by session (on each survey's own count of respondents: two queries): a total
    over several sessions must not let one subtract two periods down to a small group, nor watch an open survey
    through the total."""
    per_survey = responded_per_survey([s.id for s in surveys])
    now = now or local_now()
    counted, left_out = [], []
    for survey in surveys:
        reason = withheld_reason(survey, per_survey.get(survey.id, 0), now, public=public)
        if reason is None:
            counted.append(survey)
        else:
            left_out.append((survey, reason))
    return ProgrammeSurveys(counted, left_out, _responded([s.id for s in counted]))


def _programme_material(query: ProgrammeQuery) -> tuple[ProgrammeSurveys, list[Questionnaire], list[Question]]:
    """The surveys of the period (counted and left out), every version of the questionnaire (latest first),
    the questions of the counted ones. The closed anonymous surveys first release their pending answers
    (release_closed: the caller commits)."""
    surveys = programme_surveys(query)
    release_closed(surveys)
    split = _split_programme_surveys(surveys)
    surveys = split.counted
    versions = list(db.session.scalars(db.select(Questionnaire).where(
        Questionnaire.lineage_id == query.lineage_id).order_by(Questionnaire.version.desc())))
    used = {s.questionnaire_id for s in surveys}
    questions = list(db.session.scalars(
        db.select(Question).join(Question.questionnaire)
        .where(Question.questionnaire_id.in_(used or {0}))
        .order_by(Questionnaire.version.desc(), Question.position)))
    return split, versions, questions


def programme_results(query: ProgrammeQuery) -> tuple[Results, ProgrammeSurveys]:
    """Results over the programme's sessions of the period, every version of the questionnaire together
    (anonymous surveys only once closed and with enough responses of their own)."""
    split, versions, questions = _programme_material(query)
    return _counted_results(split.counted, questions, any(v.anonymous for v in versions),
                            responded=split.responded), split


@dataclass
class RatingsSummary:
    """Rating answers of several surveys together: how many, and how many at or above a threshold;
    with the response rate of every survey (those whose answers are withheld too). People are counted as
    (trainee, session) pairs: one who answered two questionnaires of a session is one respondent."""
    invited: int
    responded: int
    ratings: int
    ratings_at_least: int
    threshold: int
    left_out: int  # anonymous surveys whose answers are not counted (open, or too few responses)
    counted_responded: int = 0  # trainees who answered the surveys whose answers are counted

    @property
    def rate(self) -> int | None:
        """Response rate in percent (None when nobody was asked), as Results.rate."""
        return Results(self.invited, self.responded, False, []).rate

    @property
    def share(self) -> int | None:
        """Percent of the ratings at or above the threshold (None without any rating)."""
        return percent_of(self.ratings_at_least, self.ratings) if self.ratings else None


def ratings_summary(surveys: list[Survey], threshold: int = 4, *, public: bool = False) -> RatingsSummary:
    """The rating answers of `surveys` counted as a programme's results count them (anonymous surveys only
    once closed and with enough responses of their own, every survey so when the figures are `public`; the
    caller commits the release of pending answers), and the response rate over all of them. A constant
    number of queries."""
    release_closed(surveys)
    split = _split_programme_surveys(surveys, public=public)
    used = {s.questionnaire_id for s in split.counted}
    questions = list(db.session.scalars(
        db.select(Question).where(Question.questionnaire_id.in_(used or {0}), Question.type == QuestionType.RATING)))
    results = _counted_results(split.counted, questions, any(s.questionnaire.anonymous for s in split.counted),
                               responded=split.responded)
    per_value = defaultdict(int)
    for question in results.questions:
        for value, bar in enumerate(question.bars, start=1):
            per_value[value] += bar.count
    return RatingsSummary(invited=_invited(surveys), responded=_responded([s.id for s in surveys]),
                          ratings=sum(per_value.values()),
                          ratings_at_least=sum(n for value, n in per_value.items() if value >= threshold),
                          threshold=threshold, left_out=len(split.left_out), counted_responded=split.responded)


# --- export ---------------------------------------------------------------------------------------

def _respondent_names(survey_ids: list[int]) -> dict[int, str]:
    """Response id -> trainee name, for questionnaires that are not anonymous."""
    rows = db.session.execute(
        db.select(SurveyParticipation.response_id, Trainee.first_name, Trainee.last_name)
        .join(Trainee, Trainee.id == SurveyParticipation.trainee_id)
        .where(SurveyParticipation.survey_id.in_(survey_ids), SurveyParticipation.response_id.is_not(None))).all()
    return {r.response_id: f"{r.first_name} {r.last_name}" for r in rows}


def _display(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, list):
        return " ; ".join(value)
    return value


def named_responses(survey: Survey, *, office: bool = True) -> list[dict]:
    """Who answered what, for a questionnaire that is not anonymous (by trainee name): the trainees still
    invited, those counted in the response rate. Trainers (not `office`) are not shown the accessibility question."""
    if survey.questionnaire.anonymous:
        raise ServiceError(_("Ce questionnaire est anonyme : les réponses ne sont reliées à personne."))
    questions = _survey_questions(survey, office)
    people = db.session.execute(
        db.select(SurveyParticipation.response_id, SurveyParticipation.answered_at, Trainee.first_name,
                  Trainee.last_name)
        .join(Trainee, Trainee.id == SurveyParticipation.trainee_id)
        .join(Survey, Survey.id == SurveyParticipation.survey_id)
        .where(SurveyParticipation.survey_id == survey.id, is_invited())
        .order_by(Trainee.last_name, Trainee.first_name)).all()
    answers = defaultdict(dict)
    by_id = {q.id: q for q in questions}
    for row in _answer_rows([survey.id]):
        if row.question_id in by_id:
            answers[row.response_id][row.question_id] = _display(answer_value(by_id[row.question_id], row))
    return [{"name": f"{p.first_name} {p.last_name}", "answered_at": p.answered_at,
             "answers": [(q, answers[p.response_id].get(q.id, "")) for q in questions]} for p in people]


def export_workbook(title: str, scope: str, surveys: list[Survey], questions: list[Question], anonymous: bool,
                    key=_spec_keys) -> bytes:
    """A workbook: the summary per question, then one row per response (no names if anonymous).

    Every value that comes from a user goes through write_text: it is never a formula.
    """
    results, specs, rows, keys = _results(surveys, questions, anonymous, key)
    if results.hidden:
        raise ServiceError(_("Trop peu de réponses pour un export anonyme (%(n)d au moins).",
                             n=MIN_ANONYMOUS_RESPONSES))
    book = Workbook()
    summary = book.active
    summary.title = _("Synthèse")
    bold = Font(bold=True)
    line = 1

    def put(sheet, row, column, value, font=None):
        cell = sheet.cell(row=row, column=column)
        write_text(cell, value)
        if font:
            cell.font = font
        return cell

    put(summary, line, 1, title, Font(bold=True, size=14))
    line += 1
    put(summary, line, 1, scope)
    line += 1
    put(summary, line, 1, _("Réponses"))
    put(summary, line, 2, results.responded)
    put(summary, line, 3, ngettext("sur %(num)d stagiaire", "sur %(num)d stagiaires", results.invited))
    put(summary, line, 4, percent(results.rate))
    put(summary, line, 5, _("Anonyme") if anonymous else _("Nominatif"))
    line += 1
    if results.answers_of_others:
        put(summary, line, 1, results.answers_of_others_sentence())
        line += 1
    line += 1
    for question in results.questions:
        put(summary, line, 1, f"{question.number}. {question.text}", bold)
        put(summary, line, 2, label(question.type))
        put(summary, line, 3, ngettext("%(num)d réponse", "%(num)d réponses", question.answered))
        if question.average is not None:
            put(summary, line, 4, _("Moyenne"))
            put(summary, line, 5, float(question.average))
        line += 1
        for bar in question.bars:
            put(summary, line, 1, bar.label)
            put(summary, line, 2, bar.count)
            put(summary, line, 3, percent(bar.percent))
            line += 1
        for text in question.texts:
            put(summary, line, 1, text).alignment = Alignment(wrap_text=True)
            line += 1
        line += 1
    summary.column_dimensions["A"].width = 80

    sheet = book.create_sheet(_("Réponses"))
    names = {} if anonymous else _respondent_names([s.id for s in surveys])
    column_of = {spec.key: index for index, spec in enumerate(specs, start=2 if not anonymous else 1)}
    if not anonymous:
        put(sheet, 1, 1, _("Stagiaire"), bold)
    for spec in specs:
        put(sheet, 1, column_of[spec.key], spec.text, bold).alignment = Alignment(wrap_text=True)
    by_id = {question.id: question for question in questions}
    line, current = 1, None
    for row in rows:
        question = by_id.get(row.question_id)
        if question is None:
            continue
        if row.response_id != current:
            current, line = row.response_id, line + 1
            if not anonymous:
                put(sheet, line, 1, names.get(row.response_id, ""))
        put(sheet, line, column_of[keys[question.id]], _display(answer_value(question, row)))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def left_out_sentence(count: int) -> str:
    """Why some sessions are not in a programme's results (one French sentence)."""
    return ngettext(
        "%(num)d session n'est pas comptée : son questionnaire anonyme n'est pas encore clos ou a reçu moins de "
        "%(min)d réponses, et l'on pourrait sinon deviner par différence les réponses d'un petit groupe.",
        "%(num)d sessions ne sont pas comptées : leur questionnaire anonyme n'est pas encore clos ou a reçu moins "
        "de %(min)d réponses, et l'on pourrait sinon deviner par différence les réponses d'un petit groupe.",
        count, min=MIN_ANONYMOUS_RESPONSES)


def survey_export(survey: Survey, *, office: bool = True) -> bytes:
    """The survey's workbook; trainers (not `office`) get it without the accessibility question."""
    release_pending(survey)
    reason = withheld_reason(survey, _responded([survey.id]))
    if reason is not None:
        raise ServiceError(withheld_message(reason, survey))
    session = survey.session
    scope = _("Session du %(start)s au %(end)s", start=date_fr(session.start_at, "short"),
              end=date_fr(session.end_at, "short"))
    return export_workbook(f"{survey.questionnaire.title} — {session.title}", scope, [survey],
                           _survey_questions(survey, office), survey.questionnaire.anonymous, key=_by_question_id)


def programme_export(query: ProgrammeQuery) -> bytes:
    split, versions, questions = _programme_material(query)
    surveys = split.counted
    scope = ngettext("%(programme)s — sessions commençant du %(start)s au %(end)s (%(num)d session)",
                     "%(programme)s — sessions commençant du %(start)s au %(end)s (%(num)d sessions)", len(surveys),
                     programme=query.programme.title, start=date_fr(query.start, "short"),
                     end=date_fr(query.end, "short"))
    if split.left_out:
        scope += " — " + left_out_sentence(len(split.left_out))
    title = versions[0].title if versions else _("Questionnaire")
    return export_workbook(title, scope, surveys, questions, any(v.anonymous for v in versions))
