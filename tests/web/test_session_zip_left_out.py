"""The session's .zip holds every document it can; those it cannot hold (a trainee's records expired at the end of
the retention period, a file missing on the server or changed since it was issued) are listed, with why, in
documents-non-inclus.txt inside the .zip, not silently left out."""
import io
import os
import zipfile

from tests.certificate_course import completed_course
from training_app.documents import storage
from training_app.extensions import db
from training_app.services import certificates as certificate_service
from training_app.services import personal_data

LEFT_OUT = "documents-non-inclus.txt"


def _issued_course():
    course = completed_course()
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    return course


def _zip(admin_client, session) -> zipfile.ZipFile:
    response = admin_client.get(f"/sessions/{session.id}/attestations.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip", response.get_data(as_text=True)
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_a_zip_with_every_document_has_no_list_of_left_out_ones(admin_client):
    course = _issued_course()
    assert LEFT_OUT not in _zip(admin_client, course.session).namelist()


def test_expired_records_and_missing_or_changed_files_are_listed_in_the_zip(admin_client):
    course = _issued_course()
    awa, julien, sophie = course.enrolments
    expired = certificate_service.current_documents(awa)
    personal_data.erase(awa.trainee, "Demande de la personne", None)
    personal_data.expire_records(awa.trainee)
    db.session.commit()
    missing = certificate_service.current_documents(julien)["attestation"]
    os.remove(storage.absolute(missing.storage_path))
    changed = certificate_service.current_documents(julien)["realisation"]
    with open(storage.absolute(changed.storage_path), "ab") as handle:
        handle.write(b"changed")

    archive = _zip(admin_client, course.session)
    kept = certificate_service.current_documents(sophie)
    assert sorted(archive.namelist()) == sorted([doc.filename for doc in kept.values()] + [LEFT_OUT])
    for doc in kept.values():
        assert archive.read(doc.filename) == storage.read(doc.storage_path)
    text = archive.read(LEFT_OUT).decode("utf-8")
    assert "4 documents de la session ne sont pas dans ce fichier" in text
    for doc in expired.values():
        assert f"n° {doc.number}" in text
    assert "au terme de la durée de conservation" in text
    assert f"n° {missing.number} (Julien Le Bihan) : le fichier est introuvable sur le serveur" in text
    assert f"n° {changed.number} (Julien Le Bihan) : le fichier ne correspond plus à son empreinte" in text
    assert "Awa" not in text and "Diallo" not in text  # her records expired: her name is gone


def test_when_no_document_can_be_included_the_download_is_refused_with_why(admin_client):
    course = completed_course(trainees=("Awa Diallo",))
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    for doc in certificate_service.current_documents(course.enrolments[0]).values():
        os.remove(storage.absolute(doc.storage_path))
    response = admin_client.get(f"/sessions/{course.session.id}/attestations.zip", follow_redirects=True)
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 200 and "Aucun document de la session ne peut être téléchargé" in page
    assert "introuvable sur le serveur" in page
