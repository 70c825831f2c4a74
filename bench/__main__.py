"""Run every benchmark: `python -m bench`, or `python -m bench certificates` for one of them."""
import importlib
import sys

BENCHMARKS = [
    "certificates",  # issuing a 15-trainee session's certificates vs a bare docxtpl render
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        failed += 0 if module.main() else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
