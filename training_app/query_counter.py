"""Opt-in measures of each request, for the benchmarks (bench/load.py).

With BENCH_COUNT_QUERIES on, every response carries two headers:
- `X-SQL-Queries`: the number of statements the request sent to the database;
- `X-CPU-Microseconds`: the CPU time the serving thread spent on it (the whole WSGI call up to
  the response headers), a cost that does not depend on how busy the machine is.
It is off by default: nothing is registered then, so ordinary requests pay nothing for it.
Never turn it on for real users: the headers tell how much work a page does.
"""
import time

from flask import Flask, g, has_request_context
from sqlalchemy import event

from training_app.extensions import db

HEADER = "X-SQL-Queries"
CPU_HEADER = "X-CPU-Microseconds"


def init_app(app: Flask) -> None:
    if not app.config.get("BENCH_COUNT_QUERIES"):
        return
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _count)
    token_engine = app.extensions.get("data_version_engine")  # training_app/page_cache.py
    if token_engine is not None:
        event.listen(token_engine, "before_cursor_execute", _count)
    app.after_request(_add_header)
    app.wsgi_app = CpuTimer(app.wsgi_app)


def _count(*_args) -> None:
    if has_request_context():
        g.sql_queries = g.get("sql_queries", 0) + 1


def _add_header(response):
    response.headers[HEADER] = str(g.get("sql_queries", 0))
    return response


class CpuTimer:
    """WSGI middleware adding the CPU time of the request to its headers (bench/bare.py uses it too)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.thread_time()

        def timed_start_response(status, headers, exc_info=None):
            spent = round((time.thread_time() - started) * 1_000_000)
            return start_response(status, [*headers, (CPU_HEADER, str(spent))], exc_info)

        return self.wsgi_app(environ, timed_start_response)
