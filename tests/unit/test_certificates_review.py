"""Certificates, after review: the employer of the course (not the trainee's record now, the funding agreement's
when it names one), the nature of the action from the programme's BPF objective, the legal representative's
own signature image on the certificat de réalisation, and template uploads at once or rolled back."""
import io
import os
from datetime import date, datetime

import pytest
from docx import Document
from PIL import Image
from werkzeug.datastructures import FileStorage

from tests import factories
from tests.certificate_course import completed_course, docx_text, word_template
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import AuditEntry, CertificateTemplate, Enrolment, Organisation
from training_app.services import ServiceError, enrolments, funding, registrations
from training_app.services import certificates as certificate_service
from training_app.services import organisation as organisation_service


def _documents(enrolment) -> dict[str, str]:
    """kind -> the text of the trainee's current document, read back from the stored .docx."""
    return {kind: docx_text(storage.read(doc.storage_path))
            for kind, doc in certificate_service.current_documents(enrolment).items()}


def _move_to(trainee, employer_name: str) -> None:
    """The office corrects the trainee's record: they work for `employer_name` now."""
    details = registrations.PersonDetails(
        civility=trainee.civility, first_name=trainee.first_name, last_name=trainee.last_name, email=trainee.email,
        job_title=trainee.job_title, employer_name=employer_name, employer_siret="", category=trainee.category)
    registrations.update_trainee(trainee, details, actor=factories.make_user("admin"))
    db.session.commit()


# --- 1. the employer of the course ----------------------------------------------------------------------

def test_a_reissue_after_the_trainee_changed_employer_names_the_employer_of_the_course():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    julien = course.enrolments[1]
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    _move_to(julien.trainee, "Mairie de Vitré")  # after the course

    certificate_service.issue_for_enrolment(julien, unrecorded_confirmed=True)
    db.session.commit()
    texts = _documents(julien)
    assert "M. Julien LE BIHAN, salarié de la structure CCAS de Rennes," in texts["realisation"]
    assert "Structure employeuse | CCAS de Rennes (SIRET 783 245 210 00001)" in texts["attestation"]
    assert "Vitré" not in texts["realisation"] + texts["attestation"]
    assert julien.trainee.employer.name == "Mairie de Vitré" and julien.employer.name == "CCAS de Rennes"


def test_the_employer_follows_the_trainee_s_record_until_the_course_is_over():
    employer = factories.make_employer(name="CCAS de Rennes")
    trainee = factories.make_trainee(employer=employer)
    upcoming = factories.enrol(factories.make_session(start=datetime(2030, 3, 5, 14), end=datetime(2030, 3, 8, 12)),
                               trainee)
    over = factories.make_enrolment(factories.make_session(start=datetime(2018, 12, 11, 14),
                                                           end=datetime(2018, 12, 14, 12, 30)), trainee)
    assert upcoming.employer_id == employer.id == over.employer_id  # kept when the enrolment is made
    with frozen_at(datetime(2026, 1, 5, 10)):
        _move_to(trainee, "Mairie de Vitré")
    db.session.expire_all()
    assert db.session.get(Enrolment, upcoming.id).employer.name == "Mairie de Vitré"
    assert db.session.get(Enrolment, over.id).employer.name == "CCAS de Rennes"


def test_the_funding_agreement_s_employer_wins_on_the_certificates_and_the_claim():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    julien = course.enrolments[1]
    funder = factories.make_funder("Uniformation")
    association = factories.make_employer(name="Association Les Liens", siret="44195127000004", funder=funder)
    factories.make_agreement(course.session, [julien], funder=funder, employer=association)
    certificate_service.issue_for_enrolment(julien, unrecorded_confirmed=True)
    db.session.commit()

    assert "salarié de la structure Association Les Liens," in _documents(julien)["realisation"]
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding.create_claim(funder, session=course.session)
    line = next(line for line in claim.snapshot["lines"] if line["enrolment_id"] == julien.id)
    assert line["employer_name"] == "Association Les Liens"


