"""Learning outcomes (évaluation des acquis): per trainee and objective, set by a trainer; the session review.

The certificates read them through `results_for(enrolment)` and `results_for_session(session)`:
every objective of the session's course (TrainingSession.course: what it was taught under), in
order, with its result code ("not_assessed" when nothing was recorded) and the trainer's comment.
The French labels of the codes are in training_app.formatting.LABELS.

A trainer's explicit "non évalué" is recorded like any other result, so that an objective the trainer chose
not to assess can be told from one nobody filled in yet: `unrecorded_for_session(session)` lists the latter,
which the certificates ask to confirm before printing them as "Non évalué".
"""
import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.orm import contains_eager, joinedload

from training_app.clock import local_now, utcnow
from training_app.extensions import db
from training_app.formatting import datetime_fr, utc_datetime_fr
from training_app.models import (Enrolment, EnrolmentStatus, LearningOutcome, OutcomeResult, ProgrammeObjective,
                                 SessionReview, SessionStatus, Trainee, TrainingSession, User)
from training_app.models.sessions import CourseObjective
from training_app.services import ServiceError, audit
from training_app.services.edit_versions import StaleEdit
from training_app.services.enrolments import lock_session

RESULT_CODES = tuple(OutcomeResult)
NOT_RECORDED = ""  # a cell of the assessment page nobody filled in yet ("à renseigner"): nothing is written
# Who is assessed: the trainees who attend or attended (a trainee who dropped out keeps what they learnt).
ASSESSED_STATUSES = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)
MAX_COMMENT = 2000
MAX_REVIEW = 20000


def assessable_objectives(session: TrainingSession) -> list[CourseObjective]:
    """The objectives of the session's course that a trainer can assess: all of them, but those the catalogue
    removed since the session kept its course (nothing can be recorded against a removed objective)."""
    course = session.course
    if not course.kept:
        return course.objectives
    present = set(db.session.scalars(db.select(ProgrammeObjective.id).where(
        ProgrammeObjective.programme_id == session.programme_id,
        ProgrammeObjective.id.in_([objective.id for objective in course.objectives] or [0]))))
    return [objective for objective in course.objectives if objective.id in present]


def results_for(enrolment: Enrolment) -> list[tuple[CourseObjective, str, str]]:
    """(objective, result code, comment) for every objective of the session's course, in order (two queries)."""
    objectives = enrolment.session.course.objectives
    recorded = {o.objective_id: o for o in db.session.scalars(
        db.select(LearningOutcome).where(LearningOutcome.enrolment_id == enrolment.id))}
    return [_row(objective, recorded.get(objective.id)) for objective in objectives]


def results_for_session(session: TrainingSession) -> dict[int, list[tuple[CourseObjective, str, str]]]:
    """results_for() of every enrolment of the session, by enrolment id (three queries)."""
    objectives = session.course.objectives
    enrolment_ids = list(db.session.scalars(db.select(Enrolment.id).where(Enrolment.session_id == session.id)))
    recorded = {}
    if enrolment_ids:
        for outcome in db.session.scalars(db.select(LearningOutcome).where(
                LearningOutcome.enrolment_id.in_(enrolment_ids))):
            recorded[(outcome.enrolment_id, outcome.objective_id)] = outcome
    return {eid: [_row(o, recorded.get((eid, o.id))) for o in objectives] for eid in enrolment_ids}


def unrecorded_for_session(session: TrainingSession) -> dict[int, list[CourseObjective]]:
    """enrolment id -> the objectives of the session's course that nothing was recorded for (not even an explicit
    "non évalué"), for the assessed enrolments that have some (two queries, with the course's objectives)."""
    objectives = session.course.objectives
    if not objectives:
        return {}
    enrolment_ids = list(db.session.scalars(db.select(Enrolment.id).where(
        Enrolment.session_id == session.id, Enrolment.status.in_(ASSESSED_STATUSES))))
    recorded = {(enrolment_id, objective_id) for enrolment_id, objective_id in db.session.execute(
        db.select(LearningOutcome.enrolment_id, LearningOutcome.objective_id)
        .join(Enrolment, Enrolment.id == LearningOutcome.enrolment_id)
        .where(Enrolment.session_id == session.id))}
    missing = {eid: [o for o in objectives if (eid, o.id) not in recorded] for eid in enrolment_ids}
    return {eid: unrecorded for eid, unrecorded in missing.items() if unrecorded}


