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
