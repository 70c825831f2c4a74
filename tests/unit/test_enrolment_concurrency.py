"""Many people at once: the session row lock keeps capacity exact across threads and processes.

Real concurrency needs PostgreSQL (SELECT ... FOR UPDATE); on SQLite these tests are skipped.
"""
import re
import threading
import urllib.parse
import urllib.request

import pytest

from tests import factories
from tests.conftest import is_postgres
from training_app.extensions import db
from training_app.models import Enrolment, OutgoingMail, Trainee, TrainingSession
from training_app.services import ServiceError, enrolments, registration_requests
from training_app.services.registrations import PersonDetails

pytestmark = pytest.mark.postgres_only

CAPACITY, PEOPLE = 15, 40


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL row locks (set TEST_DATABASE_URL)")


def _run_together(app, count, work):
    """Run work(i) in `count` threads released at the same moment, each in its own app context
    (so its own SQLAlchemy session and database connection). Returns the exceptions raised."""
    barrier = threading.Barrier(count)
    errors = []

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                work(i)
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _counts(session_id):
    db.session.expire_all()
    rows = db.session.execute(
        db.select(Enrolment.status, db.func.count()).where(Enrolment.session_id == session_id)
        .group_by(Enrolment.status)).all()
    return dict(rows)


def test_40_simultaneous_enrolments_in_threads_give_15_confirmed_and_25_waitlisted(app):
    session_id = factories.make_session(capacity=CAPACITY).id
    trainee_ids = [factories.make_trainee().id for _ in range(PEOPLE)]
    db.session.remove()

    def enrol(i):
        session = db.session.get(TrainingSession, session_id)
        enrolments.enrol(session, db.session.get(Trainee, trainee_ids[i]))
        db.session.commit()

    assert _run_together(app, PEOPLE, enrol) == []
    assert _counts(session_id) == {"confirmed": CAPACITY, "waitlisted": PEOPLE - CAPACITY}
    session = db.session.get(TrainingSession, session_id)
    waiting = enrolments.waitlist(session)
    assert [enrolments.waitlist_position(e) for e in waiting] == list(range(1, PEOPLE - CAPACITY + 1))
    assert session.status == "full"


def test_simultaneous_cancellations_promote_each_waitlisted_trainee_once(app, outbox):
    session = factories.make_session(capacity=2)
    seated = [factories.enrol(session).id for _ in range(2)]
    waiting = [factories.enrol(session).id for _ in range(3)]
    session_id = session.id
    db.session.remove()

    def cancel(i):
        enrolments.cancel(db.session.get(Enrolment, seated[i]), "Empêchement")
        db.session.commit()

    assert _run_together(app, 2, cancel) == []
    assert _counts(session_id) == {"cancelled": 2, "confirmed": 2, "waitlisted": 1}
    statuses = [db.session.get(Enrolment, i).status for i in waiting]
    assert statuses == ["confirmed", "confirmed", "waitlisted"]
    promoted = [m for m in outbox if "Une place s'est libérée" in m.subject]
    assert sorted(m.to[0] for m in promoted) == sorted(db.session.get(Enrolment, i).trainee.email
                                                       for i in waiting[:2])
    assert len(outbox) == 4  # and each cancelled trainee is told


@pytest.fixture
def gunicorn(app, tmp_path):
    """The app served by gunicorn with four worker processes on a free local port."""
    with factories.gunicorn_serving(app, tmp_path, workers=4) as url:
        yield url