def recorded_cells(session: TrainingSession) -> dict[int, dict[int, tuple[str, str]]]:
    """enrolment id -> objective id -> (result, comment) of what was recorded (the cells nobody filled in are
    absent), for the assessment page (one query)."""
    cells: dict[int, dict[int, tuple[str, str]]] = {}
    for outcome in db.session.scalars(
            db.select(LearningOutcome).join(Enrolment, Enrolment.id == LearningOutcome.enrolment_id)
            .where(Enrolment.session_id == session.id)):
        cells.setdefault(outcome.enrolment_id, {})[outcome.objective_id] = (str(outcome.result), outcome.comment or "")
    return cells


def _row(objective: CourseObjective, outcome: LearningOutcome | None) -> tuple[CourseObjective, str, str]:
    if outcome is None:
        return objective, OutcomeResult.NOT_ASSESSED.value, ""
    return objective, str(outcome.result), outcome.comment or ""


def assessed_enrolments(session: TrainingSession) -> list[Enrolment]:
    """The enrolments a trainer assesses, by trainee name, with the trainee and the employer kept on the
    enrolment (one query; enrolments.course_employers tells the employer of their course)."""
    return list(db.session.scalars(
        db.select(Enrolment).join(Enrolment.trainee)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(ASSESSED_STATUSES))
        .options(contains_eager(Enrolment.trainee), joinedload(Enrolment.employer))
        .order_by(Trainee.last_name, Trainee.first_name)))


@dataclass
class Assessment:
    enrolment_id: int
    objective_id: int
    result: str
    comment: str = ""
    # The cell as the page showed it when it was loaded (None: unknown, the cell is written as given). Only
    # what was changed on the page is written (its result, its comment, or both), so that two trainers saving
    # pages loaded at different times keep each other's changes; a result or comment that both changed,
    # differently, is refused (AssessmentsChanged).
    loaded_result: str | None = None
    loaded_comment: str | None = None

    @property
    def changes_result(self) -> bool:
        return self.loaded_result is None or self.result != self.loaded_result

    @property
    def changes_comment(self) -> bool:
        return self.loaded_result is None or _clean(self.comment) != _clean(self.loaded_comment)

    @property
    def untouched(self) -> bool:
        return not self.changes_result and not self.changes_comment


def _clean(comment: str | None) -> str:
    return (comment or "").strip()


class AssessmentsChanged(StaleEdit):
    """Results or comments changed on the page were saved differently by someone else since it was loaded:
    nothing is written. `fields`: their form fields (field_name)."""

    def __init__(self, session: TrainingSession, fields: list[str]):
        super().__init__(session, None, _(
            "Des évaluations de cette grille ont été enregistrées par quelqu'un d'autre depuis que vous l'avez "
            "ouverte ; vos modifications n'ont pas été enregistrées. Les cases que vous aviez changées et qui "
            "l'ont été entre-temps sont indiquées ci-dessous avec la valeur enregistrée ; vos saisies sont "
            "conservées et les autres cases montrent les valeurs enregistrées. Vérifiez la grille, puis "
            "enregistrez à nouveau pour remplacer ces valeurs par les vôtres."))
        self.fields = fields


def field_name(enrolment_id: int, objective_id: int, part: str = "r") -> str:
    """The form field of one assessment ("r" result, "c" comment): errors point at it."""
    return f"{part}_{enrolment_id}_{objective_id}"


def not_yet_assessable(session: TrainingSession) -> str:
    """Why the session's objectives cannot be assessed yet ("" when they can). They are assessed from the
    session's start (during the course or at its end), never before: a result recorded before the course is no
    evidence of what it taught."""
    if session.start_at > local_now():
        return _("Les acquis s'évaluent à partir du début de la session (%(start)s).",
                 start=datetime_fr(session.start_at))
    return ""


def assessment_refusal(session: TrainingSession) -> str:
    """Why the session's outcomes cannot be recorded ("" when they can): a cancelled session has none to assess
    (its withdrawn trainees included), and they are assessed from its start (not_yet_assessable)."""
    if session.status == SessionStatus.CANCELLED:
        return _("Cette session est annulée : pas d'acquis à évaluer.")
    return not_yet_assessable(session)


def review_refusal(session: TrainingSession) -> str:
    """Why the session's review (bilan final) cannot be written ("" when it can): a cancelled session has none,
    and, as its outcomes (not_yet_assessable), it is written from the session's start on, never before."""
    if session.status == SessionStatus.CANCELLED:
        return _("Cette session est annulée : elle n'a pas de bilan à rédiger.")
    if not_yet_assessable(session):
        return _("Le bilan de la session se rédige à partir de son début (%(start)s), comme l'évaluation des "
                 "acquis.", start=datetime_fr(session.start_at))
    return ""


