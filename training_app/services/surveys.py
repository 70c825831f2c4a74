"""Questionnaires: templates and their versions, the defaults, their use in a session,
the trainees' answers and the reminders.

A questionnaire that has answers never changes: `new_version()` copies it, and the
sessions that nobody has answered yet move to the copy. Anonymous answers are stored
without the trainee (see models/surveys.py); the fact that a trainee answered is a
separate row, and one trainee answers a survey once (a unique constraint). Anonymous
answers wait as pending rows until the survey closes, then `release_pending()` turns them
into responses, shuffled, in one transaction (with those released before, if the survey was
reopened: a survey's responses are always written together).

The positioning questionnaire built from objectives asks about the objectives of the session it is
given in (`session.course`): one lineage per programme, one version per list of objectives
(`ensure_positioning`); when the catalogue's objectives change, or a session moves to another programme,
the unanswered positioning surveys of the sessions that follow the catalogue move to the matching version
(`realign_positioning`, `realign_session_positioning`).
"""
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, or_
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm import joinedload, selectinload

from training_app.clock import local_now, utcnow
from training_app.extensions import db
from training_app.form_input import whole_number
from training_app.formatting import datetime_fr, utc_datetime_fr
from training_app.models import (Enrolment, EnrolmentStatus, Organisation, Programme, ProgrammeObjective, Question,
                                 Questionnaire, QuestionnaireKind, QuestionType, SessionStatus, Survey, SurveyAnswer,
                                 SurveyParticipation, SurveyPendingAnswers, SurveyResponse, Trainee, TrainingSession)
from training_app.models.sessions import CourseObjective
from training_app.models.surveys import _random_id
from training_app.services import ServiceError, audit, mail, trainee_links
from training_app.services.enrolments import lock_session, lock_trainee
from training_app.urls import public_url

# Trainees who are asked to answer: those who attend or attended (not waiting, not cancelled).
ELIGIBLE_STATUSES = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)
CHOICE_TYPES = (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)
DEFAULT_RATING_LABELS = ["Pas du tout satisfait·e", "Peu satisfait·e", "Moyennement satisfait·e",
                         "Satisfait·e", "Très satisfait·e"]
DEFAULT_FOLLOW_UP_DAYS = 60
MAX_TEXT_ANSWER = 5000
MAX_OPTIONS = 20
REMINDER_GAP = timedelta(minutes=10)  # a second reminder this soon is a double click, not a decision
ORIGIN_SATISFACTION = "default_satisfaction"
ORIGIN_POSITIONING = "default_positioning"
# An anonymous survey shows its answers only once closed and with at least this many responses
# (see survey_results.withheld_reason).
MIN_ANONYMOUS_RESPONSES = 3


# --- questionnaires ------------------------------------------------------------------------------

@dataclass
class QuestionnaireData:
    title: str
    kind: str = QuestionnaireKind.SATISFACTION
    anonymous: bool = False
    introduction: str = ""
    follow_up_days: int | None = None


@dataclass
class QuestionData:
    type: str
    text: str
    required: bool = True
    help_text: str = ""
    options: list[str] = field(default_factory=list)
    objective_id: int | None = None


def answered(survey=Survey):
    """SQL condition: the survey (`survey`: the entity, or an alias, of the query) has answers. A participation
    says so; so do answers kept without one: the anonymous answers (released or pending) of a person whose
    data was erased since, which still count in the results and still answer these questions."""
    return or_(db.select(SurveyParticipation.id).where(SurveyParticipation.survey_id == survey.id).exists(),
               db.select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id).exists(),
               db.select(SurveyPendingAnswers.id).where(SurveyPendingAnswers.survey_id == survey.id).exists())


def has_answers(questionnaire: Questionnaire) -> bool:
    return db.session.scalar(
        db.select(Survey.id).where(Survey.questionnaire_id == questionnaire.id, answered()).limit(1)) is not None


def lock_programme(programme_id: int | None) -> None:
    """Lock a programme's row (FOR UPDATE), e.g. while its positioning questionnaires change.

    The order of the row locks, everywhere: a session's row (enrolments.lock_session), then its programme's, then
    the programme's objectives', then a questionnaire's, then its surveys'. A programme's edit locks its started
    sessions, then its own row, then its objectives (services/programmes.save_programme); a session's positioning
    is given or realigned under the session's lock; a change of a positioning questionnaire (new_version, an
    edit, archiving, whose new questions point at the objectives) and a realignment lock the programme's row
    first: the second of two waits there, before it holds anything the first one needs."""
    if programme_id is not None:
        db.session.execute(db.select(Programme.id).where(Programme.id == programme_id).with_for_update())


def _lock_with_its_surveys(questionnaire: Questionnaire) -> None:
    """Lock the questionnaire's row, then the rows of the surveys giving it (in id order), after its programme's
    row for a positioning questionnaire (lock_programme): every change of a questionnaire takes them in this
    order (no deadlock between two of them, nor with a realignment), and an answer being written (submit holds a
    shared lock on its survey) is waited for, then seen by the answers counted next."""
    lock_programme(questionnaire.programme_id)
    db.session.refresh(questionnaire, with_for_update=True)
    db.session.execute(db.select(Survey.id).where(Survey.questionnaire_id == questionnaire.id)
                       .order_by(Survey.id).with_for_update())


def check_editable(questionnaire: Questionnaire) -> None:
    """Refused once answered (counted under _lock_with_its_surveys). An answer coming after this change is made
    finds its page no longer shows the questionnaire (shown_version) and is refused."""
    _lock_with_its_surveys(questionnaire)
    if questionnaire.archived:
        raise ServiceError(_("Cette version est archivée : modifiez la version en cours."))
    if has_answers(questionnaire):
        raise ServiceError(_("Ce questionnaire a déjà des réponses : il ne peut plus être modifié. "
                             "Créez-en une nouvelle version."))


# An introduction telling the trainees that their answers are anonymous ("Vos réponses sont anonymes"), not that
# they are not ("ne sont pas anonymes", "non anonyme").
_PROMISES_ANONYMITY = re.compile(r"(?<!pas )(?<!non )(?<!non-)\banonym", re.IGNORECASE)


def _apply(questionnaire: Questionnaire, data: QuestionnaireData) -> None:
    title = (data.title or "").strip()
    if not title:
        raise ServiceError(_("Indiquez le titre du questionnaire."), "title")
    if data.kind not in set(QuestionnaireKind):
        raise ServiceError(_("Type de questionnaire inconnu."), "kind")
    follow_up_days = data.follow_up_days
    if data.kind == QuestionnaireKind.FOLLOW_UP and follow_up_days is None:
        follow_up_days = DEFAULT_FOLLOW_UP_DAYS
    if follow_up_days is not None and not 0 <= follow_up_days <= 730:
        raise ServiceError(_("Le délai doit être compris entre 0 et 730 jours."), "follow_up_days")
    if not data.anonymous and _PROMISES_ANONYMITY.search(data.introduction or ""):
        raise ServiceError(_("L'introduction annonce aux stagiaires que leurs réponses sont anonymes, mais le "
                             "questionnaire ne l'est pas : corrigez l'introduction, ou cochez « Anonyme »."),
                           "introduction")
    questionnaire.title = title
    questionnaire.kind = data.kind
    questionnaire.anonymous = bool(data.anonymous)
    questionnaire.introduction = (data.introduction or "").strip()
    questionnaire.follow_up_days = follow_up_days if data.kind == QuestionnaireKind.FOLLOW_UP else None


def _check_anonymity_allows(anonymous: bool, questions, field: str = "anonymous") -> None:
    """An anonymous questionnaire does not hold the question on adjustments (is_accessibility_question): it
    promises that the accessibility contact will get in touch, and a "yes" there reaches nobody (telling them
    would tie the anonymous answer to its author, see submit)."""
    if anonymous and any(is_accessibility_question(question) for question in questions):
        raise ServiceError(_("Un questionnaire anonyme ne peut pas contenir la question sur les besoins "
                             "d'aménagement : le ou la référent·e handicap ne saurait pas qui a répondu « oui ». "
                             "Posez-la dans un questionnaire non anonyme (le positionnement, par exemple)."), field)


def create_questionnaire(data: QuestionnaireData, questions: list[QuestionData] = (), *, origin: str = "",
                         programme: Programme | None = None) -> Questionnaire:
    new_questions = [_new_question(question, position) for position, question in enumerate(questions, start=1)]
    _check_anonymity_allows(data.anonymous, new_questions)
    questionnaire = Questionnaire(version=1, origin=origin, programme=programme)
    _apply(questionnaire, data)
    questionnaire.questions.extend(new_questions)
    db.session.add(questionnaire)
    db.session.flush()
    questionnaire.lineage_id = questionnaire.id
    audit.record(questionnaire, "created")
    return questionnaire


