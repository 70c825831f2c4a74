"""Documents: the product's time per document against the bare library call, in the same run.

- the convocations of a session: services/convocations.send_all() on the full upcoming session
  (its 15 or so confirmed trainees: context from the database, docxtpl render, stored file, the
  record of the sending, the e-mail queued), against a bare docxtpl render and save of the same
  template with the same contexts, built beforehand;
- the certificates of a 15-trainee session (bench/certificates.py, on its own freshly built
  session: two documents per trainee, numbered, stored, with their QR codes), against a bare
  docxtpl render of the same templates with the same contexts and images.

Rounds alternate product and bare so that both meet the same machine load; the figure kept
for each is the median round. The product's work is rolled back: the data stay as they were
(the files go to a temporary storage folder).
"""
import io
import os
import secrets
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field

from sqlalchemy import event, text

from bench import databases

ROUNDS = 5
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
    def ratio(self) -> float:
        return self.product_ms / self.bare_ms if self.bare_ms else float("inf")


def make_app(url: str, storage: str):
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    from training_app import create_app
    return create_app("production", {"SQLALCHEMY_DATABASE_URI": url, "STORAGE_DIR": storage,
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
                assert len(sent) == len(contexts)
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


def certificates() -> DocumentMeasure:
    from bench import certificates as certificate_bench
    bare, issued = certificate_bench.rounds()
    return DocumentMeasure(f"certificates of a {certificate_bench.TRAINEES}-trainee session",
                           2 * certificate_bench.TRAINEES, product=issued, bare=bare,
                           note="own SQLite session: bench/certificates.py")


def measure_documents(base: str, size: str = "large", echo=print) -> list[DocumentMeasure]:
    from training_app.extensions import db
    storage = tempfile.mkdtemp(prefix="bench-storage-")
    try:
        app = make_app(databases.url_for_size(base, size), storage)
        measures = [convocations(app)]
        with app.app_context():
            db.engine.dispose()
        measures.append(certificates())
    finally:
        shutil.rmtree(storage, ignore_errors=True)
    for measure in measures:
        echo(f"  {measure.name}: {measure.product_ms:.1f} ms per document, bare {measure.bare_ms:.1f} ms")
    return measures
