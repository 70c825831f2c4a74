"""Convocations: the Word document read back, the e-mail after commit, the record of each sending."""
from dataclasses import replace
from datetime import datetime

import pytest

from tests import factories
from tests.factories import t
from tests.unit.test_slots import _dates
from training_app.clock import frozen_at
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import ConvocationSending
from training_app.services import ServiceError, convocations, enrolments
from training_app.services import sessions as session_service


_text = factories.docx_text


@pytest.fixture
def convoked_session():
    factories.make_organisation(email="sionsalliait@example.org", phone="02 99 00 00 00")
    camille = factories.make_user("trainer", name="Camille Le Gall")
    ines = factories.make_user("trainer", name="Inès Moreau")
    programme = factories.make_programme(title="Du dialogue à la négociation", accessibility_contact="Référente : Claire")
    session = factories.make_session(programme=programme, trainers=[camille, ines])  # Tue 5 Mar 2030 14:00 - Fri 12:30
    session.access_info = "Métro A, station Villejean-Université"
    db.session.commit()
    return session


def test_the_convocation_names_the_trainee_the_day_by_day_timetable_and_the_place(convoked_session):
    employer = factories.make_employer(name="CCAS de Rennes")
    trainee = factories.make_trainee("Awa", "Diallo", employer=employer)
    enrolment = factories.enrol(convoked_session, trainee)
    text = _text(convocations.render(enrolment))
    assert "Mme Awa DIALLO" in text and "CCAS de Rennes" in text
    assert "Du dialogue à la négociation" in text
    assert "Préparer une négociation" in text and "Suivre une négociation" in text  # the objectives
    assert "mardi 5 mars 2030 | 14h00 – 18h00 | 4 h" in text
    assert "mercredi 6 mars 2030 | 9h30 – 12h30 et 14h00 – 18h00 | 7 h" in text
    assert "jeudi 7 mars 2030 | 9h30 – 12h30 et 14h00 – 18h00 | 7 h" in text
    assert "vendredi 8 mars 2030 | 9h30 – 12h30 | 3 h" in text
    assert "4 rue du Bourbonnais, Rennes" in text and "Métro A, station Villejean-Université" in text
    assert "Camille Le Gall et Inès Moreau" in text
    assert "Référente : Claire" in text                       # disability contact
    assert "De quoi prendre des notes" in text                # what to bring (default)
    assert "sionsalliait@example.org / 02 99 00 00 00" in text  # how to report an absence
    assert "/moi/" in text                                    # the personal link
    assert "mardi 5 mars 2030 à 14h00" in text and "vendredi 8 mars 2030 à 12h30" in text


def test_the_convocation_gives_the_dates_of_the_half_days_left(convoked_session):
    enrolment = factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        session_service.delete_slot(convoked_session.slots[0])  # the Tuesday afternoon is dropped
        db.session.commit()
    text = _text(convocations.render(enrolment))
    assert "mercredi 6 mars 2030 à 9h30" in text and "mardi 5 mars" not in text


@pytest.mark.parametrize("employer, funding_mode, told", [
    ("CCAS de Rennes", "personal", True), (None, "opco", True), (None, "employer", True), (None, "personal", False)])
def test_the_absence_procedure_speaks_of_the_employer_and_the_funder_only_to_those_concerned(convoked_session,
                                                                                            employer, funding_mode,
                                                                                            told):
    """Someone paying for their course themselves, with no employer, is not told to justify an absence to
    their employer because the funder pays only the hours attended."""
    trainee = factories.make_trainee(employer=factories.make_employer(name=employer) if employer else None)
    enrolment = factories.enrol(convoked_session, trainee, funding_mode=funding_mode)
    text = _text(convocations.render(enrolment))
    assert "Prévenez-nous au plus tôt (sionsalliait@example.org / 02 99 00 00 00)" in text
    assert ("justifiée auprès de votre employeur" in text) is told and ("le financeur ne paie" in text) is told