def test_the_office_corrects_the_employer_of_one_enrolment_and_the_certificates_follow():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa = course.enrolments[0]  # enrolled on her own account
    association = factories.make_employer(name="Association Les Liens", siret="")
    admin = factories.make_user("admin")
    assert enrolments.set_employer(awa, association, actor=admin)
    assert not enrolments.set_employer(awa, association, actor=admin)  # nothing changed, nothing audited
    db.session.commit()
    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()

    texts = _documents(awa)
    assert "Mme Awa DIALLO, salariée de la structure Association Les Liens," in texts["realisation"]
    assert "Structure employeuse | Association Les Liens" in texts["attestation"]
    assert awa.trainee.employer is None  # her record is not changed
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "employer_changed")).all()
    assert [(e.entity_id, e.reason) for e in entries] == [(awa.id, "à titre individuel → Association Les Liens")]


def test_an_employer_named_by_the_funding_agreement_is_changed_on_the_agreement_not_the_enrolment():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    julien = course.enrolments[1]
    factories.make_agreement(course.session, [julien], employer=course.employer, file_number="UNI-1")
    with pytest.raises(ServiceError) as refused:
        enrolments.set_employer(julien, None)
    assert "couverte par l'accord de financement UNI-1" in refused.value.message
    assert refused.value.field == "employer_id"
    db.session.rollback()
    assert db.session.get(Enrolment, julien.id).employer_id == course.employer.id


def test_an_agreement_for_the_employer_of_the_course_is_taken_after_the_trainee_moved_on():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    julien = course.enrolments[1]
    _move_to(julien.trainee, "Mairie de Vitré")
    funder = factories.make_funder()
    agreement = funding.create_agreement(course.session, funding.AgreementData(
        funder=funder, enrolments=[julien], requested_on=date(2018, 11, 5), employer=course.employer))
    db.session.commit()
    assert agreement.employer == course.employer
    with pytest.raises(ServiceError,
                       match="n'est pas inscrit·e à cette session comme salarié·e de la structure Mairie"):
        funding.create_agreement(course.session, funding.AgreementData(
            funder=funder, enrolments=[course.enrolments[0]], requested_on=date(2018, 11, 5),
            employer=julien.trainee.employer))
    db.session.rollback()


def test_a_moved_enrolment_keeps_its_employer():
    employer = factories.make_employer()
    programme = factories.make_programme()
    first = factories.enrol(factories.make_session(programme), factories.make_trainee())
    enrolments.set_employer(first, employer)
    db.session.commit()
    moved = enrolments.move(first, factories.make_session(programme, start=datetime(2030, 4, 2, 14),
                                                          end=datetime(2030, 4, 5, 12, 30)), notify=False)
    db.session.commit()
    assert moved.employer_id == employer.id


# --- 2. the nature of the action --------------------------------------------------------------------------

@pytest.mark.parametrize("objective, box, nature", [
    ("d", "action de formation", "Action de formation (article L. 6313-1 du code du travail)"),
    ("a", "action de formation", "Action de formation (article L. 6313-1 du code du travail)"),
    ("e", "bilan de compétences", "Bilan de compétences (article L. 6313-1 du code du travail)"),
    ("f", "action de validation des acquis de l'expérience",
     "Action de validation des acquis de l'expérience (article L. 6313-1 du code du travail)"),
])
def test_the_nature_of_the_action_comes_from_the_programme_s_bpf_objective(objective, box, nature):
    course = completed_course(trainees=("Awa Diallo",))
    course.programme.bpf_objective = objective
    db.session.commit()
    certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)
    db.session.commit()
    texts = _documents(course.enrolments[0])

    ticked = [line for line in texts["realisation"].splitlines() if line.startswith("☒")]
    assert ticked == [f"☒  {box}"]
    assert "☐  action de formation par apprentissage" in texts["realisation"]
    assert f"Nature de l'action | {nature}" in texts["attestation"]


# --- 3. who signs which document ----------------------------------------------------------------------------

def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), color).save(out, format="PNG")
    return out.getvalue()


SIGNATORY, LEGAL, STAMP, LOGO = _png("navy"), _png("purple"), _png("red"), _png("green")


def _pictures(content: bytes) -> list[bytes]:
    """The images placed in the body of a .docx (its inline shapes), as stored."""
    document = Document(io.BytesIO(content))
    return [document.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
            for shape in document.inline_shapes]


def _signed_course(legal_representative: str, legal_image: bytes | None):
    course = completed_course(trainees=("Awa Diallo",))
    organisation = factories.make_organisation(legal_representative=legal_representative,
                                               signatory_name="Paul Martin", signatory_role="Directeur")
    images = {"signature_image": SIGNATORY, "stamp_image": STAMP, "logo_image": LOGO,
              "legal_representative_signature_image": legal_image}
    for field, content in images.items():
        if content:
            setattr(organisation, field, storage.save("organisation", f"{field}.png", content))
    db.session.commit()
    documents = {doc.kind: doc for doc in certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)}
    db.session.commit()
    return {kind: _pictures(storage.read(doc.storage_path)) for kind, doc in documents.items()}


