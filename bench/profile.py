"""Where a page spends its time: cProfile of requests served in-process (not through gunicorn).

    python -m bench.profile PATH [--size large] [--staff] [--repeat 20] [--sort cumulative] [--lines 40]

A development aid for fixing a missed target: the same application and data as bench/load.py,
requests made with Flask's test client, the profile of `--repeat` requests printed.
"""
import argparse
import cProfile
import os
import pstats
import secrets
import tempfile

from bench import databases
from bench.generate import ADMIN_EMAIL, ADMIN_PASSWORD


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--size", default="large")
    parser.add_argument("--database-url")
    parser.add_argument("--staff", action="store_true", help="sign in as the benchmark administrator first")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-profile-"))
    from training_app import create_app
    url = databases.url_for_size(databases.base_url(args.database_url), args.size)
    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
                                    "PUBLIC_URL": "http://localhost",  # the test client's address
                                    "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    if args.staff:
        answer = client.post("/connexion", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert answer.status_code == 302, answer.status_code
    for _ in range(3):
        assert client.get(args.path).status_code == 200
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.repeat):
        client.get(args.path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"{args.repeat} requests of {args.path}: {stats.total_tt / args.repeat * 1000:.1f} ms each (profiled)")
    stats.sort_stats(args.sort).print_stats(args.lines)


if __name__ == "__main__":
    main()
