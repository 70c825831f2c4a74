"""`flask db upgrade` on an empty database gives exactly the models' schema."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
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
    from training_app.models import AuditEntry, Enrolment
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade()  # the models' schema, to write the data with them; then back to 0022 with the data
        session = factories.make_session()  # Tue 5 - Fri 8 March 2030
        early, during = factories.make_enrolment(session), factories.make_enrolment(session)
        early.status, early.withdrawn_on = "withdrawn", date(2030, 3, 1)
        during.status, during.withdrawn_on = "withdrawn", date(2030, 3, 6)
        db.session.commit()
        ids = early.id, during.id
        db.session.remove()
        downgrade(revision="0022")

        def states():
            db.session.remove()
            return [db.session.get(Enrolment, i).status for i in ids]

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
