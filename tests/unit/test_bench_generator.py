"""bench/generate.py fills a database through bulk inserts that bypass the models: every new column or
constraint of the schema must be filled there too, or `make bench` stops at its first insert. A tiny
organisation (a hundredth of the large one) is generated here, migrated as the benchmark does, on the suite's
database engine (a SQLite file, or a schema of the PostgreSQL test database); the load benchmark's landmarks
and the document benchmarks, which call the services as the product does, then run on it once."""
import pytest
from sqlalchemy import create_engine, text

from bench import certificates as certificate_bench
from bench import databases, documents, generate, load

TINY = "tiny"


@pytest.fixture
def tiny_base(app, tmp_path, monkeypatch):
    monkeypatch.setitem(generate.SCALES, TINY, 0.01)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not databases.is_postgres(url):
        yield f"sqlite:///{tmp_path / 'bench.db'}"
        return
    yield url
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{databases.schema_name(TINY)}" CASCADE'))
    engine.dispose()


def test_the_generator_fills_the_current_schema_and_the_load_benchmark_finds_its_pages(tiny_base, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    inserted = generate.generate(tiny_base, TINY, echo=lambda line: None)

    counts = generate.counts_for(TINY)
    assert inserted["enrolments"] == counts["enrolments"]
    assert inserted["training_sessions"] == counts["sessions"]
    assert generate.is_generated(tiny_base, TINY)
    # Data made by another version of the generator is made again (bench/__main__.py), not reused.
    monkeypatch.setattr(generate, "generator_fingerprint", lambda seed=8: "an older generator")
    assert not generate.is_generated(tiny_base, TINY)
    monkeypatch.undo()
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setitem(generate.SCALES, TINY, 0.01)
    engine = create_engine(databases.url_for_size(tiny_base, TINY))
    with engine.connect() as conn:
        waiting_without_date = conn.scalar(text(
            "SELECT COUNT(*) FROM enrolments WHERE status = 'waitlisted' AND waitlisted_at IS NULL"))
        waiting = conn.scalar(text("SELECT COUNT(*) FROM enrolments WHERE status = 'waitlisted'"))
        sent = conn.execute(text("SELECT sent_on, number FROM funding_claims WHERE sent_on IS NOT NULL "
                                 "ORDER BY sent_on, id")).all()
        without_employer = conn.scalar(text(
            "SELECT COUNT(*) FROM enrolments e JOIN trainees t ON t.id = e.trainee_id "
            "WHERE t.employer_id IS NOT NULL AND e.employer_id IS NULL"))
    engine.dispose()
    assert waiting > 0 and waiting_without_date == 0
    assert without_employer == 0
    years = [str(sent_on)[:4] for sent_on, _number in sent]  # numbered in sending order, in the sending's year
    assert [number for _sent_on, number in sent] == [
        f"{year}-{years[:index + 1].count(year):04d}" for index, year in enumerate(years)] and sent
    marks = load.landmarks(databases.url_for_size(tiny_base, TINY))
    assert set(marks) == {"past_session", "survey", "lineage", "busiest_programme", "full_session", "slot"}
    # The requests the confirmation's benchmark confirms, written for a run, are those the public page records.
    tokens = generate.pending_requests(databases.url_for_size(tiny_base, TINY), marks["full_session"], 3)

    # The document benchmarks call the services as the product does: they follow the services' signatures.
    bench_app = documents.make_app(databases.url_for_size(tiny_base, TINY), str(tmp_path / "storage"))
    measures = [documents.convocations(bench_app), documents.claim_workbook(bench_app)]
    with bench_app.app_context():
        from training_app.extensions import db
        from training_app.services import registration_requests
        done = registration_requests.confirm(tokens[1])
        assert done.just_confirmed and done.enrolment.status == "waitlisted"
        db.session.rollback()
        db.engine.dispose()
    convocations, workbook = measures
    assert convocations.documents > 0 and workbook.documents == 1
    assert all(measure.product and measure.bare for measure in measures)


def test_the_certificates_benchmark_issues_a_session_as_the_product_does(monkeypatch):
    monkeypatch.setattr(certificate_bench, "ROUNDS", 2)  # the first issues, the second re-issues
    bare, issued = certificate_bench.rounds()
    assert len(bare) == len(issued) == 2 and min(bare) > 0 and min(issued) > 0
