"""Archiving a programme while a session of it is created or moved to it, or while someone registers for one of
its sessions on the public page: one after the other, never a new session or a public registration in an
archived programme. Archiving locks the programme's row (FOR UPDATE); the others read it under a key-share lock
taken after their session's (the documented order: session, then programme). Real concurrency needs PostgreSQL:
skipped on SQLite."""
from datetime import datetime

import pytest

from tests import factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import (_first_holds_second_waits, _look_until, _run_each,
                                                   _someone_waits_for_a_row_lock)
from training_app.extensions import db
from training_app.models import Enrolment, Programme, TrainingSession
from training_app.services import programmes as programme_service
from training_app.services import registrations, surveys
from training_app.services import sessions as session_service
from training_app.services.registrations import PersonDetails

pytestmark = pytest.mark.postgres_only

REFUSED = {"create": "est archivée : on n'y programme plus de session",
           "move": "est archivée : on n'y programme plus de session",
           "register": "Les inscriptions à cette session sont closes."}


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL row locks (set TEST_DATABASE_URL)")


def _data(programme, start=datetime(2031, 3, 4, 14), end=datetime(2031, 3, 7, 12, 30)):
    return session_service.SessionData(programme=programme, start_at=start, end_at=end, place="Rennes",
                                       status="open", timetable=session_service.DEFAULT_TIMETABLE)


@pytest.fixture
def race():
    programme = factories.make_programme()
    open_session = factories.make_session(programme, status="open")
    elsewhere = factories.make_session(factories.make_programme(), start=datetime(2031, 5, 6, 14),
                                       end=datetime(2031, 5, 9, 12, 30), status="open")
    ids = {"programme": programme.id, "session": open_session.id, "elsewhere": elsewhere.id}
    db.session.remove()

    def archive():
        programme_service.set_archived(db.session.get(Programme, ids["programme"]), True)

    def create():
        session_service.create_session(_data(db.session.get(Programme, ids["programme"])))

    def move():
        moved = db.session.get(TrainingSession, ids["elsewhere"])
        data = _data(db.session.get(Programme, ids["programme"]), moved.start_at, moved.end_at)
        session_service.update_session(moved, data)

    def register():
        registrations.register_public(db.session.get(TrainingSession, ids["session"]),
                                      PersonDetails("Awa", "Diallo", "awa.diallo@example.org"), "personal")

    return ids, {"archive": archive, "create": create, "move": move, "register": register}


def _made(ids) -> dict:
    """What the other action left in the database."""
    db.session.expire_all()
    return {"create": db.session.scalar(db.select(db.func.count(TrainingSession.id)).where(
                TrainingSession.programme_id == ids["programme"])) - 1,
            "move": int(db.session.get(TrainingSession, ids["elsewhere"]).programme_id == ids["programme"]),
            "register": db.session.scalar(db.select(db.func.count(Enrolment.id)).where(
                Enrolment.session_id == ids["session"]))}


@pytest.mark.parametrize("other", ["create", "move", "register"])
def test_a_session_created_or_moved_or_a_registration_made_while_archiving_waits_then_is_refused(app, race, other):
    """The archiving holds the programme's row: the other waits for it, then finds the programme archived and is
    refused in French, nothing written (without the lock it read the programme before the archiving committed,
    and a session or a public registration of an archived programme was written)."""
    ids, actions = race
    outcome = _first_holds_second_waits(app, actions["archive"], actions[other])
    assert outcome["waited"] and outcome["first"] == "committed", outcome
    assert REFUSED[other] in outcome["second"], outcome
    assert _made(ids)[other] == 0
    assert db.session.get(Programme, ids["programme"]).archived


@pytest.mark.parametrize("other", ["create", "move", "register"])
def test_archiving_while_a_session_is_created_or_moved_or_a_registration_made_waits_for_it(app, race, other):
    """The other holds its session's row, then the programme's (key share): the archiving waits for it and
    archives after it (what was made before the archiving stays), no deadlock."""
    ids, actions = race
    outcome = _first_holds_second_waits(app, actions[other], actions["archive"])
    assert outcome == {"first": "committed", "second": "committed", "waited": 1}, outcome
    assert _made(ids)[other] == 1
    assert db.session.get(Programme, ids["programme"]).archived


def test_two_sessions_moved_to_one_programme_at_once_are_both_moved(app, monkeypatch):
    """Each move read the target programme under a key share, then its realignment wanted the row for update:
    with both moves holding a key share, each waited for the other (deadlock, a 500). A move now takes the
    target's row for update at once: the second waits, then moves too."""
    target = factories.make_programme()
    moved = [factories.make_session(factories.make_programme(), start=datetime(2031, month, 6, 14),
                                    end=datetime(2031, month, 9, 12, 30), status="open").id for month in (5, 6)]
    target_id = target.id
    db.session.remove()
    realigning, realign = set(), surveys.realign_session_positioning

    def meet_then_realign(session):  # both at the realignment, unless one waits for the other's locks
        realigning.add(session.id)
        _look_until(lambda: len(realigning) == 2 or _someone_waits_for_a_row_lock())
        return realign(session)
    monkeypatch.setattr(surveys, "realign_session_positioning", meet_then_realign)
    def move(session_id):
        session = db.session.get(TrainingSession, session_id)
        session_service.update_session(
            session, _data(db.session.get(Programme, target_id), session.start_at, session.end_at))

    outcomes = _run_each(app, {session_id: (lambda s=session_id: move(s)) for session_id in moved})
    assert outcomes == {session_id: "committed" for session_id in moved}
    assert {db.session.get(TrainingSession, session_id).programme_id for session_id in moved} == {target_id}