def record_outcomes(session: TrainingSession, assessments: list[Assessment], *, actor: User | None = None) -> int:
    """Record several assessments of a session at once; return how many changed.

    Only what was changed on the page is written (see Assessment): a colleague's changes to other cells, or
    to the other half of a cell (its comment, its result), are kept. A result or comment changed on the page
    that someone else changed too since it was loaded, to another value, refuses the whole save
    (AssessmentsChanged, nothing written): the page shows the stored values and, once saved again from it,
    overwrites them on purpose. Refused on a cancelled or not yet started session (assessment_refusal).
    A result of NOT_RECORDED ("") leaves a cell nobody filled in as it is;
    "not_assessed" is the trainer's explicit "non évalué", recorded like the other results. The session row is
    locked so that two trainers saving at the same moment are applied one after the other, the second one
    compared with what the first wrote (the unique (enrolment, objective) is never raced), then the rows of the
    objectives written on, so that an objective removed from the catalogue at the same moment never takes a
    committed result with it (see _lock_written_objectives).
    """
    assessments = [item for item in assessments if not item.untouched]
    refusal = assessment_refusal(lock_session(session.id))  # read under the lock: a cancelling meanwhile is seen
    if refusal:
        raise ServiceError(refusal)
    enrolments = {e.id for e in assessed_enrolments(session)}
    objectives = {o.id for o in assessable_objectives(session)}
    objectives = _lock_written_objectives(objectives, assessments)
    existing = {(o.enrolment_id, o.objective_id): o for o in db.session.scalars(
        db.select(LearningOutcome).where(LearningOutcome.enrolment_id.in_(enrolments or {0}))
        .execution_options(populate_existing=True))}
    for item in assessments:
        if item.enrolment_id not in enrolments:
            raise ServiceError(_("Ce ou cette stagiaire n'est pas inscrit·e à cette session."))
        if item.objective_id not in objectives:
            raise ServiceError(_("Cet objectif n'est pas un objectif de la formation."))
        left_blank = item.result == NOT_RECORDED and (item.enrolment_id, item.objective_id) not in existing
        if item.changes_result and item.result not in RESULT_CODES and not left_blank:
            raise ServiceError(_("Choisissez : acquis, partiellement acquis, non acquis ou non évalué."),
                               field_name(item.enrolment_id, item.objective_id))
        if left_blank and (item.comment or "").strip():
            raise ServiceError(_("Choisissez un résultat pour ce commentaire (« non évalué » si l'objectif n'a pas "
                                 "été évalué)."), field_name(item.enrolment_id, item.objective_id))
        if len(item.comment or "") > MAX_COMMENT:
            raise ServiceError(_("Le commentaire est trop long (%(n)d caractères au plus).", n=MAX_COMMENT),
                               field_name(item.enrolment_id, item.objective_id, "c"))

    def stored(item: Assessment) -> tuple[str, str]:
        outcome = existing.get((item.enrolment_id, item.objective_id))
        return (str(outcome.result), _clean(outcome.comment)) if outcome else (NOT_RECORDED, "")

    conflicts = []
    for item in assessments:
        if item.loaded_result is None:
            continue
        result, comment = stored(item)
        if item.changes_result and result not in (item.loaded_result, item.result):
            conflicts.append(field_name(item.enrolment_id, item.objective_id))
        if item.changes_comment and comment not in (_clean(item.loaded_comment), _clean(item.comment)):
            conflicts.append(field_name(item.enrolment_id, item.objective_id, "c"))
    if conflicts:
        raise AssessmentsChanged(session, conflicts)
    changed = 0
    for item in assessments:
        before_result, before_comment = stored(item)
        result = item.result if item.changes_result else before_result
        comment = _clean(item.comment) if item.changes_comment else before_comment
        if result == NOT_RECORDED:
            continue  # still nothing recorded (checked above)
        outcome = existing.get((item.enrolment_id, item.objective_id))
        if outcome is None:
            outcome = LearningOutcome(enrolment_id=item.enrolment_id, objective_id=item.objective_id)
            db.session.add(outcome)
            before = None
        elif (before_result, before_comment) == (result, comment):
            continue
        else:
            before = outcome.result
        outcome.result, outcome.comment = result, comment
        outcome.assessed_by, outcome.assessed_at = actor, utcnow()
        audit.record(outcome, "assessed", actor=actor, from_state=before, to_state=result,
                     details={"enrolment_id": item.enrolment_id, "objective_id": item.objective_id})
        changed += 1
    return changed