def test_a_legal_representative_who_is_not_the_signatory_signs_the_certificat_with_their_own_image():
    pictures = _signed_course("Claire Bernard", LEGAL)
    assert LEGAL in pictures["realisation"] and SIGNATORY not in pictures["realisation"]
    assert STAMP in pictures["realisation"] and LOGO in pictures["realisation"]
    assert SIGNATORY in pictures["attestation"] and LEGAL not in pictures["attestation"]
    assert organisation_service.missing_signature_image() is None


def test_without_the_legal_representative_s_image_the_certificat_carries_no_signature_and_it_is_said():
    pictures = _signed_course("Claire Bernard", None)
    assert sorted(pictures["realisation"]) == sorted([LOGO, STAMP])  # no signature, not the signatory's
    assert SIGNATORY in pictures["attestation"]
    missing = organisation_service.missing_signature_image()
    assert missing.startswith("Image manquante : la signature de Claire Bernard, représentant·e légal·e")
    assert "Paul Martin signe les attestations" in missing


@pytest.mark.parametrize("legal_representative", ["Paul Martin", " paul  MARTIN "])
def test_the_same_person_signs_both_documents_with_the_one_image(legal_representative):
    pictures = _signed_course(legal_representative, None)
    assert SIGNATORY in pictures["realisation"] and SIGNATORY in pictures["attestation"]
    assert organisation_service.missing_signature_image() is None


def test_one_image_serves_both_documents_while_no_legal_representative_is_named():
    assert organisation_service.one_signature({"legal_representative": " ", "signatory_name": "Paul Martin"})
    assert not organisation_service.one_signature({"legal_representative": "Claire Bernard",
                                                   "signatory_name": "Paul Martin"})
    factories.make_organisation(legal_representative="", signatory_name="Paul Martin")
    Organisation.get().signature_image = "organisation/signature.png"
    assert organisation_service.missing_signature_image() is None


# --- 4. template uploads -----------------------------------------------------------------------------------

def _upload(kind: str, content: bytes):
    return certificate_service.upload_template(kind, FileStorage(io.BytesIO(content), filename="modele.docx"))


def _template_files() -> list[str]:
    folder = os.path.join(storage.root(), "certificate_templates")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_template_upload_rolled_back_leaves_no_file():
    factories.make_organisation()
    before = _template_files()
    template = _upload("attestation", word_template(["{{ document.verification_code }}"]))
    assert storage.exists(template.storage_path)
    db.session.rollback()
    assert _template_files() == before and certificate_service.template_in_use("attestation") is None

    kept = _upload("attestation", word_template(["{{ document.verification_code }}"]))
    db.session.commit()
    assert storage.exists(kept.storage_path)


def test_a_template_uploaded_in_a_savepoint_rolled_back_leaves_no_file_and_the_outer_one_keeps_its_own():
    factories.make_organisation()
    outer = _upload("attestation", word_template(["{{ document.verification_code }} A"]))
    savepoint = db.session.begin_nested()
    inner = _upload("realisation", word_template(["{{ document.verification_code }} B"]))
    savepoint.rollback()
    assert not storage.exists(inner.storage_path) and storage.exists(outer.storage_path)
    db.session.commit()
    assert storage.exists(outer.storage_path)


def test_two_uploads_of_a_template_at_once_both_succeed_one_after_the_other(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: the row lock between two requests is what is tested here")
    from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
    factories.make_organisation()
    before = _template_files()
    db.session.remove()
    outcome = _first_holds_second_waits(
        app, lambda: _upload("realisation", word_template(["{{ document.verification_code }} premier"])),
        lambda: _upload("realisation", word_template(["{{ document.verification_code }} second"])))

    assert outcome == {"first": "committed", "second": "committed", "waited": True}
    templates = db.session.scalars(db.select(CertificateTemplate).order_by(CertificateTemplate.id)).all()
    assert [t.retired_at is None for t in templates] == [False, True]
    assert "second" in docx_text(certificate_service.template_bytes("realisation"))
    assert sorted(set(_template_files()) - set(before)) == sorted(os.path.basename(t.storage_path)
                                                                    for t in templates)

