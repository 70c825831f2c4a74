"""Where the benchmark data lives: one database per data size.

The base URL comes from --database-url, else $BENCH_DATABASE_URL, else $DATABASE_URL, else a
SQLite file under instance/bench/. Each size gets its own place in it, so that the same pages
can be measured on a small and on a large organisation:

- PostgreSQL: one schema per size (bench_small, bench_large) in the given database, chosen
  with the connection's search_path; the database itself is never dropped.
- SQLite: one file per size, next to the given file (bench-small.db, bench-large.db).

Never point this at a database that holds real data or another person's tests: generating
drops and recreates the size's schema (PostgreSQL) or file (SQLite).
"""
import os
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from training_app.config import _database_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SQLITE = os.path.join(ROOT, "instance", "bench", "bench.db")


def base_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return _database_url(url, "sqlite:///" + DEFAULT_SQLITE)


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def schema_name(size: str) -> str:
    return f"bench_{size}"


def url_for_size(base: str, size: str) -> str:
    """The SQLAlchemy URL of one data size (see the module's docstring)."""
    if is_postgres(base):
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}options={quote('-csearch_path=' + schema_name(size))}"
    database = make_url(base).database
    if not database or database == ":memory:":
        raise SystemExit("The benchmarks need a SQLite file or PostgreSQL, not an in-memory database.")
    stem, ext = os.path.splitext(database)
    return f"sqlite:///{stem}-{size}{ext or '.db'}"


def display(url: str) -> str:
    """The URL without its password, for the printed table."""
    return make_url(url).render_as_string(hide_password=True)


def reset(base: str, size: str) -> None:
    """Drop and recreate the size's schema (PostgreSQL) or file (SQLite): an empty database."""
    if is_postgres(base):
        engine = create_engine(base)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema_name(size)}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema_name(size)}"'))
        engine.dispose()
        return
    path = make_url(url_for_size(base, size)).database
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
