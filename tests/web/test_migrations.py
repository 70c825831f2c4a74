"""`flask db upgrade` on an empty database gives exactly the models' schema."""
import json
import logging
import os
import uuid
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
import sqlalchemy as sa
from sqlalchemy import create_engine, inspect, text

from training_app import create_app
from training_app.extensions import db


@pytest.fixture
def empty_database_url(app, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.rsplit("/", 1)[0] + "/" + name
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def test_upgrade_from_empty_matches_the_models(empty_database_url, tmp_path):
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        downgrade(revision="base")
        leftover = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert leftover == set()


def test_running_the_migrations_leaves_the_process_loggers_enabled(empty_database_url, tmp_path):
    """alembic.ini's logging configuration is applied by migrations/env.py in the process that migrates (the tests,
    bench/generate.py): it must not disable the loggers already there, such as the application's (the e-mail
    sender's failures are logged through it)."""
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    migrated.logger.debug("the application's logger exists before the migrations run")

    def enabled():
        return {name for name, logger in logging.Logger.manager.loggerDict.items()
                if isinstance(logger, logging.Logger) and not logger.disabled}

    before = enabled()
    with migrated.app_context():
        upgrade(revision="0001")
        downgrade(revision="base")
        db.engine.dispose()
    assert migrated.logger.name in before
    assert before - enabled() == set()


def test_0020_gives_the_f3_objectives_their_official_letters_and_back(empty_database_url, tmp_path):
    """Revision 0018 stored seven letters (e "Autres"); the Cerfa 10443 has six (d autres formations, e bilans de
    compétences): stored values are mapped, the column's default becomes 'd', and the downgrade maps back."""
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    old_letters = "abcdefg"
    with migrated.app_context():
        upgrade(revision="0018")
        with db.engine.begin() as conn:
            for letter in old_letters:
                conn.execute(text("INSERT INTO programmes (title, rationale, audience, prerequisites, content, "
                                  "competencies, teaching_methods, evaluation_methods, default_duration_minutes, "
                                  "default_capacity, kind, accessibility_contact, archived, created_at, updated_at, "
                                  "bpf_objective) VALUES (:title, '', '', '', '', '', '', '', 0, 15, 'external', '', "
                                  ":no, '2026-01-01', '2026-01-01', :letter)"),
                             {"title": letter, "letter": letter, "no": False})

        def letters():
            with db.engine.connect() as conn:
                return dict(conn.execute(text("SELECT title, bpf_objective FROM programmes")).all())

        upgrade(revision="0020")
        assert letters() == {"a": "a", "b": "c", "c": "b", "d": "a", "e": "d", "f": "e", "g": "f"}
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO programmes (title, rationale, audience, prerequisites, content, "
                              "competencies, teaching_methods, evaluation_methods, default_duration_minutes, "
                              "default_capacity, kind, accessibility_contact, archived, created_at, updated_at) "
                              "VALUES ('new', '', '', '', '', '', '', '', 0, 15, 'external', '', :no, "
                              "'2026-01-01', '2026-01-01')"), {"no": False})
        assert letters()["new"] == "d"
        downgrade(revision="0018")
        assert letters() == {"a": "a", "b": "b", "c": "c", "d": "a", "e": "e", "f": "f", "g": "g", "new": "e"}
        downgrade(revision="base")
        db.engine.dispose()


def test_0023_turns_withdrawals_dated_before_the_start_into_cancellations_and_back(empty_database_url, tmp_path):
    """A withdrawal dated before its session's start (possible before 23 November 2026) is a cancellation: it
    holds no seat, is not billed and is on no sheet. One dated on a day of the session stays a withdrawal."""
    from datetime import date

    from tests import factories
    from training_app.models import AuditEntry
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade(revision="0022")  # data only: the models' schema of programmes is 0022's
        session_id = _old_session(factories.make_programme().id)  # Tue 5 - Fri 8 March 2030
        ids = (_old_enrolment(session_id, "withdrawn", withdrawn_on=date(2030, 3, 1)),
               _old_enrolment(session_id, "withdrawn", withdrawn_on=date(2030, 3, 6)))
        db.session.remove()

        def states():
            db.session.remove()
            return [_stored(i, "status") for i in ids]

        upgrade(revision="0023")
        assert states() == ["cancelled", "withdrawn"]
        [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.actor_label == "migration 0023")).all()
        assert (entry.entity_id, entry.from_state, entry.to_state) == (ids[0], "withdrawn", "cancelled")
        assert "c'est une annulation" in entry.reason
        db.session.remove()
        downgrade(revision="0022")
        assert states() == ["withdrawn", "withdrawn"]
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()


