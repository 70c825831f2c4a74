"""Opt-in count of the SQL statements each request runs, for the benchmarks (bench/load.py).

With BENCH_COUNT_QUERIES on, every response carries an `X-SQL-Queries` header with the number
of statements the request sent to the database. It is off by default: nothing is registered
then, so ordinary requests pay nothing for it. Never turn it on for real users: the header
tells how much work a page does.
"""
from flask import Flask, g, has_request_context
from sqlalchemy import event

from training_app.extensions import db

HEADER = "X-SQL-Queries"


def init_app(app: Flask) -> None:
    if not app.config.get("BENCH_COUNT_QUERIES"):
        return
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _count)
    app.after_request(_add_header)


def _count(*_args) -> None:
    if has_request_context():
        g.sql_queries = g.get("sql_queries", 0) + 1


def _add_header(response):
    response.headers[HEADER] = str(g.get("sql_queries", 0))
    return response
