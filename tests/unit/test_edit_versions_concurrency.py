"""Two people save the same record's edit form, opened at the same version, at the same moment on PostgreSQL:
one save goes through, the other is refused (409) and writes nothing; the version moved once. Through the
pages (the row lock of services/edit_versions.save) and through the service alone."""
import threading

import pytest

from tests import factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import _run_together
from tests.web.test_stale_edits import RECORDS, edit_form, key_of
from training_app.extensions import db
from training_app.models import Programme
from training_app.services import edit_versions
from training_app.services import programmes as programme_service

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL (set TEST_DATABASE_URL)")


@pytest.mark.parametrize("kind", RECORDS)
def test_two_saves_of_the_same_version_at_once_give_one_success_and_one_refusal(app, kind):
    model, record, url, field = RECORDS[kind]()
    record_id = key_of(record)
    url = url.format(id=record_id)
    clients = []
    for name in ("Alice Admin", "Bob Bureau"):
        client = app.test_client()
        factories.login(client, factories.make_user("admin", name=name))
        clients.append(client)
    forms = [edit_form(client, url) for client in clients]
    typed = ["Saisie d'Alice", "Saisie de Bob"]
    db.session.remove()
    statuses = [None, None]
    barrier = threading.Barrier(2)

    def save(i):
        barrier.wait()
        statuses[i] = clients[i].post(url, data=dict(forms[i], **{field: typed[i]})).status_code

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [302, 409]
    stored = db.session.get(model, record_id)
    assert getattr(stored, field) == typed[statuses.index(302)]  # the winner's, not a mix
    assert getattr(stored, model.edit_version_key) == 2


def test_the_service_alone_refuses_the_second_of_two_saves_at_once(app):
    programme = factories.make_programme(title="Négocier")
    programme_id, objectives = programme.id, [o.text for o in programme.objectives]
    db.session.remove()
    titles = ["Négocier localement", "Négocier ensemble"]
    outcomes = []

    def save(i):
        programme = db.session.get(Programme, programme_id)
        try:
            edit_versions.save(programme, 1, lambda: programme_service.save_programme(
                programme, {"title": titles[i]}, objectives))
            db.session.commit()
            outcomes.append("saved")
        except edit_versions.StaleEdit:
            db.session.rollback()
            outcomes.append("refused")

    assert _run_together(app, 2, save) == []
    assert sorted(outcomes) == ["refused", "saved"]
    programme = db.session.get(Programme, programme_id)
    assert programme.title in titles and programme.version == 2


def test_two_first_saves_of_convocation_texts_at_once_give_one_save_and_one_refusal(app):
    """No texts stored yet: the second save waits for the first (the session's row lock), then finds the row it
    wrote at the next version and is refused; not two inserts of the same row (an IntegrityError, a 500)."""
    from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
    from training_app.models import ConvocationText, TrainingSession
    from training_app.services import convocations

    session_id = factories.make_session().id
    db.session.remove()

    def save(message):
        return lambda: convocations.save_texts(db.session.get(TrainingSession, session_id), "", "", message,
                                               opened_version=1)

    outcome = _first_holds_second_waits(app, save("Premier"), save("Second"))
    assert outcome["waited"]
    assert outcome["first"] == "committed" and outcome["second"] == edit_versions.stale_message()
    texts = db.session.get(ConvocationText, session_id)
    assert (texts.message, texts.version) == ("Premier", 2)