def test_session_texts_replace_the_defaults(convoked_session):
    convocations.save_texts(convoked_session, "Votre ordinateur portable", "Appelez Claire", "Bienvenue !")
    db.session.commit()
    enrolment = factories.enrol(convoked_session)
    text = _text(convocations.render(enrolment))
    assert "Votre ordinateur portable" in text and "Appelez Claire" in text
    assert "De quoi prendre des notes" not in text


def test_sending_to_all_confirmed_records_each_sending_and_mails_after_commit(convoked_session, outbox, admin):
    convoked_session.capacity = 2
    db.session.commit()
    seated = [factories.enrol(convoked_session) for _ in range(2)]
    factories.enrol(convoked_session)  # waitlisted: not convoked
    with frozen_at(datetime(2030, 2, 19, 10, 0)):
        sent = convocations.send_all(convoked_session, actor=admin).sent
    assert outbox == []
    db.session.commit()
    assert sorted(s.enrolment_id for s in sent) == sorted(e.id for e in seated)
    assert sorted(m.to[0] for m in outbox) == sorted(e.trainee.email for e in seated)
    message = outbox[0]
    assert message.subject == "Convocation : Du dialogue à la négociation"
    assert message.attachments[0].filename.endswith(".docx")
    assert "mercredi 6 mars 2030 : 9h30 – 12h30 et 14h00 – 18h00" in message.body
    record = db.session.scalar(db.select(ConvocationSending).where(ConvocationSending.enrolment_id == seated[0].id))
    assert (record.sent_to, record.who, record.sent_at) == (seated[0].trainee.email, "Alice Admin",
                                                            datetime(2030, 2, 19, 9, 0))  # 10:00 in Paris is 9:00 UTC
    assert seated[0].trainee.last_name.upper() in _text(storage.read(record.document_path))

    with frozen_at(datetime(2030, 2, 19, 10, 1)):
        assert convocations.send_all(convoked_session, only_new=True, actor=admin).sent == []
        with pytest.raises(ServiceError, match="Ces convocations viennent d'être envoyées"):  # clicked twice
            convocations.send_all(convoked_session, actor=admin)
        db.session.rollback()
    with frozen_at(datetime(2030, 2, 19, 10, 5)):  # sent to all again on purpose
        assert len(convocations.send_all(convoked_session, actor=admin).sent) == 2


def test_a_rolled_back_sending_sends_nothing(convoked_session, outbox):
    enrolment = factories.enrol(convoked_session)
    convocations.send(enrolment)
    db.session.rollback()
    db.session.commit()
    assert outbox == []
    assert db.session.scalar(db.select(db.func.count(ConvocationSending.id))) == 0


def test_a_rolled_back_sending_leaves_no_document(convoked_session):
    """The convocation's file names the trainee, their employer and their personal link: no row would name it,
    and erasing the trainee's data would never delete it (storage.save_in_transaction)."""
    enrolment = factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        rolled_back = convocations.send(enrolment).document_path
        assert storage.exists(rolled_back)
        db.session.rollback()
        assert not storage.exists(rolled_back)
        kept = convocations.send(enrolment).document_path
        db.session.commit()
    assert storage.exists(kept)


def test_only_confirmed_trainees_of_live_sessions_are_convoked(convoked_session):
    convoked_session.capacity = 1
    db.session.commit()
    factories.enrol(convoked_session)
    waiting = factories.enrol(convoked_session)
    with pytest.raises(ServiceError, match="confirmées"):
        convocations.send(waiting)
    empty = factories.make_session(start=datetime(2030, 6, 4, 9, 30), end=datetime(2030, 6, 4, 18))
    with pytest.raises(ServiceError, match="Aucune inscription confirmée"):
        convocations.send_all(empty)
    with frozen_at(datetime(2030, 3, 20)), pytest.raises(ServiceError, match="terminée"):
        convocations.send(convocations.confirmed_enrolments(convoked_session)[0])