def _old_enrolment(session_id: int, status: str, **values) -> int:
    """An enrolment written with the columns every revision since 0003 has (the model may have more)."""
    row = {"session_id": session_id, "trainee_id": _old_trainee(), "status": status,
           "requested_at": datetime(2029, 12, 1, 9), "status_reason": "", "funding_mode": "", **values}
    return _insert("enrolments", row)


def _old_session(programme_id: int) -> int:
    """A session of 5 to 8 March 2030 written with the columns the database has at this revision."""
    present = {column["name"] for column in inspect(db.engine).get_columns("training_sessions")}
    row = {"programme_id": programme_id, "start_at": datetime(2030, 3, 5, 14), "end_at": datetime(2030, 3, 8, 12, 30),
           "place": "", "access_info": "", "modality": "in_person", "capacity": 15, "status": "open",
           "contact_person": "", "notes": "", "created_at": datetime(2029, 11, 1, 9), "version": 1}
    return _insert("training_sessions", {column: value for column, value in row.items() if column in present})


def _add_later_session_columns() -> None:
    """The session columns of revisions after 0035 (0039's recorded_afterwards), which the models read and write: a
    test driving the services on an older schema adds them as those revisions do (no revision up to 0035 touches
    training_sessions, and dropping the table on the way down drops them)."""
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE training_sessions ADD COLUMN recorded_afterwards BOOLEAN NOT NULL "
                          "DEFAULT false"))


def _old_trainee() -> int:
    """A trainee written with those of the model's columns the database has at this revision."""
    present = {column["name"] for column in inspect(db.engine).get_columns("trainees")}
    name = uuid.uuid4().hex[:12]
    row = {"civility": "Mme", "first_name": "Awa", "last_name": name, "email": f"{name}@example.org", "phone": "",
           "job_title": "", "category": "employee", "link_version": 1, "created_at": datetime(2029, 11, 1, 9),
           "version": 1}
    return _insert("trainees", {column: value for column, value in row.items() if column in present})


def _insert(table_name: str, row: dict) -> int:
    table = sa.table(table_name, *(sa.column(name) for name in row))
    row_id = db.session.execute(table.insert().values(**row).returning(sa.column("id"))).scalar_one()
    db.session.commit()
    return row_id


def _stored(enrolment_id: int, column: str):
    return db.session.execute(text(f"SELECT {column} FROM enrolments WHERE id = :id"), {"id": enrolment_id}).scalar()


def _audit_row(enrolment_id: int, at: datetime, to_state: str, action: str = "enrolled") -> None:
    table = sa.table("audit_entries", *(sa.column(name) for name in (
        "at", "actor_label", "entity_type", "entity_id", "action", "to_state", "reason")))
    db.session.execute(table.insert().values(at=at, actor_label="démo", entity_type="enrolments",
                                             entity_id=enrolment_id, action=action, to_state=to_state, reason=""))
    db.session.commit()


