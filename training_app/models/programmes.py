from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersionChecked


class ProgrammeKind(StrEnum):
    INTERNAL = "internal"  # free, for members
    EXTERNAL = "external"  # paid, for professionals


class BpfObjective(StrEnum):
    """The general objective of a programme, section F-3 of the BPF (Cerfa 10443), its six lines."""
    RNCP = "a"           # diplôme, titre à finalité professionnelle ou CQP enregistré au RNCP (CQP sans niveau too)
    RS = "b"             # certification ou habilitation enregistrée au répertoire spécifique
    CQP = "c"            # CQP non enregistré au RNCP ou au RS
    OTHER = "d"          # autres formations professionnelles
    SKILLS_REVIEW = "e"  # bilans de compétences
    VAE = "f"            # actions d'accompagnement à la validation des acquis de l'expérience


class Cycle(EditVersionChecked, db.Model):
    """A group of programmes; taking three of them gives the cycle's special price. Administrators keep them
    (services/cycles.py), with an edit form carrying its version."""

    __tablename__ = "cycles"
    __table_args__ = (CheckConstraint("special_price_cents IS NULL OR special_price_cents >= 0",
                                      name="special_price_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    special_price_cents: Mapped[int | None] = mapped_column(Integer)  # per programme, from the 3rd
    programmes: Mapped[list["Programme"]] = relationship(back_populates="cycle")


class Programme(EditVersionChecked, db.Model):
    """A catalogue entry (formation)."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("kind IN ('internal', 'external')", name="kind"),
        CheckConstraint("default_capacity >= 1", name="capacity_positive"),
        CheckConstraint("default_duration_minutes >= 0", name="duration_positive"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    rationale: Mapped[str] = mapped_column(Text, default="")        # Pourquoi cette formation ?
    audience: Mapped[str] = mapped_column(Text, default="")         # Public visé
    prerequisites: Mapped[str] = mapped_column(Text, default="")    # Prérequis
    content: Mapped[str] = mapped_column(Text, default="")          # Contenus
    competencies: Mapped[str] = mapped_column(Text, default="")     # one competency per line
    teaching_methods: Mapped[str] = mapped_column(Text, default="")
    evaluation_methods: Mapped[str] = mapped_column(Text, default="")
    default_duration_minutes: Mapped[int] = mapped_column(Integer, default=0)
    default_capacity: Mapped[int] = mapped_column(Integer, default=15)
    price_cents: Mapped[int | None] = mapped_column(Integer)        # None: "sur demande"
    kind: Mapped[str] = mapped_column(String(20), default=ProgrammeKind.EXTERNAL)
    accessibility_contact: Mapped[str] = mapped_column(Text, default="")
    access_delay: Mapped[str] = mapped_column(Text, default="")  # Délais d'accès (Qualiopi, indicator 1)
    bpf_objective: Mapped[str] = mapped_column(String(1), default=BpfObjective.OTHER)  # BPF, section F-3
    nsf_code: Mapped[str] = mapped_column(String(4), default="")     # BPF F-4: NSF speciality, "332" or "332t"
    nsf_label: Mapped[str] = mapped_column(String(200), default="")  # its label, "Travail social"
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id", ondelete="SET NULL"))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    cycle: Mapped[Cycle | None] = relationship(back_populates="programmes")
    objectives: Mapped[list["ProgrammeObjective"]] = relationship(
        back_populates="programme", order_by="ProgrammeObjective.position",
        cascade="all, delete-orphan",
    )

    @property
    def is_internal(self) -> bool:
        return self.kind == ProgrammeKind.INTERNAL

    @property
    def competency_list(self) -> list[str]:
        return competency_lines(self.competencies)

    def __repr__(self) -> str:
        return f"<Programme {self.id} {self.title[:30]}>"


def competency_lines(text: str | None) -> list[str]:
    """The competencies of a text kept one per line, bullets removed."""
    return [line.strip(" •-;") for line in (text or "").splitlines() if line.strip(" •-;")]


class ProgrammeObjective(db.Model):
    """One learning objective: something a trainee can be assessed on. Ordered."""

    __tablename__ = "programme_objectives"
    __table_args__ = (UniqueConstraint("programme_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    programme: Mapped[Programme] = relationship(back_populates="objectives")