def test_a_change_of_the_dates_a_half_day_or_the_place_outdates_the_convocations_sent(convoked_session, admin,
                                                                                        outbox):
    enrolment = factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        convocations.send(enrolment, actor=admin)
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == set()
        assert convocations.send_all(convoked_session, only_new=True).sent == []

        # the last half-day ends at 12h00 instead of 12h30: the convocation states a wrong timetable
        session_service.update_slot(convoked_session.slots[-1], convoked_session.slots[-1].date, t("09:30"),
                                    t("12:00"))
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}
        assert convocations.is_outdated(convocations.last_sent_document(enrolment))
        outbox.clear()
        resent = convocations.send_all(convoked_session, only_new=True, actor=admin).sent
        db.session.commit()
        assert [s.enrolment_id for s in resent] == [enrolment.id] and len(outbox) == 1
        assert "vendredi 8 mars 2030 : 9h30 – 12h00" in outbox[0].body
        assert convocations.outdated_enrolment_ids(convoked_session) == set()

        # a week later
        session_service.update_session(convoked_session, _dates(convoked_session, datetime(2030, 3, 12, 14, 0),
                                                                 datetime(2030, 3, 15, 12, 30)))
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}
        convocations.send_all(convoked_session, only_new=True, actor=admin)
        db.session.commit()

        # elsewhere
        same_dates = _dates(convoked_session, convoked_session.start_at, convoked_session.end_at)
        session_service.update_session(convoked_session, replace(same_dates, place="Maison des associations"))
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}


@pytest.mark.parametrize("change", ["access_info", "modality", "trainers"])
def test_a_change_of_access_modality_or_trainers_outdates_the_convocations_sent(convoked_session, admin, change):
    """The convocation prints how to get there, whether the course is held in person and who teaches it."""
    enrolment = factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        convocations.send(enrolment, actor=admin)
        db.session.commit()
        data = _dates(convoked_session, convoked_session.start_at, convoked_session.end_at)
        data = replace(data, trainers=tuple(convoked_session.trainers))
        changed = {"access_info": {"access_info": "Bus C4, arrêt République"}, "modality": {"modality": "remote"},
                   "trainers": {"trainers": (convoked_session.trainers[0],)}}[change]
        session_service.update_session(convoked_session, replace(data, **changed))
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}
        assert convocations.is_outdated(convocations.last_sent_document(enrolment))
        assert "formateur·rices" in convocations.outdated_notice()


def test_a_sending_recorded_before_the_wider_fingerprint_is_judged_on_its_half_days_and_place(convoked_session,
                                                                                                admin):
    """Sendings recorded before the fingerprint covered access, modality and trainers hold a bare hash of the
    half-days and the place: they are not outdated by the new fingerprint itself, only by a change they cover."""
    enrolment = factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        sending = convocations.send(enrolment, actor=admin)
        sending.fingerprint = convocations._first_fingerprint(convoked_session)
        assert len(sending.fingerprint) == 64 and len(convocations.fingerprint(convoked_session, None)) == 64
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == set()
        assert convocations.send_all(convoked_session, only_new=True).sent == []
        data = replace(_dates(convoked_session, convoked_session.start_at, convoked_session.end_at),
                       trainers=tuple(convoked_session.trainers), place="Maison des associations")
        session_service.update_session(convoked_session, data)
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}


