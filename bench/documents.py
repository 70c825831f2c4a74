"""Documents: the product's time per document against the bare library call, in the same run.

- the convocations of a session: services/convocations.send_all() on the full upcoming session
  (its 15 or so confirmed trainees: context from the database, docxtpl render, stored file, the
  record of the sending, the e-mail queued), against a bare docxtpl render and save of the same
  template with the same contexts, built beforehand;
- a funding claim's workbook of 500 lines (the generated claim over a period: services/funding
  .workbook_bytes() on the claim read from the database: three sheets, formats, formulas, every
  text through excel.write_text), against the same cells, number formats and total formulas
  written the plain openpyxl way from values converted beforehand, saved;
- the certificates of a 15-trainee session (bench/certificates.py, on its own freshly built
  session: two documents per trainee, numbered, stored, with their QR codes), against a bare
  docxtpl render of the same templates with the same contexts and images; and the same as PDF
  (DOCUMENTS_AS_PDF, when LibreOffice is installed), against that render plus one LibreOffice run
  converting the 30 files.

Rounds alternate product and bare so that both meet the same machine load; the ratio compares
the best round of each (on a machine shared with other work, the least disturbed one; the median
is shown too), as bench/certificates.py does. The product's work is rolled back: the data stay as they were
(the files go to a temporary storage folder).
"""
import gc
import io
import os
import secrets
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import event, text

from bench import databases

ROUNDS = 7
TARGET_RATIO = 1.5


@dataclass
class DocumentMeasure:
    name: str
    documents: int = 0
    product: list[float] = field(default_factory=list)  # seconds per document, one value per round
    bare: list[float] = field(default_factory=list)
    queries: int | None = None  # SQL statements per document (product), when counted
    note: str = ""

    @property
    def product_ms(self) -> float:
        return statistics.median(self.product) * 1000

    @property
    def bare_ms(self) -> float:
        return statistics.median(self.bare) * 1000

    @property
    def best_product_ms(self) -> float:
        return min(self.product) * 1000

    @property
    def best_bare_ms(self) -> float:
        return min(self.bare) * 1000

    @property
    def ratio(self) -> float:
        """Best product round over best bare round."""
        return self.best_product_ms / self.best_bare_ms if self.bare else float("inf")


def make_app(url: str, storage: str):
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    from training_app import create_app
    return create_app("production", {"SQLALCHEMY_DATABASE_URI": url, "STORAGE_DIR": storage,
                                     "PUBLIC_URL": "http://localhost",  # no server: links are not followed
                                     "RATELIMIT_ENABLED": False, "SESSION_COOKIE_SECURE": False})


def compare(name: str, product, bare, documents: int, rounds: int = ROUNDS, count_engine=None) -> DocumentMeasure:
    """Run `product()` and `bare()` (each making `documents` documents) alternately, `rounds` times."""
    measure = DocumentMeasure(name, documents)
    product(), bare()  # warm-up: templates read, caches filled
    statements = [0]

    def count(*_args):
        statements[0] += 1

    for round_number in range(rounds):
        if count_engine is not None and round_number == 0:
            event.listen(count_engine, "before_cursor_execute", count)
        started = time.perf_counter()
        product()
        measure.product.append((time.perf_counter() - started) / documents)
        if count_engine is not None and round_number == 0:
            event.remove(count_engine, "before_cursor_execute", count)
            measure.queries = round(statements[0] / documents)
        started = time.perf_counter()
        bare()
        measure.bare.append((time.perf_counter() - started) / documents)
    return measure


def convocations(app) -> DocumentMeasure:
    from docxtpl import DocxTemplate

    from training_app.documents import word
    from training_app.extensions import db
    from training_app.models import TrainingSession
    from training_app.services import convocations as convocation_service

    with app.app_context(), app.test_request_context():
        session_id = db.session.execute(text(
            "SELECT s.id FROM training_sessions s JOIN programmes p ON p.id = s.programme_id "
            "WHERE s.status = 'full' AND s.start_at > :now AND NOT p.archived "
            "ORDER BY s.start_at LIMIT 1"), {"now": time.strftime("%Y-%m-%d %H:%M:%S")}).scalar_one()
        session = db.session.get(TrainingSession, session_id)
        enrolments = convocation_service.confirmed_enrolments(session)
        contexts = [convocation_service.context(e) for e in enrolments]
        template = word.template_path(convocation_service.TEMPLATE)
        db.session.rollback()

        def product():
            try:
                sent = convocation_service.send_all(db.session.get(TrainingSession, session_id))
                assert len(sent.sent) == len(contexts)
            finally:
                db.session.rollback()
                db.session.expire_all()

        def bare():
            for context in contexts:
                document = DocxTemplate(template)
                document.render(context, autoescape=True)
                document.save(io.BytesIO())

        return compare(f"convocations of a session ({len(contexts)})", product, bare, len(contexts),
                       count_engine=db.engine)