def test_0026_fills_when_each_one_joined_the_waiting_list_from_the_audit_trail(empty_database_url, tmp_path):
    """The waiting list's order (enrolments.waitlisted_at) is the last audit entry that put the enrolment on
    it; a waitlisted enrolment without one keeps its request time; one never waitlisted has none."""
    from sqlalchemy.exc import IntegrityError

    from tests import factories
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade(revision="0025")
        session_id = _old_session(factories.make_programme().id)
        late_confirmed = _old_enrolment(session_id, "waitlisted", requested_at=datetime(2029, 12, 1, 9))
        _audit_row(late_confirmed, datetime(2029, 12, 1, 9), "requested", action="requested")
        _audit_row(late_confirmed, datetime(2029, 12, 20, 9), "waitlisted", action="waitlisted")
        waiting = _old_enrolment(session_id, "waitlisted", requested_at=datetime(2029, 12, 10, 9))
        _audit_row(waiting, datetime(2029, 12, 10, 9), "waitlisted")
        promoted = _old_enrolment(session_id, "confirmed", requested_at=datetime(2029, 12, 5, 9))
        _audit_row(promoted, datetime(2029, 12, 5, 9), "waitlisted")
        _audit_row(promoted, datetime(2029, 12, 15, 9), "confirmed", action="promoted")
        unaudited = _old_enrolment(session_id, "waitlisted", requested_at=datetime(2029, 12, 25, 9))
        seated = _old_enrolment(session_id, "confirmed")
        db.session.remove()

        upgrade(revision="0026")
        joined = {i: _stored(i, "waitlisted_at") for i in (late_confirmed, waiting, promoted, unaudited, seated)}
        as_datetime = {i: None if v is None else datetime.fromisoformat(str(v)) for i, v in joined.items()}
        assert as_datetime == {late_confirmed: datetime(2029, 12, 20, 9), waiting: datetime(2029, 12, 10, 9),
                               promoted: datetime(2029, 12, 5, 9), unaudited: datetime(2029, 12, 25, 9),
                               seated: None}
        with pytest.raises(IntegrityError):  # a waitlisted enrolment says when it joined the list
            _old_enrolment(session_id, "waitlisted")
        db.session.rollback()
        db.session.remove()
        upgrade()  # the models' schema, to read the list through the service
        from training_app.models import Enrolment
        from training_app.services import enrolments
        assert [e.id for e in enrolments.waitlist(db.session.get(Enrolment, waiting).session)] == [
            waiting, late_confirmed, unaudited]
        db.session.remove()
        downgrade(revision="0025")
        assert "waitlisted_at" not in {c["name"] for c in inspect(db.engine).get_columns("enrolments")}
        db.session.remove()


def _insert_funder_and_programme(conn) -> None:
    """Funder 1 and programme 1, as the tables of revisions 0027 to 0030 hold them."""
    conn.execute(text("INSERT INTO funders (id, name, address, contact_name, contact_email, "
                      "accepts_annex_costs, version) VALUES (1, 'OPCO', '', '', '', :yes, 1)"), {"yes": True})
    conn.execute(text("INSERT INTO programmes (id, title, rationale, audience, prerequisites, content, "
                      "competencies, teaching_methods, evaluation_methods, default_duration_minutes, "
                      "default_capacity, kind, accessibility_contact, archived, created_at, updated_at) "
                      "VALUES (1, 'p', '', '', '', '', '', '', '', 0, 15, 'external', '', :no, '2018-01-01', "
                      "'2018-01-01')"), {"no": False})


