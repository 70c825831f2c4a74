"""services/edit_versions.save: the optimistic lock of the office's edit forms. A record's version moves by
one per saved edit that changes it, never on other paths (status changes, enrolments, erasure, archiving);
a stale version, or a save that raced past the check, writes nothing; the row-locking paths of sessions,
trainees and accounts still load a row a form saved in between."""
from datetime import datetime

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm.exc import StaleDataError

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Employer, Programme, Trainee, TrainingSession, User
from training_app.services import ServiceError, edit_versions, enrolments, personal_data, users
from training_app.services import programmes as programme_service


def _saved_elsewhere(model, record_id, version=2):
    """What another person's saved form leaves in the database: the row at the next version."""
    db.session.execute(update(model).where(model.id == record_id).values(version=version)
                       .execution_options(synchronize_session=False))


def _texts(programme):
    return [objective.text for objective in programme.objectives]


def test_a_change_moves_the_version_once_even_when_the_service_flushes_half_way():
    programme = factories.make_programme(title="Négocier")
    edit_versions.save(programme, 1, lambda: programme_service.save_programme(
        programme, {"title": "Négocier localement"}, _texts(programme)[::-1]))  # reordered: flushes twice
    db.session.commit()
    db.session.expire_all()
    assert (programme.title, programme.version) == ("Négocier localement", 2)


def test_a_save_that_changes_nothing_keeps_the_version():
    programme = factories.make_programme(title="Négocier")
    edit_versions.save(programme, 1, lambda: programme_service.save_programme(
        programme, {"title": "Négocier"}, _texts(programme)))
    db.session.commit()
    db.session.expire_all()
    assert programme.version == 1


def test_a_stale_version_is_refused_before_anything_runs():
    programme = factories.make_programme(title="Négocier")
    _saved_elsewhere(Programme, programme.id)
    db.session.commit()
    ran = []
    with pytest.raises(edit_versions.StaleEdit) as refused:
        edit_versions.save(programme, 1, lambda: ran.append(True))
    assert ran == [] and "modifiée par quelqu'un d'autre" in refused.value.message
    assert refused.value.record is programme and programme.version == 2


def test_a_record_deleted_since_the_form_was_opened_is_refused_in_french():
    employer = factories.make_employer()
    db.session.execute(delete(Employer).where(Employer.id == employer.id))
    with pytest.raises(ServiceError, match="Cette fiche vient d'être supprimée"):
        edit_versions.save(employer, 1, lambda: None)


def test_a_save_that_raced_past_the_check_is_refused_by_the_version_compare_and_set():
    """Where rows are not locked (SQLite), another save may land between the check and the write."""
    session = factories.make_session()
    place = session.place

    def change():
        _saved_elsewhere(TrainingSession, session.id)
        session.place = "Brest"

    with pytest.raises(edit_versions.StaleEdit):
        edit_versions.save(session, 1, change)
    db.session.rollback()
    assert (session.place, session.version) == (place, 1)


def test_on_a_version_checked_table_the_orm_refuses_an_update_of_a_row_saved_since_it_was_read():
    programme = factories.make_programme(title="Négocier")

    def change():
        _saved_elsewhere(Programme, programme.id)
        programme.title = "Autre"

    with pytest.raises(StaleDataError):
        edit_versions.save(programme, 1, change)
    db.session.rollback()
    assert (programme.title, programme.version) == ("Négocier", 1)


def test_other_paths_leave_the_version_alone():
    """Enrolments filling a session, archiving, deactivating: no edit form becomes stale."""
    session = factories.make_session(capacity=1)
    factories.enrol(session, factories.make_trainee())
    programme = session.programme
    programme_service.set_archived(programme, True)
    account = factories.make_user("trainer")
    users.set_active(account, False)
    db.session.commit()
    db.session.expire_all()
    assert session.status == "full" and programme.archived and not account.active
    assert [session.version, programme.version, account.version] == [1, 1, 1]


def test_the_row_locking_paths_load_a_row_a_form_saved_since_it_was_read():
    """Sessions, trainees and accounts are locked FOR UPDATE / FOR SHARE by enrolments, erasure and the last
    administrator check: a row saved by a form meanwhile is simply read again (no StaleDataError)."""
    session = factories.make_session()
    trainee = factories.make_trainee()
    admins = [factories.make_user("admin"), factories.make_user("admin")]
    for model, record_id in ((TrainingSession, session.id), (Trainee, trainee.id), (User, admins[0].id)):
        _saved_elsewhere(model, record_id)
    with frozen_at(datetime(2030, 2, 1, 10)):
        assert enrolments.lock_session(session.id).version == 2
        enrolments.lock_trainee(trainee)
        factories.enrol(session, trainee)
    users.set_active(admins[0], False)  # locks the administrators' rows
    personal_data.erase(factories.make_trainee(first_name="Léa"), "Demande", None)
    db.session.commit()
    db.session.expire_all()
    assert (session.version, trainee.version, admins[0].active) == (2, 2, False)