def test_40_simultaneous_public_registrations_through_gunicorn_workers(app, gunicorn):
    """40 people ask at once, then confirm at once through the links e-mailed to them: the seats and the
    waiting list are decided at the confirmation, under the session's lock."""
    session_id = factories.make_session(capacity=CAPACITY).id
    db.session.remove()
    url = f"{gunicorn}/formations/sessions/{session_id}/inscription"
    answers, confirmations = [None] * PEOPLE, [None] * PEOPLE

    def post(target, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form or {}).encode()
        with urllib.request.urlopen(urllib.request.Request(target, data=data), timeout=120) as response:
            return response.status, response.read().decode()

    def register(i):
        answers[i] = post(url, {
            "civility": "Mme", "first_name": "Personne", "last_name": f"Numéro {i}",
            "email": f"personne{i}@example.org", "job_title": "Animatrice", "employer_name": "",
            "funding_mode": "personal", "consent": "y"})

    assert _run_together(app, PEOPLE, register) == []
    # One page for all (it tells nobody's state): check your mailbox. Nothing is enrolled yet.
    assert all(status == 200 and "Consultez votre messagerie" in body for status, body in answers)
    assert _counts(session_id) == {}
    links = [gunicorn + factories.confirmation_path(f"personne{i}@example.org") for i in range(PEOPLE)]

    def confirm(i):
        confirmations[i] = post(links[i])

    assert _run_together(app, PEOPLE, confirm) == []
    assert all(status == 200 and 'data-testid="confirmed-now"' in body for status, body in confirmations)
    db.session.expire_all()
    told = {mail.recipients[0]: mail.body for mail in db.session.scalars(db.select(OutgoingMail))
            if mail.recipients[0].startswith("personne") and not mail.tag.startswith("registration_request:")}
    assert len(told) == PEOPLE
    assert sum("est confirmée" in body for body in told.values()) == CAPACITY
    assert sum("liste d'attente, en position" in body for body in told.values()) == PEOPLE - CAPACITY
    # Each waitlisted person was told a different place, counted under the lock: 1 to 25, each once.
    positions_told = sorted(int(n) for body in told.values() for n in re.findall(r"en position (\d+)", body))
    assert positions_told == list(range(1, PEOPLE - CAPACITY + 1))
    assert _counts(session_id) == {"confirmed": CAPACITY, "waitlisted": PEOPLE - CAPACITY}
    positions = sorted(enrolments.waitlist_position(e)
                       for e in enrolments.waitlist(db.session.get(TrainingSession, session_id)))
    assert positions == list(range(1, PEOPLE - CAPACITY + 1))


# How long a test looks for a thread waiting for a lock before failing: LOCK_LOOKS looks, LOCK_PAUSE seconds apart
# at most (a few seconds in all; a thread reaches its lock in milliseconds). A bounded wait for a condition,
# never a timing asserted: the look stops as soon as the condition holds.
LOCK_LOOKS = 400
LOCK_PAUSE = 0.025
JOIN_TIMEOUT = 60  # seconds for the threads to end once released (they wait for nothing then)


def _statements_waiting_for_a_lock() -> list[str]:
    """The statements of the connections to the test database that wait for a lock at this moment."""
    with db.engine.connect() as connection:  # a new transaction: pg_stat_activity is read afresh
        return list(connection.scalars(db.text(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))


def _waiting_for_a_row_lock() -> int:
    """How many connections to the test database wait for a lock at this moment."""
    return len(_statements_waiting_for_a_lock())


def _someone_waits_for_a_row_lock() -> bool:
    return _waiting_for_a_row_lock() > 0


def _look_until(condition, changed: threading.Event | None = None) -> bool:
    """Look at condition() until it holds, LOCK_LOOKS times at most, pausing up to LOCK_PAUSE seconds between two
    looks (less when `changed` is set meanwhile, e.g. by a thread that ends). Returns whether it held."""
    changed = changed or threading.Event()
    for _ in range(LOCK_LOOKS):
        if condition():
            return True
        changed.wait(LOCK_PAUSE)
        changed.clear()
    return False


def _run_each(app, actions: dict) -> dict:
    """Run each action (name=callable) in a thread of that name, with its own app context and transaction, then
    commit: {name: "committed", or the exception's repr (a deadlock: the 500 a page would give)}."""
    outcomes = {}

    def run(name, action):
        with app.app_context():
            try:
                action()
                db.session.commit()
                outcomes[name] = "committed"
            except Exception as error:  # noqa: BLE001 - reported by the caller's assertion
                db.session.rollback()
                outcomes[name] = repr(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(name, action), name=name) for name, action in actions.items()]
    for thread in threads:
        thread.start()
    _join(threads)
    return outcomes


def _join(threads) -> None:
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running {JOIN_TIMEOUT} s after they were released: {stuck}"


def test_an_enrolment_waiting_for_an_erasure_under_way_is_refused_in_french_once_it_commits(app, outbox):
    from datetime import datetime

    from training_app.services import personal_data
    trainee = factories.make_trainee("Course", "Concurrente")
    factories.make_enrolment(factories.make_session(start=datetime(2018, 3, 5, 14, 0), end=datetime(2018, 3, 8, 12, 30)),
                             trainee, status="cancelled")  # no kept record: the erasure deletes the person
    trainee_id, session_id = trainee.id, factories.make_session(capacity=5, status="open").id
    db.session.remove()
    flushed, release, outcome = threading.Event(), threading.Event(), {}

    def erase():
        with app.app_context():
            personal_data.erase(db.session.get(Trainee, trainee_id), "Demande de la personne", None, actor_label="x")
            db.session.flush()  # the row is locked and deleted, not yet committed
            flushed.set()
            release.wait()
            db.session.commit()
            db.session.remove()

    def enrol():
        with app.app_context():
            flushed.wait()
            try:
                enrolments.enrol(db.session.get(TrainingSession, session_id), db.session.get(Trainee, trainee_id),
                                 notify=True)
                db.session.commit()
                outcome["enrol"] = "committed"
            except ServiceError as error:
                db.session.rollback()
                outcome["enrol"] = error.message
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                outcome["enrol"] = repr(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=erase), threading.Thread(target=enrol)]
    for thread in threads:
        thread.start()
    flushed.wait()
    # the enrolment waits for the erasure (one that finished first did not)
    waited = _look_until(lambda: "enrol" in outcome or _someone_waits_for_a_row_lock()) and "enrol" not in outcome
    release.set()
    _join(threads)
    assert waited, f"the enrolment did not wait for the erasure's lock: {outcome}"
    assert "viennent d'être effacées" in outcome["enrol"]
    assert db.session.get(Trainee, trainee_id) is None
    assert _counts(session_id) == {} and outbox == []


