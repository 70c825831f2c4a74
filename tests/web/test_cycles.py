"""The cycles' pages: administrators list, create, edit and delete cycles of programmes."""

import pytest

from tests import factories
from training_app.extensions import db
from training_app.models import Cycle

FORM = {"name": "Agir collectivement", "description": "Trois stages d'éducation populaire",
        "special_price": "450,00"}
PAGES = [("GET", "/admin/cycles"), ("GET", "/admin/cycles/nouveau"), ("POST", "/admin/cycles/nouveau"),
         ("GET", "/admin/cycles/{id}/modifier"), ("POST", "/admin/cycles/{id}/modifier"),
         ("POST", "/admin/cycles/{id}/supprimer")]


def _count() -> int:
    return db.session.scalar(db.select(db.func.count(Cycle.id)))


def _stored(cycle_id: int) -> Cycle:
    db.session.expire_all()
    return db.session.get(Cycle, cycle_id)


def test_the_cycles_page_lists_each_cycle_with_its_price_and_programmes(admin_client):
    cycle = factories.make_cycle(name="Agir collectivement", special_price_cents=45000)
    factories.make_programme(title="Du dialogue à la négociation", cycle_id=cycle.id)
    factories.make_cycle(name="Sans tarif", special_price_cents=None)
    page = admin_client.get("/admin/cycles").get_data(as_text=True)
    assert "Agir collectivement" in page and "450,00\u202f€" in page
    assert "Du dialogue à la négociation" in page and "Sans tarif" in page
    assert f"/admin/cycles/{cycle.id}/supprimer" not in page  # in use: no delete button


def test_the_catalogue_and_the_programme_form_link_to_the_cycles(admin_client):
    programme = factories.make_programme()
    for url in ("/admin/formations", "/admin/formations/nouvelle", f"/admin/formations/{programme.id}/modifier"):
        assert 'href="/admin/cycles"' in admin_client.get(url).get_data(as_text=True), url


def test_admin_creates_a_cycle_that_the_programme_form_then_offers(admin_client):
    response = admin_client.post("/admin/cycles/nouveau", data=FORM)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/cycles")
    cycle = db.session.scalar(db.select(Cycle))
    assert (cycle.name, cycle.description, cycle.special_price_cents) == (
        "Agir collectivement", "Trois stages d'éducation populaire", 45000)
    assert "Le cycle « Agir collectivement » a été créé." in admin_client.get("/admin/cycles").get_data(as_text=True)
    form = admin_client.get("/admin/formations/nouvelle").get_data(as_text=True)
    assert f'<option value="{cycle.id}">Agir collectivement</option>' in form


def test_admin_edits_a_cycle(admin_client):
    cycle = factories.make_cycle(name="Agir", special_price_cents=45000)
    page = admin_client.get(f"/admin/cycles/{cycle.id}/modifier").get_data(as_text=True)
    assert 'value="450.00"' in page or 'value="450,00"' in page
    response = admin_client.post(f"/admin/cycles/{cycle.id}/modifier",
                                 data=dict(FORM, special_price="", version=factories.version_of(cycle)))
    assert response.status_code == 302
    stored = _stored(cycle.id)
    assert (stored.name, stored.special_price_cents, stored.version) == ("Agir collectivement", None, 2)


def test_a_cycle_saved_by_someone_else_meanwhile_is_not_overwritten(admin_client):
    cycle = factories.make_cycle(name="Agir", special_price_cents=45000)
    opened = factories.version_of(cycle)
    admin_client.post(f"/admin/cycles/{cycle.id}/modifier", data=dict(FORM, version=opened))
    response = admin_client.post(f"/admin/cycles/{cycle.id}/modifier",
                                 data=dict(FORM, name="Autre nom", version=opened))
    assert response.status_code == 409
    assert "modifiée par quelqu&#39;un d&#39;autre" in response.get_data(as_text=True)
    assert _stored(cycle.id).name == "Agir collectivement"


@pytest.mark.parametrize("data, message", [
    (dict(FORM, name="  "), "Indiquez le nom du cycle."),
    (dict(FORM, name="x" * 201), "200 caractères au plus"),
    (dict(FORM, special_price="-5"), "ne peut pas être négatif"),
    (dict(FORM, special_price="abc"), "Indiquez un nombre"),
    (dict(FORM, special_price="450,555"), "au plus deux décimales"),
    (dict(FORM, special_price="99999999"), "ne peut pas dépasser 10"),
    (dict(FORM, name="agir collectivement"), "Un cycle s&#39;appelle déjà"),
])
def test_bad_cycle_input_is_refused_in_french_and_nothing_saved(admin_client, data, message):
    factories.make_cycle(name="Agir collectivement", special_price_cents=45000)
    other = factories.make_cycle(name="Négocier", special_price_cents=30000)
    response = admin_client.post("/admin/cycles/nouveau", data=data)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _count() == 2
    response = admin_client.post(f"/admin/cycles/{other.id}/modifier", data=dict(data, version=1))
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    stored = _stored(other.id)
    assert (stored.name, stored.special_price_cents, stored.version) == ("Négocier", 30000, 1)


def test_a_cycle_without_programmes_is_deleted_and_one_in_use_refused(admin_client):
    unused = factories.make_cycle(name="Vide")
    used = factories.make_cycle(name="Agir collectivement")
    factories.make_programme(title="Du dialogue à la négociation", cycle_id=used.id)
    response = admin_client.post(f"/admin/cycles/{unused.id}/supprimer", follow_redirects=True)
    assert "Le cycle « Vide » a été supprimé." in response.get_data(as_text=True)
    response = admin_client.post(f"/admin/cycles/{unused.id}/supprimer", follow_redirects=True)  # a double click
    assert response.status_code == 200 and "déjà été supprimé" in response.get_data(as_text=True)
    response = admin_client.post(f"/admin/cycles/{used.id}/supprimer", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "ne peut pas être supprimé" in page and "Du dialogue à la négociation" in page
    assert [c.name for c in db.session.scalars(db.select(Cycle))] == ["Agir collectivement"]


def _url(path: str, cycle_id: int) -> str:
    return path.format(id=cycle_id)


@pytest.mark.parametrize("method, path", PAGES)
def test_a_trainer_is_forbidden_the_cycles(trainer_client, method, path):
    cycle = factories.make_cycle(name="Vide")
    response = trainer_client.open(_url(path, cycle.id), method=method, data=dict(FORM, version=1))
    assert response.status_code == 403
    stored = _stored(cycle.id)
    assert (stored.name, stored.version) == ("Vide", 1) and _count() == 1


@pytest.mark.parametrize("method, path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, method, path):
    cycle = factories.make_cycle(name="Vide")
    response = client.open(_url(path, cycle.id), method=method, data=dict(FORM, version=1))
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert _stored(cycle.id).name == "Vide" and _count() == 1


def test_the_deletion_question_names_a_cycle_with_an_apostrophe_as_typed(admin_client):
    factories.make_cycle(name="L'organisation collective")
    page = admin_client.get("/admin/cycles").get_data(as_text=True)
    assert factories.asked(page) == "Supprimer le cycle « L'organisation collective » ?"
