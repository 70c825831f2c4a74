"""The annual report (bilan pédagogique et financier, Cerfa 10443) and the quality indicators (Qualiopi)
of one calendar year, computed from what the application already holds: attendance sheets, enrolments,
funding claims and satisfaction questionnaires. Nothing is stored.

Rules (each is said on the page):
- hours are counted per half-day date: a session over New Year splits between the two years;
  only hours actually attended count (services/attendance.attended_between, the rule of the sheets);
  a trainee is counted once per session followed (an enrolment) in which they attended at least one minute in
  the year, in their category of today (as the BPF counts a trainee once per training action), so that every
  table's lines add up to its total and all tables have the same total;
- a session belongs to the year of its last day for revenue and indicators (it is invoiced and
  assessed when over; a session is over once its last day has passed, or the office marked it completed);
  a session counts as held (completed, or in a programme's sessions) once somebody attended it;
  completion counts the enrolments of the sessions held: a trainee withdrawn dropped out, one confirmed who
  attended at least one minute went to the end, one confirmed who attended nothing (absent from every half-day)
  never came: neither, counted apart (_completion);
  cancelled sessions count for nothing but their number; trainers' hours count only the half-days that took
  place (a closed sheet, or attendance recorded);
- revenue, per enrolment billed (confirmed or withdrawn: hours attended are billed) of the sessions ending in
  the year but those over that nobody attended (not held: they are neither revenue nor a line by programme, the
  page says how many), each counted once:
  in a funding claim sent, partly paid or paid, in subrogation: the claim's line goes to the OPCO and what
  the price leaves (absences, a rate below the price) to the employer, annex costs (travel, meals) included
  in the line, since the funder pays them to us; in reimbursement: the employer pays the price (the line's
  pedagogical costs when there is no price) and reclaims its own annex costs from the funder, so they are not
  our revenue, whatever the funder answers (the claim asked it nothing for that line); in a claim whose balance
  the funder refused after paying part of it: the line's share of the money received to the OPCO (added up over
  every such claim of the enrolment; a claim rejected after a payment, before revision 0030, counts as one), the
  rest of the price and of the annex costs billed to the employer (refused line); in a rejected claim only: its
  price and annex costs billed, on that line: annex costs billed in subrogation are revenue whoever pays them;
  a claim sent, partly paid or paid counts before the others; otherwise its price, by its granted funding
  agreement (reimbursement: the employer; subrogation: the OPCO, not yet claimed), else by the funding mode given
  when enrolling. The price is the one fixed at
  enrolment (0 in an internal programme, the cycle's special price), whatever the catalogue says today
  (a claim's pedagogical amount never exceeds that price: claim_calculation caps it); an enrolment without a
  price (on request) counts 0 for it, and the page lists those enrolments by session;
- the table by programme has a line per programme and title the sessions were taught under (the title kept on
  the session when the catalogue entry was renamed after it started).

A constant number of SQL statements whatever the number of sessions or trainees.
"""
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import contains_eager

from training_app.clock import local_now
from training_app.documents.excel import write_text
from training_app.documents.funding_claim import EUROS, HOURS
from training_app.extensions import db
from training_app.formatting import cents_to_decimal, date_fr, money
from training_app.models import (Enrolment, EnrolmentStatus, FundingClaim, Programme, Questionnaire,
                                 QuestionnaireKind, SessionStatus, Slot, Survey, Trainee, TraineeCategory,
                                 TrainingSession, session_trainers)
from training_app.models.attendance import AttendanceRecord, AttendanceSheet, SheetStatus
from training_app.models.funding_files import (AgreementStatus, AgreementTrainee, ClaimStatus, FundingAgreement,
                                               FundingMode, claim_sessions)
from training_app.services import ServiceError, attendance, claim_calculation, survey_results
from training_app.services import sessions as session_service
from training_app.services.funding import BILLABLE_STATUSES
from training_app.services.programmes import bpf_objective_label

