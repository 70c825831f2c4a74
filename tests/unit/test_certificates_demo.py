"""The demo's past session: certificates issued the afternoon the course ended, once."""
from datetime import datetime

from tests.certificate_course import docx_text
from training_app import demo
from training_app.clock import to_local
from training_app.demo.sessions import past_session
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import IssuedCertificate
from training_app.services import certificates as certificate_service
from training_app.services import outcomes


def test_demo_certificates_of_the_past_session():
    demo.seed()
    session = past_session()
    # every trainee was assessed on every objective: the office issued without confirming missing outcomes
    assert outcomes.unrecorded_for_session(session) == {}
    current = certificate_service.current_documents_for_session(session)
    assert len(current) == 12 and all(set(docs) == {"attestation", "realisation"} for docs in current.values())
    documents = [doc for docs in current.values() for doc in docs.values()]
    assert sorted(doc.number for doc in documents) == [f"2018-{n:05d}" for n in range(1, 25)]
    assert {to_local(doc.issued_at) for doc in documents} == {datetime(2018, 12, 14, 16, 30)}
    karim = next(doc for doc in documents if doc.trainee_name == "Karim Benali" and doc.kind == "realisation")
    assert "pour une durée de 17 heures" in docx_text(storage.read(karim.storage_path))
    assert karim.issued_by.name == "Claire Bernard"

    demo.seed()
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 24