def test_0028_keeps_on_each_enrolment_the_employer_of_its_course(empty_database_url, tmp_path):
    """Existing enrolments take the employer of the funding agreement covering them when it names one (a refused
    agreement does not count), else the trainee's employer as recorded."""
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade(revision="0027")
        with db.engine.begin() as conn:
            _insert_funder_and_programme(conn)
            for employer_id, name in ((1, "A"), (2, "B"), (3, "C")):
                conn.execute(text("INSERT INTO employers (id, name, siret, address, contact_name, contact_email, "
                                  "phone, created_at, version) VALUES (:id, :name, '', '', '', '', '', "
                                  "'2018-01-01', 1)"), {"id": employer_id, "name": name})
            conn.execute(text("INSERT INTO training_sessions (id, programme_id, start_at, end_at, place, access_info, "
                              "modality, capacity, status, contact_person, notes, created_at) VALUES (1, 1, "
                              "'2018-12-11 14:00', '2018-12-14 12:30', '', '', 'in_person', 10, 'completed', '', '', "
                              "'2018-01-01')"))
            for n, employer_id in ((1, 1), (2, 2), (3, None), (4, 1)):
                conn.execute(text("INSERT INTO trainees (id, civility, first_name, last_name, email, phone, job_title, "
                                  "category, employer_id, created_at, link_version, version) VALUES (:n, '', 'x', "
                                  "'y', :email, '', '', 'employee', :employer, '2018-01-01', 1, 1)"),
                             {"n": n, "email": f"{n}@example.org", "employer": employer_id})
                conn.execute(text("INSERT INTO enrolments (id, session_id, trainee_id, status, requested_at, "
                                  "status_reason, funding_mode) VALUES (:n, 1, :n, 'confirmed', '2018-01-01', '', '')"),
                             {"n": n})
            # 1 works for A now, their granted agreement names C; 4's refused agreement names B
            for agreement_id, employer_id, status, enrolment_id in ((1, 3, "granted", 1), (2, 2, "refused", 4)):
                conn.execute(text("INSERT INTO funding_agreements (id, funder_id, session_id, employer_id, status, "
                                  "requested_on, file_number, mode, refusal_reason, notes, created_at, version) "
                                  "VALUES (:id, 1, 1, :employer, :status, '2018-11-01', :number, 'subrogation', '', "
                                  "'', '2018-11-01', 1)"),
                             {"id": agreement_id, "employer": employer_id, "status": status,
                              "number": f"F{agreement_id}"})
                conn.execute(text("INSERT INTO funding_agreement_trainees (agreement_id, enrolment_id, "
                                  "travel_agreed_cents, travel_actual_cents, accommodation_agreed_cents, "
                                  "accommodation_actual_cents, meals_agreed_cents, meals_actual_cents) "
                                  "VALUES (:agreement, :enrolment, 0, 0, 0, 0, 0, 0)"),
                             {"agreement": agreement_id, "enrolment": enrolment_id})
        upgrade(revision="0028")
        with db.engine.connect() as conn:
            employers = conn.execute(text("SELECT id, employer_id FROM enrolments ORDER BY id")).all()
        assert [tuple(row) for row in employers] == [(1, 3), (2, 2), (3, None), (4, 1)]
        downgrade(revision="0027")
        downgrade(revision="base")
        db.engine.dispose()


def _insert_session(conn, session_id: int) -> None:
    conn.execute(text("INSERT INTO training_sessions (id, programme_id, start_at, end_at, place, access_info, "
                      "modality, capacity, status, contact_person, notes, created_at) VALUES (:id, 1, "
                      "'2018-12-11 14:00', '2018-12-14 12:30', '', '', 'in_person', 10, 'completed', '', '', "
                      "'2018-01-01')"), {"id": session_id})


def _insert_claim(conn, claim_id: int, status: str, paid: int, session_ids, total: int = 50000,
                  snapshot: str = "{}", number: str = "") -> None:
    """A claim to funder 1 as revision 0029 holds it; with a payment of `paid` when it received money."""
    conn.execute(text("INSERT INTO funding_claims (id, number, funder_id, status, total_cents, paid_cents, snapshot, "
                      "rejection_reason, created_at) VALUES (:id, :number, 1, :status, :total, :paid, :snapshot, '', "
                      "'2019-01-01')"), {"id": claim_id, "number": number or f"2019-{claim_id:04d}", "status": status,
                                          "total": total, "paid": paid, "snapshot": snapshot})
    for session_id in session_ids:
        conn.execute(text("INSERT INTO funding_claim_sessions (claim_id, session_id) VALUES (:c, :s)"),
                     {"c": claim_id, "s": session_id})
    if paid:
        conn.execute(text("INSERT INTO funding_claim_payments (claim_id, received_on, amount_cents, "
                          "overpayment_cents, note, created_at) VALUES (:c, '2019-02-01', :paid, 0, '', "
                          "'2019-02-01')"), {"c": claim_id, "paid": paid})


