"""The benchmarks' SQL statement count (BENCH_COUNT_QUERIES): off by default, exact when on."""
from training_app import create_app
from training_app.extensions import db
from training_app.query_counter import CPU_HEADER, HEADER

from tests import factories


def test_no_count_header_by_default(client):
    factories.make_programme(title="Négocier")
    response = client.get("/")
    assert response.status_code == 200
    assert HEADER not in response.headers and CPU_HEADER not in response.headers


def test_count_header_gives_the_statements_of_the_request(app):
    factories.make_programme(title="Négocier")
    counted = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                     "STORAGE_DIR": app.config["STORAGE_DIR"], "BENCH_COUNT_QUERIES": True})
    client = counted.test_client()
    with counted.app_context(), factories.count_queries() as statements:
        response = client.get("/")
    assert response.status_code == 200
    assert int(response.headers[HEADER]) == len(statements) > 0
    assert int(response.headers[CPU_HEADER]) > 0
    assert client.get("/healthz").headers[HEADER] == "1"
    with counted.app_context():
        db.engine.dispose()
