"""The one table `python -m bench` prints: pages first, then documents, each checked against its target."""
from dataclasses import dataclass

from bench import databases


@dataclass
class Row:
    what: str
    count: str    # requests (pages) or documents measured
    rate: str     # requests/s or documents/s
    p50: str      # pages: latency p50; documents: median round, ms per document
    p95: str      # pages: latency p95; documents: slowest round, ms per document
    bare: str     # pages: the bare view's requests/s; documents: the bare library's best round, ms per document
    versus: str   # pages: throughput as a share of the bare view's; documents: best round / bare's best round
    cpu: str      # pages: server CPU ms per request, one at a time (does not depend on the machine's load):
                  # rendered, and given again when the page is kept (training_app/page_cache.py)
    sql: str      # statements per request rendered, small -> large database (documents: per document, large)
    kept_sql: str  # statements per request when a kept page is given again (large database)
    verdict: str


HEADERS = Row("measure", "n", "per s", "p50 ms", "p95 ms", "bare", "vs bare", "CPU ms rendered/kept",
              "SQL small→large", "SQL kept", "target")


def page_rows(result) -> list[Row]:
    from bench.load import TARGET_P95_MS, TARGET_RATIO
    bare = result.bare
    # The ceilings: the bare view, then what a write alone manages (no page can be asked to beat them)
    rows = [_ceiling_row(bare, bare, "ceiling"), *(_ceiling_row(w, bare, "ceiling of a write") for w in result.writes)]
    for measure in result.measures:
        ratio = measure.rate / bare.rate if bare.rate else 0.0
        p95 = measure.percentile(95)
        sizes = list(measure.queries.values())
        misses = []
        if not p95 <= TARGET_P95_MS:
            misses.append(f"p95 > {TARGET_P95_MS:.0f} ms")
        if ratio < TARGET_RATIO:
            misses.append(f"< {TARGET_RATIO:.0%} of bare")
        if len(set(sizes)) > 1:
            misses.append("SQL grows with data")
        rows.append(Row(measure.name, str(measure.requests), f"{measure.rate:.0f}", f"{measure.percentile(50):.1f}",
                        f"{p95:.1f}", f"{bare.rate:.0f}/s", _share(measure, bare), _cpu(measure),
                        " → ".join(sizes), measure.kept_queries,
                        ("MISSED: " + ", ".join(misses) if misses else "ok") + _errors(measure)))
    return rows


def document_rows(measures) -> list[Row]:
    from bench.documents import TARGET_RATIO
    rows = []
    for m in measures:
        verdict = "ok" if m.ratio <= TARGET_RATIO else f"MISSED: > {TARGET_RATIO:g} x bare"
        rows.append(Row(m.name, str(m.documents * len(m.product)), f"{1000 / m.product_ms:.0f}",
                        f"{m.product_ms:.1f}", f"{max(m.product) * 1000:.1f}",
                        f"{m.best_bare_ms:.1f} ms",
                        f"{m.ratio:.2f} x", "", f"{m.queries}/doc" if m.queries is not None else "", "",
                        verdict + (f" ({m.note})" if m.note else "")))
    return rows


def _ceiling_row(measure, bare, verdict: str) -> Row:
    return Row(measure.name, str(measure.requests), f"{measure.rate:.0f}", f"{measure.percentile(50):.1f}",
               f"{measure.percentile(95):.1f}", f"{bare.rate:.0f}/s", _share(measure, bare), f"{measure.cpu_ms:.2f}",
               "", "", verdict + _errors(measure))


def _share(measure, bare) -> str:
    return f"{measure.rate / bare.rate:.0%}" if bare.rate else "?"


def _cpu(measure) -> str:
    rendered = f"{measure.cpu_ms:.1f}"
    return rendered if measure.kept_cpu_ms is None else f"{rendered} / {measure.kept_cpu_ms:.2f}"


def _errors(measure) -> str:
    return f" ({measure.errors} errors: {measure.error_sample})" if measure.errors else ""


def table(rows: list[Row], *, before: str, after: str, base: str, clients: int, workers: int, seconds: float,
          notes: list[str] = ()) -> str:
    fields = list(HEADERS.__dataclass_fields__)
    lines = [HEADERS, *rows]
    widths = {name: max(len(getattr(row, name)) for row in lines) for name in fields}
    numeric = {"count", "rate", "p50", "p95", "bare", "versus", "cpu"}

    def render(row: Row) -> str:
        cells = []
        for name in fields:
            value = getattr(row, name)
            cells.append(value.rjust(widths[name]) if name in numeric else value.ljust(widths[name]))
        return "| " + " | ".join(cells) + " |"

    out = [
        f"training_app benchmark — database {databases.display(base)}",
        (f"pages: gunicorn {workers} sync workers, {clients} concurrent clients, {seconds:g} s per page, loopback; "
         "documents: in-process, product and bare library alternately, best rounds compared"),
        f"machine before: {before}; after: {after}",
        ("targets: p95 < 150 ms, >= 25 % of the bare view's throughput, SQL per page the same on both sizes, "
         "documents <= 1.5 x the bare library"),
        "",
        render(HEADERS),
        "|" + "|".join("-" * (widths[name] + 2) for name in fields) + "|",
        *[render(row) for row in rows],
    ]
    out += [f"note: {note}" for note in notes]
    return "\n".join(out)