def test_the_convocation_names_the_employer_of_the_course_and_a_correction_of_it_outdates_it(convoked_session, admin,
                                                                                          outbox):
    """The employer the trainee follows the course for (enrolments.course_employers: the funding agreement's,
    else the enrolment's), as the sheets and certificates name it, not the one their record names now."""
    enrolment = factories.enrol(convoked_session, factories.make_trainee(
        "Awa", "Diallo", employer=factories.make_employer(name="CCAS de Rennes")))
    enrolment.trainee.employer = factories.make_employer(name="Mairie de Rennes")  # her record, not this course
    db.session.commit()
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        sending = convocations.send(enrolment, actor=admin)
        db.session.commit()
        text = _text(storage.read(sending.document_path))
        assert "CCAS de Rennes" in text and "Mairie de Rennes" not in text
        assert convocations.outdated_enrolment_ids(convoked_session) == set()

        enrolments.set_employer(enrolment, factories.make_employer(name="Association Les Liens"), actor=admin)
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}
        assert convocations.is_outdated(convocations.last_sent_document(enrolment))
        assert "structure employeuse" in convocations.outdated_notice()
        outbox.clear()
        [resent] = convocations.send_all(convoked_session, only_new=True, actor=admin).sent
        db.session.commit()
        assert "Association Les Liens" in _text(outbox[0].attachments[0].content)
        assert convocations.outdated_enrolment_ids(convoked_session) == set()

        # a funding agreement names the employer: it is the one of the course
        factories.make_agreement(convoked_session, [enrolment], employer=factories.make_employer(name="Le Relais"))
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}
        assert "Le Relais" in _text(convocations.render(enrolment))


def test_an_employer_corrected_after_the_course_leaves_the_convocation_sent_valid(convoked_session, admin):
    """Funding often asks for the employer to be corrected once the course is over: no new convocation can go
    then, so the one sent stays what the trainee was told (and can still be downloaded)."""
    enrolment = factories.enrol(convoked_session, factories.make_trainee(
        "Awa", "Diallo", employer=factories.make_employer(name="CCAS de Rennes")))
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        convocations.send(enrolment, actor=admin)
        db.session.commit()
    with frozen_at(datetime(2030, 4, 2, 10, 0)):  # the course ended on 8 March
        enrolments.set_employer(enrolment, factories.make_employer(name="Association Les Liens"), actor=admin)
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == set()
        assert not convocations.is_outdated(convocations.last_sent_document(enrolment))


def test_a_sending_recorded_before_the_fingerprint_covered_the_employer_is_judged_on_the_session(convoked_session,
                                                                                                  admin):
    enrolment = factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        sending = convocations.send(enrolment, actor=admin)
        sending.fingerprint = convocations._hashed(convocations.SESSION_FINGERPRINT_VERSION,
                                                   convocations._stated(convoked_session))
        db.session.commit()
        enrolments.set_employer(enrolment, factories.make_employer(name="Association Les Liens"), actor=admin)
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == set()  # not known
        assert not convocations.is_outdated(sending)
        data = replace(_dates(convoked_session, convoked_session.start_at, convoked_session.end_at),
                       trainers=tuple(convoked_session.trainers), place="Maison des associations")
        session_service.update_session(convoked_session, data)
        db.session.commit()
        assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}


def test_sending_to_all_reads_the_last_sendings_in_one_query_whatever_the_number_of_trainees(convoked_session,
                                                                                              admin):
    from sqlalchemy import event

    def sending_reads(count):
        session = factories.make_session(start=datetime(2030, 6, 4, 9, 30), end=datetime(2030, 6, 4, 18))
        for _ in range(count):
            factories.enrol(session)
        statements = []

        def record(_conn, _cursor, statement, *_args):
            if statement.lstrip().upper().startswith("SELECT") and "convocation_sendings" in statement:
                statements.append(statement)
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with frozen_at(datetime(2030, 2, 1, 10, 0)):
                assert len(convocations.send_all(session, only_new=True, actor=admin).sent) == count
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        db.session.commit()
        return len(statements)

    assert sending_reads(2) == sending_reads(5) == 1


def test_no_convocation_leaves_while_the_organisation_identity_is_incomplete(convoked_session, outbox):
    factories.make_organisation(declaration_number="", name="")
    enrolment = factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        with pytest.raises(ServiceError, match="Complétez d'abord les informations de l'organisme.*nom de "
                                               "l'organisme, numéro de déclaration d'activité"):
            convocations.send(enrolment)
        db.session.rollback()
        with pytest.raises(ServiceError, match="Complétez d'abord les informations de l'organisme"):
            convocations.send_all(convoked_session)
        db.session.rollback()
    db.session.commit()
    assert outbox == []
    assert db.session.scalar(db.select(db.func.count(ConvocationSending.id))) == 0


