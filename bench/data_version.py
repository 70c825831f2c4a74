"""What the kept pages' data token costs concurrent writers on PostgreSQL (training_app/page_cache.py).

    python -m bench data_version               # $BENCH_DATABASE_URL or $DATABASE_URL
    python -m bench.data_version [--database-url URL] [--threads 8] [--seconds 3]

Every transaction of the application that writes renews one row of `data_version` just before it commits, and
holds that row until its commit is on disk. Here, `--threads` connections each insert one row and commit, as fast
as they can, for `--seconds`: without any token, with the token on one row (as before the thirteenth round of
bench/README.md), and spread over DATA_VERSION_ROWS rows (as now). Plain SQL on tables of its own (dropped
afterwards), nothing of the application around it: the figures are commits per second.
"""
import argparse
import random
import secrets
import threading
import time

from sqlalchemy import create_engine, text

from bench import databases
from training_app.page_cache import DATA_VERSION_ROWS

_TABLES = ("bench_token_writes", "bench_token_rows")


def commits_per_second(engine, rows: int, *, threads: int, seconds: float) -> float:
    """`threads` writers committing one insert each time, renewing one of `rows` token rows (0: none)."""
    done, lock = [0], threading.Lock()
    stop = time.perf_counter() + seconds

    def writer():
        count = 0
        with engine.connect() as conn:
            while time.perf_counter() < stop:
                conn.execute(text("INSERT INTO bench_token_writes (v) VALUES ('x')"))
                if rows:
                    conn.execute(text(
                        f"INSERT INTO bench_token_rows (id, token) VALUES ({random.randint(1, rows)}, "
                        f"'{secrets.token_hex(16)}') ON CONFLICT (id) DO UPDATE SET token = excluded.token"))
                conn.commit()
                count += 1
        with lock:
            done[0] += count

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return done[0] / seconds


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv or [])
    url = databases.base_url(args.database_url)
    if not databases.is_postgres(url):
        print("data_version: PostgreSQL only (SQLite lets one writer at a time whatever the token)")
        return True
    engine = create_engine(url, pool_size=args.threads)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_token_writes (id SERIAL PRIMARY KEY, v TEXT)"))
            conn.execute(text("CREATE TABLE bench_token_rows (id INTEGER PRIMARY KEY, token TEXT)"))
        print(f"{args.threads} writers, {args.seconds:.0f} s each, {databases.display(url)}")
        for name, rows in (("no token", 0), ("token on 1 row", 1), (f"token on {DATA_VERSION_ROWS} rows",
                                                                      DATA_VERSION_ROWS)):
            print(f"  {name:<20} {commits_per_second(engine, rows, threads=args.threads, seconds=args.seconds):7.0f}"
                  " commits/s")
    finally:
        with engine.begin() as conn:
            for table in _TABLES:
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
    return True


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
