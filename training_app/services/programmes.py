"""Catalogue: programmes and their ordered objectives."""
from training_app.extensions import db
from training_app.models import Programme, ProgrammeObjective
from training_app.services import audit

PROGRAMME_FIELDS = (
    "title", "rationale", "audience", "prerequisites", "content", "competencies", "teaching_methods",
    "evaluation_methods", "default_duration_minutes", "default_capacity", "price_cents", "kind",
    "accessibility_contact", "cycle_id",
)


def objective_lines(text: str) -> list[str]:
    """One objective per non-empty line, bullets and trailing punctuation removed."""
    lines = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("•-*").strip().rstrip(",;").strip()
        if line:
            lines.append(line)
    return lines


def save_programme(programme: Programme | None, data: dict, objectives: list[str]) -> Programme:
    """Create (programme=None) or update a programme with its objectives, in order.

    Objectives keep their identity by position, so assessments recorded against an
    objective survive a rewording; extra ones are removed from the end.
    """
    creating = programme is None
    if creating:
        programme = Programme()
        db.session.add(programme)
    for name in PROGRAMME_FIELDS:
        if name in data:
            setattr(programme, name, data[name])
    existing = list(programme.objectives)
    for position, text in enumerate(objectives, start=1):
        if position <= len(existing):
            existing[position - 1].text = text
        else:
            programme.objectives.append(ProgrammeObjective(position=position, text=text))
    for objective in existing[len(objectives):]:
        programme.objectives.remove(objective)
    audit.record(programme, "created" if creating else "updated")
    return programme


def set_archived(programme: Programme, archived: bool) -> None:
    programme.archived = archived
    audit.record(programme, "archived" if archived else "restored")


def public_catalogue() -> list:
    """What the public catalogue lists of each programme, as plain rows (id, title, kind, duration, price,
    last update)."""
    return list(db.session.execute(
        db.select(Programme.id, Programme.title, Programme.kind, Programme.default_duration_minutes,
                  Programme.price_cents, Programme.updated_at)
        .where(Programme.archived.is_(False)).order_by(Programme.title, Programme.id)))