def _lock_written_objectives(objectives: set[int], assessments: list[Assessment]) -> set[int]:
    """Hold the rows of the objectives about to be written on (FOR KEY SHARE, after the session's row: the order
    services/programmes.save_programme follows) until the transaction ends, and return `objectives` less those
    removed from the catalogue meanwhile. An objective being removed is waited for and then found gone; one
    locked here cannot be removed before these results are committed, and then its removal sees them."""
    written = sorted({item.objective_id for item in assessments
                      if item.objective_id in objectives and item.result != NOT_RECORDED})
    if not written:
        return objectives
    still_there = set(db.session.scalars(
        db.select(ProgrammeObjective.id).where(ProgrammeObjective.id.in_(written))
        .order_by(ProgrammeObjective.id).with_for_update(read=True, key_share=True)))
    return objectives - (set(written) - still_there)


def record_outcome(enrolment: Enrolment, objective: ProgrammeObjective | CourseObjective, result: str,
                   comment: str = "", *, actor: User | None = None) -> int:
    return record_outcomes(enrolment.session, [Assessment(enrolment.id, objective.id, result, comment)],
                           actor=actor)


def review_for(session: TrainingSession) -> SessionReview | None:
    return db.session.scalar(db.select(SessionReview).where(SessionReview.session_id == session.id))


class ReviewChanged(ServiceError):
    """The review was saved by someone else since the page was loaded."""


def review_version(review: SessionReview | None) -> str:
    """A fingerprint of the review's text, posted back by the page that showed it."""
    return _text_version(review.text if review else "")


def review_typed(text: str | None, loaded_version: str | None) -> bool:
    """Whether `text` (as posted) is not the review the page showed (`loaded_version`): the trainer wrote in it."""
    return _text_version((text or "").strip()) != (loaded_version or review_version(None))


def _text_version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def save_review(session: TrainingSession, text: str, *, actor: User | None = None,
                loaded_version: str | None = None) -> SessionReview:
    """Write or rewrite the session's final review (bilan final).

    Under the session row lock (two first saves at once cannot both insert the review), refused on a session
    that is cancelled or not started (review_refusal, read under the lock). With `loaded_version`
    (review_version() of the review the page showed), a review saved meanwhile is not overwritten:
    ReviewChanged is raised.
    """
    text = (text or "").strip()
    if len(text) > MAX_REVIEW:
        raise ServiceError(_("Le bilan est trop long (%(n)d caractères au plus).", n=MAX_REVIEW), "text")
    refusal = review_refusal(lock_session(session.id))
    if refusal:
        raise ServiceError(refusal)
    review = db.session.scalar(db.select(SessionReview).where(SessionReview.session_id == session.id)
                               .execution_options(populate_existing=True))
    if review is not None and loaded_version is not None and review_version(review) != loaded_version:
        raise ReviewChanged(_("%(who)s a enregistré le bilan (le %(when)s) depuis que vous avez ouvert cette page : "
                              "sa version est affichée ci-dessous. Reprenez-la dans votre texte si besoin, puis "
                              "enregistrez de nouveau.",
                              who=review.written_by.name if review.written_by else _("Quelqu'un"),
                              when=utc_datetime_fr(review.updated_at)), "text")
    if review is None:
        review = SessionReview(session_id=session.id)
        db.session.add(review)
    review.text, review.written_by, review.updated_at = text, actor, utcnow()
    audit.record(review, "written", actor=actor)
    return review


def progress(session: TrainingSession) -> dict:
    """How far the assessment is: assessed objectives over expected ones, and whether the review is written."""
    trainees = db.session.scalar(db.select(func.count(Enrolment.id)).where(
        Enrolment.session_id == session.id, Enrolment.status.in_(ASSESSED_STATUSES))) or 0
    objectives = len(assessable_objectives(session))
    assessed = db.session.scalar(
        db.select(func.count(LearningOutcome.id)).join(Enrolment, Enrolment.id == LearningOutcome.enrolment_id)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(ASSESSED_STATUSES),
               LearningOutcome.result != OutcomeResult.NOT_ASSESSED)) or 0
    review = review_for(session)
    return {"assessed": assessed, "expected": trainees * objectives, "trainees": trainees, "objectives": objectives,
            "review_written": bool(review and review.text)}