def _migrate_0030(url: str, tmp_path, insert):
    """Up to 0029, `insert(conn)`, up to 0030: the claims' (id, status, total_cents) and the payments'
    overpayment by claim; then back to 0029: the same again."""
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    read = []
    with migrated.app_context():
        upgrade(revision="0029")
        with db.engine.begin() as conn:
            _insert_funder_and_programme(conn)
            insert(conn)
        for step in (lambda: upgrade(revision="0030"), lambda: downgrade(revision="0029")):
            step()
            with db.engine.connect() as conn:
                read.append(([tuple(row) for row in conn.execute(text(
                              "SELECT id, status, total_cents FROM funding_claims ORDER BY id"))],
                             dict(conn.execute(text("SELECT claim_id, overpayment_cents FROM funding_claim_payments")
                                               ).all())))
        downgrade(revision="base")
        db.engine.dispose()
    return read


def test_0030_turns_a_rejected_claim_that_received_money_into_a_refused_balance(empty_database_url, tmp_path):
    """A rejected claim with money received becomes 'balance_refused', unless another claim to the same funder
    (not rejected) has since taken one of its sessions; one that received nothing stays rejected. A session
    claimed again after a rejection, both claims partly paid then rejected: only the newest (one claim per funder
    and session not rejected). Back: rejected."""
    def insert(conn):
        for session_id in (1, 2, 3, 4):
            _insert_session(conn, session_id)
        # 1: paid part, rejected; 2: nothing paid, rejected; 3: paid part, rejected, its session claimed again (4);
        # 5 and 6: paid part and rejected, both for session 4
        for claim_id, status, paid, session_id in ((1, "rejected", 20000, 1), (2, "rejected", 0, 2),
                                                    (3, "rejected", 5000, 3), (4, "sent", 0, 3),
                                                    (5, "rejected", 20000, 4), (6, "rejected", 10000, 4)):
            _insert_claim(conn, claim_id, status, paid, [session_id])

    (upgraded, _), (downgraded, _) = _migrate_0030(empty_database_url, tmp_path, insert)
    assert [row[:2] for row in upgraded] == [(1, "balance_refused"), (2, "rejected"), (3, "rejected"), (4, "sent"),
                                             (5, "rejected"), (6, "balance_refused")]
    assert [status for _id, status, _total in downgraded] == ["rejected", "rejected", "rejected", "sent",
                                                               "rejected", "rejected"]


def _lines(*modes_and_totals) -> str:
    """A snapshot whose lines have these (mode, pedagogical, annex) figures."""
    return json.dumps({"lines": [{"mode": mode, "pedagogical_cents": pedagogical, "annex_cents": annex,
                                  "total_cents": pedagogical + annex}
                                 for mode, pedagogical, annex in modes_and_totals]})


def test_0030_asks_the_funder_for_the_subrogation_lines_only_of_a_claim_sent(empty_database_url, tmp_path):
    """A claim sent with reimbursement lines asked for them too: its total becomes its subrogation lines' (a draft
    is recalculated anyway), one paid at least that much is paid, its payments' overpayment follows. Back: the
    total of every line, 'paid' below it 'partially_paid' (the one rejected after a payment that became paid too)."""
    mixed = _lines(("subrogation", 31500, 0), ("subrogation", 31500, 0), ("reimbursement", 31500, 5000))
    reimbursed = _lines(("reimbursement", 31500, 0))
    subrogation = _lines(("subrogation", 50000, 0))

    def insert(conn):
        _insert_session(conn, 1)
        for claim_id, status, paid, snapshot, total in (
                (1, "partially_paid", 63000, mixed, 99500), (2, "sent", 0, mixed, 99500),
                (3, "paid", 99500, mixed, 99500), (4, "draft", 0, mixed, 99500),
                (5, "partially_paid", 10000, reimbursed, 31500), (6, "sent", 0, reimbursed, 31500),
                (7, "partially_paid", 20000, subrogation, 50000), (8, "rejected", 63000, mixed, 99500)):
            _insert_claim(conn, claim_id, status, paid, [1] if claim_id == 8 else [], total, snapshot)

    (upgraded, overpaid), (downgraded, overpaid_back) = _migrate_0030(empty_database_url, tmp_path, insert)
    assert upgraded == [(1, "paid", 63000), (2, "sent", 63000), (3, "paid", 63000), (4, "draft", 99500),
                        (5, "paid", 0), (6, "sent", 0), (7, "partially_paid", 50000), (8, "paid", 63000)]
    assert overpaid == {1: 0, 3: 36500, 5: 10000, 7: 0, 8: 0}
    assert downgraded == [(1, "partially_paid", 99500), (2, "sent", 99500), (3, "paid", 99500),
                          (4, "draft", 99500), (5, "partially_paid", 31500), (6, "sent", 31500),
                          (7, "partially_paid", 50000), (8, "partially_paid", 99500)]
    assert overpaid_back == {1: 0, 3: 0, 5: 0, 7: 0, 8: 0}


