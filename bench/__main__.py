"""`python -m bench` (`make bench`): generate the data if needed, run every benchmark, print one table.

    python -m bench [--database-url URL] [--regenerate] [--seconds S] [--clients N] [--workers W]
    python -m bench certificates       # one module of BENCHMARKS alone, with its own figures

The database: --database-url, else $BENCH_DATABASE_URL, else $DATABASE_URL, else SQLite files
in instance/bench/ (see bench/databases.py). Each data size ("small", "large") is generated on
first use and reused afterwards (--regenerate builds them again). The table has the pages
(bench/load.py) then the documents (bench/documents.py, which includes bench/certificates.py).
"""
import argparse
import importlib
import sys

BENCHMARKS = [
    "certificates",  # issuing a 15-trainee session's certificates vs a bare docxtpl render
    "data_version",  # what the kept pages' data token costs concurrent writers (PostgreSQL)
]


def run_one(name: str) -> int:
    module = importlib.import_module(f"bench.{name}")
    print(f"== {name}")
    return 0 if module.main() else 1


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in BENCHMARKS:
        return max(run_one(name) for name in argv)
    from bench import databases, documents, generate, load, report

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
        else:
            generate.bring_up_to_date(base, size)
    before = load.machine_load()
    pages = load.measure_pages(base, clients=args.clients, seconds=args.seconds, workers=args.workers, echo=echo)
    rows = report.page_rows(pages) + report.document_rows(documents.measure_documents(base, echo=echo))
    print(report.table(rows, before=before, after=load.machine_load(), base=base, clients=args.clients,
                       workers=args.workers, seconds=args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
