"""What an anonymous public registration may write, once confirmed through the link e-mailed to the address typed
(tests/factories.register_and_confirm): a new person and a new employer, an enrolment; never a
change to a known person's record nor to an existing employer. What was typed that the records do not hold
reaches the office (its e-mail, the enrolment's history) and the enrolment's employer when it funds the course."""
from tests import factories
from tests.web.test_public_registration import _page, registration
from training_app.extensions import db
from training_app.models import AuditEntry, Employer, Enrolment, Trainee
from training_app.services import enrolments


def _enrolment(session) -> Enrolment:
    return db.session.scalar(db.select(Enrolment).where(Enrolment.session_id == session.id))


def _office_mail(outbox):
    [office] = [m for m in outbox if m.body.startswith("Nouvelle demande d'inscription")]
    return office.body.splitlines()


def _returning(**fields) -> Trainee:
    old = factories.make_employer(name="Ancienne Structure", siret="35628710300010")
    return factories.make_trainee(email="awa@example.org", employer=old, job_title="Animatrice", **fields)


def test_a_returning_trainee_funded_by_another_employer_enrols_for_it_and_keeps_their_record(
        client, admin_client, outbox):
    trainee = _returning()
    trainee_id, old_id = trainee.id, trainee.employer_id
    session = factories.make_session()
    response = factories.register_and_confirm(client, session, registration(
        first_name="Awa", last_name=trainee.last_name, email="awa@example.org", funding_mode="opco",
        employer_name="Nouvelle Structure", employer_siret="732 829 320 00074", job_title="Cheffe de service"))
    assert response.status_code == 200 and "Votre place est confirmée." in _page(response)
    assert outbox[1].to == ["awa@example.org"] and "est confirmée" in outbox[1].body
    db.session.expire_all()
    kept = db.session.get(Trainee, trainee_id)
    assert (kept.employer_id, kept.job_title) == (old_id, "Animatrice")  # anonymous input changes no record
    enrolment = _enrolment(session)
    assert (enrolment.employer.name, enrolment.employer.siret) == ("Nouvelle Structure", "73282932000074")
    assert enrolments.course_employer(enrolment).name == "Nouvelle Structure"  # certificates, OPCO claims
    lines = _office_mail(outbox)
    assert "Fonction : Cheffe de service (différent de la fiche : Animatrice)" in lines
    assert ("Structure employeuse : Nouvelle Structure (différent de la fiche : Ancienne Structure "
            "(SIRET 35628710300010))") in lines
    assert not any(line.startswith("SIRET indiqué") for line in lines)  # the new employer has it
    [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "enrolments",
                                                             AuditEntry.entity_id == enrolment.id))
    assert entry.details == {"typed": {"job_title": "Cheffe de service", "employer_name": "Nouvelle Structure"}}
    history = _page(admin_client.get(f"/inscriptions/{enrolment.id}")).split('data-testid="typed-details">')[1]
    assert history.startswith("Indiqué sur le formulaire public, différent de la fiche : fonction « Cheffe de "
                              "service » ; structure employeuse « Nouvelle Structure »")


def test_a_returning_trainee_naming_a_known_employer_enrols_for_it_without_a_new_one(client, outbox):
    _returning()
    known = factories.make_employer(name="CCAS de Rennes", siret="")
    session = factories.make_session()
    factories.register_and_confirm(client, session, registration(
        email="awa@example.org", funding_mode="employer", employer_name="ccas de rennes",
        employer_siret="783 245 210 00001"))
    assert _enrolment(session).employer_id == known.id
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 2
    assert db.session.get(Employer, known.id).siret == ""  # told to the office, not written
    assert "SIRET indiqué : 78324521000001 (pas sur la fiche de la structure : à vérifier)" in _office_mail(outbox)


def test_a_returning_trainee_naming_their_own_employer_or_leaving_it_blank_gets_no_remark(client, outbox):
    trainee = _returning()
    session = factories.make_session()
    factories.register_and_confirm(client, session, registration(
        email="awa@example.org", funding_mode="opco", job_title="Animatrice", employer_name="ANCIENNE STRUCTURE",
        employer_siret=""))
    assert _enrolment(session).employer_id == trainee.employer_id
    lines = _office_mail(outbox)
    assert "Fonction : Animatrice" in lines and "Structure employeuse : ANCIENNE STRUCTURE" in lines
    personal = factories.make_session()
    outbox.clear()
    factories.register_and_confirm(client, personal, registration(
        email="awa@example.org", funding_mode="personal", job_title="", employer_name="", employer_siret=""))
    assert _enrolment(personal).employer_id == trainee.employer_id  # as before: their record's
    lines = _office_mail(outbox)
    assert "Fonction : Animatrice" in lines
    assert "Structure employeuse : Ancienne Structure (SIRET 35628710300010)" in lines
    assert db.session.scalars(db.select(AuditEntry.details).where(AuditEntry.entity_type == "enrolments")).all() == [
        None, None]


def test_a_public_registration_writes_no_siret_on_an_existing_employer_and_tells_the_office(client, outbox):
    employer = factories.make_employer(name="CCAS de Rennes", siret="")  # the office left the SIRET blank
    employer_id, version = employer.id, employer.version
    session = factories.make_session()
    response = factories.register_and_confirm(client, session, registration(
        email="eve@example.net", employer_name="ccas de rennes", employer_siret="732 829 320 00074"))
    assert response.status_code == 200
    db.session.expire_all()
    employer = db.session.get(Employer, employer_id)
    assert (employer.siret, employer.version) == ("", version)
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 1
    assert db.session.scalar(db.select(Trainee.employer_id)) == _enrolment(session).employer_id == employer_id
    assert "SIRET indiqué : 73282932000074 (pas sur la fiche de la structure : à vérifier)" in _office_mail(outbox)
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.entity_type == "enrolments"))
    assert entry.details == {"typed": {"employer_siret": "73282932000074"}}
