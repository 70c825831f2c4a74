"""Catalogue: programmes and their ordered objectives."""
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import case, distinct, func
from sqlalchemy.orm.attributes import set_committed_value

from training_app.clock import local_now, utcnow
from training_app.extensions import db
from training_app.formatting import date_fr, datetime_fr
from training_app.models import (BpfObjective, Enrolment, LearningOutcome, Programme, ProgrammeObjective,
                                 SessionStatus, Survey, TrainingSession)
from training_app.models.programmes import competency_lines
from training_app.services import ServiceError, audit, cycles, surveys

PROGRAMME_FIELDS = (
    "title", "rationale", "audience", "prerequisites", "content", "competencies", "teaching_methods",
    "evaluation_methods", "default_duration_minutes", "default_capacity", "price_cents", "kind",
    "accessibility_contact", "access_delay", "cycle_id", "bpf_objective", "nsf_code", "nsf_label",
)
# Section F-3 of the BPF (Cerfa 10443), "Objectif général des prestations dispensées": its six lines, the
# official wording shortened
BPF_OBJECTIVE_LABELS = {
    BpfObjective.RNCP: _l("a) Diplôme, titre à finalité professionnelle ou CQP enregistré au RNCP "
                          "(CQP sans niveau de qualification compris)"),
    BpfObjective.RS: _l("b) Certification ou habilitation enregistrée au répertoire spécifique (RS)"),
    BpfObjective.CQP: _l("c) CQP non enregistré au RNCP ou au RS"),
    BpfObjective.OTHER: _l("d) Autres formations professionnelles"),
    BpfObjective.SKILLS_REVIEW: _l("e) Bilans de compétences"),
    BpfObjective.VAE: _l("f) Actions d'accompagnement à la validation des acquis de l'expérience (VAE)"),
}
NSF_CODE_PATTERN = r"^[0-9]{3}[a-z]?$"  # nomenclature des spécialités de formation: "332", "332t"


def bpf_objective_label(letter: str) -> str:
    return str(BPF_OBJECTIVE_LABELS.get(letter, letter))


def objective_lines(text: str) -> list[str]:
    """One objective per non-empty line, bullets and trailing punctuation removed."""
    lines = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("•-*").strip().rstrip(",;").strip()
        if line:
            lines.append(line)
    return lines


@dataclass
class ProgrammeSaved:
    programme: Programme
    # Positioning questionnaires already answered, open or upcoming, left asking about the former objectives
    # (surveys.realign_positioning): the office is told.
    surveys_left: list[Survey] = field(default_factory=list)
    # An internal course made external: its upcoming sessions priced 0 now take the programme's price.
    sessions_repriced: int = 0


def save_programme(programme: Programme | None, data: dict, objectives: list[str]) -> Programme:
    """save_programme_reporting(), for the programme alone."""
    return save_programme_reporting(programme, data, objectives).programme


