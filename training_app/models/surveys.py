"""Questionnaires, their questions, their use in a session and the trainees' answers.

Anonymity is a property of the schema, not of the pages: the answer tables
(`survey_responses`, `survey_answers`) have no column naming a trainee. The fact
that a trainee answered is a separate `survey_participations` row; only for a
questionnaire that is not anonymous does it point at the response. Response ids
are random and answers have no id and no timestamp of their own (and, on SQLite, no hidden
rowid), so the order of the participation rows cannot be matched with the order of the answers.

On PostgreSQL every row also carries the id of the transaction that wrote it (`xmin`): a
response written with its participation could be matched through it. So an anonymous
questionnaire keeps its answers in `survey_pending_answers` until it closes; then they are
all released together, in a shuffled order, as responses written by one transaction
(services/surveys.release_pending); a survey reopened and closed again has all its responses,
the earlier ones too, released again together.

What is protected: the released responses. What is not: a pending row is written by the
trainee's own transaction, so while the survey is open it shares its xmin with the trainee's
participation; anyone reading the database (not the pages, which never show pending answers)
can link the two until the release.
"""
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Integer, SmallInteger,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersioned, EditVersionedAside
from training_app.models.people import Trainee
from training_app.models.programmes import Programme, ProgrammeObjective
from training_app.models.sessions import TrainingSession


class QuestionnaireKind(StrEnum):
    POSITIONING = "positioning"    # before the course: where does the trainee stand on each objective
    SATISFACTION = "satisfaction"  # at the end (à chaud)
    FOLLOW_UP = "follow_up"        # some weeks later (à froid)


class QuestionType(StrEnum):
    RATING = "rating"                    # 1 to 5, with a label per value
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    FREE_TEXT = "free_text"


class Questionnaire(EditVersionedAside, db.Model):
    """A questionnaire template. Once answered it never changes: a new version is made instead.

    Versions of one questionnaire share `lineage_id` (the id of the first version); only the
    latest version is live, the older ones are archived. Until then the office edits it in place, its form
    checked against `edit_version` (services/edit_versions), not against `version`.
    """

    __tablename__ = "questionnaires"
    __table_args__ = (
        CheckConstraint("kind IN ('positioning', 'satisfaction', 'follow_up')", name="kind"),
        CheckConstraint("follow_up_days IS NULL OR follow_up_days >= 0", name="follow_up_days_positive"),
        CheckConstraint("version >= 1", name="version_positive"),
        UniqueConstraint("lineage_id", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default=QuestionnaireKind.SATISFACTION)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    introduction: Mapped[str] = mapped_column(Text, default="")
    follow_up_days: Mapped[int | None] = mapped_column(Integer)  # follow-up: opens N days after the end
    # "default_satisfaction", "default_positioning" or "" (made by hand)
    origin: Mapped[str] = mapped_column(String(30), default="", index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="SET NULL"), index=True)
    lineage_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    programme: Mapped[Programme | None] = relationship()
    questions: Mapped[list["Question"]] = relationship(
        back_populates="questionnaire", order_by="Question.position", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Questionnaire {self.id} v{self.version} {self.title[:30]}>"


class Question(EditVersioned, db.Model):
    """One question. `options` holds the choices (choice questions) or the five labels of a rating. Its edit
    form is checked against its own `version` (services/edit_versions): moving it, or editing another question,
    leaves a form opened on it valid."""

    __tablename__ = "questionnaire_questions"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "position"),
        CheckConstraint("type IN ('rating', 'single_choice', 'multiple_choice', 'yes_no', 'free_text')",
                        name="type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    help_text: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    options: Mapped[list] = mapped_column(JSON, default=list)
    # Positioning questions built from the programme's objectives point at their objective.
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme_objectives.id", ondelete="SET NULL"), index=True)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="questions")
    objective: Mapped[ProgrammeObjective | None] = relationship()

    def __repr__(self) -> str:
        return f"<Question {self.id} {self.type} {self.text[:30]}>"


class Survey(db.Model):
    """A questionnaire given to the trainees of a session, open between two local times."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("session_id", "questionnaire_id"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True)
    opens_at: Mapped[datetime] = mapped_column(DateTime)   # local wall-clock time, like the schedule
    closes_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(DateTime)  # UTC

    session: Mapped[TrainingSession] = relationship()
    questionnaire: Mapped[Questionnaire] = relationship()

    def __repr__(self) -> str:
        return f"<Survey {self.id} session={self.session_id} questionnaire={self.questionnaire_id}>"


class SurveyParticipation(db.Model):
    """The fact that a trainee answered a survey: one per trainee and survey.

    `response_id` is set only when the questionnaire is not anonymous.
    """

    __tablename__ = "survey_participations"
    __table_args__ = (UniqueConstraint("survey_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="RESTRICT"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id", ondelete="CASCADE"), index=True)
    answered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    response_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("survey_responses.id", ondelete="SET NULL"), unique=True)

    survey: Mapped[Survey] = relationship()
    trainee: Mapped[Trainee] = relationship()
    response: Mapped["SurveyResponse | None"] = relationship()


def _random_id() -> int:
    return secrets.randbits(62) + 1


class SurveyResponse(db.Model):
    """One filled-in questionnaire. Names nobody; its id is random, it has no timestamp."""

    __tablename__ = "survey_responses"
    # SQLite would otherwise keep a hidden, sequential rowid: the order of arrival.
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, default=_random_id)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="RESTRICT"), index=True)

    survey: Mapped[Survey] = relationship()
    answers: Mapped[list["SurveyAnswer"]] = relationship(back_populates="response", cascade="all, delete-orphan")


class SurveyPendingAnswers(db.Model):
    """The answers of one trainee to an anonymous survey that is still open, waiting to be released.

    `answers` is what services/surveys.validate_answers() returns (question id -> answer columns).
    Names nobody, no timestamp, no column pointing at the participation; its id is random. But on
    PostgreSQL it carries the same transaction id (xmin) as the participation written with it, so
    until the release it can be linked to the trainee by whoever reads the database. Deleted once
    the answers become responses, after the survey closed.
    """

    __tablename__ = "survey_pending_answers"
    __table_args__ = ({"sqlite_with_rowid": False},)  # no hidden sequential rowid (order of arrival)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, default=_random_id)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="RESTRICT"), index=True)
    answers: Mapped[dict] = mapped_column(JSON)

    survey: Mapped[Survey] = relationship()


class SurveyAnswer(db.Model):
    """The answer to one question: the column used depends on the question's type."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        CheckConstraint("choice IS NULL OR choice >= 0", name="choice_positive"),
        {"sqlite_with_rowid": False},  # no hidden sequential rowid (order of arrival)
    )

    response_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_questions.id", ondelete="RESTRICT"), primary_key=True, index=True)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    yes: Mapped[bool | None] = mapped_column(Boolean)
    choice: Mapped[int | None] = mapped_column(Integer)       # index in the question's options
    # indexes, multiple choice; None is SQL NULL (not JSON null) when given in a bulk insert
    choices: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