FIRST_YEAR, LAST_YEAR = 2000, 2100
CATEGORY_LABELS = {  # the F-1 lines of the BPF
    TraineeCategory.EMPLOYEE: _l("Salarié·es d'employeurs privés ou publics"),
    TraineeCategory.JOB_SEEKER: _l("Demandeur·euses d'emploi"),
    TraineeCategory.INDIVIDUAL: _l("Particuliers à leurs propres frais"),
    TraineeCategory.OTHER: _l("Autres stagiaires"),
}
REVENUE_LABELS = {
    "opco": _l("OPCO (demandes de paiement envoyées ou payées, en subrogation : montants facturés, hors "
               "trop-perçu)"),
    "employer": _l("Employeurs, pour la formation de leurs salarié·es"),
    "opco_not_claimed": _l("Prise en charge OPCO annoncée, pas encore demandée (prix de l'inscription)"),
    "opco_refused": _l("Prise en charge OPCO refusée (prix de l'inscription et frais annexes demandés, dus par "
                       "l'employeur)"),
    "personal": _l("Particuliers à leurs propres frais"),
    "other": _l("Autres financeurs (France Travail, CPF…)"),
    "unknown": _l("Mode de financement non précisé"),
}
CLAIMED_STATUSES = (ClaimStatus.SENT, ClaimStatus.PARTIALLY_PAID, ClaimStatus.PAID, ClaimStatus.BALANCE_REFUSED)
MODE_LINES = {"opco": "opco_not_claimed", "employer": "employer", "personal": "personal", "other": "other"}
SATISFIED_FROM = 4  # a rating of 4 or 5 out of 5 is a satisfied answer
PERCENT = "0%"  # the workbook's rates: numbers (0.67) shown as 67 %


@dataclass
class CategoryLine:
    key: str
    label: str
    trainees: int = 0
    minutes: int = 0


@dataclass
class ProgrammeLine:
    title: str
    sessions: int = 0
    trainees: int = 0
    minutes: int = 0


@dataclass
class GroupLine:
    """A line of the F-3 (objective) or F-4 (speciality) table: `key` is the objective's letter or the NSF code's
    three digits ("" for the programmes without one)."""
    key: str
    label: str
    trainees: int = 0
    minutes: int = 0


@dataclass
class RevenueLine:
    key: str
    label: str
    cents: int = 0


@dataclass
class Indicators:
    satisfaction: survey_results.RatingsSummary
    completed_sessions: int
    confirmed: int   # trainees of completed sessions who went to the end (_completion)
    withdrawn: int   # ... who dropped out
    cancelled_sessions: int
    never_came: int = 0  # ... confirmed, who attended nothing: in neither rate

    @property
    def completion_rate(self) -> int | None:
        return _percent(self.confirmed, self.confirmed + self.withdrawn)

    @property
    def dropout_rate(self) -> int | None:
        return _percent(self.withdrawn, self.confirmed + self.withdrawn)


@dataclass
class AnnualReport:
    year: int
    categories: list[CategoryLine]
    category_total: CategoryLine
    programmes: list[ProgrammeLine]
    programme_total: ProgrammeLine
    objectives: list[GroupLine]     # F-3, the six letters in order, those with no trainee left out
    specialities: list[GroupLine]   # F-4, by NSF code's three digits; "" (Spécialité non renseignée) last
    trainers: int
    trainer_minutes: int
    revenue: list[RevenueLine]
    revenue_cents: int
    indicators: Indicators
    sessions: int  # sessions not cancelled with a half-day in the year
    unattended_sessions: list["SessionNote"]  # over, ending in the year, nobody attended: left out (count 1)
    unpriced: list["SessionNote"]  # billed enrolments without a price (on request), by session: revenue incomplete


@dataclass
class SessionNote:
    """A session the page points out, with the number of its enrolments (or 1) concerned."""
    session_id: int
    title: str  # as taught
    start: date
    count: int


@dataclass
class SessionResults:
    """What a group of sessions that are over achieved, by this report's rules (the results a programme's
    public page shows: Qualiopi indicator 2)."""
    sessions: int
    trainees: int  # distinct people with at least one minute attended (once, however many sessions they followed)
    indicators: Indicators


def _percent(part: int, whole: int) -> int | None:
    """As the questionnaires' results round a percent; None when there is nothing to count."""
    return survey_results.percent_of(part, whole) if whole else None


def check_year(value) -> int:
    """A year typed in a form, a URL or on the command line; raises ServiceError with a French message."""
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"[0-9]{4}", text) or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise ServiceError(_("Indiquez une année entre %(first)d et %(last)d, par exemple %(example)d.",
                             first=FIRST_YEAR, last=LAST_YEAR, example=default_year()), "year")
    return int(text)