def save_programme_reporting(programme: Programme | None, data: dict, objectives: list[str]) -> ProgrammeSaved:
    """Create (programme=None) or update a programme with its objectives, in order.

    The learning outcomes recorded against an objective stay with it (they are printed on the
    attestations, reissued ones included), so an edited list keeps each objective's identity:
    - an unchanged text keeps its row, whatever its new position;
    - a reworded objective keeps its row only when the list keeps its length and the new text
      stands at the old one's position (both texts found nowhere else in the other list);
    - any other new text is a new objective, and an old text no longer in the list is removed;
      removing one with recorded outcomes, or one that a session under way teaches (it could no longer be
      assessed there, yet its attestations would print it), is refused (ServiceError on "objectives"); the
      caller rolls back: nothing written.

    A trainer recording a result meanwhile cannot lose it: see _lock_removed.

    Sessions that have already started keep the title, objectives and competencies they were taught under
    (see _keep_taught_content); upcoming ones follow the catalogue. "Dernière mise à jour" (updated_at)
    moves when the objectives alone change too.

    Their positioning questionnaires follow the new objectives, unless already answered: those, while open or
    upcoming, are returned in `surveys_left` for the office to be told (left_behind_message).
    """
    cycles.lock_chosen(data.get("cycle_id"))  # not deleted while the programme joins it
    existing = list(programme.objectives) if programme is not None else []
    kept, removed = _match_objectives(existing, objectives)
    creating = programme is None
    objectives_changed = [objective.text for objective in existing] != list(objectives)
    repriced = 0
    if not creating:
        _keep_taught_content(programme, data, existing, objectives_changed)
        repriced = _reprice_upcoming_sessions(programme, data)  # sessions' rows before the programme's, too
        # Its row before its objectives' (moved, reworded or removed below) and its questionnaires': the order a
        # new version of its positioning questionnaire takes (surveys.lock_programme), or the two could deadlock.
        surveys.lock_programme(programme.id)
    _lock_removed(removed)
    _refuse_removing_taught(programme, removed)
    _refuse_removing_assessed(removed)
    if creating:
        programme = Programme()
        db.session.add(programme)
    for name in PROGRAMME_FIELDS:
        if name in data:
            setattr(programme, name, data[name])
    for objective in removed:
        programme.objectives.remove(objective)
    for offset, objective in enumerate(kept.values(), start=1):
        objective.position = -offset  # out of the way of (programme, position) while they move
    if existing:
        db.session.flush()
    for position, text in enumerate(objectives, start=1):
        objective = kept.get(position)
        if objective is None:
            programme.objectives.append(ProgrammeObjective(position=position, text=text))
        else:
            objective.position, objective.text = position, text
    programme.objectives.sort(key=lambda objective: objective.position)
    surveys_left = []
    if objectives_changed and not creating:
        programme.updated_at = utcnow()  # the programme's own row may not change: its onupdate would not fire
        db.session.flush()
        surveys_left = surveys.realign_positioning(programme)  # unanswered positioning follows the new objectives
    audit.record(programme, "created" if creating else "updated")
    return ProgrammeSaved(programme, surveys_left, repriced)


def _reprice_upcoming_sessions(programme: Programme, data: dict) -> int:
    """An internal course (free) made external: its sessions not started yet, neither cancelled nor over, priced 0
    as internal ones are, take the programme's price, "sur demande" (None) included (an enrolment keeps the price it
    was made at). How many."""
    price = data.get("price_cents", programme.price_cents)
    if not programme.is_internal or data.get("kind", programme.kind) == programme.kind or price == 0:
        return 0
    return db.session.execute(
        db.update(TrainingSession)
        .where(TrainingSession.programme_id == programme.id, TrainingSession.start_at > local_now(),
               TrainingSession.price_cents == 0,
               TrainingSession.status.not_in((SessionStatus.CANCELLED, SessionStatus.COMPLETED)))
        .values(price_cents=price)).rowcount


def _quoted(texts: list[str]) -> str:
    return ", ".join(f"« {text} »" for text in texts)


def left_behind_message(survey: Survey) -> str:
    """Why a positioning questionnaire did not follow the programme's new objectives, and what to do (French)."""
    session = survey.session
    asked = [surveys.objective_of_question(text) for text in surveys.objectives_asked(survey.questionnaire)]
    taught = [objective.text for objective in session.course.objectives]
    message = _("Session du %(start)s : son questionnaire de positionnement a déjà des réponses, ses questions "
                "ne peuvent plus changer.", start=date_fr(session.start_at, "short"))
    former = [text for text in asked if text not in taught]
    if former:
        message += " " + _("Il interroge encore sur %(objectives)s, que la formation n'enseigne plus.",
                           objectives=_quoted(former))
    missing = [text for text in taught if text not in asked]
    if missing:
        message += " " + _("Il ne demande rien sur %(objectives)s.", objectives=_quoted(missing))
    return message + " " + _(
        "Les stagiaires qui n'ont pas répondu le recevront tel quel jusqu'au %(closes)s : avancez sa date de "
        "fermeture sur la page de la session pour ne plus l'envoyer, et faites le point sur les nouveaux "
        "objectifs en début de formation.", closes=datetime_fr(survey.closes_at))


def _keep_taught_content(programme: Programme, data: dict, existing: list[ProgrammeObjective],
                         objectives_changed: bool) -> None:
    """Before the title, objectives or competencies of `programme` change: every session of it that has
    started and keeps nothing yet keeps the current ones (one UPDATE). Its attestations, certificates,
    sheets and claims go on stating the course it was; its results stay on the objectives it had."""
    competencies = data.get("competencies", programme.competencies)
    if not (objectives_changed or data.get("title", programme.title) != programme.title
            or competency_lines(competencies) != competency_lines(programme.competencies)):
        return  # the same course (competencies compared as printed: line breaks and bullets aside)
    db.session.execute(
        db.update(TrainingSession)
        .where(TrainingSession.programme_id == programme.id, TrainingSession.start_at <= local_now(),
               TrainingSession.taught_title.is_(None))
        .values(taught_title=programme.title,
                taught_objectives=[{"id": objective.id, "text": objective.text} for objective in existing],
                taught_competencies=programme.competencies or ""))