def test_an_organisation_without_e_mail_or_phone_leaves_no_empty_separators(convoked_session):
    factories.make_organisation(email="", phone="")
    text = _text(convocations.render(factories.enrol(convoked_session)))
    assert "Déclaration d'activité n° 53350999935\n" in text + "\n"
    assert "—  —" not in text and " / " not in text


def test_send_to_all_leaves_out_only_those_whose_convocation_just_went(convoked_session, outbox, admin):
    """One trainee's convocation sent a minute ago on its own: "send to all" sends the others, and says whom it
    left out, rather than refusing everyone."""
    first, second = factories.enrol(convoked_session), factories.enrol(convoked_session)
    with frozen_at(datetime(2030, 2, 19, 10, 0)):
        convocations.send_one(first, actor=admin)
        db.session.commit()
    with frozen_at(datetime(2030, 2, 19, 10, 1)):
        done = convocations.send_all(convoked_session, actor=admin)
        db.session.commit()
    assert [s.enrolment_id for s in done.sent] == [second.id] and done.skipped == [first]
    assert sorted(m.to[0] for m in outbox) == sorted([first.trainee.email, second.trainee.email])


def test_a_new_contact_person_title_or_objective_outdates_the_convocation_sent(convoked_session, admin):
    """The convocation states them: a change makes it wrong. A sending recorded before they were covered is
    judged on what its fingerprint covered."""
    enrolment = factories.enrol(convoked_session)
    programme = convoked_session.programme
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        older = convocations.send(enrolment, actor=admin)
        older.fingerprint = convocations._hashed(convocations.EMPLOYER_FINGERPRINT_VERSION, {
            **convocations._stated(convoked_session),
            "employer": convocations._employer_name(convocations.course_employer(enrolment))})
        db.session.commit()
        for change in (lambda: setattr(convoked_session, "contact_person", "Paul, 02 99 00 00 01"),
                       lambda: setattr(programme, "title", "Négocier"),
                       lambda: setattr(programme.objectives[0], "text", "Préparer un accord")):
            convocations.send(enrolment, actor=admin)
            db.session.commit()
            change()
            db.session.commit()
            assert convocations.outdated_enrolment_ids(convoked_session) == {enrolment.id}
        assert not convocations.is_outdated(older)


def test_sending_to_all_and_finding_the_outdated_run_a_constant_number_of_queries(convoked_session, admin):
    """The course's objectives, the organisation and the session's texts are read once per call, not once per
    trainee (convocations.Common, Fingerprints)."""
    def queries(count):
        session = factories.make_session(programme=factories.make_programme(objectives=("Préparer", "Négocier")),
                                         start=datetime(2030, 6, 4, 9, 30), end=datetime(2030, 6, 4, 18))
        for _ in range(count):
            factories.enrol(session, factories.make_trainee(employer=factories.make_employer()))
        db.session.commit()
        with frozen_at(datetime(2030, 2, 1, 10, 0)):
            with factories.count_queries() as sending:
                assert len(convocations.send_all(session, actor=admin).sent) == count
            db.session.commit()
            session.place = "Maison des associations"
            db.session.commit()
            with factories.count_queries() as finding:
                assert len(convocations.outdated_enrolment_ids(session)) == count
            with factories.count_queries() as sending_again:
                assert len(convocations.send_all(session, only_new=True, actor=admin).sent) == count
            db.session.commit()
        return len(sending), len(finding), len(sending_again)

    assert queries(2) == queries(6)


def test_the_fingerprint_of_a_convocation_is_the_one_recorded_before(convoked_session):
    """Reading the session once per call changes no fingerprint: the sendings recorded before stay up to date."""
    employer = factories.make_employer(name="CCAS de Rennes")
    course = convoked_session.course
    assert convocations.fingerprint(convoked_session, employer) == convocations._hashed("v4:", {
        **convocations._stated(convoked_session), "employer": "CCAS de Rennes", "title": course.title,
        "objectives": [objective.text for objective in course.objectives], "contact_person": ""})