def default_year() -> int:
    """The report is due each spring for the previous calendar year: that one, or the latest year before it
    in which a session took place (an organisation that paused; the demo, whose reference course ran in
    2018 and whose 2019 session was cancelled)."""
    last_year = local_now().year - 1
    return next((year for year in _years(held_only=True) if year <= last_year), last_year)


def years_with_sessions() -> list[int]:
    """Years in which a half-day of a session falls, latest first (one query)."""
    return _years(held_only=False)


def _years(held_only: bool) -> list[int]:
    query = select(func.extract("year", Slot.date)).distinct()
    if held_only:
        query = query.join(TrainingSession, TrainingSession.id == Slot.session_id).where(
            TrainingSession.status != SessionStatus.CANCELLED)
    return sorted({int(y) for y in db.session.scalars(query) if y is not None}, reverse=True)


def build(year: int) -> AnnualReport:
    """The figures of `year` (see the module's rules)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    in_year = exists().where(Slot.session_id == TrainingSession.id, Slot.date >= first, Slot.date <= last)
    sessions = db.session.execute(
        select(TrainingSession.id.label("session_id"), TrainingSession.status, TrainingSession.end_at,
               TrainingSession.start_at, func.coalesce(TrainingSession.taught_title, Programme.title).label("title"),
               Programme.id.label("programme_id"), Programme.bpf_objective,
               Programme.nsf_code, Programme.nsf_label)
        .join(Programme, Programme.id == TrainingSession.programme_id).where(in_year)).all()
    held = [s for s in sessions if s.status != SessionStatus.CANCELLED]
    ending = {s.session_id for s in held if first <= s.end_at.date() <= last}  # revenue and indicators
    over = {s.session_id for s in held if s.session_id in ending and session_service.is_over(s)}
    attended = _attended_enrolments(over)
    # over, and nobody attended: not held (as in the indicators), so neither revenue nor a line by programme
    unattended = over - {session_id for _trainee, session_id, _enrolment, minutes in attended if minutes}

    categories, category_total, programmes, programme_total, objectives, specialities = _trainees_and_hours(
        first, last, [s for s in held if s.session_id not in unattended])
    trainers, trainer_minutes = _trainers(first, last)
    revenue, unpriced = _revenue(ending - unattended)
    return AnnualReport(
        year=year, categories=categories, category_total=category_total, programmes=programmes,
        programme_total=programme_total, objectives=objectives, specialities=specialities, trainers=trainers,
        trainer_minutes=trainer_minutes, revenue=revenue,
        revenue_cents=sum(line.cents for line in revenue),
        indicators=_indicators(ending, over, len(sessions) - len(held), attended=attended),
        sessions=len(held),
        unattended_sessions=_session_notes(held, Counter(unattended)),
        unpriced=_session_notes(held, unpriced))


def _session_notes(sessions, counts: Counter) -> list[SessionNote]:
    """The sessions (rows of build) counted in `counts` ({session id: number}), by date."""
    return [SessionNote(s.session_id, s.title, s.start_at.date(), counts[s.session_id])
            for s in sorted(sessions, key=lambda s: (s.start_at, s.session_id)) if counts[s.session_id]]


def results_of_sessions(session_ids: set[int], *, public: bool = False) -> SessionResults:
    """The results of the sessions `session_ids`, chosen by the caller among those that are over and not
    cancelled, counted as the report counts a year's: the people who attended at least one minute (each once,
    however many of the sessions they followed: the report's tables count a person once per session, as the BPF
    does), completion (_completion; when the figures are `public`, only over the sessions with enough trainees
    counted) and satisfaction (ratings of SATISFIED_FROM or more in their satisfaction questionnaires; anonymous
    ones, or every one when the figures are `public`, only once closed with enough responses). Closed anonymous
    questionnaires release their pending answers: the caller commits. A constant number of SQL statements."""
    ids = set(session_ids)
    attended = _attended_enrolments(ids)
    people = {trainee_id for trainee_id, _session_id, _enrolment_id, minutes in attended if minutes}
    indicators = _indicators(ids, ids, 0, attended=attended, public=public)
    return SessionResults(sessions=indicators.completed_sessions, trainees=len(people), indicators=indicators)


def _attended_enrolments(session_ids: set[int]):
    """Rows (trainee_id, session_id, enrolment_id, minutes attended) of the sessions `session_ids` (one query)."""
    return attendance.attended_in_sessions(session_ids, Enrolment.id)


def _trainees_and_hours(first: date, last: date, held):
    """Every table counts one unit per enrolment (a trainee in a session) with at least one minute attended in the
    year, as the BPF counts a trainee once per training action followed: a person in two sessions counts twice,
    so that each table's lines add up to its total and every table has the same total."""
    rows = attendance.attended_between(first, last, Trainee.category, TrainingSession.programme_id)
    course_of = {s.session_id: (s.programme_id, s.title) for s in held}  # a line per programme and title taught
    by_category = {key: [0, 0] for key in CATEGORY_LABELS}  # [enrolments, minutes]
    by_programme = {course: [0, 0] for course in course_of.values()}
    objective_of = {s.programme_id: s.bpf_objective for s in held}
    speciality_of = {s.programme_id: _speciality(s.nsf_code) for s in held}
    by_objective = defaultdict(lambda: [0, 0])
    by_speciality = defaultdict(lambda: [0, 0])
    attended_sessions = defaultdict(set)  # a line's sessions in the year that somebody attended
    for _trainee_id, session_id, category, programme_id, minutes in rows:
        if not minutes:
            continue
        course = course_of[session_id]
        attended_sessions[course].add(session_id)
        for bucket in (by_category.setdefault(category, [0, 0]), by_programme[course],
                       by_objective[objective_of[programme_id]], by_speciality[speciality_of[programme_id]]):
            bucket[0] += 1
            bucket[1] += minutes
    total = [sum(bucket[i] for bucket in by_category.values()) for i in (0, 1)]
    categories = [CategoryLine(key, str(CATEGORY_LABELS.get(key, key)), count, minutes)
                  for key, (count, minutes) in by_category.items()]
    programmes = sorted((ProgrammeLine(title, len(attended_sessions[(pid, title)]), count, minutes)
                         for (pid, title), (count, minutes) in by_programme.items()),
                        key=lambda line: (-line.minutes, line.title))
    objectives = [GroupLine(key, bpf_objective_label(key), count, minutes)
                  for key, (count, minutes) in sorted(by_objective.items())]
    labels = _speciality_labels({s.programme_id: (s.nsf_code, s.nsf_label) for s in held})
    specialities = [GroupLine(code, labels.get(code, "") if code else _("Spécialité non renseignée"), count, minutes)
                    for code, (count, minutes) in sorted(by_speciality.items(),
                                                         key=lambda item: (not item[0], item[0]))]
    return (categories, CategoryLine("total", _("Total"), *total), programmes,
            ProgrammeLine(_("Total"), sum(line.sessions for line in programmes), *total), objectives, specialities)