def test_0035_voids_the_trainers_signatures_a_reopening_left_on_an_open_sheet_and_back(empty_database_url,
                                                                                       tmp_path):
    """A trainer signs a sheet only when closing it: a valid trainer's signature on an open sheet is what a
    reopening before 0035 left. It is voided as a reopening now does, dated from the sheet's latest reopening and
    by whom reopened it (or now and nobody, when no version tells), so the sheet is no longer closed under it.
    A closed sheet's signature stays. Back: the signatures 0035 voided are valid again."""
    from datetime import timedelta

    from tests import factories
    from training_app.clock import frozen_at
    from training_app.models import Slot, User
    from training_app.services import ServiceError, attendance
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    reopened_at = datetime(2030, 3, 8, 10, 0)
    with migrated.app_context():
        upgrade(revision="0034")
        _add_later_session_columns()
        trainer, admin = factories.make_user("trainer", name="Tom Trainer"), factories.make_user("admin")
        session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
        reopened, closed, unversioned = session.slots[1], session.slots[2], session.slots[3]
        for slot in (reopened, closed, unversioned):
            with frozen_at(slot.starts_at + timedelta(minutes=5)):
                attendance.sign(slot, awa, factories.signature_data_url(1), method="device")
            with frozen_at(slot.ends_at - timedelta(minutes=5)):
                if slot is not unversioned:
                    attendance.close_slot(slot, trainer, factories.signature_data_url(9))
            db.session.commit()
        ids = {slot.id: db.session.scalar(text("SELECT id FROM attendance_signatures WHERE slot_id = :s AND "
                                               "trainer_id IS NOT NULL"), {"s": slot.id})
               for slot in (reopened, closed)}
        sheet_of = {slot.id: db.session.scalar(text("SELECT id FROM attendance_sheets WHERE slot_id = :s"),
                                               {"s": slot.id}) for slot in (reopened, closed, unversioned)}
        # reopened before 0035: the sheet open again, a version saying so, the trainer's signature still valid
        db.session.execute(text("UPDATE attendance_sheets SET status = 'open', closed_at = NULL, closed_by_id = NULL, "
                                "version = 2 WHERE id = :id"), {"id": sheet_of[reopened.id]})
        _insert("attendance_sheet_versions", {"sheet_id": sheet_of[reopened.id], "number": 2, "action": "reopened",
                                              "reason": "Erreur", "at": reopened_at, "actor_id": admin.id,
                                              "actor_name": admin.name, "snapshot": "{}"})
        ids[unversioned.id] = _insert("attendance_signatures", {
            "slot_id": unversioned.id, "trainer_id": trainer.id, "signer_name": trainer.name,
            "signed_at": datetime(2030, 3, 7, 11, 25), "method": "device", "ip_address": "", "user_agent": "",
            "image_sha256": "0" * 64, "image": b"png", "voided_reason": ""})
        reopened_id, unversioned_id, admin_id, trainer_id = reopened.id, unversioned.id, admin.id, trainer.id
        ids = {name: ids[slot.id] for name, slot in (("reopened", reopened), ("closed", closed),
                                                     ("unversioned", unversioned))}
        sheets = {name: sheet_of[slot.id] for name, slot in (("reopened", reopened), ("unversioned", unversioned))}
        db.session.remove()

        def signatures():
            db.session.remove()
            with db.engine.connect() as conn:
                return {name: tuple(conn.execute(text(
                    "SELECT voided_at, voided_by_id, voided_reason FROM attendance_signatures WHERE id = :id"),
                    {"id": signature_id}).one())
                    for name, signature_id in ids.items()}

        def entries():
            with db.engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(
                    "SELECT entity_id, action FROM audit_entries WHERE actor_label = 'migration 0035' ORDER BY id"))]

        upgrade(revision="0035")
        after = signatures()
        assert after["closed"] == (None, None, "")
        at, by, reason = after["reopened"]
        assert (datetime.fromisoformat(str(at)), by) == (reopened_at, admin_id)
        assert reason.startswith("Feuille rouverte avant le 24/11/2026 : cette signature ne valait que pour la feuille")
        at, by, same_reason = after["unversioned"]
        assert at is not None and by is None and same_reason == reason
        assert entries() == [(sheets["reopened"], "trainer_signature_voided"),
                             (sheets["unversioned"], "trainer_signature_voided")]
        with frozen_at(reopened_at + timedelta(hours=1)):  # no longer closed under the old signature
            slot = db.session.get(Slot, reopened_id)
            assert attendance.slot_sheet(slot).trainer_signatures == []
            with pytest.raises(ServiceError, match="La réouverture a annulé la signature"):
                attendance.close_slot(slot, db.session.get(User, admin_id))
            db.session.rollback()
        downgrade(revision="0034")
        assert set(signatures().values()) == {(None, None, "")} and entries() == []
        upgrade(revision="0035")
        with frozen_at(datetime(2030, 3, 7, 12, 25)):  # the trainer signs the unversioned sheet again on its day
            slot = db.session.get(Slot, unversioned_id)
            attendance.close_slot(slot, db.session.get(User, trainer_id), factories.signature_data_url(8))
            db.session.commit()
        voided = signatures()
        with pytest.raises(SystemExit):  # refused (flask_migrate logs why): it could not stay beside the new one
            downgrade(revision="0034")
        assert signatures() == voided and len(entries()) == 2
        db.engine.dispose()