def _first_holds_second_waits(app, first, second) -> dict:
    """Run first() until its flush (its locks taken, nothing committed), then second() in another thread, which
    must wait for a lock; then commit first. Returns {"first": ..., "second": ...}: "committed" or the French
    refusal, and "waited" (true if second was waiting for a lock then)."""
    return _first_holds_the_others_wait(app, first, second=second)


def _first_holds_the_others_wait(app, first, **others) -> dict:
    """Run first() until its flush (its locks taken, nothing committed), then each of the others (name=action) in
    a thread of its own; commit first once every other has finished or waits for a lock. Returns {"first": ...,
    name: ...}: "committed", the French refusal or the unexpected exception's repr, and "waited": how many were
    waiting for a lock when first committed (see _first_holds_others_wait_at)."""
    return _first_holds_others_wait_at(app, first, others)[0]


def _first_holds_others_wait_at(app, first, others: dict) -> tuple[dict, list[str]]:
    """_first_holds_the_others_wait(app, first, **others), and the statements that were waiting for a lock when
    first committed (where each waited, e.g. at a programme's row). Fails at once, naming them, when some of the
    others neither wait nor finish within a few seconds (LOCK_LOOKS), rather than let a caller's assertion find
    out much later (or never)."""
    flushed, release, changed, outcome, finished = (threading.Event(), threading.Event(), threading.Event(), {},
                                                    [])

    def run(name, action, before=None, after=None):
        with app.app_context():
            if before:
                before.wait()
            try:
                action()
                db.session.flush()
                if after:
                    after.set()
                    release.wait()
                db.session.commit()
                outcome[name] = "committed"
            except ServiceError as error:
                db.session.rollback()
                outcome[name] = error.message
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                outcome[name] = repr(error)
            finally:
                if after:
                    after.set()
                db.session.remove()
                finished.append(name)
                changed.set()

    waiting = []

    def all_waiting_or_finished() -> bool:
        waiting[:] = _statements_waiting_for_a_lock()
        outcome["waited"] = len(waiting)
        return outcome["waited"] + len([name for name in finished if name in others]) >= len(others)

    threads = [threading.Thread(target=run, args=("first", first, None, flushed), name="first")]
    threads += [threading.Thread(target=run, args=(name, action, flushed, None), name=name)
                for name, action in others.items()]
    for thread in threads:
        thread.start()
    flushed.wait()
    settled = _look_until(all_waiting_or_finished, changed)
    seen = (f"{len(others)} other(s) started while first held its locks, but after {LOCK_LOOKS} looks only "
            f"{outcome['waited']} waited for a lock and {[n for n in finished if n in others]} had finished")
    release.set()
    _join(threads)
    assert settled, f"{seen} (then: {outcome}, waiting at: {waiting})"
    return outcome, waiting


