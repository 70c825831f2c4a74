"""services/organisation.update sets the fields it is given, and only those."""
from tests import factories
from training_app.extensions import db
from training_app.models import Organisation
from training_app.services import organisation as organisation_service


def test_an_update_without_the_siret_keeps_it():
    factories.make_organisation()
    siret = Organisation.get().siret
    assert siret
    organisation_service.update({"city": "Saint-Malo"})
    db.session.commit()
    db.session.expire_all()
    organisation = Organisation.get()
    assert (organisation.city, organisation.siret) == ("Saint-Malo", siret)


def test_an_update_with_an_empty_siret_still_clears_it():
    factories.make_organisation()
    organisation_service.update({"siret": ""})
    db.session.commit()
    db.session.expire_all()
    assert Organisation.get().siret == ""