def test_0036_takes_off_the_numbers_of_drafts_that_leave_no_gap_and_back(empty_database_url, tmp_path):
    """Numbers are given at the sending now. A draft numbered after every claim sent of its year loses its number
    (the next sending takes it again); one below a claim sent keeps it (dropped, it would be a gap among the
    invoices sent). Back: a draft without a number takes "brouillon-<id>"; up again, it has none."""
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade(revision="0035")
        with db.engine.begin() as conn:
            _insert_funder_and_programme(conn)
            for claim_id, status, number in ((1, "sent", "2019-0001"), (2, "draft", "2019-0002"),
                                             (3, "paid", "2019-0003"), (4, "draft", "2019-0004"),
                                             (5, "draft", "2018-0001"), (6, "draft", "2019-0010")):
                _insert_claim(conn, claim_id, status, 0, [], number=number)

        def numbers():
            with db.engine.connect() as conn:
                return [row[0] for row in conn.execute(text("SELECT number FROM funding_claims ORDER BY id"))]

        upgrade(revision="0036")
        assert numbers() == ["2019-0001", "2019-0002", "2019-0003", None, None, None]
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:  # a claim sent has a number
            conn.execute(text("UPDATE funding_claims SET status = 'sent' WHERE id = 4"))
        downgrade(revision="0035")
        assert numbers() == ["2019-0001", "2019-0002", "2019-0003", "brouillon-4", "brouillon-5", "brouillon-6"]
        upgrade(revision="0036")
        assert numbers() == ["2019-0001", "2019-0002", "2019-0003", None, None, None]
        downgrade(revision="base")
        db.engine.dispose()
