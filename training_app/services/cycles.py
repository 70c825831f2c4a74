"""Cycles of programmes: a group of courses whose third one, and any further, a trainee takes at the cycle's
special price (services/enrolments: an enrolment keeps the price it was made at, so editing a cycle changes
only the enrolments made afterwards)."""
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from training_app.extensions import db
from training_app.models import Cycle, Programme
from training_app.services import ServiceError, audit, flush_or_refuse

CYCLE_FIELDS = ("name", "description", "special_price_cents")
NAME_MAX_LENGTH = 200  # the column's


def all_cycles() -> list[Cycle]:
    """Every cycle by name, with its programmes (archived ones included: they still belong to it)."""
    return list(db.session.scalars(
        db.select(Cycle).options(selectinload(Cycle.programmes)).order_by(Cycle.name, Cycle.id)))


def _taken_message(name: str) -> str:
    return _("Un cycle s'appelle déjà « %(name)s » : choisissez un autre nom.", name=name)


def save_cycle(cycle: Cycle | None, data: dict) -> Cycle:
    """Create (cycle=None) or update a cycle from `data` (name, description, special_price_cents: integer cents
    or None for no special price). A missing or too long name, a negative price, or the name of another cycle
    (compared without case nor surrounding spaces) is refused (ServiceError on its field): the caller rolls
    back, nothing written."""
    name = " ".join((data.get("name") or "").split())
    if not name:
        raise ServiceError(_("Indiquez le nom du cycle."), "name")
    if len(name) > NAME_MAX_LENGTH:
        raise ServiceError(_("Le nom du cycle tient en %(max)d caractères au plus.", max=NAME_MAX_LENGTH), "name")
    price = data.get("special_price_cents")
    if price is not None and price < 0:
        raise ServiceError(_("Le tarif spécifique ne peut pas être négatif."), "special_price")
    others = db.select(Cycle.id).where(func.lower(Cycle.name) == name.lower())
    if cycle is not None and cycle.id is not None:
        others = others.where(Cycle.id != cycle.id)
    if db.session.scalar(others.limit(1)) is not None:
        raise ServiceError(_taken_message(name), "name")
    creating = cycle is None
    if creating:
        cycle = Cycle()
        db.session.add(cycle)
    cycle.name = name
    cycle.description = (data.get("description") or "").strip()
    cycle.special_price_cents = price
    flush_or_refuse(_taken_message(name), "name")  # the same name taken meanwhile by another request
    audit.record(cycle, "created" if creating else "updated")
    return cycle


def delete_cycle(cycle: Cycle) -> None:
    """Delete a cycle that no programme belongs to (archived ones count: their sessions' prices came from it).
    One that has programmes is refused (ServiceError), nothing written.

    Its row is locked first (FOR UPDATE), then its programmes counted: a programme being put in the cycle
    meanwhile (lock_chosen, under the programme's save) is either waited for and counted, or waits and is then
    refused, the cycle gone."""
    db.session.execute(db.select(Cycle.id).where(Cycle.id == cycle.id).with_for_update())
    used = db.session.scalars(db.select(Programme.title).where(Programme.cycle_id == cycle.id)
                              .order_by(Programme.title)).all()
    if used:
        raise ServiceError(_(
            "Le cycle « %(name)s » ne peut pas être supprimé : des formations en font partie (%(titles)s). "
            "Retirez-les d'abord du cycle depuis leur fiche.",
            name=cycle.name, titles=", ".join(f"« {title} »" for title in used)))
    audit.record(cycle, "deleted", details={"name": cycle.name, "special_price_cents": cycle.special_price_cents})
    db.session.delete(cycle)
    db.session.flush()


def lock_chosen(cycle_id: int | None) -> None:
    """A programme is being saved in the cycle `cycle_id`: hold the cycle's row (a key-share lock, until the
    commit) so that it cannot be deleted meanwhile; refuse (ServiceError on "cycle_id") when it is already gone."""
    if cycle_id is None:
        return
    found = db.session.scalar(db.select(Cycle.id).where(Cycle.id == cycle_id)
                              .with_for_update(read=True, key_share=True))
    if found is None:
        raise ServiceError(_("Ce cycle vient d'être supprimé : choisissez-en un autre, ou aucun."), "cycle_id")