def _speciality(nsf_code: str | None) -> str:
    """The F-4 speciality of an NSF code: its three digits ("332t" and "332" are one speciality), "" for none."""
    return (nsf_code or "")[:3]


def _speciality_labels(programmes: dict[int, tuple[str, str]]) -> dict[str, str]:
    """{speciality: its label}: the label written on the most programmes of that speciality ({id: (code,
    label)}), the alphabetically first on a tie; programmes without a label are not counted."""
    used = defaultdict(lambda: defaultdict(int))
    for code, label in programmes.values():
        if _speciality(code) and label:
            used[_speciality(code)][label] += 1
    return {code: min(counts, key=lambda label: (-counts[label], label)) for code, counts in used.items()}


def _trainers(first: date, last: date) -> tuple[int, int]:
    """People who taught in the year and their hours: each half-day's hours for each trainer of its session,
    counting only the half-days that took place: their sheet was closed, or attendance was recorded on them
    (a session left open that was never held, a half-day still to come teach nothing)."""
    took_place = or_(
        exists().where(AttendanceSheet.slot_id == Slot.id, AttendanceSheet.status == SheetStatus.CLOSED),
        exists().where(AttendanceRecord.slot_id == Slot.id))
    rows = db.session.execute(
        select(session_trainers.c.user_id, Slot.start_time, Slot.end_time)
        .join(Slot, Slot.session_id == session_trainers.c.session_id)
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where(Slot.date >= first, Slot.date <= last, TrainingSession.status != SessionStatus.CANCELLED,
               took_place)).all()
    minutes = sum(Slot.minutes_between(start, end) for _user, start, end in rows)
    return len({row.user_id for row in rows}), minutes


