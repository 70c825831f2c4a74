"""The one source of "now".

Event timestamps (signatures, audit entries, e-mails) are stored as naive UTC.
The schedule (slots, session start and end) is stored as naive local wall-clock
time in the configured TIMEZONE, since that is what trainees and funders read.
Tests and the demo data freeze time with `frozen_at()`.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app

_frozen: ContextVar[datetime | None] = ContextVar("frozen_utc", default=None)


def utcnow() -> datetime:
    frozen = _frozen.get()
    if frozen is not None:
        return frozen
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def frozen_at(local: datetime):
    """Run a block as if the local wall-clock time were `local` (demo data, tests)."""
    aware = local.replace(tzinfo=local_zone()).astimezone(timezone.utc)
    token = _frozen.set(aware.replace(tzinfo=None))
    try:
        yield
    finally:
        _frozen.reset(token)


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_now() -> datetime:
    """Naive local wall-clock time, comparable with slot and session times."""
    aware = utcnow().replace(tzinfo=timezone.utc).astimezone(local_zone())
    return aware.replace(tzinfo=None)


def to_local(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(local_zone()).replace(tzinfo=None)
