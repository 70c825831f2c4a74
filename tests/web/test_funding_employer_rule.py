"""The funding/employer rule through the office's forms: the enrolment's page (its funding, its employer) and the
« Inscrire un·e stagiaire » form, which lists this mistake with the others on one submit."""
from tests import factories
from tests.unit.test_funding_employer_rule import NO_EMPLOYER_ON_THE_ENROLMENT
from tests.web.test_enrolment_walkthrough import NO_EMPLOYER, PRIVATE, _counts, _field_error, _text
from tests.web.test_enrolments import new_trainee_form
from training_app.extensions import db
from training_app.models import Enrolment


def _saved(enrolment_id: int) -> Enrolment:
    db.session.expire_all()
    return db.session.get(Enrolment, enrolment_id)


def test_the_funding_form_refuses_an_employer_funding_for_an_enrolment_naming_no_employer(admin_client):
    enrolment = factories.make_enrolment(factories.make_session(), factories.make_trainee("Julien", "Le Bihan"))
    response = admin_client.post(f"/inscriptions/{enrolment.id}/financement", data={"funding_mode": "opco"})
    assert response.status_code == 200
    assert _field_error(_text(response), "funding_mode") == NO_EMPLOYER_ON_THE_ENROLMENT
    assert _saved(enrolment.id).funding_mode == ""
    response = admin_client.post(f"/inscriptions/{enrolment.id}/financement", data={"funding_mode": "personal"})
    assert response.status_code == 302 and _saved(enrolment.id).funding_mode == "personal"


def test_the_employer_form_keeps_the_employer_of_an_employer_funded_enrolment(admin_client):
    employer = factories.make_employer(name="CCAS de Rennes")
    session = factories.make_session()
    enrolment = factories.enrol(session, factories.make_trainee("Awa", "Diallo", employer=employer),
                                funding_mode="employer")
    response = admin_client.post(f"/inscriptions/{enrolment.id}/employeur", data={"employer_id": 0})
    assert response.status_code == 200
    assert _field_error(_text(response), "employer_id").startswith(
        "Le financement de cette inscription passe par l'employeur (« Par l'employeur, sur ses fonds propres ») : "
        "changez d'abord son financement")
    assert _saved(enrolment.id).employer_id == employer.id
    assert admin_client.post(f"/inscriptions/{enrolment.id}/financement",
                             data={"funding_mode": "personal"}).status_code == 302
    assert admin_client.post(f"/inscriptions/{enrolment.id}/employeur", data={"employer_id": 0}).status_code == 302
    assert _saved(enrolment.id).employer_id is None


def test_one_submit_of_the_enrol_form_lists_the_funding_mistake_with_the_others(admin_client, outbox):
    session = factories.make_session()
    response = admin_client.post(f"/sessions/{session.id}/inscrire",
                                 data=new_trainee_form(first_name="", funding_mode="opco", **PRIVATE))
    page = _text(response)
    assert response.status_code == 200
    assert _field_error(page, "first_name") == "Indiquez le prénom."
    assert _field_error(page, "funding_mode") == NO_EMPLOYER
    assert _counts() == (0, 0) and outbox == []

    cancelled = factories.make_session(status="cancelled")  # why nobody is enrolled there, without the form
    response = admin_client.post(f"/sessions/{cancelled.id}/inscrire",
                                 data=new_trainee_form(first_name="", funding_mode="opco", **PRIVATE))
    page = _text(response)
    assert "Cette session est annulée : on ne peut plus s'y inscrire." in page
    assert _field_error(page, "first_name") == "" and 'name="first_name"' not in page

    julien = factories.make_trainee("Julien", "Le Bihan", email="julien@example.org")  # no employer on his record
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
        "trainee_id": str(julien.id), "employer_id": "0", "category": "", "funding_mode": "opco"})
    assert "ni sur la fiche" not in _text(response)
    assert "la fiche de Julien Le Bihan ne nomme aucune structure employeuse" in _field_error(_text(response),
                                                                                             "funding_mode")
    factories.enrol(session, julien, funding_mode="personal")
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
        "trainee_id": str(julien.id), "employer_id": "0", "category": "", "funding_mode": "opco"})
    page = _text(response)
    assert "Julien Le Bihan est déjà inscrit·e à cette session." in page
    assert "la fiche de Julien Le Bihan ne nomme aucune" in _field_error(page, "funding_mode")
    assert _counts() == (1, 1)


def test_an_employer_removed_from_the_record_while_enrolling_is_caught_on_the_enrolment_written(admin_client,
                                                                                                monkeypatch):
    """The form checked the rule on the record as it read it; a colleague removing the trainee's employer before
    the enrolment is written leaves an enrolment paid by an employer and naming none: refused, nothing saved."""
    from training_app.services import enrolments as enrolment_service
    awa = factories.make_trainee("Awa", "Diallo", employer=factories.make_employer(name="CCAS de Rennes"))
    session = factories.make_session()
    real_enrol = enrolment_service.enrol

    def enrol_after_a_colleague(training_session, trainee, **options):
        trainee.employer = None  # saved by someone else meanwhile
        db.session.flush()
        return real_enrol(training_session, trainee, **options)

    monkeypatch.setattr(enrolment_service, "enrol", enrol_after_a_colleague)
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
        "trainee_id": str(awa.id), "employer_id": "0", "category": "", "funding_mode": "opco"})
    assert response.status_code == 200
    assert "la fiche de Awa Diallo ne nomme aucune structure employeuse" in _field_error(_text(response),
                                                                                         "funding_mode")
    assert _counts()[1] == 0  # no enrolment
