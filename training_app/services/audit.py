"""Writing the audit trail. Every state change of a record goes through `record`."""
from flask_login import current_user

from training_app.extensions import db
from training_app.models import AuditEntry, User


def record(entity, action: str, *, actor: User | None = None, actor_label: str = "",
           from_state: str | None = None, to_state: str | None = None, reason: str = "",
           details: dict | None = None) -> AuditEntry:
    """Add an audit entry for `entity` (any model with an id) in the current transaction."""
    if actor is None and not actor_label:
        actor = _current_staff()
    db.session.flush()  # the entity needs its id
    entry = AuditEntry(
        actor=actor, actor_label=actor_label or (actor.name if actor else "système"),
        entity_type=entity.__tablename__, entity_id=entity.id, action=action,
        from_state=from_state, to_state=to_state, reason=reason, details=details,
    )
    db.session.add(entry)
    return entry


def history(entity) -> list[AuditEntry]:
    return list(db.session.scalars(
        db.select(AuditEntry)
        .where(AuditEntry.entity_type == entity.__tablename__, AuditEntry.entity_id == entity.id)
        .order_by(AuditEntry.at, AuditEntry.id)
    ))


def _current_staff() -> User | None:
    try:
        if current_user and current_user.is_authenticated:
            return current_user._get_current_object()
    except RuntimeError:  # outside a request (CLI, tests)
        pass
    return None
