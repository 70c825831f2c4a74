"""One rule wherever an enrolment's funding or employer changes: a course its employer pays for (OPCO, own funds)
names that employer (registrations.lacks_employer). The enrolment's page refuses an employer's funding for an
enrolment naming no employer, and the removal of the employer of an employer-funded one; such an enrolment keeps
its employer when the trainee's record names none any more; the office's form and the import say which case they
refuse, and the form reads enrol()'s own refusals before it (check_enrolment_possible)."""
from datetime import datetime

import pytest

from tests import factories
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment
from training_app.services import ServiceError, enrolments, registrations
from training_app.services.registrations import PersonDetails

NO_EMPLOYER_ON_THE_ENROLMENT = (
    "Ce financement passe par l'employeur, mais cette inscription ne nomme aucune structure employeuse : "
    "indiquez-la d'abord sur la page de l'inscription (« Structure employeuse », « corriger pour cette formation »), "
    "ou choisissez « À titre personnel » ou « Autre ».")


def _audited(action: str) -> list[AuditEntry]:
    return db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == action)).all()


def test_an_employer_funding_is_refused_for_an_enrolment_naming_no_employer():
    enrolment = factories.make_enrolment(factories.make_session(), factories.make_trainee("Julien", "Le Bihan"))
    for mode in ("opco", "employer"):
        with pytest.raises(ServiceError) as refused:
            enrolments.set_funding_mode(enrolment, mode)
        assert (refused.value.message, refused.value.field) == (NO_EMPLOYER_ON_THE_ENROLMENT, "funding_mode")
        db.session.rollback()
        assert db.session.get(Enrolment, enrolment.id).funding_mode == "" and _audited("funding_mode_changed") == []
    assert enrolments.set_funding_mode(enrolment, "personal")
    assert enrolments.set_funding_mode(enrolment, "other")

    enrolments.set_employer(enrolment, factories.make_employer(name="Centre social"))  # named first: accepted
    assert enrolments.set_funding_mode(enrolment, "opco")
    db.session.commit()
    assert db.session.get(Enrolment, enrolment.id).funding_mode == "opco"


def test_the_employer_named_by_a_funding_agreement_is_the_enrolments():
    """course_employer: the agreement covering the enrolment names its employer, whatever the enrolment kept."""
    session = factories.make_session()
    enrolment = factories.make_enrolment(session, factories.make_trainee("Julien", "Le Bihan"))
    factories.make_agreement(session, [enrolment], employer=factories.make_employer(name="Centre social"))
    assert enrolment.employer is None
    assert enrolments.set_funding_mode(enrolment, "opco")


def test_the_employer_of_an_employer_funded_enrolment_is_not_removed():
    employer = factories.make_employer(name="CCAS de Rennes")
    enrolment = factories.make_enrolment(factories.make_session(), factories.make_trainee("Awa", "Diallo",
                                                                                         employer=employer))
    assert enrolments.set_funding_mode(enrolment, "opco")
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        enrolments.set_employer(enrolment, None)
    assert refused.value.field == "employer_id"
    assert refused.value.message == (
        "Le financement de cette inscription passe par l'employeur (« Par l'employeur, avec une prise en charge de "
        "son OPCO (ex. Uniformation) ») : changez d'abord son financement sur la page de l'inscription "
        "(« Financement », « corriger » : « À titre personnel » ou « Autre »), puis retirez sa structure employeuse.")
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment.id).employer_id == employer.id and _audited("employer_changed") == []

    assert enrolments.set_employer(enrolment, factories.make_employer(name="Mairie de Vitré"))  # another: fine
    assert enrolments.set_funding_mode(enrolment, "personal")
    assert enrolments.set_employer(enrolment, None)  # the funding changed first
    db.session.commit()
    assert db.session.get(Enrolment, enrolment.id).employer_id is None


def test_an_employer_funded_enrolment_keeps_its_employer_when_the_trainee_record_names_none_any_more():
    """enrolments.follow_trainee_employer: the enrolment names who pays until the office changes its funding; one
    paid otherwise follows the record, as any enrolment follows another employer the record names."""
    employer = factories.make_employer(name="CCAS de Rennes")
    awa = factories.make_trainee("Awa", "Diallo", email="awa@exemple.org", employer=employer, category="employee")
    paid_by_employer = factories.enrol(factories.make_session(), awa, funding_mode="opco")
    paid_by_herself = factories.enrol(factories.make_session(start=datetime(2030, 4, 2, 14, 0),  # not at the same hours
                                                             end=datetime(2030, 4, 5, 12, 30)),
                                      awa, funding_mode="personal")
    details = PersonDetails(civility=awa.civility, first_name="Awa", last_name="Diallo", email=awa.email,
                            category="individual")
    registrations.update_trainee(awa, details, actor=factories.make_user("admin"))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Enrolment, paid_by_employer.id).employer_id == employer.id
    assert db.session.get(Enrolment, paid_by_herself.id).employer_id is None
    assert awa.employer is None


def test_the_office_and_the_import_are_told_which_case_they_refuse():
    julien = factories.make_trainee("Julien", "Le Bihan")
    registrations.check_funding_employer("opco", True, known=julien)
    registrations.check_funding_employer("personal", False)
    for known, expected in ((None, "aucune structure employeuse n'est indiquée pour cette personne : indiquez la "
                                   "sienne"),
                            (julien, "la fiche de Julien Le Bihan ne nomme aucune structure employeuse : "
                                     "indiquez-la d'abord sur sa fiche")):
        with pytest.raises(ServiceError) as refused:
            registrations.check_funding_employer("employer", False, known=known)
        assert expected in refused.value.message and refused.value.field == "funding_mode"
        assert "ni sur la fiche" not in refused.value.message


def test_what_enrol_refuses_is_read_before_it_for_the_office_form():
    """enrolments.check_enrolment_possible: enrol()'s own refusals, read without a lock, so that the office's form
    tells them with the funding's on one submit; nothing written."""
    session = factories.make_session()
    julien, awa = factories.make_trainee("Julien", "Le Bihan"), factories.make_trainee("Awa", "Diallo")
    enrolments.check_enrolment_possible(session, julien)
    enrolments.check_enrolment_possible(session)
    factories.make_enrolment(session, julien)
    factories.make_enrolment(session, awa, status="withdrawn")
    for trainee, expected in ((julien, "Julien Le Bihan est déjà inscrit·e à cette session."),
                              (awa, enrolments.withdrawn_refusal(awa))):
        with pytest.raises(ServiceError) as refused:
            enrolments.check_enrolment_possible(session, trainee)
        assert refused.value.message == expected
    with pytest.raises(ServiceError) as refused:
        enrolments.check_enrolment_possible(factories.make_session(status="cancelled"))
    assert refused.value.message == "Cette session est annulée : on ne peut plus s'y inscrire."
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 2
