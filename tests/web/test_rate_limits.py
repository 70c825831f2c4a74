"""Rate limits in production: the README's Redis storage starts, and its limits hold across processes (with
`memory://` each gunicorn worker counts on its own, so four workers let four times as much through)."""
import socket
import urllib.error
import urllib.request

import pytest
import redis

from tests import factories

REDIS_DATABASE = 15  # the tests' own; emptied first
VERIFY_PER_MINUTE = 20  # certificates/views.py VERIFY_LIMIT


def _redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # a new connection each time
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379 (the README's production setup)")
def test_limits_kept_in_redis_hold_across_processes(app, tmp_path):
    """Two servers (as two workers, whichever takes each request): the limit counts their requests together."""
    storage = f"redis://127.0.0.1:6379/{REDIS_DATABASE}"
    redis.Redis.from_url(storage).flushdb()
    production = {"config": "production", "SECRET_KEY": "x" * 64, "PUBLIC_URL": "https://formation.example.org",
                  "RATELIMIT_STORAGE_URI": storage, "RATELIMIT_ENABLED": "1", "SESSION_COOKIE_SECURE": "0"}
    with factories.gunicorn_serving(app, tmp_path / "a", workers=1, **production) as first, \
            factories.gunicorn_serving(app, tmp_path / "b", workers=1, **production) as second:
        half = VERIFY_PER_MINUTE // 2
        answers = [_get(f"{first}/verify") for _ in range(half)]
        answers += [_get(f"{second}/verify") for _ in range(VERIFY_PER_MINUTE - half)]
        answers += [_get(f"{first}/verify"), _get(f"{second}/verify")]
    assert [status for status, _ in answers] == [200] * VERIFY_PER_MINUTE + [429, 429]
    assert "Trop de demandes" in answers[-1][1]
