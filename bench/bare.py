"""The ceilings: what Flask and gunicorn alone manage, served exactly like the product.

Not part of the product (training_app knows nothing of it). bench/load.py serves it with the
same gunicorn command line and loads it with the same client, so that each page's throughput
can be given as a fraction of what Flask and gunicorn alone manage on this machine. Like the
product with BENCH_COUNT_QUERIES, it tells the CPU time of each request in a header.

- `/`: a bare view returning a short text, the ceiling of every page (the issue's reference);
- `/write` and `/locked-write`: the ceilings of a write, posted the registration's form. `/write`
  inserts one row and commits. `/locked-write` does the database work of a public registration's
  enrolment with none of the product around it (no ORM, no form, no page, no e-mail): it locks one
  row with `SELECT … FOR UPDATE`, as the enrolment locks its session, sends as many INSERTs as the
  enrolment has other statements, and commits. Since the registration holds no seat until its address
  is proven, that work is the confirmation's (the link e-mailed for a request, bench/load.py); the
  request posted on the form writes two rows without any lock, the work of `/write` twice over. Their
  GET gives a form with a token field, as the registration's page does, so the same client posts to
  them.
"""
import os

from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from training_app.query_counter import CpuTimer

# The statements of a public registration's confirmation on PostgreSQL, which enrols under the session's lock, commit
# not counted (bench/README.md): 12 since the double opt-in (the request posted on the form sends 4, no lock).
REGISTRATION_STATEMENTS = 12

metadata = MetaData()
locked_rows = Table("bench_bare_locked_rows", metadata, Column("id", Integer, primary_key=True))
written_rows = Table("bench_bare_written_rows", metadata, Column("id", Integer, primary_key=True),
                     Column("email", String(254)))

app = Flask(__name__)
app.wsgi_app = CpuTimer(app.wsgi_app)
_engine = None


def prepare(url: str) -> None:
    """Create the two tables in `url` (empty) and the row that /locked-write locks; before serving."""
    engine = create_engine(url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(insert(locked_rows).values(id=1))
    finally:
        engine.dispose()


def engine():
    global _engine
    if _engine is None:  # in each gunicorn worker, after the fork
        _engine = create_engine(os.environ["DATABASE_URL"])
    return _engine


@app.route("/")
def hello():
    return "Bonjour"


FORM = '<form method="post"><input name="csrf_token" type="hidden" value="-"></form>'


@app.route("/write", methods=["GET", "POST"])
def write():
    if request.method == "GET":
        return FORM
    with engine().begin() as connection:
        connection.execute(insert(written_rows).values(email=request.form["email"]))
    return "Enregistré"


@app.route("/locked-write", methods=["GET", "POST"])
def locked_write():
    if request.method == "GET":
        return FORM
    with engine().begin() as connection:
        connection.execute(select(locked_rows.c.id).where(locked_rows.c.id == 1).with_for_update())
        for _ in range(REGISTRATION_STATEMENTS - 1):
            connection.execute(insert(written_rows).values(email=request.form["email"]))
    return "Enregistré"