def claim_workbook(app) -> DocumentMeasure:
    from openpyxl import Workbook

    from training_app.extensions import db
    from training_app.models import FundingClaim
    from training_app.services import funding as funding_service

    with app.app_context():
        claim_id = db.session.execute(text(
            "SELECT id FROM funding_claims WHERE period_start IS NOT NULL ORDER BY id DESC LIMIT 1")).scalar_one()
        lines = db.session.get(FundingClaim, claim_id).snapshot["lines"]
        db.session.rollback()

        def product():
            db.session.expire_all()
            funding_service.workbook_bytes(db.session.get(FundingClaim, claim_id))
            db.session.rollback()

        # The bare library call: the same cells, number formats, header style and total formulas in the same
        # sheets (the summary's rows too), values converted beforehand, written the plain openpyxl way.
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        from training_app.documents import funding_claim as claim_document
        formats = {"hours": claim_document.HOURS, "rate": claim_document.RATE, "euros": claim_document.EUROS}
        convert = {"hours": claim_document.minutes_to_hours, "euros": claim_document.cents_to_euros,
                   "rate": lambda value: claim_document.cents_to_euros(Decimal(value)), "text": lambda value: value,
                   "mode": lambda value: claim_document.MODE_LABELS.get(value, value or "")}
        trainee_kinds = [kind for _title, _key, kind in claim_document.TRAINEE_COLUMNS]
        trainee_rows = [[claim_document.observations(line) if kind == "observations" else convert[kind](line[key])
                         for _title, key, kind in claim_document.TRAINEE_COLUMNS] for line in lines]
        annex_rows = [[line["trainee_name"], line["file_number"]]
                      + [claim_document.cents_to_euros(line["annex"][kind][key]) for kind in claim_document.ANNEX_KINDS
                         for key in ("agreed_cents", "actual_cents", "billed_cents")]
                      + [claim_document.cents_to_euros(line["annex_cents"])] for line in lines]
        annex_kinds = ["text", "text"] + ["euros"] * 10

        def sheet_of(book, title, header, rows, kinds):
            sheet = book.create_sheet(title)
            sheet.append(header)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
                cell.fill = claim_document.HEADER_FILL
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for row, values in enumerate(rows, start=2):
                for column, (value, kind) in enumerate(zip(values, kinds), start=1):
                    cell = sheet.cell(row=row, column=column, value=value)
                    if kind in formats:
                        cell.number_format = formats[kind]
            total = len(rows) + 2
            for column, kind in enumerate(kinds, start=1):
                if kind in ("hours", "euros"):
                    letter = get_column_letter(column)
                    sheet.cell(row=total, column=column, value=f"=SUM({letter}2:{letter}{total - 1})")

        snapshot = db.session.get(FundingClaim, claim_id).snapshot
        db.session.rollback()
        summary_rows = [(f"Session {n}", value) for session in snapshot["sessions"] for n, value in enumerate(
            (session["title"], f"{session['start']} - {session['end']}", session.get("place") or "",
             claim_document.minutes_to_hours(session["planned_minutes"])))] + [("Total", 0)] * 20

        def bare():
            book = Workbook()
            summary = book.active
            summary.title = claim_document.SUMMARY_SHEET
            for row, (label, value) in enumerate(summary_rows, start=1):
                summary.cell(row=row, column=1, value=label).font = Font(bold=True)
                summary.cell(row=row, column=2, value=value)
            sheet_of(book, claim_document.TRAINEES_SHEET, [t for t, _k, _kind in claim_document.TRAINEE_COLUMNS],
                     trainee_rows, trainee_kinds)
            sheet_of(book, claim_document.ANNEX_SHEET, [""] * 12, annex_rows, annex_kinds)
            book.save(io.BytesIO())

        # One document a round, and a noisy machine: more rounds than for the others.
        measure = compare(f"claim workbook ({len(lines)} lines)", product, bare, 1, rounds=11,
                          count_engine=db.engine)
        return measure


def certificates(as_pdf: bool = False) -> DocumentMeasure:
    from bench import certificates as certificate_bench
    bare, issued = certificate_bench.rounds(as_pdf)
    return DocumentMeasure(f"certificates of a {certificate_bench.TRAINEES}-trainee session"
                           + (", as PDF" if as_pdf else ""), 2 * certificate_bench.TRAINEES, product=issued,
                           bare=bare, note="own SQLite session: bench/certificates.py")


def measure_documents(base: str, size: str = "large", echo=print) -> list[DocumentMeasure]:
    from training_app.extensions import db
    storage = tempfile.mkdtemp(prefix="bench-storage-")
    try:
        app = make_app(databases.url_for_size(base, size), storage)
        # As each gunicorn worker does once the application is loaded (gunicorn.conf.py): what the process keeps
        # for its life is out of the collector's sight. Without it a full collection walks the bench's own heap
        # too, about 120 ms, in the middle of a 500-line workbook (sixteenth round).
        gc.collect()
        gc.freeze()
        measures = [convocations(app), claim_workbook(app)]
        with app.app_context():
            db.engine.dispose()
        measures.append(certificates())
        if shutil.which("soffice"):  # DOCUMENTS_AS_PDF needs LibreOffice
            measures.append(certificates(as_pdf=True))
    finally:
        gc.unfreeze()
        shutil.rmtree(storage, ignore_errors=True)
    for measure in measures:
        echo(f"  {measure.name}: {measure.best_product_ms:.1f} ms per document, bare {measure.best_bare_ms:.1f} ms"
             f" (best rounds)")
    return measures
