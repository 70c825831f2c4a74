"""An internal course (free) made external: its upcoming sessions priced 0 take the programme's price."""
import html
import re
from datetime import datetime

import pytest

from tests import factories
from tests.web.test_form_input import programme_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Programme, TrainingSession
from training_app.services import enrolments


def test_an_internal_course_made_external_prices_its_upcoming_sessions(admin_client):
    programme = factories.make_programme(kind="internal", price_cents=0, objectives=("Préparer",))
    upcoming = factories.make_session(programme=programme, price_cents=None)
    past = factories.make_session(programme=programme, start=datetime(2029, 3, 6, 9, 30),
                                  end=datetime(2029, 3, 6, 18))
    with frozen_at(datetime(2030, 1, 10, 10)):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier", follow_redirects=True, data=dict(
            programme_form(title=programme.title, price="840"), version=factories.version_of(programme)))
    assert "sa session à venir, gratuite jusqu'ici, passe à son prix" in response.get_data(as_text=True).replace(
        "&#39;", "'")
    db.session.expire_all()
    assert db.session.get(TrainingSession, upcoming.id).price_cents == 84000
    assert db.session.get(TrainingSession, past.id).price_cents == 0


def test_an_internal_course_made_external_on_request_puts_its_upcoming_sessions_on_request(admin_client, client):
    """« Tarif sur demande » is the programme's price too: its free sessions must not stay at 0 € (the public
    page printed « 0,00 € » and enrolments were priced 0)."""
    programme = factories.make_programme(kind="internal", price_cents=0, objectives=("Préparer",))
    upcoming = factories.make_session(programme=programme, price_cents=0)
    with frozen_at(datetime(2030, 1, 10, 10)):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier", follow_redirects=True, data=dict(
            programme_form(title=programme.title, price="", price_on_request="y"),
            version=factories.version_of(programme)))
        assert "sa session à venir, gratuite jusqu'ici, passe au tarif sur demande." in response.get_data(
            as_text=True).replace("&#39;", "'")
        db.session.expire_all()
        session = db.session.get(TrainingSession, upcoming.id)
        assert session.price_cents is None
        assert enrolments.price_for(session, factories.make_trainee()) is None
        page = client.get(f"/formations/{programme.id}").get_data(as_text=True)
    assert "Sur demande" in page and "0,00" not in page


def test_upcoming_sessions_made_on_request_are_said_to_pass_to_the_price_on_request(admin_client):
    programme = factories.make_programme(kind="internal", price_cents=0, objectives=("Préparer",))
    factories.make_session(programme=programme, price_cents=0)
    factories.make_session(programme=programme, price_cents=0, start=datetime(2030, 4, 9, 9, 30),
                           end=datetime(2030, 4, 9, 18))
    with frozen_at(datetime(2030, 1, 10, 10)):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier", follow_redirects=True, data=dict(
            programme_form(title=programme.title, price="", price_on_request="y"),
            version=factories.version_of(programme)))
    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert "ses 2 sessions à venir, gratuites jusqu'ici, passent au tarif sur demande." in text
    assert "passent à son prix" not in text


def test_the_edit_form_of_an_internal_course_leaves_the_price_blank(admin_client):
    programme = factories.make_programme(kind="internal", price_cents=0)
    page = admin_client.get(f"/admin/formations/{programme.id}/modifier").get_data(as_text=True)
    price_input = re.search(r'<input[^>]*name="price"[^>]*>', page).group(0)
    assert 'value=""' in price_input or "value=" not in price_input
    external = factories.make_programme(price_cents=84000)
    page = admin_client.get(f"/admin/formations/{external.id}/modifier").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="price"[^>]*value="840[.,]00"', page)


@pytest.mark.parametrize("price", ["0", "0,00", ""])
def test_an_external_course_needs_a_price_above_zero_or_on_request(admin_client, price):
    """Switching an internal course to « Externe » without touching its price must not make it a course at 0 €."""
    programme = factories.make_programme(kind="internal", price_cents=0, objectives=("Préparer",))
    upcoming = factories.make_session(programme=programme, price_cents=0)
    with frozen_at(datetime(2030, 1, 10, 10)):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier", data=dict(
            programme_form(title=programme.title, price=price), version=factories.version_of(programme)))
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert re.search(r'name="price"[^>]*>\s*<div id="price-erreur"[^>]*>Indiquez un prix supérieur à 0,00\u202f€, '
                     r"ou cochez « Tarif sur demande »", page)
    db.session.expire_all()
    assert (db.session.get(Programme, programme.id).kind, db.session.get(Programme, programme.id).price_cents) == (
        "internal", 0)
    assert db.session.get(TrainingSession, upcoming.id).price_cents == 0
    created = admin_client.post("/admin/formations/nouvelle", data=programme_form(price=price))
    assert created.status_code == 200 and db.session.scalar(db.select(db.func.count(Programme.id))) == 1