def _revenue(ending: set[int]) -> tuple[list[RevenueLine], Counter]:
    """(the revenue lines, {session id: number of its billed enrolments without a price}) of the sessions
    `ending`. The price is the one fixed at enrolment (Enrolment.price_cents, enrolments.price_for: 0 in an
    internal programme, the cycle's special price from the third programme), so that editing the catalogue (a
    programme turned internal, a new price) never changes a past year's report. An enrolment without a price (on
    request) counts 0 for its price, so the page says which: only a line in reimbursement of a claim, which
    stands for it, leaves nothing missing."""
    lines = {key: RevenueLine(key, str(label)) for key, label in REVENUE_LABELS.items()}
    claimed = _claim_lines(ending)
    agreed = _granted_modes(ending)
    unpriced = Counter()
    enrolments = db.session.execute(
        select(Enrolment.id, Enrolment.session_id, Enrolment.funding_mode, Enrolment.price_cents)
        .where(Enrolment.session_id.in_(ending or {0}), Enrolment.status.in_(BILLABLE_STATUSES))).all()
    for enrolment_id, session_id, mode, price_cents in enrolments:
        found = claimed.pop(enrolment_id, None)
        if found is None:
            lines[_unclaimed_line(mode, agreed.get(enrolment_id, ()))].cents += price_cents or 0
        else:
            _count_claim_line(lines, found, price_cents or 0)
        if price_cents is None and (found is None or found.line.get("mode") != FundingMode.REIMBURSEMENT):
            unpriced[session_id] += 1
    for found in claimed.values():  # money claimed for an enrolment no longer billed (cancelled since)
        if found.status != ClaimStatus.REJECTED:
            _count_claim_line(lines, found, 0, billed=False)
    return list(lines.values()), unpriced


def _granted_modes(ending: set[int]) -> dict[int, set[str]]:
    """{enrolment id: the modes of its granted agreements} in the sessions `ending` (one query)."""
    modes = defaultdict(set)
    for enrolment_id, mode in db.session.execute(
            select(AgreementTrainee.enrolment_id, FundingAgreement.mode)
            .join(FundingAgreement, FundingAgreement.id == AgreementTrainee.agreement_id)
            .where(FundingAgreement.session_id.in_(ending or {0}),
                   FundingAgreement.status == AgreementStatus.GRANTED)):
        modes[enrolment_id].add(mode)
    return modes


def _unclaimed_line(mode: str, agreed) -> str:
    """The line of an enrolment in no claim sent, paid or rejected: by its granted agreement if it has one (the
    employer pays us when the funder reimburses it; an OPCO in subrogation only is announced, not yet claimed),
    else by the funding mode given when enrolling."""
    if FundingMode.REIMBURSEMENT in agreed:
        return "employer"
    if FundingMode.SUBROGATION in agreed:
        return "opco_not_claimed"
    return MODE_LINES.get(mode, "unknown")


@dataclass
class _Claimed:
    """What the claims of the year say of one enrolment: the claim that counts (its status and the enrolment's
    line) and, for a claim the funder closed without paying it all, the money received for the line."""
    status: str
    line: dict
    received_cents: int = 0


CLOSED_WITH_MONEY = (ClaimStatus.BALANCE_REFUSED, ClaimStatus.REJECTED)


def _claim_lines(ending: set[int]) -> dict[int, _Claimed]:
    """{enrolment id: _Claimed} of the claims sent, paid or rejected for the sessions ending in the year. An
    enrolment in several claims counts once: a claim sent, partly paid or paid first (a live claim bills its hours
    again: what an earlier claim received is the office's to settle with the funder); else the claims the funder
    closed after paying part of them, the line's share of each one's money added up (the same session claimed
    again after a rejection, before revision 0030, may have left two); else a rejected claim."""
    claims = db.session.execute(
        select(FundingClaim.status, FundingClaim.snapshot, FundingClaim.paid_cents).where(
            FundingClaim.status.in_((*CLAIMED_STATUSES, ClaimStatus.REJECTED)),
            exists().where(claim_sessions.c.claim_id == FundingClaim.id,
                           claim_sessions.c.session_id.in_(ending or {0}))).order_by(FundingClaim.id))
    found: dict[int, _Claimed] = {}
    for status, snapshot, paid_cents in claims:
        claim_lines = (snapshot or {}).get("lines", [])
        closed_with_money = status in CLOSED_WITH_MONEY and paid_cents > 0
        if closed_with_money:  # each line with its share of the money received
            status = ClaimStatus.BALANCE_REFUSED
            shares = claim_calculation.received_by_line(claim_lines, paid_cents)
        else:
            shares = [0] * len(claim_lines)
        for line, share in zip(claim_lines, shares):
            if line.get("session_id") not in ending:
                continue  # a claim over a period: this line is another year's
            kept = found.get(line["enrolment_id"])
            if kept is None or _RANK[status] < _RANK[kept.status]:
                found[line["enrolment_id"]] = _Claimed(status, line, share)
            elif status == kept.status == ClaimStatus.BALANCE_REFUSED:
                kept.received_cents += share
    return found