def _match_objectives(existing: list[ProgrammeObjective], texts: list[str]):
    """({new position: existing objective kept there}, [existing objectives removed]) (see save_programme)."""
    free = list(existing)
    kept = {}
    for position, text in enumerate(texts, start=1):
        same = next((objective for objective in free if objective.text == text), None)
        if same is not None:
            kept[position] = same
            free.remove(same)
    if len(texts) == len(existing):
        for position in range(1, len(texts) + 1):
            reworded = existing[position - 1]
            if position not in kept and reworded in free:
                kept[position] = reworded
                free.remove(reworded)
    return dict(sorted(kept.items())), free


def _lock_removed(removed: list[ProgrammeObjective]) -> None:
    """Lock the rows of the objectives about to be removed (FOR UPDATE), before the refusals look for results.

    services/outcomes.record_outcomes locks its session's row, then the rows of the objectives it writes
    (FOR KEY SHARE), and writes only on those still there. So a result being recorded is waited for and then
    seen (the removal is refused), and one recorded after finds its objective gone (refused in French):
    never a committed result deleted with its objective (learning_outcomes.objective_id cascades).
    Lock order: the started sessions following the catalogue were locked by _keep_taught_content's UPDATE
    before, as a trainer locks their session before the objective: the two never wait for each other."""
    ids = sorted(objective.id for objective in removed if objective.id is not None)
    if ids:
        db.session.execute(db.select(ProgrammeObjective.id).where(ProgrammeObjective.id.in_(ids))
                           .order_by(ProgrammeObjective.id).with_for_update())


def _refuse_removing_taught(programme: Programme, removed: list[ProgrammeObjective]) -> None:
    """Refuse to remove an objective that a session under way teaches (started, not over, not cancelled):
    its trainers assess it until the end, and its attestations print it. Sessions over keep it as taught;
    upcoming ones follow the catalogue."""
    ids = {objective.id for objective in removed if objective.id is not None}
    if not ids:
        return
    now = local_now()
    running = db.session.scalars(
        db.select(TrainingSession).where(
            TrainingSession.programme_id == programme.id, TrainingSession.start_at <= now,
            TrainingSession.end_at > now,
            TrainingSession.status.not_in((SessionStatus.CANCELLED, SessionStatus.COMPLETED)))
        .order_by(TrainingSession.start_at, TrainingSession.id)).all()
    teaching = {objective.id: [session for session in running
                               if objective.id in {item.id for item in session.course.objectives}]
                for objective in removed}
    taught = [objective for objective in removed if teaching[objective.id]]
    if taught:
        ends = max(session.end_at for objective in taught for session in teaching[objective.id])
        raise ServiceError(ngettext(
            "Impossible de retirer %(objectives)s : une session en cours l'enseigne jusqu'au %(end)s (ses "
            "formateur·rices l'évaluent, ses attestations l'indiquent). Retirez-le une fois la session terminée ; "
            "pour le reformuler, changez son texte sans ajouter ni retirer d'objectif en même temps.",
            "Impossible de retirer %(objectives)s : une session en cours les enseigne jusqu'au %(end)s (ses "
            "formateur·rices les évaluent, ses attestations les indiquent). Retirez-les une fois la session "
            "terminée ; pour reformuler un objectif, changez son texte sans ajouter ni retirer d'objectif en même "
            "temps.", len(taught),
            objectives=", ".join(f"« {objective.text} »" for objective in taught), end=datetime_fr(ends)),
            "objectives")