def update_questionnaire(questionnaire: Questionnaire, data: QuestionnaireData) -> None:
    check_editable(questionnaire)
    _check_anonymity_allows(data.anonymous, questionnaire.questions)
    _apply(questionnaire, data)
    audit.record(questionnaire, "updated")


def _clean_question(data: QuestionData) -> QuestionData:
    text = (data.text or "").strip()
    if not text:
        raise ServiceError(_("Indiquez le texte de la question."), "text")
    if len(text) > 2000:
        raise ServiceError(_("La question est trop longue (2000 caractères au plus)."), "text")
    if data.type not in set(QuestionType):
        raise ServiceError(_("Type de question inconnu."), "type")
    options = [o.strip() for o in data.options or [] if o and o.strip()]
    if data.type in CHOICE_TYPES:
        if len(options) < 2:
            raise ServiceError(_("Indiquez au moins deux choix, un par ligne."), "options")
        if len(options) > MAX_OPTIONS:
            raise ServiceError(_("Pas plus de %(n)d choix.", n=MAX_OPTIONS), "options")
        seen = set()
        for option in options:
            if option.casefold() in seen:
                raise ServiceError(_("Deux choix sont identiques : « %(option)s ».", option=option), "options")
            seen.add(option.casefold())
    elif data.type == QuestionType.RATING:
        if not options:
            options = list(DEFAULT_RATING_LABELS)
        elif len(options) != 5:
            raise ServiceError(_("Une note de 1 à 5 a cinq libellés, un par ligne, du plus faible au plus fort "
                                 "(laissez vide pour les libellés par défaut)."), "options")
    else:  # a yes/no question keeps the accessibility flag, its only "option" (is_accessibility_question)
        typed = [option for option in options if option != ACCESSIBILITY_FLAG]
        if typed:  # refused, not dropped: the choices typed would silently vanish from the question
            raise ServiceError(_("Une question « %(type)s » n'a pas de choix à indiquer : videz le champ des choix, "
                                 "ou choisissez le type « Choix unique » ou « Choix multiple » pour proposer « %(choices)s ».",
                                 type=_("Oui / non") if data.type == QuestionType.YES_NO else _("Texte libre"),
                                 choices=" / ".join(typed)), "options")
        options = [ACCESSIBILITY_FLAG] if data.type == QuestionType.YES_NO and ACCESSIBILITY_FLAG in options else []
    return QuestionData(type=data.type, text=text, required=bool(data.required),
                        help_text=(data.help_text or "").strip(), options=options, objective_id=data.objective_id)


def _new_question(data: QuestionData, position: int) -> Question:
    data = _clean_question(data)
    return Question(position=position, type=data.type, text=data.text, required=data.required,
                    help_text=data.help_text, options=data.options, objective_id=data.objective_id)


def add_question(questionnaire: Questionnaire, data: QuestionData) -> Question:
    check_editable(questionnaire)
    position = max((q.position for q in questionnaire.questions), default=0) + 1
    question = _new_question(data, position)
    _check_anonymity_allows(questionnaire.anonymous, [question], "text")
    questionnaire.questions.append(question)
    audit.record(questionnaire, "question_added", details={"position": position})
    return question


def update_question(question: Question, data: QuestionData) -> None:
    """Change a question; the accessibility question stays one while it is a yes/no question (its edit form does
    not show the flag)."""
    check_editable(question.questionnaire)
    if ACCESSIBILITY_FLAG in (question.options or []) and data.type == QuestionType.YES_NO:
        data = QuestionData(data.type, data.text, data.required, data.help_text,
                            [*(data.options or []), ACCESSIBILITY_FLAG], data.objective_id)
    data = _clean_question(data)
    _check_anonymity_allows(question.questionnaire.anonymous, [data], "text")
    question.type, question.text, question.required = data.type, data.text, data.required
    question.help_text, question.options = data.help_text, data.options
    audit.record(question.questionnaire, "question_changed", details={"position": question.position})


def delete_question(question: Question) -> None:
    """Remove a question. Not the last one of a questionnaire given in a session (attach refuses a questionnaire
    without questions: its trainees would send an empty answer, counted as one)."""
    questionnaire = question.questionnaire
    check_editable(questionnaire)
    if len(questionnaire.questions) == 1 and db.session.scalar(
            db.select(Survey.id).where(Survey.questionnaire_id == questionnaire.id).limit(1)) is not None:
        raise ServiceError(_("C'est la dernière question de ce questionnaire, qui est proposé dans une session : ses "
                             "stagiaires n'auraient rien à répondre. Ajoutez d'abord une autre question."))
    position = question.position
    questionnaire.questions.remove(question)
    db.session.flush()
    for other in questionnaire.questions:  # keep positions 1..n
        if other.position > position:
            other.position -= 1
            db.session.flush()
    audit.record(questionnaire, "question_removed", details={"position": position})


def move_question(question: Question, direction: int) -> None:
    """Swap a question with the one above (direction -1) or below (+1)."""
    questionnaire = question.questionnaire
    check_editable(questionnaire)
    questions = list(questionnaire.questions)
    index = questions.index(question)
    other_index = index + (1 if direction > 0 else -1)
    if not 0 <= other_index < len(questions):
        return
    other = questions[other_index]
    first, second = question.position, other.position
    question.position = -1  # the unique (questionnaire, position) allows no transient duplicate
    db.session.flush()
    other.position = first
    db.session.flush()
    question.position = second
    db.session.flush()
    questionnaire.questions.sort(key=lambda q: q.position)
    audit.record(questionnaire, "question_moved", details={"from": first, "to": second})


def new_version(questionnaire: Questionnaire) -> Questionnaire:
    """Copy a questionnaire (typically one that has answers) into its next version.

    The old version is archived; surveys of it that nobody has answered yet use the new one.
    The questionnaire and its surveys are locked first (_lock_with_its_surveys; a positioning questionnaire's
    programme before them, as a realignment does): a second click waits, then finds it archived; an answer
    being written is seen, and its survey stays with this version.
    """
    _lock_with_its_surveys(questionnaire)
    if questionnaire.archived:
        raise ServiceError(_("Cette version est archivée : partez de la version en cours."))
    lineage_id = questionnaire.lineage_id or questionnaire.id
    latest = db.session.scalar(db.select(func.max(Questionnaire.version)).where(
        Questionnaire.lineage_id == lineage_id)) or questionnaire.version
    copy = Questionnaire(
        title=questionnaire.title, kind=questionnaire.kind, anonymous=questionnaire.anonymous,
        introduction=questionnaire.introduction, follow_up_days=questionnaire.follow_up_days,
        origin=questionnaire.origin, programme_id=questionnaire.programme_id, lineage_id=lineage_id,
        version=latest + 1,
        questions=[Question(position=q.position, type=q.type, text=q.text, required=q.required,
                            help_text=q.help_text, options=list(q.options or []), objective_id=q.objective_id)
                   for q in questionnaire.questions])
    db.session.add(copy)
    questionnaire.archived = True
    db.session.flush()
    unanswered = db.session.scalars(db.select(Survey).where(
        Survey.questionnaire_id == questionnaire.id, ~answered())).all()
    taken = set(db.session.scalars(db.select(Survey.session_id).where(Survey.questionnaire_id == copy.id)))
    moved = 0
    for survey in unanswered:
        if survey.session_id not in taken:
            survey.questionnaire = copy
            moved += 1
    audit.record(questionnaire, "replaced", to_state="archived", details={"new_version_id": copy.id})
    audit.record(copy, "created", details={"from_version_id": questionnaire.id, "surveys_moved": moved})
    return copy


def set_archived(questionnaire: Questionnaire, archived: bool) -> None:
    """Archive a questionnaire (no longer offered to sessions; those giving it keep it) or restore it, if
    restore_refusal() allows it (ServiceError otherwise).

    Under the locks every change of a questionnaire takes (_lock_with_its_surveys), its state read again: a
    session being given it (attach holds a key-share lock on its row) is waited for, and one given it after is
    refused; a new version under way is waited for, then seen (the questionnaire is archived already)."""
    _lock_with_its_surveys(questionnaire)
    if questionnaire.archived == archived:  # asked twice (a double click): nothing to change or record
        return
    if not archived:
        refusal = restore_refusal(questionnaire)
        if refusal:
            raise ServiceError(refusal)
    if not archived and questionnaire.origin == ORIGIN_POSITIONING and questionnaire.programme_id is not None:
        _make_live(questionnaire)  # as ensure_positioning would: the version left live asks about other objectives
    else:
        questionnaire.archived = archived
    audit.record(questionnaire, "archived" if archived else "restored")