@pytest.mark.parametrize("first", ["close", "enrol"])
def test_closing_the_last_sheet_and_enrolling_happen_one_after_the_other(app, first):
    """Either the sheet is closed and the late enrolment refused, or the trainee is enrolled and the closing asks
    for them to be marked: never a trainee "missing" on a closed sheet."""
    from datetime import timedelta

    from training_app.clock import frozen_at
    from training_app.models import Slot, User
    from training_app.services import attendance

    trainer = factories.make_user("trainer")
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    *earlier, last = session.slots
    for slot in earlier:
        with frozen_at(slot.ends_at - timedelta(minutes=5)):
            attendance.mark(slot, awa, "absent_unjustified", actor=trainer)
            attendance.close_slot(slot, trainer, factories.signature_data_url(99))
    with frozen_at(last.starts_at + timedelta(minutes=5)):
        attendance.sign(last, awa, factories.signature_data_url(1), method="device")
    db.session.commit()
    ids = {"session": session.id, "slot": last.id, "trainer": trainer.id, "trainee": factories.make_trainee().id}
    closing_time = last.ends_at - timedelta(minutes=5)
    db.session.remove()

    def close():
        with frozen_at(closing_time):
            attendance.close_slot(db.session.get(Slot, ids["slot"]), db.session.get(User, ids["trainer"]),
                                  factories.signature_data_url(99))

    def enrol():
        with frozen_at(closing_time):
            enrolments.enrol(db.session.get(TrainingSession, ids["session"]), db.session.get(Trainee, ids["trainee"]))

    actions = {"close": close, "enrol": enrol}
    second = "enrol" if first == "close" else "close"
    outcome = _first_holds_second_waits(app, actions[first], actions[second])
    assert outcome["waited"] and outcome["first"] == "committed"
    if first == "close":
        assert "dernière demi-journée (08/03/2030) est close" in outcome["second"]
        assert _counts(ids["session"]) == {"confirmed": 1}
    else:
        assert outcome["second"].startswith("Avant de clore, faites signer ou marquez absent·e")
        assert _counts(ids["session"]) == {"confirmed": 2}


def test_a_public_request_and_the_opening_at_once_leave_no_pre_registration_behind(app, outbox):
    """The public page read the session planned; the office opens it meanwhile. Whichever takes the session's
    lock first, the pre-registration made before gets the seat and the new request joins the waiting list."""
    from training_app.services import registrations
    from training_app.services import sessions as session_service

    session = factories.make_session(capacity=1, status="planned")
    early = registrations.register_public(session, PersonDetails("Awa", "Diallo", "awa@example.org"), "personal")
    db.session.commit()
    ids = {"session": session.id, "early": early.enrolment.id}
    db.session.remove()

    def open_it():
        session = db.session.get(TrainingSession, ids["session"])
        session_service.update_session(session, session_service.SessionData(
            programme=session.programme, start_at=session.start_at, end_at=session.end_at, capacity=1,
            status="open", place=session.place, price_cents=session.price_cents))

    def register():
        session = db.session.get(TrainingSession, ids["session"])
        return registrations.register_public(session, PersonDetails("Léa", "Martin", "lea@example.org"),
                                             "personal")

    results, errors = factories.run_together(app, open_it, register)
    assert errors == [] and not any(isinstance(r, ServiceError) for r in results)
    assert db.session.get(Enrolment, ids["early"]).status == "confirmed"
    late = db.session.scalar(db.select(Enrolment).join(Enrolment.trainee).where(Trainee.email == "lea@example.org"))
    assert late.status == "waitlisted" and enrolments.waitlist_position(late) == 1


def test_a_thread_that_neither_waits_for_a_lock_nor_finishes_fails_the_race_at_once_naming_it(app, monkeypatch):
    """The helper gives up after LOCK_LOOKS looks (here three) and says what it saw, instead of looking for
    minutes: `slow` is held up by something else than a lock (here an event nobody sets; it gives up after a
    few seconds, so that its thread ends)."""
    monkeypatch.setattr(f"{__name__}.LOCK_LOOKS", 3)
    trainee_id = factories.make_trainee().id
    db.session.remove()
    never = threading.Event()

    def first():
        enrolments.lock_trainee(db.session.get(Trainee, trainee_id))

    with pytest.raises(AssertionError, match=r"after 3 looks only 0 waited for a lock and \[\] had finished"):
        _first_holds_second_waits(app, first, lambda: never.wait(3))


def test_two_confirmations_of_one_request_at_the_same_moment_enrol_once(app, outbox):
    """A double click, or the link opened on two devices: the request's row is locked, the second confirmation
    waits, then finds it confirmed and gives its outcome. One enrolment, one e-mail to the person, one to the
    office (not a second "your enrolment already exists")."""
    session = factories.make_session(capacity=5)
    registration_requests.ask(session, PersonDetails("Awa", "Diallo", "awa@example.org"), "personal")
    db.session.commit()
    token = factories.confirmation_path("awa@example.org").rsplit("/", 1)[1]
    outbox.clear()

    def confirm():
        return registration_requests.confirm(token)

    results, errors = factories.run_together(app, confirm, confirm)
    assert errors == []
    assert sorted(done.just_confirmed for done in results) == [False, True]
    db.session.expire_all()
    assert _counts(session.id) == {"confirmed": 1}
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 1
    assert sorted(m.subject for m in outbox) == ["Inscription : Awa Diallo — " + session.title,
                                                 "Votre inscription est confirmée"]
