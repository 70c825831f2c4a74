"""The signatures of some half-days, voided ones included (the session's page asks which half-days have any,
sessions.changeable_half_days), are found through an index: the unique indexes starting with slot_id hold valid
signatures only, and without one of its own the whole table was read (79 ms on the benchmark's large data)."""
from sqlalchemy import text

from training_app.extensions import db

STATEMENT = "SELECT slot_id FROM attendance_signatures WHERE slot_id IN (1, 2)"


def test_every_signature_of_a_half_day_is_found_through_an_index(app):
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: ask for an index if there is one
        plan = "\n".join(db.session.execute(text("EXPLAIN " + STATEMENT)).scalars())
        assert "Seq Scan" not in plan and "ix_attendance_signatures_slot_id" in plan
    else:
        plan = " ".join(str(row[-1]) for row in db.session.execute(text("EXPLAIN QUERY PLAN " + STATEMENT)))
        assert "INDEX ix_attendance_signatures_slot_id" in plan
    db.session.rollback()
