"""The office's enrolment form lists every mistake of a new person at once, and a phone number is a phone number
wherever one is typed (registrations.phone_mistake, forms.PhoneNumber)."""
import pytest

from tests import factories
from tests.web.test_enrolments import new_trainee_form
from tests.web.test_form_errors_at_once import _errors
from tests.web.test_public_registration import registration
from tests.web.test_trainee_details import _awa, _form, _url
from training_app.extensions import db
from training_app.models import Enrolment, Trainee
from training_app.services import ServiceError, registrations
from training_app.services.registrations import PersonDetails

PHONE = ("Ce numéro de téléphone n'est pas valide : il s'écrit avec des chiffres (au moins 6), et seulement des "
         "espaces, points, tirets ou parenthèses entre eux, et un « + » au début s'il y a lieu.")


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_the_enrolment_form_shows_the_email_phone_and_siret_mistakes_on_one_submit(admin_client):
    session = factories.make_session()
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data=new_trainee_form(
        email="jean.dupont@", phone="abc", employer_siret="1234"))
    assert response.status_code == 200
    errors = _errors(response)
    assert errors["email"] == "Cette adresse e-mail n'est pas valide."
    assert errors["phone"] == PHONE
    assert errors["employer_siret"].startswith("Le SIRET")
    assert _count(Trainee) == 0 and _count(Enrolment) == 0


@pytest.mark.parametrize("phone", ["06 12 34 56 78", "+33 6 12 34 56 78", "(0)2.99.00.00.00", "02-99-00-00-00", ""])
def test_a_phone_number_as_written_in_france_or_abroad_is_accepted(phone):
    assert registrations.phone_mistake(phone) is None


@pytest.mark.parametrize("phone", ["abc", "06 12 34 56 78 poste 12", "12345", "06+12345678", "06/12/34/56/78"])
def test_what_is_not_a_phone_number_is_refused_by_the_service_too(phone):
    assert registrations.phone_mistake(phone) == PHONE
    with pytest.raises(ServiceError) as refused:
        PersonDetails(first_name="Awa", last_name="Diallo", email="awa@example.org", phone=phone).cleaned()
    assert (refused.value.field, refused.value.message) == ("phone", PHONE)


def test_the_public_form_and_the_trainee_edit_refuse_a_phone_that_is_not_one(client, admin_client):
    session = factories.make_session()
    response = client.post(f"/formations/sessions/{session.id}/inscription", data=registration(phone="abc"))
    assert _errors(response)["phone"] == PHONE
    enrolment = _awa()
    response = admin_client.post(_url(enrolment), data=_form(enrolment, phone="abc"))
    assert _errors(response)["phone"] == PHONE
    db.session.expire_all()
    assert enrolment.trainee.phone == "06 00 00 00 00"


def test_a_person_chosen_in_the_list_and_a_new_one_typed_is_refused_naming_both_ways_out(admin_client):
    session = factories.make_session()
    awa = factories.make_trainee("Awa", "Diallo")
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data=new_trainee_form(
        trainee_id=str(awa.id), first_name="Jean", last_name="Dupont", email="", employer_id="0",
        employer_name="", employer_siret="", job_title="", funding_mode="personal"))
    assert response.status_code == 200
    assert _errors(response)["trainee_id"] == (
        "Vous avez choisi Awa Diallo dans la liste et rempli aussi la fiche d'une nouvelle personne : on ne sait pas "
        "qui inscrire. Pour inscrire la personne choisie, videz la fiche ; pour inscrire la personne saisie, "
        "choisissez « Nouveau ou nouvelle stagiaire ».")
    assert _count(Enrolment) == 0 and _count(Trainee) == 1
