"""`python -m bench` (`make bench`): generate the data if needed, run every benchmark, print one table.

    python -m bench [--database-url URL] [--regenerate] [--seconds S] [--clients N] [--workers W]

The database: --database-url, else $BENCH_DATABASE_URL, else $DATABASE_URL, else SQLite files
in instance/bench/ (see bench/databases.py). Each data size ("small", "large") is generated on
first use and reused afterwards (--regenerate builds them again).
"""
import argparse
import sys

from bench import databases, documents, generate, load, report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark and print one table.")
    parser.add_argument("--database-url")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--seconds", type=float, default=load.SECONDS)
    parser.add_argument("--clients", type=int, default=load.CLIENTS)
    parser.add_argument("--workers", type=int, default=load.WORKERS)
    args = parser.parse_args(argv)

    def echo(line):
        print(line, file=sys.stderr, flush=True)

    base = databases.base_url(args.database_url)
    for size in generate.SCALES:
        if args.regenerate or not generate.is_generated(base, size):
            generate.generate(base, size, echo=echo)
    before = load.machine_load()
    pages = load.measure_pages(base, clients=args.clients, seconds=args.seconds, workers=args.workers, echo=echo)
    rows = report.page_rows(pages) + report.document_rows(documents.measure_documents(base, echo=echo))
    print(report.table(rows, before=before, after=load.machine_load(), base=base, clients=args.clients,
                       workers=args.workers, seconds=args.seconds))


if __name__ == "__main__":
    main()