def restore_refusal(questionnaire: Questionnaire) -> str | None:
    """Why this archived version may not be offered to sessions again (French), or None when it may.

    One version of a questionnaire is live at a time, the others archived: the latest one (new_version makes it
    from the live one and archives that); for a programme's positioning questionnaire, the newest version asking
    about the programme's current objectives (ensure_positioning makes it live when a session is given it, and
    so does set_archived: the version it replaces asks about other objectives). Restoring another version would
    leave two live ones, or offer sessions a wording (objectives) that a newer version replaced. Read under
    set_archived's locks: the programme's row for a positioning questionnaire (every change of its versions takes
    it first), this version's row otherwise (a version is made only from the live one, and this one is not)."""
    lineage_id = questionnaire.lineage_id or questionnaire.id
    positioning = questionnaire.origin == ORIGIN_POSITIONING and questionnaire.programme_id is not None
    versions = db.session.scalars(
        db.select(Questionnaire).where(Questionnaire.lineage_id == lineage_id)
        .options(selectinload(Questionnaire.questions))
        .order_by(Questionnaire.version.desc(), Questionnaire.id.desc())).all() or [questionnaire]
    newest = versions[0]
    if positioning:
        wanted = [objective_question(text) for text in db.session.scalars(
            db.select(ProgrammeObjective.text).where(ProgrammeObjective.programme_id == questionnaire.programme_id)
            .order_by(ProgrammeObjective.position))]
        if objectives_asked(questionnaire) != wanted:
            return _("Cette version n'interroge pas sur les objectifs actuels de la formation : le positionnement "
                     "proposé aux sessions suit le catalogue (la version qui convient est choisie, ou créée, quand "
                     "vous le donnez à une session).")
        newest = next(version for version in versions if objectives_asked(version) == wanted)
    if newest.id != questionnaire.id:
        return _("Une version plus récente de ce questionnaire existe (version %(n)d) : seule celle-là peut être "
                 "proposée aux sessions. Pour reprendre les questions de celle-ci, partez de la version %(n)d "
                 "(proposez-la de nouveau si elle est archivée) : créez-en une nouvelle version et modifiez-la.",
                 n=newest.version)
    live = next((version for version in versions if not version.archived and version.id != questionnaire.id), None)
    if live is not None and not positioning:
        return _("La version %(n)d de ce questionnaire est déjà proposée aux sessions : une seule version l'est à "
                 "la fois.", n=live.version)
    return None


def questionnaire_list() -> list[tuple[Questionnaire, int]]:
    """Every questionnaire with its programme and its number of questions, for the list page (one query)."""
    questions = (db.select(func.count(Question.id)).where(Question.questionnaire_id == Questionnaire.id)
                 .correlate(Questionnaire).scalar_subquery())
    return [tuple(row) for row in db.session.execute(
        db.select(Questionnaire, questions).options(joinedload(Questionnaire.programme)).order_by(
            Questionnaire.archived, Questionnaire.kind, Questionnaire.title, Questionnaire.version.desc()))]


def live_questionnaires() -> list[Questionnaire]:
    return list(db.session.scalars(
        db.select(Questionnaire).where(Questionnaire.archived.is_(False))
        .order_by(Questionnaire.kind, Questionnaire.title)))


# --- the default questionnaires, in French --------------------------------------------------------

def _rating(text, labels, required=True, help_text="", objective_id=None) -> QuestionData:
    return QuestionData(QuestionType.RATING, text, required, help_text, list(labels), objective_id)


SATISFACTION_TITLE = "Questionnaire de satisfaction (à chaud)"
SATISFACTION_INTRODUCTION = (
    "Ce questionnaire individuel recueille votre ressenti sur la formation et ce qu'elle vous a apporté. "
    "Vos réponses sont anonymes : l'équipe sait seulement que vous avez répondu, pas ce que vous avez répondu.")


def default_satisfaction_questions() -> list[QuestionData]:
    """What the reference course asks: how the course felt and what it brought (see its evaluation)."""
    return [
        _rating("Globalement, comment avez-vous vécu cette formation ?",
                ["Très mal", "Plutôt mal", "Moyennement", "Bien", "Très bien"]),
        QuestionData(QuestionType.FREE_TEXT, "Quel est votre ressenti sur ces journées ? "
                     "Qu'est-ce qui vous a marqué·e ?", required=False),
        QuestionData(QuestionType.FREE_TEXT, "Qu'est-ce que cette formation vous a apporté, "
                     "pour vous et pour votre pratique professionnelle ?", required=False),
        QuestionData(QuestionType.SINGLE_CHOICE, "Les objectifs de la formation ont-ils été atteints ?",
                     options=["Oui, tous", "En grande partie", "En partie", "Non"]),
        QuestionData(QuestionType.SINGLE_CHOICE, "Le rythme de la formation était…",
                     options=["Trop lent", "Adapté", "Trop rapide"]),
        _rating("Les formatrices et formateurs ont-ils été clairs ?",
                ["Pas du tout clairs", "Peu clairs", "Assez clairs", "Clairs", "Très clairs"]),
        _rating("L'organisation pratique (accueil, salle, horaires, documents) vous a-t-elle convenu ?",
                ["Pas du tout", "Peu", "Moyennement", "Bien", "Très bien"]),
        QuestionData(QuestionType.MULTIPLE_CHOICE, "Qu'avez-vous le plus apprécié ?", required=False,
                     help_text="Plusieurs réponses possibles.",
                     options=["Les apports théoriques", "Les jeux de rôle et mises en situation",
                              "Les échanges entre participant·es", "Les outils d'animation",
                              "Les ressources documentaires"]),
        QuestionData(QuestionType.YES_NO, "Recommanderiez-vous cette formation à un·e collègue ?"),
        QuestionData(QuestionType.FREE_TEXT, "Avez-vous des suggestions pour améliorer cette formation ?",
                     required=False),
    ]


def ensure_default_satisfaction() -> Questionnaire:
    """The default satisfaction questionnaire (its live version), created on first use."""
    existing = db.session.scalar(db.select(Questionnaire).where(
        Questionnaire.origin == ORIGIN_SATISFACTION, Questionnaire.archived.is_(False))
        .order_by(Questionnaire.version.desc()).limit(1))
    if existing is not None:
        return existing
    return create_questionnaire(
        QuestionnaireData(title=SATISFACTION_TITLE, kind=QuestionnaireKind.SATISFACTION, anonymous=True,
                          introduction=SATISFACTION_INTRODUCTION),
        default_satisfaction_questions(), origin=ORIGIN_SATISFACTION)


POSITIONING_LABELS = ["Je découvre", "J'en ai une idée", "Je m'y essaie", "Je suis à l'aise", "Je maîtrise"]
POSITIONING_TITLE = "Positionnement avant la formation"
POSITIONING_INTRODUCTION = (
    "Avant la formation, situez-vous sur chacun de ses objectifs : vos réponses aident "
    "les formatrices et formateurs à s'adapter au groupe. Il n'y a pas de bonne réponse.")
OBJECTIVE_QUESTION = "Où en êtes-vous aujourd'hui sur cet objectif : « {} » ?"
_OBJECTIVE_PREFIX, _OBJECTIVE_SUFFIX = OBJECTIVE_QUESTION.split("{}")


def objective_question(text: str) -> str:
    return OBJECTIVE_QUESTION.format(text)


def default_positioning_questions(objectives) -> list[QuestionData]:
    """One rating per objective (`objectives`: anything with an id and a text, e.g. session.course.objectives),
    then what the trainee expects and needs."""
    questions = [_rating(objective_question(objective.text), POSITIONING_LABELS, objective_id=objective.id)
                 for objective in objectives]
    questions += [
        QuestionData(QuestionType.FREE_TEXT, "Qu'attendez-vous de cette formation ?", required=False),
        QuestionData(QuestionType.FREE_TEXT, "Avez-vous une situation concrète de votre pratique que vous "
                     "aimeriez travailler pendant la formation ?", required=False),
        QuestionData(QuestionType.YES_NO, ACCESSIBILITY_QUESTION, required=False, help_text=ACCESSIBILITY_HELP,
                     options=[ACCESSIBILITY_FLAG]),
    ]
    return questions


# The question asking whether a trainee needs an adjustment. Its answer is health data: a "yes" is told to the
# accessibility contact (tell_accessibility_contact), and trainers do not see its answers (survey_results).
# It is recognised by a flag among its options (a yes/no question has no choices of its own; the flag is kept by
# its copies and by its edits, see _clean_question and update_question), or, made before the flag, by its wording.
ACCESSIBILITY_FLAG = "#besoin-d-amenagement"
ACCESSIBILITY_QUESTION = "Avez-vous besoin d'un aménagement (handicap, accessibilité, contrainte particulière) ?"
ACCESSIBILITY_HELP = "Si oui, le ou la référent·e handicap vous contactera avant la formation."


