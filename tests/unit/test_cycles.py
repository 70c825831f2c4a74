"""Cycles of programmes and their special price (services/cycles.py)."""
import pytest

from tests import factories
from training_app.extensions import db
from training_app.models import AuditEntry, Cycle, Programme
from training_app.services import ServiceError
from training_app.services import cycles as cycle_service
from training_app.services import programmes as programme_service


def _refusal(operation) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        operation()
    db.session.rollback()
    return caught.value


def _actions(cycle_id: int) -> list[str]:
    return list(db.session.scalars(db.select(AuditEntry.action).where(
        AuditEntry.entity_type == "cycles", AuditEntry.entity_id == cycle_id).order_by(AuditEntry.id)))


def test_a_cycle_is_created_and_edited_with_its_special_price_and_audited():
    cycle = cycle_service.save_cycle(None, {"name": "  Agir   collectivement ", "description": " Trois stages ",
                                            "special_price_cents": 45000})
    db.session.commit()
    assert (cycle.name, cycle.description, cycle.special_price_cents) == ("Agir collectivement", "Trois stages",
                                                                         45000)
    cycle_service.save_cycle(cycle, {"name": "Agir ensemble", "description": "", "special_price_cents": None})
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Cycle, cycle.id)
    assert (stored.name, stored.description, stored.special_price_cents) == ("Agir ensemble", "", None)
    assert _actions(cycle.id) == ["created", "updated"]


@pytest.mark.parametrize("data, field, message", [
    ({"name": "   "}, "name", "Indiquez le nom du cycle."),
    ({"name": "x" * 201}, "name", "200 caractères au plus"),
    ({"name": "Cycle", "special_price_cents": -1}, "special_price", "ne peut pas être négatif"),
    ({"name": "agir COLLECTIVEMENT"}, "name", "Un cycle s'appelle déjà « agir COLLECTIVEMENT »"),
])
def test_bad_cycles_are_refused_in_french_and_nothing_written(data, field, message):
    factories.make_cycle(name="Agir collectivement")
    error = _refusal(lambda: cycle_service.save_cycle(None, data))
    assert error.field == field and message in error.message
    assert db.session.scalar(db.select(db.func.count(Cycle.id))) == 1


def test_renaming_a_cycle_to_its_own_name_differently_written_is_accepted_but_not_to_another_ones():
    cycle = factories.make_cycle(name="Agir collectivement")
    factories.make_cycle(name="Négocier")
    cycle_service.save_cycle(cycle, {"name": "Agir Collectivement", "special_price_cents": 45000})
    db.session.commit()
    assert cycle.name == "Agir Collectivement"
    error = _refusal(lambda: cycle_service.save_cycle(cycle, {"name": "négocier"}))
    assert error.field == "name"
    assert db.session.get(Cycle, cycle.id).name == "Agir Collectivement"


def test_all_cycles_lists_each_with_its_programmes():
    second = factories.make_cycle(name="B cycle")
    first = factories.make_cycle(name="A cycle")
    programme = factories.make_programme(title="Négocier", cycle_id=first.id)
    archived = factories.make_programme(title="Ancienne", cycle_id=first.id, archived=True)
    db.session.expire_all()
    listed = cycle_service.all_cycles()
    assert [cycle.id for cycle in listed] == [first.id, second.id]
    assert {p.id for p in listed[0].programmes} == {programme.id, archived.id} and listed[1].programmes == []


def test_a_cycle_without_programmes_is_deleted_and_the_deletion_audited():
    cycle = factories.make_cycle(name="Vide")
    cycle_service.delete_cycle(cycle)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Cycle.id))) == 0
    assert _actions(cycle.id) == ["deleted"]


@pytest.mark.parametrize("archived", [False, True])
def test_a_cycle_a_programme_belongs_to_is_not_deleted(archived):
    cycle = factories.make_cycle(name="Agir collectivement")
    programme = factories.make_programme(title="Du dialogue à la négociation", cycle_id=cycle.id, archived=archived)
    error = _refusal(lambda: cycle_service.delete_cycle(cycle))
    assert "ne peut pas être supprimé" in error.message and "« Du dialogue à la négociation »" in error.message
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).cycle_id == cycle.id
    assert _actions(cycle.id) == []


def test_a_programme_cannot_join_a_cycle_deleted_meanwhile():
    cycle = factories.make_cycle()
    cycle_id = cycle.id
    cycle_service.delete_cycle(cycle)
    db.session.commit()
    programme = factories.make_programme(title="Négocier")
    error = _refusal(lambda: programme_service.save_programme(
        programme, {"cycle_id": cycle_id}, [o.text for o in programme.objectives]))
    assert error.field == "cycle_id" and "vient d'être supprimé" in error.message
    assert db.session.get(Programme, programme.id).cycle_id is None
