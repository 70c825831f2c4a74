"""The public catalogue is rendered once and given again while what it shows is unchanged
(bench/README.md): every change of what it shows is seen at once, staff see their own page."""
from datetime import datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Organisation
from training_app.services import programmes as programme_service


def _catalogue(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_changed_programme_shows_at_once_even_within_the_same_instant(client):
    programme = factories.make_programme(title="Négocier localement", price_cents=84000)
    other = factories.make_programme(title="Mobiliser")
    assert "Négocier localement" in _catalogue(client) and "840,00" in _catalogue(client)
    with frozen_at(datetime(2030, 1, 1, 10, 0)):  # same last-update time for both edits
        programme_service.save_programme(programme, {"title": "Négocier ensemble", "price_cents": 90000},
                                         ["Préparer une négociation"])
        db.session.commit()
        page = _catalogue(client)
        assert "Négocier ensemble" in page and "900,00" in page and "Négocier localement" not in page
        programme_service.set_archived(other, True)
        db.session.commit()
        assert "Mobiliser" not in _catalogue(client)
    factories.make_programme(title="Animer une réunion")
    assert "Animer une réunion" in _catalogue(client)


def test_the_organisation_shown_follows_its_settings(client):
    factories.make_programme(title="Négocier localement")
    assert "Si on s&#39;alliait" not in _catalogue(client)
    organisation = Organisation.get()
    organisation.name, organisation.declaration_number = "Si on s'alliait ?", "53350000035"
    db.session.commit()
    page = _catalogue(client)
    assert "alliait" in page and "53350000035" in page


def test_staff_see_their_own_menu_after_an_anonymous_visit(client, admin_client):
    factories.make_programme(title="Négocier localement")
    assert "Se déconnecter" not in _catalogue(client)
    assert "Se déconnecter" in _catalogue(admin_client)
    assert "Se déconnecter" not in _catalogue(client)