def is_accessibility_question(question: Question) -> bool:
    """Whether `question` asks whether the trainee needs an adjustment (see ACCESSIBILITY_FLAG)."""
    return question.type == QuestionType.YES_NO and (
        ACCESSIBILITY_FLAG in (question.options or []) or " ".join(question.text.split()) == ACCESSIBILITY_QUESTION)


_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def tell_accessibility_contact(survey: Survey, trainee: Trainee) -> None:
    """E-mail the accessibility contact (sent once the transaction commits) that `trainee` answered that they need an
    adjustment: the session and the trainee's name and address, none of their other answers. The contact is the
    programme's, else the organisation's (the convocation gives the same); the e-mail addresses written in it receive
    the message, or the office without any. Tagged with the enrolment, as the office's notifications are: the
    trainee's erasure deletes it (services/personal_data)."""
    session = survey.session
    organisation = Organisation.get()
    contact = (session.programme.accessibility_contact or organisation.accessibility_contact).strip()
    addresses = list(dict.fromkeys(_ADDRESS.findall(contact)))
    enrolment = enrolment_for(survey, trainee)
    lines = [
        _("Un·e stagiaire indique avoir besoin d'un aménagement (handicap, accessibilité, contrainte particulière), "
          "en répondant au questionnaire « %(questionnaire)s ». Le questionnaire lui a annoncé que le ou la "
          "référent·e handicap la ou le contacterait avant la formation.", questionnaire=survey.questionnaire.title),
        "",
        _("Formation : %(title)s", title=session.title),
        _("Session : %(start)s → %(end)s", start=datetime_fr(session.start_at), end=datetime_fr(session.end_at)),
        _("Stagiaire : %(name)s <%(email)s>", name=trainee.formal_name, email=trainee.email),
    ]
    if trainee.phone:
        lines.append(_("Téléphone : %(phone)s", phone=trainee.phone))
    if not addresses:
        lines += ["", _("Aucune adresse e-mail n'est indiquée pour le ou la référent·e handicap (fiche de la "
                        "formation ou de l'organisme) : merci de transmettre ce message.")
                  + (" " + _("Contact indiqué : %(contact)s", contact=contact) if contact else "")]
    lines += ["", public_url("enrolments.enrolment_detail", enrolment_id=enrolment.id)]
    mail.queue(addresses or current_app.config["MAIL_OFFICE"],
               _("Besoin d'aménagement : %(name)s — %(title)s", name=trainee.full_name, title=session.title),
               "\n".join(lines) + "\n", tag=f"office:accessibility:{enrolment.id}")


def _asks_about_an_objective(question: Question) -> bool:
    """A positioning question about an objective: it points at one, or did (the objective has been removed
    from the catalogue since, its pointer set to NULL) and still reads as built."""
    return question.objective_id is not None or (
        question.type == QuestionType.RATING and question.text.startswith(_OBJECTIVE_PREFIX)
        and question.text.endswith(_OBJECTIVE_SUFFIX))


def objectives_asked(questionnaire: Questionnaire) -> list[str]:
    """The texts of a positioning questionnaire's questions about objectives, in order."""
    return [q.text for q in questionnaire.questions if _asks_about_an_objective(q)]


def objective_of_question(text: str) -> str:
    """The objective a positioning question asks about, as written in it (objective_question's reverse)."""
    if text.startswith(_OBJECTIVE_PREFIX) and text.endswith(_OBJECTIVE_SUFFIX):
        return text[len(_OBJECTIVE_PREFIX):len(text) - len(_OBJECTIVE_SUFFIX)]
    return text


def ensure_positioning(session: TrainingSession) -> Questionnaire:
    """The positioning questionnaire for this session: one rating per objective the session teaches
    (session.course: the catalogue's current objectives, or those an edit left it with once started).

    All the versions of a programme's positioning questionnaire form one lineage, so that its results per
    programme gather every session. The newest version asking exactly about these objectives (same texts,
    same order) is reused, archived or not; otherwise a new version is made from the latest one, its
    objective questions rebuilt and its other questions kept. No question is ever changed: answers keep
    the questions they answered. The version used for a session that follows the catalogue becomes the
    live one (offered on the attach form; the others are archived); one made for a session that keeps
    former objectives is archived at once (the catalogue no longer teaches them).
    """
    # One at a time per programme: two versions made together would take the same number.
    lock_programme(session.programme_id)
    course = session.course
    if not course.objectives:
        raise ServiceError(_("Cette formation n'a pas d'objectifs : le positionnement se construit à partir "
                             "de ses objectifs."))
    wanted = [objective_question(objective.text) for objective in course.objectives]
    versions = list(db.session.scalars(
        db.select(Questionnaire).where(Questionnaire.origin == ORIGIN_POSITIONING,
                                       Questionnaire.programme_id == session.programme_id)
        .options(selectinload(Questionnaire.questions))
        .order_by(Questionnaire.version.desc(), Questionnaire.id.desc())))
    for version in versions:
        if objectives_asked(version) == wanted:
            if version.archived and not course.kept:  # the catalogue teaches these objectives again
                _make_live(version)
                audit.record(version, "restored", details={"for_session_id": session.id})
            return version
    return _new_positioning_version(session, course.objectives, versions[0] if versions else None)


def _make_live(questionnaire: Questionnaire) -> None:
    """The live version of its lineage: the others are archived."""
    db.session.execute(db.update(Questionnaire).where(
        Questionnaire.lineage_id == questionnaire.lineage_id, Questionnaire.id != questionnaire.id,
        Questionnaire.archived.is_(False)).values(archived=True))
    questionnaire.archived = False


def _new_positioning_version(session: TrainingSession, objectives, latest: Questionnaire | None) -> Questionnaire:
    existing = set(db.session.scalars(db.select(ProgrammeObjective.id).where(
        ProgrammeObjective.id.in_([objective.id for objective in objectives]))))
    # An objective removed from the catalogue since the session started has no row left to point at.
    objectives = [CourseObjective(o.id if o.id in existing else None, o.text) for o in objectives]
    live = not session.course.kept
    if latest is None:
        questionnaire = create_questionnaire(
            QuestionnaireData(title=POSITIONING_TITLE, kind=QuestionnaireKind.POSITIONING, anonymous=False,
                              introduction=POSITIONING_INTRODUCTION),
            default_positioning_questions(objectives), origin=ORIGIN_POSITIONING, programme=session.programme)
        questionnaire.archived = not live
        return questionnaire
    lineage_id = latest.lineage_id or latest.id
    number = db.session.scalar(db.select(func.max(Questionnaire.version)).where(
        Questionnaire.lineage_id == lineage_id)) or latest.version
    questions = default_positioning_questions(objectives)[:len(objectives)] + [
        QuestionData(q.type, q.text, q.required, q.help_text, list(q.options or []))
        for q in latest.questions if not _asks_about_an_objective(q)]
    copy = Questionnaire(
        title=latest.title, kind=latest.kind, anonymous=latest.anonymous, introduction=latest.introduction,
        follow_up_days=latest.follow_up_days, origin=ORIGIN_POSITIONING, programme_id=session.programme_id,
        lineage_id=lineage_id, version=number + 1, archived=not live,
        questions=[_new_question(question, position) for position, question in enumerate(questions, start=1)])
    db.session.add(copy)
    db.session.flush()
    if live:
        _make_live(copy)
    audit.record(copy, "created", details={"from_version_id": latest.id, "for_session_id": session.id})
    return copy


def positioning_refusal(session: TrainingSession) -> str | None:
    """Why the session gets no positioning questionnaire (French), or None when it may: trainees position
    themselves before the course, so neither a cancelled session nor one that is over gets one."""
    from training_app.services.sessions import is_over  # services/sessions imports this module
    if session.status == SessionStatus.CANCELLED:
        return _("Cette session est annulée : elle n'a pas de questionnaire de positionnement.")
    if is_over(session):
        return _("Cette session est terminée : le positionnement se fait avant la formation.")
    return None


def attach_positioning(session: TrainingSession, opens_at: datetime | None = None,
                       closes_at: datetime | None = None) -> Survey:
    """Give the session its positioning questionnaire (ensure_positioning), even an archived version of it:
    that is the one asking about the objectives this session keeps. Refused as positioning_refusal says.
    Without dates, the default window (the three weeks before the start); once the session has started, from now
    to its end (the default one is over, and attach refuses a window already over).

    The session's row is locked before the programme's (ensure_positioning), the order every other path takes
    (a programme's edit updates its started sessions, then the programme; a session moved to another programme
    realigns its positioning under the session's lock): taken the other way round, the two could deadlock."""
    refusal = positioning_refusal(lock_session(session.id))  # a cancellation committed meanwhile is seen
    if refusal:
        raise ServiceError(refusal)
    questionnaire = ensure_positioning(session)
    now = local_now()
    if opens_at is None and closes_at is None and default_window(session, questionnaire)[1] <= now:
        # The session has started (not ended): its default window, before the start, is over; its trainees may
        # still position themselves, until its end.
        opens_at, closes_at = now.replace(second=0, microsecond=0), session.end_at
    return attach(session, questionnaire, opens_at, closes_at, archived_ok=True)