# which claim of an enrolment counts: a live one, else those closed after a payment, else a rejected one
_RANK = {**{status: 0 for status in CLAIMED_STATUSES if status != ClaimStatus.BALANCE_REFUSED},
         ClaimStatus.BALANCE_REFUSED: 1, ClaimStatus.REJECTED: 2}


def _count_claim_line(lines: dict[str, RevenueLine], claimed: _Claimed, price: int, billed: bool = True) -> None:
    """Subrogation: the line is worth its price (its pedagogical costs if more, or when there is no price) and the
    annex costs (travel, meals) it bills, whatever the funder answers: the funder pays us the line, the employer
    what the price leaves; the funder refusing the balance after paying part of it paid its share of the money
    received (claim_calculation.received_by_line), the rest, annex costs included, is due by the employer (line
    "OPCO refusée"); rejected with nothing received: all of it on that line. An enrolment no longer `billed`
    (cancelled since) is worth only what the funder paid. Reimbursement: the employer pays us the price (the
    line's pedagogical costs when there is none: claim_calculation.employer_share) and reclaims from the funder
    what it paid, its own annex costs included: those are never our revenue; the funder rejecting the claim
    changes nothing to it (the claim asked nothing of the funder for that line)."""
    line, status = claimed.line, claimed.status
    pedagogical = int(line.get("pedagogical_cents") or 0)
    total = int(line.get("total_cents") or 0)
    if line.get("mode") == FundingMode.REIMBURSEMENT:
        lines["employer"].cents += price or pedagogical
        return
    worth = max(price, pedagogical) + total - pedagogical  # the price and the annex costs billed
    if status == ClaimStatus.REJECTED:
        lines["opco_refused"].cents += worth
    elif status == ClaimStatus.BALANCE_REFUSED:
        lines["opco"].cents += claimed.received_cents
        lines["opco_refused"].cents += max(0, worth - claimed.received_cents) if billed else 0
    else:
        lines["opco"].cents += total
        lines["employer"].cents += max(0, price - pedagogical)


def _indicators(ending: set[int], over: set[int], cancelled: int, *, attended, public: bool = False) -> Indicators:
    """`attended`: _attended_enrolments(over). A session over counts as completed once somebody attended it: one
    scheduled in the past that nobody came to (or typed in by mistake) was not held."""
    held = {session_id for _trainee, session_id, _enrolment, minutes in attended if minutes}
    confirmed, withdrawn, never_came = _completion(held, attended, public=public)
    surveys = list(db.session.scalars(
        select(Survey).join(Survey.questionnaire).options(contains_eager(Survey.questionnaire))
        .where(Survey.session_id.in_(ending or {0}), Questionnaire.kind == QuestionnaireKind.SATISFACTION)
        .order_by(Survey.id)))
    return Indicators(satisfaction=survey_results.ratings_summary(surveys, SATISFIED_FROM, public=public),
                      completed_sessions=len(held), confirmed=confirmed, withdrawn=withdrawn, never_came=never_came,
                      cancelled_sessions=cancelled)


# A completion rate shown to the public counts a session only with this many trainees (who went to the end or
# dropped out), as the public satisfaction counts a questionnaire only with this many respondents: a smaller
# group's rate, or the change it makes to the programme's, would tell whether one known trainee dropped out.
PUBLIC_MIN_GROUP = survey_results.MIN_ANONYMOUS_RESPONSES


