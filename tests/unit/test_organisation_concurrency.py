"""The organisation's row is made on first use (Organisation.get): two first uses at the same moment on PostgreSQL
both read the one row, neither fails on the duplicate key (a 500)."""
import pytest

from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
from training_app.extensions import db
from training_app.models import Organisation
from training_app.services import organisation as organisation_service

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL (set TEST_DATABASE_URL)")


def test_two_first_uses_of_the_organisation_at_once_make_one_row(app):
    """The second found no row (the first's was not committed), then its INSERT waited for the first's."""
    db.session.remove()
    outcome = _first_holds_second_waits(app, lambda: organisation_service.update({"name": "Si on s'alliait ?"}),
                                        lambda: organisation_service.update({"city": "Rennes"}))
    assert outcome == {"first": "committed", "second": "committed", "waited": True}
    assert db.session.scalar(db.select(db.func.count(Organisation.id))) == 1
    organisation = Organisation.get()
    assert (organisation.name, organisation.city) == ("Si on s'alliait ?", "Rennes")