def realign_positioning(programme: Programme) -> list[Survey]:
    """After the programme's objectives changed: each positioning survey that nobody has answered yet, in
    a session of it that follows the catalogue, moves to the version asking about the current objectives
    (its dates stay). Answered ones keep the version answered; sessions that keep the objectives they were
    taught are not concerned. Return the answered ones left behind that are not closed yet (their trainees who
    have not answered are still asked about the former objectives), for the office to look at."""
    return _realign(programme.id,
                    (TrainingSession.programme_id == programme.id) & (Questionnaire.programme_id == programme.id))[1]


def realign_session_positioning(session: TrainingSession) -> list[Survey]:
    """After a session moved to another programme: its positioning survey, if nobody has answered it yet,
    moves to the new programme's version asking about its objectives. Return it if answered and left asking
    about other objectives than the new programme's while not closed yet (as realign_positioning does), for the
    office to be told (programmes.left_behind_message)."""
    return _realign(session.programme_id, Survey.session_id == session.id)[1]


def _realign(programme_id: int, condition) -> tuple[int, list[Survey]]:
    """Move the unanswered positioning surveys matching `condition`, in sessions of the programme `programme_id`
    that follow the catalogue, to ensure_positioning()'s version; a session whose course has no objectives keeps
    its survey as it is. Return how many moved, and the answered surveys left asking about other objectives
    than their session's (not only in another order) while still open or upcoming.

    The programme's row is locked first (lock_programme: the order new_version and the other changes of its
    questionnaires take), then the surveys' rows, then their answers counted: an answer being written (`submit`
    holds a shared lock on its survey's row) is waited for, and seen; an answer coming after is refused."""
    lock_programme(programme_id)
    surveys = db.session.scalars(
        db.select(Survey).join(Survey.session).join(Survey.questionnaire)
        .where(condition, TrainingSession.taught_title.is_(None), Questionnaire.origin == ORIGIN_POSITIONING)
        .order_by(Survey.id).with_for_update(of=Survey)).all()
    with_answers = set(db.session.scalars(db.select(Survey.id).where(
        Survey.id.in_([survey.id for survey in surveys]), answered()))) if surveys else set()
    moved, left = 0, []
    by_programme: dict[int, Questionnaire] = {}  # these sessions follow the catalogue: one version per programme
    now = local_now()
    for survey in surveys:
        if survey.id in with_answers:
            taught = {objective_question(objective.text) for objective in survey.session.course.objectives}
            if set(objectives_asked(survey.questionnaire)) != taught and window_state(survey, now) != "closed":
                left.append(survey)  # other objectives than the session's, not only in another order
            continue
        if not survey.session.course.objectives:
            continue
        programme_id = survey.session.programme_id
        if programme_id not in by_programme:
            by_programme[programme_id] = ensure_positioning(survey.session)
        questionnaire = by_programme[programme_id]
        if questionnaire.id != survey.questionnaire_id:
            audit.record(survey, "questionnaire_changed", details={
                "from_questionnaire_id": survey.questionnaire_id, "to_questionnaire_id": questionnaire.id})
            survey.questionnaire = questionnaire
            moved += 1
    return moved, left


# --- surveys: a questionnaire given in a session --------------------------------------------------

def default_window(session: TrainingSession, questionnaire: Questionnaire) -> tuple[datetime, datetime]:
    """When a questionnaire of this kind opens and closes for this session, by default.

    Positioning: the three weeks before the start. Satisfaction: from the start of the last
    half-day to two weeks after the end. Follow-up: N days after the end, for four weeks.
    """
    if questionnaire.kind == QuestionnaireKind.POSITIONING:
        return session.start_at - timedelta(days=21), session.start_at
    if questionnaire.kind == QuestionnaireKind.FOLLOW_UP:
        days = questionnaire.follow_up_days if questionnaire.follow_up_days is not None else DEFAULT_FOLLOW_UP_DAYS
        opens = datetime.combine(session.end_at.date() + timedelta(days=days), time(9, 0))
        return opens, opens + timedelta(days=28)
    last_slot = max(session.slots, key=lambda slot: slot.starts_at, default=None)
    opens = last_slot.starts_at if last_slot else session.start_at
    closes = datetime.combine(session.end_at.date() + timedelta(days=14), time(23, 59))
    return opens, closes


@dataclass
class WindowBefore:
    """A survey's window before its session's dates change, and where it stood against them."""
    survey: Survey
    was_default: bool
    start_at: datetime
    end_at: datetime


def windows_before(session: TrainingSession) -> list[WindowBefore]:
    """Read before the session's dates or half-days change (see follow_session_dates)."""
    return [WindowBefore(survey, (survey.opens_at, survey.closes_at) == default_window(session, survey.questionnaire),
                         session.start_at, session.end_at)
            for survey in db.session.scalars(db.select(Survey).where(Survey.session_id == session.id)
                                             .order_by(Survey.id))]