def _completion(held: set[int], attended, *, public: bool) -> tuple[int, int, int]:
    """(went to the end, dropped out, never came): the enrolments confirmed or withdrawn of the sessions `held`
    (over, and attended by somebody), `attended` giving each one's minutes (_attended_enrolments). Withdrawn: the
    trainee dropped out (a withdrawal is recorded from the session's first day on, enrolments.withdraw), whatever
    they attended. Confirmed with at least one minute attended: went to the end. Confirmed with nothing attended
    (absent from every half-day, or never marked present): never came, so neither went to the end nor dropped out
    (as a session nobody came to was not held), counted apart and in neither rate. `public`: only the sessions
    where at least PUBLIC_MIN_GROUP people went to the end or dropped out (and so never a rate on fewer)."""
    came = {enrolment_id for _trainee, _session, enrolment_id, minutes in attended if minutes}
    rows = db.session.execute(
        select(Enrolment.id, Enrolment.session_id, Enrolment.trainee_id, Enrolment.status)
        .where(Enrolment.session_id.in_(held or {0}), Enrolment.status.in_(BILLABLE_STATUSES))).all()
    outcomes = defaultdict(list)  # session id: [(trainee id, "end" | "dropout" | "never"), ...]
    for enrolment_id, session_id, trainee_id, status in rows:
        if status == EnrolmentStatus.WITHDRAWN:
            outcome = "dropout"
        else:
            outcome = "end" if enrolment_id in came else "never"
        outcomes[session_id].append((trainee_id, outcome))
    counts = defaultdict(int)
    for session_outcomes in outcomes.values():
        counted = {trainee_id for trainee_id, outcome in session_outcomes if outcome != "never"}
        if public and len(counted) < PUBLIC_MIN_GROUP:
            continue
        for _trainee_id, outcome in session_outcomes:
            counts[outcome] += 1
    return counts["end"], counts["dropout"], counts["never"]


# --- the workbook -------------------------------------------------------------------------------------------

def hours(minutes: int) -> Decimal:
    """Minutes as hours for a cell: 1020 -> 17, 1005 -> 16.75 (two decimals)."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize() + 0


def euros(cents: int) -> Decimal:
    return cents_to_decimal(cents)


def workbook_bytes(report: AnnualReport) -> bytes:
    """The report's tables, one sheet each; every text cell is written as text (never a formula)."""
    workbook = Workbook()
    bold = Font(bold=True)

    def sheet(title, heading, rows, first=False, formats=None):
        """`formats`: {column: number format} (hours, euros), so that the figures read as in the page."""
        ws = workbook.active if first else workbook.create_sheet()
        ws.title = title
        write_text(ws.cell(1, 1), _("Bilan pédagogique et financier %(year)d", year=report.year))
        ws.cell(1, 1).font = bold
        for column, text in enumerate(heading, start=1):
            write_text(ws.cell(3, column), text)
            ws.cell(3, column).font = bold
            ws.column_dimensions[chr(64 + column)].width = 60 if column == 1 else 18
        for r, row in enumerate(rows, start=4):
            for column, value in enumerate(row, start=1):
                write_text(ws.cell(r, column), value)
                if formats and column in formats:
                    ws.cell(r, column).number_format = formats[column]
        return ws

    sheet(_("Stagiaires"), [_("Catégorie de stagiaires"), _("Stagiaires"), _("Heures-stagiaires")],
          [(line.label, line.trainees, hours(line.minutes))
           for line in [*report.categories, report.category_total]], first=True, formats={3: HOURS})
    sheet(_("Formations"), [_("Formation"), _("Sessions"), _("Stagiaires"), _("Heures-stagiaires")],
          [(line.title, line.sessions, line.trainees, hours(line.minutes))
           for line in [*report.programmes, report.programme_total]], formats={4: HOURS})
    sheet(_("Objectifs"), [_("Objectif général des prestations (F-3)"), _("Stagiaires"), _("Heures-stagiaires")],
          [(line.label, line.trainees, hours(line.minutes))
           for line in [*report.objectives, report.category_total]], formats={3: HOURS})
    sheet(_("Spécialités"), [_("Code NSF"), _("Spécialité de formation (F-4)"), _("Stagiaires"),
                             _("Heures-stagiaires")],
          [(line.key, line.label, line.trainees, hours(line.minutes)) for line in report.specialities]
          + [("", _("Total"), report.category_total.trainees, hours(report.category_total.minutes))],
          formats={4: HOURS})
    sheet(_("Formateurs"), [_("Formateur·rices"), _("Personnes"), _("Heures dispensées")],
          [(_("Formateur·rices de l'organisme"), report.trainers, hours(report.trainer_minutes))],
          formats={3: HOURS})
    sheet(_("Produits"), [_("Origine des produits"), _("Montant (€)")],
          [(line.label, euros(line.cents)) for line in report.revenue] + [(_("Total"), euros(report.revenue_cents))]
          + _notice_rows(unpriced_notice(report), report.unpriced, enrolments=True)
          + _notice_rows(unattended_notice(report), report.unattended_sessions), formats={2: EUROS})
    indicators = indicator_rows(report)
    ws = sheet(_("Indicateurs"), [_("Indicateur"), _("Valeur")],
               [(label, "—" if value is None else Decimal(value) / 100 if rate else value)
                for label, value, rate in indicators])
    for r, (_label, value, rate) in enumerate(indicators, start=4):
        if rate and value is not None:  # a number, read as a rate: 0.67 shown 67 %
            ws.cell(r, 2).number_format = PERCENT
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _notice_rows(notice: str, notes: list[SessionNote], enrolments: bool = False) -> list[tuple]:
    """Rows under a table: a blank one, the notice, then its sessions (none when there is no notice)."""
    if not notice:
        return []
    return [(), (notice,), *((session_label(note, enrolments),) for note in notes)]