def _refuse_removing_assessed(removed: list[ProgrammeObjective]) -> None:
    """Refuse to remove objectives whose outcomes were recorded, naming them and how many sessions."""
    ids = [objective.id for objective in removed if objective.id is not None]
    if not ids:
        return
    sessions = dict(db.session.execute(
        db.select(LearningOutcome.objective_id, func.count(distinct(Enrolment.session_id)))
        .join(Enrolment, Enrolment.id == LearningOutcome.enrolment_id)
        .where(LearningOutcome.objective_id.in_(ids)).group_by(LearningOutcome.objective_id)).all())
    assessed = [_("« %(text)s » (acquis évalués dans %(sessions)s)", text=objective.text,
                  sessions=ngettext("%(num)d session", "%(num)d sessions", sessions[objective.id]))
                for objective in removed if objective.id in sessions]
    if assessed:
        raise ServiceError(_("Impossible de retirer %(objectives)s : les résultats enregistrés figurent sur les "
                             "attestations. Gardez ces objectifs dans la liste ; pour en reformuler un, changez "
                             "son texte sans ajouter ni retirer d'objectif en même temps.",
                             objectives=", ".join(assessed)),
                           "objectives")


def set_archived(programme: Programme, archived: bool) -> None:
    """Archive a programme (no longer in the public catalogue, no new session, no public registration) or put it
    back.

    Its row is locked FOR UPDATE (surveys.lock_programme) and its state read again under the lock. A session
    being created or moved to it, or a public registration to one of its sessions, reads the row under a
    key-share lock taken after its session's (enrolments.programme_archived): one under way is waited for (it
    was made before the archiving), one that comes after waits, then is refused. Only the programme's row is
    held here, never a session's after it: the order session -> programme holds, no deadlock."""
    surveys.lock_programme(programme.id)
    stored = db.session.scalar(db.select(Programme.archived).where(Programme.id == programme.id))
    if stored == archived:  # asked twice (a double click), or done meanwhile: nothing to change or record
        set_committed_value(programme, "archived", stored)  # as stored: the page tells it, nothing is written
        return
    programme.archived = archived
    audit.record(programme, "archived" if archived else "restored")


# The sessions the public pages offer: not started yet, neither cancelled nor over, nor recorded from paper sheets.
PUBLIC_UPCOMING_STATUSES = (SessionStatus.OPEN, SessionStatus.FULL, SessionStatus.PLANNED)


def public_upcoming():
    """The conditions of a session the public pages offer (at the time asked)."""
    return (TrainingSession.start_at > local_now(), TrainingSession.status.in_(PUBLIC_UPCOMING_STATUSES),
            TrainingSession.recorded_afterwards.is_(False))


@dataclass(frozen=True)
class SessionPrices:
    """What the upcoming sessions cost, as their enrolments record it (enrolments.price_for; a session's price is
    set from its programme's when scheduled; None: « sur demande »): the lowest and highest price, how many have
    one (`priced`) and how many not (`unpriced`), and the first priced one's start (the date a single one is named
    by). The public pages give these prices rather than the programme's when they differ (public/_price.html)."""
    low: int | None = None
    high: int | None = None
    priced: int = 0
    first_start: datetime | None = None
    unpriced: int = 0


def session_prices(sessions) -> SessionPrices:
    """SessionPrices of sessions already read (the programme's public page lists them)."""
    priced = sorted((s for s in sessions if s.price_cents is not None), key=lambda s: s.start_at)
    unpriced = len(sessions) - len(priced)
    if not priced:
        return SessionPrices(unpriced=unpriced)
    prices = [s.price_cents for s in priced]
    return SessionPrices(min(prices), max(prices), len(priced), priced[0].start_at, unpriced)


def public_catalogue() -> list:
    """What the public catalogue lists of each programme, as plain rows (id, title, kind, duration, price,
    last update, and the SessionPrices of its upcoming sessions: low, high, priced, first_start, unpriced), in one
    statement however many programmes and sessions there are."""
    price = TrainingSession.price_cents
    upcoming = (db.select(TrainingSession.programme_id, func.min(price).label("low"),
                          func.max(price).label("high"), func.count(price).label("priced"),
                          func.min(case((price.is_not(None), TrainingSession.start_at))).label("first_start"),
                          (func.count() - func.count(price)).label("unpriced"))
                .where(*public_upcoming())
                .group_by(TrainingSession.programme_id).subquery())
    return list(db.session.execute(
        db.select(Programme.id, Programme.title, Programme.kind, Programme.default_duration_minutes,
                  Programme.price_cents, Programme.updated_at, upcoming.c.low, upcoming.c.high,
                  func.coalesce(upcoming.c.priced, 0).label("priced"), upcoming.c.first_start,
                  func.coalesce(upcoming.c.unpriced, 0).label("unpriced"))
        .outerjoin(upcoming, upcoming.c.programme_id == Programme.id)
        .where(Programme.archived.is_(False)).order_by(Programme.title, Programme.id)))