def follow_session_dates(session: TrainingSession, before: list[WindowBefore]) -> list[Survey]:
    """The session's dates moved: each questionnaire nobody has answered moves with them. One with the default
    window gets the default for the new dates; one with a window chosen by hand keeps its place against the
    course (moved as much as the start, for a positioning, or as the end, for the others). Those with answers
    stay as they are: returned when their course moved, for the office to look at."""
    answered_ids = set(db.session.scalars(db.select(Survey.id).where(
        Survey.id.in_([w.survey.id for w in before]), answered()))) if before else set()
    left = []
    for window in before:
        survey = window.survey
        anchor_moved = (session.start_at - window.start_at if survey.questionnaire.kind == QuestionnaireKind.POSITIONING
                        else session.end_at - window.end_at)
        if survey.id in answered_ids:
            if anchor_moved:
                left.append(survey)
            continue
        if window.was_default:
            opens_at, closes_at = default_window(session, survey.questionnaire)
        else:
            opens_at, closes_at = survey.opens_at + anchor_moved, survey.closes_at + anchor_moved
        if (opens_at, closes_at) != (survey.opens_at, survey.closes_at):
            audit.record(survey, "window_followed_session", details={
                "before": {"opens_at": survey.opens_at.isoformat(), "closes_at": survey.closes_at.isoformat()},
                "after": {"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}})
            survey.opens_at, survey.closes_at = opens_at, closes_at
    return left


def _check_window(opens_at: datetime, closes_at: datetime) -> None:
    if closes_at <= opens_at:
        raise ServiceError(_("La fermeture doit être postérieure à l'ouverture."), "closes_date")


def window_warning(survey: Survey) -> str:
    """What is wrong or unusual in a survey's window for its kind ("" when nothing), said once it is saved: a
    positioning (answered before the course) opening once it is over or still open once it has begun; a
    satisfaction or follow-up questionnaire (about the course) closing before it starts, a satisfaction one
    opening before it begins, a follow-up before it ends. Not refused: closing a questionnaire now, whatever its
    session's dates, is how the office ends one that has answers (detach)."""
    session, kind = survey.session, survey.questionnaire.kind
    if kind == QuestionnaireKind.POSITIONING and survey.opens_at >= session.end_at:
        return _("Attention : ce questionnaire de positionnement ouvre après la fin de la session (%(end)s), alors "
                 "qu'il se remplit avant la formation : vérifiez ses dates.", end=datetime_fr(session.end_at))
    if kind != QuestionnaireKind.POSITIONING and survey.closes_at <= session.start_at:
        return _("Attention : ce questionnaire ferme avant le début de la session (%(start)s) : les stagiaires ne "
                 "pourront pas y répondre sur la formation suivie. Vérifiez ses dates.",
                 start=datetime_fr(session.start_at))
    if kind == QuestionnaireKind.POSITIONING and survey.closes_at > session.start_at:
        return _("Attention : ce questionnaire de positionnement reste ouvert après le début de la session "
                 "(%(start)s) ; il se remplit d'ordinaire avant.", start=datetime_fr(session.start_at))
    if kind == QuestionnaireKind.SATISFACTION and survey.opens_at < session.start_at:
        return _("Attention : ce questionnaire de satisfaction ouvre avant le début de la session (%(start)s) : "
                 "les stagiaires pourraient y répondre avant d'avoir suivi la formation.",
                 start=datetime_fr(session.start_at))
    if kind == QuestionnaireKind.FOLLOW_UP and survey.opens_at < session.end_at:
        return _("Attention : ce questionnaire de suivi ouvre avant la fin de la session (%(end)s) ; il se remplit "
                 "d'ordinaire quelques semaines après.", end=datetime_fr(session.end_at))
    return ""


def attach(session: TrainingSession, questionnaire: Questionnaire, opens_at: datetime | None = None,
           closes_at: datetime | None = None, *, archived_ok: bool = False) -> Survey:
    """Give a questionnaire to the trainees of a session (default dates by kind).

    One version of a questionnaire per session: with two, a trainee would answer it twice (the version
    they answered stays, see new_version) and the programme's results would count them twice.
    An archived version is refused unless `archived_ok` (attach_positioning: the version asking about
    the objectives a session keeps may be an archived one).
    """
    lock_session(session.id)  # a second click waits, then finds the questionnaire given
    if session.status == SessionStatus.CANCELLED:  # read under the lock: a cancellation may just have committed
        raise ServiceError(_("Cette session est annulée : elle n'a pas de questionnaire."), "questionnaire_id")
    # The version's row is read again under a key-share lock (the one the new survey's foreign key takes anyway):
    # a new version being made of it (new_version locks it for update) is waited for, then seen archived.
    archived = db.session.scalar(db.select(Questionnaire.archived).where(Questionnaire.id == questionnaire.id)
                                 .with_for_update(read=True, key_share=True))
    if archived and not archived_ok:
        raise ServiceError(_("Cette version du questionnaire est archivée."), "questionnaire_id")
    if not questionnaire.questions:
        raise ServiceError(_("Ce questionnaire n'a aucune question."), "questionnaire_id")
    lineage_id = questionnaire.lineage_id or questionnaire.id
    taken = db.session.execute(
        db.select(Questionnaire.id, Questionnaire.version).join(Survey, Survey.questionnaire_id == Questionnaire.id)
        .where(Survey.session_id == session.id,
               func.coalesce(Questionnaire.lineage_id, Questionnaire.id) == lineage_id).limit(1)).first()
    if taken is not None and taken.id == questionnaire.id:
        raise ServiceError(_("Ce questionnaire est déjà proposé dans cette session."), "questionnaire_id")
    if taken is not None:
        raise ServiceError(_("Ce questionnaire est déjà proposé dans cette session, dans sa version %(version)d : "
                             "les stagiaires qui y ont répondu répondraient une seconde fois.",
                             version=taken.version), "questionnaire_id")
    default_opens, default_closes = default_window(session, questionnaire)
    opens_at, closes_at = opens_at or default_opens, closes_at or default_closes
    _check_window(opens_at, closes_at)
    if closes_at <= local_now():
        raise ServiceError(_("Ce questionnaire serait déjà fermé (fermeture le %(when)s) : personne ne pourrait y "
                             "répondre. Choisissez une date de fermeture à venir.", when=datetime_fr(closes_at)),
                           "closes_date")
    survey = Survey(session=session, questionnaire=questionnaire, opens_at=opens_at, closes_at=closes_at)
    db.session.add(survey)
    audit.record(survey, "attached", details={"questionnaire_id": questionnaire.id,
                                              "opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()})
    return survey


def update_window(survey: Survey, opens_at: datetime, closes_at: datetime) -> None:
    """Change when a survey opens and closes.

    A closed anonymous survey whose answers are visible (enough responses) is not reopened: the
    answers given after reopening would be told apart by comparing the results, and so would be
    linked to the trainees who answered late. With fewer responses nothing was shown, so it may be
    reopened: its answers already released are released again with the late ones, all together
    (see _release), so that the first ones are not left as a small batch of their own.
    """
    _check_window(opens_at, closes_at)
    now = local_now()
    if (survey.questionnaire.anonymous and window_state(survey, now) == "closed" and not now > closes_at
            and response_count(survey) >= MIN_ANONYMOUS_RESPONSES):
        raise ServiceError(_("Ce questionnaire anonyme est clos et ses résultats sont visibles : le rouvrir "
                             "permettrait de relier les réponses tardives à leurs auteurs, par comparaison. Pour "
                             "interroger à nouveau les stagiaires, proposez une nouvelle version du "
                             "questionnaire."), "closes_date")
    before = {"opens_at": survey.opens_at.isoformat(), "closes_at": survey.closes_at.isoformat()}
    survey.opens_at, survey.closes_at = opens_at, closes_at
    audit.record(survey, "window_changed", details={
        "before": before, "after": {"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}})


def detach(survey: Survey) -> None:
    """Remove a questionnaire from its session while nobody has answered it. Its row is locked first (FOR UPDATE):
    an answer being written (submit holds a shared lock on it) is waited for, then counted and the removal refused;
    an answer coming after finds the questionnaire gone."""
    try:
        db.session.refresh(survey, with_for_update=True)
    except InvalidRequestError:  # removed meanwhile (a second click)
        raise ServiceError(_("Ce questionnaire a déjà été retiré de la session.")) from None
    if response_count(survey):
        raise ServiceError(_("Des stagiaires ont déjà répondu : ce questionnaire ne peut plus être retiré de la "
                             "session. Vous pouvez avancer sa date de fermeture."))
    audit.record(survey, "detached", details={"questionnaire_id": survey.questionnaire_id})
    db.session.delete(survey)


def window_state(survey: Survey, now: datetime | None = None) -> str:
    """"upcoming", "open" or "closed", in local time."""
    now = now or local_now()
    if now < survey.opens_at:
        return "upcoming"
    if now > survey.closes_at:
        return "closed"
    return "open"


def response_count(survey: Survey) -> int:
    """How many answered: the participations, or the answers kept if more (anonymous answers of people whose
    data was erased since: see answered())."""
    def count(model) -> int:
        return db.session.scalar(db.select(func.count(model.id)).where(model.survey_id == survey.id)) or 0
    return max(count(SurveyParticipation), count(SurveyResponse) + count(SurveyPendingAnswers))


def eligible_enrolments(session_id: int):
    return db.select(Enrolment).where(Enrolment.session_id == session_id, Enrolment.status.in_(ELIGIBLE_STATUSES))


def invited_trainees(session_ids: set[int]) -> int:
    """Trainees asked to answer these sessions' surveys: their eligible enrolments, each (trainee, session) once
    (one who withdrew and was enrolled again holds two eligible enrolments, and is one person; two questionnaires
    of a session do not make two people). The surveys' pages and their results count alike."""
    if not session_ids:
        return 0
    pairs = (db.select(Enrolment.session_id, Enrolment.trainee_id)
             .where(Enrolment.session_id.in_(session_ids), Enrolment.status.in_(ELIGIBLE_STATUSES)).distinct())
    return db.session.scalar(db.select(func.count()).select_from(pairs.subquery())) or 0


def is_invited(participation=SurveyParticipation, survey=Survey):
    """SQL condition: the participation's trainee is still invited to the survey (an eligible enrolment
    in its session); `participation` and `survey` are the (possibly aliased) entities of the query."""
    return db.select(Enrolment.id).where(
        Enrolment.session_id == survey.session_id, Enrolment.trainee_id == participation.trainee_id,
        Enrolment.status.in_(ELIGIBLE_STATUSES)).exists()


def responded_per_survey(survey_ids: list[int]) -> dict[int, int]:
    """Survey id -> number of invited trainees who answered it (one query). Someone who answered and then
    cancelled is no longer counted, as they are no longer among the invited (nor in non_respondents)."""
    if not survey_ids:
        return {}
    return dict(db.session.execute(
        db.select(SurveyParticipation.survey_id, func.count(SurveyParticipation.id))
        .join(Survey, Survey.id == SurveyParticipation.survey_id)
        .where(SurveyParticipation.survey_id.in_(survey_ids), is_invited())
        .group_by(SurveyParticipation.survey_id)).all())


def surveys_of_session(session: TrainingSession) -> list[dict]:
    """Each survey of the session with its response count (three queries whatever the number)."""
    surveys = db.session.scalars(
        db.select(Survey).where(Survey.session_id == session.id)
        .options(joinedload(Survey.questionnaire)).order_by(Survey.opens_at, Survey.id)).all()
    counts = responded_per_survey([s.id for s in surveys])
    invited = invited_trainees({session.id})
    now = local_now()
    return [{"survey": s, "responded": counts.get(s.id, 0), "invited": invited, "state": window_state(s, now)}
            for s in surveys]


# --- answering ------------------------------------------------------------------------------------

class InvalidAnswers(ServiceError):
    """Some answers are missing or wrong: `errors` maps question ids to a French message."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(_("Certaines réponses manquent ou ne conviennent pas : voyez les messages sous les "
                           "questions."))
        self.errors = errors


class QuestionnaireChanged(ServiceError):
    """The survey moved to another version of its questionnaire while the trainee was answering."""

    def __init__(self):
        super().__init__(_("L'organisme vient de mettre à jour ce questionnaire : les questions ont changé. "
                           "Merci de répondre aux questions ci-dessous."))


def enrolment_for(survey: Survey, trainee: Trainee) -> Enrolment | None:
    """The trainee's enrolment that entitles them to answer, if any."""
    return db.session.scalar(eligible_enrolments(survey.session_id).where(Enrolment.trainee_id == trainee.id)
                             .limit(1))


def has_answered(survey: Survey, trainee: Trainee) -> bool:
    return db.session.scalar(db.select(SurveyParticipation.id).where(
        SurveyParticipation.survey_id == survey.id, SurveyParticipation.trainee_id == trainee.id)) is not None


def check_can_answer(survey: Survey, trainee: Trainee) -> None:
    if enrolment_for(survey, trainee) is None:
        raise ServiceError(_("Ce questionnaire ne vous est pas destiné."))
    if survey.session.status == SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée : ce questionnaire n'est plus proposé."))
    if has_answered(survey, trainee):
        raise ServiceError(_("Vous avez déjà répondu à ce questionnaire : on ne répond qu'une fois. Merci !"))
    state = window_state(survey)
    if state == "upcoming":
        raise ServiceError(_("Ce questionnaire n'est pas encore ouvert : il ouvrira le %(when)s.",
                             when=datetime_fr(survey.opens_at)))
    if state == "closed":
        raise ServiceError(_("Ce questionnaire est fermé depuis le %(when)s : il n'est plus possible d'y répondre.",
                             when=datetime_fr(survey.closes_at)))


def _is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple)):
        return not [v for v in value if str(v).strip()]
    return not str(value).strip()


def _parse_answer(question: Question, value) -> dict:
    """The answer columns for `value`, or raise ValueError with a French message."""
    if question.type == QuestionType.RATING:
        rating = whole_number(value)
        if rating is None or not 1 <= rating <= 5:
            raise ValueError(_("La note doit être un nombre entier de 1 à 5."))
        return {"rating": rating}
    if question.type == QuestionType.YES_NO:
        answer = str(value).strip().lower()
        if answer not in ("yes", "no"):
            raise ValueError(_("Répondez par oui ou par non."))
        return {"yes": answer == "yes"}
    if question.type in CHOICE_TYPES:
        values = value if isinstance(value, (list, tuple)) else [value]
        indexes = []
        for item in values:
            item = str(item).strip()
            if not item:
                continue
            index = whole_number(item)
            if index is None or index >= len(question.options or []):
                raise ValueError(_("Ce choix n'existe pas : choisissez parmi les réponses proposées."))
            if index not in indexes:
                indexes.append(index)
        if question.type == QuestionType.SINGLE_CHOICE:
            if len(indexes) != 1:
                raise ValueError(_("Choisissez une seule réponse."))
            return {"choice": indexes[0]}
        return {"choices": sorted(indexes)}
    text = str(value).strip()
    if len(text) > MAX_TEXT_ANSWER:
        raise ValueError(_("Votre réponse est trop longue (%(n)d caractères au plus).", n=MAX_TEXT_ANSWER))
    return {"text": text}


def validate_answers(questions: list[Question], raw: dict) -> dict[int, dict]:
    """Check every answer; return the columns per question id, or raise InvalidAnswers."""
    errors, values = {}, {}
    for question in questions:
        value = raw.get(question.id)
        if _is_blank(value):
            if question.required:
                errors[question.id] = _("Cette question demande une réponse.")
            continue
        try:
            values[question.id] = _parse_answer(question, value)
        except ValueError as error:
            errors[question.id] = str(error)
    if errors:
        raise InvalidAnswers(errors)
    return values


def shown_version(questionnaire_id: int) -> str:
    """What an answer page shows of a questionnaire, in a few characters: its id and a digest of its questions
    (type, text, help, choices, required) and of its anonymity, read from the database as they are now. The
    answer form sends it back: answers given to another wording, other choices or a promise of anonymity
    that no longer holds are not answers to these questions."""
    anonymous = db.session.scalar(db.select(Questionnaire.anonymous).where(Questionnaire.id == questionnaire_id))
    questions = db.session.execute(
        db.select(Question.id, Question.type, Question.text, Question.help_text, Question.options, Question.required)
        .where(Question.questionnaire_id == questionnaire_id).order_by(Question.position)).all()
    stated = json.dumps([bool(anonymous), [list(row) for row in questions]], ensure_ascii=False, default=str)
    return f"{questionnaire_id}-{hashlib.sha256(stated.encode()).hexdigest()[:24]}"


def submit(survey: Survey, trainee: Trainee, raw: dict, shown: str | None = None) -> SurveyParticipation:
    """Record a trainee's answers: `raw` maps question ids to the submitted values.

    Anonymous: the answers wait, naming nobody, in a pending row that `release_pending()` turns into a
    response once the survey is closed; the participation points at nothing. Both are written in this
    transaction: a trainee counts as having answered if and only if their answers are kept.

    The session's row is locked first (a cancellation and this answer happen one after the other), then the
    survey's row is read again under a shared lock, so that the office's changes and this answer happen one
    after the other: a realignment (`_realign`) waiting for the lock then sees this answer and leaves the
    survey alone; one that went first makes this answer refused (QuestionnaireChanged), never
    stored against questions the survey no longer asks. A window changed meanwhile is seen too.
    `shown` is what the trainee's page showed (shown_version, sent back by the answer form): a change made
    before this request (a new version, a question or the anonymity edited in place) is seen by it.
    """
    questionnaire_id = survey.questionnaire_id
    # The session's row first (the lock order, lock_programme), shared (answers of one session do not wait for
    # each other): a cancellation (sessions.cancel_session, FOR UPDATE) either went first, and its status is read
    # below, or waits for this answer.
    lock_session(survey.session_id, shared=True)
    try:
        db.session.refresh(survey, with_for_update={"read": True})
    except InvalidRequestError:  # removed from the session meanwhile (only possible before any answer)
        raise ServiceError(_("Ce questionnaire n'est plus proposé.")) from None
    if survey.questionnaire_id != questionnaire_id:
        raise QuestionnaireChanged()
    if shown is not None and shown != shown_version(survey.questionnaire_id):
        raise QuestionnaireChanged()
    # an erasure running meanwhile either went first (refused here) or waits for this answer, then removes it
    lock_trainee(trainee, _("Les données de cette personne viennent d'être effacées : les réponses n'ont pas été "
                            "enregistrées."))
    check_can_answer(survey, trainee)
    questionnaire = survey.questionnaire
    values = validate_answers(list(questionnaire.questions), raw)
    if questionnaire.anonymous:
        kept = SurveyPendingAnswers(survey=survey, answers={str(qid): columns for qid, columns in values.items()})
        participation = SurveyParticipation(survey=survey, trainee=trainee, answered_at=utcnow())
    else:
        kept = SurveyResponse(survey=survey, answers=[
            SurveyAnswer(question_id=question_id, **columns) for question_id, columns in values.items()])
        participation = SurveyParticipation(survey=survey, trainee=trainee, answered_at=utcnow(), response=kept)
    db.session.add_all([kept, participation])
    try:
        db.session.flush()
    except IntegrityError:
        # The same trainee submitted twice at the same moment: the unique constraint kept one.
        db.session.rollback()
        raise ServiceError(_("Vous avez déjà répondu à ce questionnaire : on ne répond qu'une fois. Merci !")) \
            from None
    # A named questionnaire only: for an anonymous one, the message would tie this answer to its author.
    needs = [question for question in questionnaire.questions
             if is_accessibility_question(question) and values.get(question.id, {}).get("yes")]
    if needs and not questionnaire.anonymous:
        tell_accessibility_contact(survey, trainee)
    return participation


# --- releasing anonymous answers ------------------------------------------------------------------

_ANSWER_COLUMNS = {"rating": None, "yes": None, "choice": None, "choices": None, "text": None}


def release_pending(survey: Survey) -> int:
    """Once an anonymous survey is closed, turn its pending answers into responses; return how many.

    All of them at once, in a shuffled order, in the caller's transaction (the caller commits), together
    with the survey's responses released before it was reopened, if it was: on PostgreSQL every response
    of the survey then carries the release's transaction id (xmin), not that of a participation.
    Does nothing while the survey is open, for a named questionnaire, or when nothing is pending.

    What this does not protect: while the survey is open, a pending row is written by the trainee's
    transaction, so on PostgreSQL it shares its xmin with the trainee's participation, and anyone who
    can read the database can link the two until the release (the pages never show pending answers).
    """
    return release_closed([survey])


def release_closed(surveys: list[Survey]) -> int:
    """release_pending() for several surveys in a constant number of queries (one when nothing is pending)."""
    now = local_now()
    closed = [s.id for s in surveys if s.questionnaire.anonymous and window_state(s, now) == "closed"]
    if not closed:
        return 0
    waiting = db.session.scalars(db.select(SurveyPendingAnswers.survey_id)
                                 .where(SurveyPendingAnswers.survey_id.in_(closed)).distinct()).all()
    return _release(waiting) if waiting else 0


def closed_with_pending() -> list[Survey]:
    """Every closed survey that has pending answers (for `flask surveys release`)."""
    return list(db.session.scalars(
        db.select(Survey).options(joinedload(Survey.questionnaire))
        .where(Survey.closes_at < local_now(),
               Survey.id.in_(db.select(SurveyPendingAnswers.survey_id)))
        .order_by(Survey.id)))


def _release(survey_ids: list[int]) -> int:
    """Under the surveys' row locks (taken in id order), release the pending answers of those still closed;
    return how many were pending. A second release waits, then finds nothing left (five queries whatever
    the number of answers, three more when the survey was released before).

    A survey reopened after a release (allowed while it has fewer than MIN_ANONYMOUS_RESPONSES responses,
    see update_window) would otherwise get a second, smaller batch: on PostgreSQL its responses would carry
    two transaction ids, and the participations' times would tell who answered before the first closing.
    So the responses released before are taken back and released again with the new ones: every response
    of a survey is always written by one transaction, in one shuffled order, under new random ids.
    """
    locked = db.session.execute(
        db.select(Survey.id, Survey.opens_at, Survey.closes_at).where(Survey.id.in_(survey_ids))
        .order_by(Survey.id).with_for_update()).all()
    now = local_now()
    closed = [row.id for row in locked if now > row.closes_at]
    if not closed:
        return 0
    pending = list(db.session.execute(
        db.select(SurveyPendingAnswers.id, SurveyPendingAnswers.survey_id, SurveyPendingAnswers.answers)
        .where(SurveyPendingAnswers.survey_id.in_(closed))).all())
    if not pending:
        return 0
    batch = [(row.survey_id, row.answers) for row in pending] + _take_back({row.survey_id for row in pending})
    secrets.SystemRandom().shuffle(batch)
    responses, answers = [], []
    for survey_id, columns_per_question in batch:
        response_id = _random_id()
        responses.append({"id": response_id, "survey_id": survey_id})
        answers.extend({**_ANSWER_COLUMNS, **columns, "response_id": response_id, "question_id": int(question_id)}
                       for question_id, columns in columns_per_question.items())
    # Core statements: one executemany each (the ORM's bulk insert would group the answers by their columns).
    db.session.execute(insert(SurveyResponse.__table__), responses)
    if answers:
        db.session.execute(insert(SurveyAnswer.__table__), answers)
    db.session.execute(delete(SurveyPendingAnswers).where(
        SurveyPendingAnswers.id.in_([row.id for row in pending])).execution_options(synchronize_session=False))
    return len(pending)


def _take_back(survey_ids: set[int]) -> list[tuple[int, dict]]:
    """Delete the responses already released for these anonymous surveys; return them as
    (survey id, answers) like pending rows, to be released again (one query, two more if any)."""
    rows = db.session.execute(
        db.select(SurveyResponse.id, SurveyResponse.survey_id, SurveyAnswer.question_id,
                  *(getattr(SurveyAnswer, column) for column in _ANSWER_COLUMNS))
        .outerjoin(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(SurveyResponse.survey_id.in_(survey_ids))).all()
    taken: dict[int, tuple[int, dict]] = {}
    for row in rows:
        _survey_id, columns_per_question = taken.setdefault(row.id, (row.survey_id, {}))
        if row.question_id is not None:
            columns_per_question[str(row.question_id)] = {column: getattr(row, column) for column in _ANSWER_COLUMNS}
    if taken:
        ids = list(taken)
        db.session.execute(delete(SurveyAnswer).where(SurveyAnswer.response_id.in_(ids))
                           .execution_options(synchronize_session=False))
        db.session.execute(delete(SurveyResponse).where(SurveyResponse.id.in_(ids))
                           .execution_options(synchronize_session=False))
    return list(taken.values())


# --- reminders ------------------------------------------------------------------------------------

def non_respondents(survey: Survey) -> list[Trainee]:
    answered = db.select(SurveyParticipation.trainee_id).where(SurveyParticipation.survey_id == survey.id)
    return list(db.session.scalars(
        db.select(Trainee).join(Enrolment, Enrolment.trainee_id == Trainee.id)
        .where(Enrolment.session_id == survey.session_id, Enrolment.status.in_(ELIGIBLE_STATUSES),
               Trainee.id.not_in(answered), Trainee.erased_at.is_(None))  # no address left to write to
        .order_by(Trainee.last_name, Trainee.first_name).distinct()))


def send_reminders(survey: Survey) -> int:
    """E-mail each trainee who has not answered a link to the survey (sent after commit).

    Under the session row lock, the survey is read again: a second click while the first
    reminder is being sent waits, then finds it sent and is refused (REMINDER_GAP).
    """
    lock_session(survey.session_id)
    survey = db.session.scalar(db.select(Survey).where(Survey.id == survey.id)
                               .execution_options(populate_existing=True))
    if survey.last_reminded_at is not None and utcnow() - survey.last_reminded_at < REMINDER_GAP:
        raise ServiceError(_("Une relance vient d'être envoyée (le %(when)s) : attendez quelques minutes avant "
                             "d'en envoyer une autre.", when=utc_datetime_fr(survey.last_reminded_at)))
    if survey.session.status == SessionStatus.CANCELLED:  # read under the lock
        raise ServiceError(_("Cette session est annulée : ses stagiaires ne sont pas relancé·es."))
    if window_state(survey) != "open":
        raise ServiceError(_("Le questionnaire n'est pas ouvert : on ne relance que pendant qu'il est ouvert."))
    trainees = non_respondents(survey)
    if not trainees:
        raise ServiceError(_("Tous les stagiaires ont répondu : personne à relancer."))
    title = survey.session.title
    first = survey.reminders_sent == 0
    subject = _reminder_subject(survey.questionnaire.kind, title, first)
    anonymity = ("Vos réponses sont anonymes.\n\n" if survey.questionnaire.anonymous else "")
    for trainee in trainees:
        link = trainee_links.personal_url(trainee, "surveys.answer", survey_id=survey.id)
        mail.queue(trainee.email, subject,
                   f"Bonjour {trainee.full_name},\n\n"
                   f"{'Merci de prendre quelques minutes pour' if first else 'Vous n’avez pas encore pris le temps de'}"
                   f" répondre au questionnaire « {survey.questionnaire.title} » de la formation « {title} ».\n\n"
                   f"{anonymity}Répondre (depuis un téléphone aussi) :\n{link}\n\n"
                   f"Le questionnaire est ouvert jusqu'au {datetime_fr(survey.closes_at)}.\n",
                   tag=f"survey_reminder:{survey.id}")
    survey.reminders_sent += 1
    survey.last_reminded_at = utcnow()
    audit.record(survey, "reminded", details={"count": len(trainees)})  # a count: never names (anonymity)
    return len(trainees)


def _reminder_subject(kind: str, title: str, first: bool) -> str:
    """A positioning questionnaire comes before the course: it asks where the trainee stands, not their opinion."""
    if kind == QuestionnaireKind.POSITIONING:
        return (f"Avant la formation « {title} » : votre positionnement" if first
                else f"Rappel avant la formation « {title} » : votre positionnement")
    return (f"Votre avis sur la formation « {title} »" if first
            else f"Rappel : votre avis sur la formation « {title} »")


# --- the trainee's side ---------------------------------------------------------------------------

def surveys_for_trainee(trainee_id: int) -> dict[int, list[dict]]:
    """enrolment id -> the surveys the trainee can see for it: open, upcoming or answered ones, for each of their
    confirmed or withdrawn enrolments (two queries)."""
    rows = db.session.execute(
        db.select(Enrolment.id, Survey).join(Survey, Survey.session_id == Enrolment.session_id)
        .where(Enrolment.trainee_id == trainee_id, Enrolment.status.in_(ELIGIBLE_STATUSES))
        .options(joinedload(Survey.questionnaire), joinedload(Survey.session))
        .order_by(Survey.opens_at, Survey.id)).all()
    if not rows:
        return {}
    answered = set(db.session.scalars(db.select(SurveyParticipation.survey_id).where(
        SurveyParticipation.trainee_id == trainee_id,
        SurveyParticipation.survey_id.in_({survey.id for _enrolment_id, survey in rows}))))
    now = local_now()
    items: dict[int, list[dict]] = {}
    for enrolment_id, survey in rows:
        state = "answered" if survey.id in answered else window_state(survey, now)
        if state != "answered" and survey.session.status == SessionStatus.CANCELLED:
            continue  # a cancelled session's questionnaire is offered to nobody; one answered stays listed
        if state in ("open", "answered", "upcoming"):
            items.setdefault(enrolment_id, []).append({"survey": survey, "state": state})
    return items