def indicator_rows(report: AnnualReport) -> list[tuple[str, object, bool]]:
    """(label, value, whether it is a rate) of each quality indicator: a rate is a whole percent (67), or None
    when it cannot be computed (the page and the workbook show "—")."""
    ind = report.indicators
    sat = ind.satisfaction
    return [
        (_("Taux de satisfaction (notes de 4 ou 5 sur 5)"), sat.share, True),
        (_("Notes données aux questionnaires de satisfaction"), sat.ratings, False),
        (_("Taux de réponse aux questionnaires de satisfaction"), sat.rate, True),
        (_("Stagiaires ayant répondu / interrogé·es"), f"{sat.responded} / {sat.invited}", False),
        (_("Sessions terminées"), ind.completed_sessions, False),
        (_("Taux d'achèvement"), ind.completion_rate, True),
        (_("Taux d'abandon"), ind.dropout_rate, True),
        (_("Stagiaires ayant abandonné"), ind.withdrawn, False),
        (_("Stagiaires confirmé·es jamais venu·es (hors taux)"), ind.never_came, False),
        (_("Sessions annulées"), ind.cancelled_sessions, False),
    ]


def unattended_notice(report: AnnualReport) -> str:
    """What the page and the workbook say of the sessions over that nobody attended ("" when none)."""
    count = len(report.unattended_sessions)
    return ngettext(
        "%(num)d session terminée sans personne présente n'est pas comptée (ni produits, ni ligne par formation) : "
        "elle n'a pas eu lieu. Si elle a eu lieu, faites saisir les présences sur ses feuilles d'émargement.",
        "%(num)d sessions terminées sans personne présente ne sont pas comptées (ni produits, ni ligne par "
        "formation) : elles n'ont pas eu lieu. Si elles ont eu lieu, faites saisir les présences sur leurs feuilles "
        "d'émargement.", count) if count else ""


def unpriced_notice(report: AnnualReport) -> str:
    """What the page and the workbook say of the billed enrolments without a price ("" when none)."""
    count = sum(note.count for note in report.unpriced)
    return ngettext(
        "%(num)d inscription facturée n'a pas de prix (« sur demande ») : elle compte pour %(zero)s, les produits "
        "sont incomplets.",
        "%(num)d inscriptions facturées n'ont pas de prix (« sur demande ») : elles comptent pour %(zero)s, les "
        "produits sont incomplets.", count, zero=money(0)) if count else ""


def session_label(note: SessionNote, enrolments: bool = False) -> str:
    """"Négocier, session du 5 mars 2030", with the number of enrolments concerned when `enrolments`."""
    label = _("%(title)s, session du %(date)s", title=note.title, date=date_fr(note.start, "d MMMM y"))
    if enrolments:
        label += " (" + ngettext("%(num)d inscription", "%(num)d inscriptions", note.count) + ")"
    return label


def filename(year: int) -> str:
    return f"bilan-{year}.xlsx"

