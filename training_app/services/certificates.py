"""Certificates: the attestation individuelle de fin de formation and the certificat de réalisation.

Each trainee who attended a completed session gets both documents. They are rendered once from
the Word templates (certificates/ or an uploaded replacement), stored with a yearly sequential
number, the SHA-256 of the file and a random verification code printed on them with a QR code to
the public verification page, and never rendered again: downloads, e-mails and the .zip serve the
stored file. A correction issues a new version and marks the previous one replaced; when a correction
leaves a trainee with no attendance at all, reissuing withdraws their documents (no longer valid, kept
in the history with the reason) without issuing new ones.

Hours come from services/attendance.py (only closed half-days: issuing refuses a session with a sheet
still open), results per objective from services/outcomes.py.
"""
import hashlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import jinja2
from jinja2.sandbox import SecurityError
import qrcode
from docx import Document
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import or_, update
from sqlalchemy.orm import selectinload

from training_app import formatting
from training_app.clock import local_now, utcnow
from training_app.documents import pdf, storage, uploads, word
from training_app.extensions import db, dialect_insert
from training_app.models import (AttendanceRecord, AuditEntry, BpfObjective, CertificateCounter, CertificateKind, CertificateTemplate, Enrolment,
                                 EnrolmentStatus, IssuedCertificate, MailStatus, Organisation, OutgoingMail,
                                 SessionStatus, Trainee, TrainingSession, User)
from training_app.services import ServiceError, attendance, audit, mail, outcomes
from training_app.services import enrolments as enrolment_service
from training_app.services import organisation as organisation_service
from training_app.services.enrolments import lock_session, lock_trainee
from training_app.urls import public_url

KINDS = (CertificateKind.ATTESTATION, CertificateKind.REALISATION)
KIND_LABELS = {
    CertificateKind.ATTESTATION: _l("Attestation individuelle de fin de formation"),
    CertificateKind.REALISATION: _l("Certificat de réalisation"),
}
TEMPLATE_FILES = {
    CertificateKind.ATTESTATION: "attestation_fin_formation.docx",
    CertificateKind.REALISATION: "certificat_realisation.docx",
}
FILENAME_PREFIXES = {
    CertificateKind.ATTESTATION: "attestation-fin-de-formation",
    CertificateKind.REALISATION: "certificat-de-realisation",
}
# Who receives certificates: confirmed trainees, and those who dropped out (for the hours they attended).
ELIGIBLE_STATUSES = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)
IMAGE_WIDTHS_MM = {"logo": 30, "signature": 32, "stamp": 26, "qr_code": 22}
# The images of the organisation page a template places ({{ logo }}, {{ signature }}, {{ stamp }}): the signature is
# that of the person the document names as signing it (document_organisation_images).
ORGANISATION_IMAGES = {"logo": "logo_image", "signature": "signature_image", "stamp": "stamp_image"}
LEGAL_REPRESENTATIVE_SIGNATURE = "legal_representative_signature"
# The nature of the action (article L. 6313-1 of the code du travail), from the programme's BPF objective (F-3):
# the box ticked on the certificat de réalisation and the words of the attestation. There is no apprenticeship
# objective in the BPF's F-3 lines, so its box is never ticked.
NATURES = {
    BpfObjective.SKILLS_REVIEW: ("bilan", _l("Bilan de compétences (article L. 6313-1 du code du travail)")),
    BpfObjective.VAE: ("vae", _l("Action de validation des acquis de l'expérience (article L. 6313-1 du code du "
                                 "travail)")),
}
TRAINING_NATURE = ("formation", _l("Action de formation (article L. 6313-1 du code du travail)"))
NATURE_LABELS = dict([TRAINING_NATURE, *NATURES.values()])  # box -> the nature as the attestation states it
# What a document is compared on when the records change (OverviewRow), and the data of certificate_context() that
# print each: a document is compared on those its template printed (IssuedCertificate.printed, printed_fields()).
COMPARED_FIELDS = {
    "hours": ("hours.attended", "hours.attended_minutes", "hours.attended_words"),
    "results": ("results",),
    "place": ("course.place",),
    "modality": ("course.modality",),
    "employer_name": ("employer.name", "employer.label", "employer.phrase"),
    "employer_siret": ("employer.siret", "employer.label"),
    "nature": ("course.nature", "boxes"),
    "name": ("trainee.first_name", "trainee.last_name", "trainee.full_name", "trainee.formal_name"),
    "civility": ("trainee.civility", "trainee.formal_name", "employer.phrase"),  # « salariée de la structure… »
    "job_title": ("trainee.job_title",),
}
# What the shipped templates (certificates/) print of them: documents issued before each kept what its template
# printed (revision 0033) are compared on these.
SHIPPED_PRINTS = {
    CertificateKind.ATTESTATION: ("hours", "results", "place", "modality", "employer_name", "employer_siret",
                                  "nature", "name", "civility", "job_title"),
    CertificateKind.REALISATION: ("hours", "employer_name", "nature", "name", "civility"),
}
_EMPLOYER_OF_ENROLMENT = object()  # certificate_context(): the employer is the enrolment's (course_employer)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper
CODE_LENGTH = 12
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
# What the parts of an uploaded template may add up to once unpacked (a Word file is a zip: 345 Ko can unpack to
# 300 Mo, which rendering holds in memory twice over). Real templates, images included, stay far below.
MAX_TEMPLATE_UNPACKED_BYTES = 50 * 1024 * 1024
WORD_MAIN_PART = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
TICKED, UNTICKED = "\u2612", "\u2610"  # ☒ ☐
# Documents e-mailed less than this ago are not sent again (a double click, a second tab): send_for_session skips
# them (SendReport.skipped), send_to_trainee refuses.
RESEND_GAP = timedelta(minutes=2)
# A sending whose e-mail ended so holds nothing back (_sent_recently): it never left (a dismissed one had failed).
MAIL_FAILED = (MailStatus.FAILED, MailStatus.DISMISSED)
NO_ATTENDANCE = _l("aucune demi-journée suivie d'après les feuilles d'émargement corrigées")


# --- the interface other features use --------------------------------------------------------------

def current_documents(enrolment: Enrolment) -> dict[str, IssuedCertificate]:
    """kind -> the current (not replaced) document of this enrolment."""
    documents = db.session.scalars(
        db.select(IssuedCertificate)
        .where(IssuedCertificate.enrolment_id == enrolment.id, IssuedCertificate.replaced_at.is_(None)))
    return {doc.kind: doc for doc in documents}


def current_documents_for_trainee(trainee_id: int) -> dict[int, dict[str, IssuedCertificate]]:
    """enrolment_id -> kind -> current document, for every enrolment of the trainee (one query)."""
    return _by_enrolment(db.session.scalars(
        db.select(IssuedCertificate).join(IssuedCertificate.enrolment)
        .where(Enrolment.trainee_id == trainee_id, IssuedCertificate.replaced_at.is_(None))))


def _by_enrolment(documents) -> dict[int, dict[str, IssuedCertificate]]:
    result: dict[int, dict[str, IssuedCertificate]] = {}
    for doc in documents:
        result.setdefault(doc.enrolment_id, {})[doc.kind] = doc
    return result


def current_documents_for_session(session: TrainingSession) -> dict[int, dict[str, IssuedCertificate]]:
    """enrolment_id -> kind -> current document, for every enrolment of the session (one query)."""
    return _by_enrolment(db.session.scalars(
        db.select(IssuedCertificate).join(IssuedCertificate.enrolment)
        .where(Enrolment.session_id == session.id, IssuedCertificate.replaced_at.is_(None))
        .order_by(IssuedCertificate.year, IssuedCertificate.sequence)))


def last_versions_for_session(session: TrainingSession) -> dict[int, dict[str, IssuedCertificate]]:
    """enrolment_id -> kind -> the last version of each document: current, or withdrawn (one query)."""
    return _last_versions(IssuedCertificate.enrolment.has(Enrolment.session_id == session.id))


def _last_versions(where) -> dict[int, dict[str, IssuedCertificate]]:
    return _by_enrolment(db.session.scalars(
        db.select(IssuedCertificate).where(where, IssuedCertificate.replaced_by_id.is_(None))
        .order_by(IssuedCertificate.year, IssuedCertificate.sequence)))


def _current(documents: dict[str, IssuedCertificate]) -> dict[str, IssuedCertificate]:
    return {kind: doc for kind, doc in documents.items() if doc.is_current}


def fingerprint(documents) -> str:
    """What a page showed of `documents`, the last versions (current or withdrawn) of a session's or an
    enrolment's documents: a new version, a replacement or a withdrawal changes it. The issuing forms carry it
    (documents_seen) so that issuing from a page shown before someone else changed the documents is refused."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda doc: doc.id):
        digest.update(f"{doc.id}:{doc.replaced_at.isoformat() if doc.replaced_at else ''};".encode())
    return digest.hexdigest()[:16]


def documents_fingerprint(session: TrainingSession) -> str:
    """fingerprint() of every last version of the session's documents (one query)."""
    return fingerprint(doc for documents in last_versions_for_session(session).values()
                       for doc in documents.values())


def check_documents_seen(seen: str | None, now: str) -> None:
    """Refuse (ServiceError) an issue from a page that showed other documents than there are now (`seen`, its
    fingerprint(), None: not checked)."""
    if seen is not None and seen != now:
        raise ServiceError(_("Les documents ont changé depuis l'affichage de la page (émis, réémis ou retirés "
                             "entre-temps) : rien n'a été émis. Rechargez la page et vérifiez-les avant d'émettre."))


# --- the template context: plain data, built in one place ----------------------------------------

def certificate_context(enrolment, totals, results, organisation: dict, document: dict,
                        employer=_EMPLOYER_OF_ENROLMENT) -> dict:
    """Everything the two templates print, as plain data (strings, numbers, lists, dicts).

    `enrolment` gives the trainee and session; `totals` the minutes (planned_minutes,
    attended_minutes); `results` the [(objective, code, comment)] of the trainee; `organisation`
    is organisation_service.identity(); `document` has number, version, verification_code,
    verify_url, issued_on (a date) and, for a new version, replaces (the number of the one it replaces); `employer` the employer the trainee followed the course for
    (None: on their own account), by default the enrolment's (enrolments.course_employer), never the
    trainee's record as it is now.
    """
    trainee, session = enrolment.trainee, enrolment.session
    course = session.course  # what the session was taught under, not the catalogue entry as it is now
    if employer is _EMPLOYER_OF_ENROLMENT:
        employer = enrolment_service.course_employer(enrolment)
    planned = totals.planned_minutes or session.planned_minutes
    attended = totals.attended_minutes
    same_person = organisation_service.same_person(organisation.get("legal_representative"),
                                                   organisation.get("signatory_name"))
    nature_box, nature = course_nature(session.programme.bpf_objective)
    return {
        "organisation": {
            **{key: organisation.get(key, "") for key in (
                "name", "declaration_number", "legal_representative", "signatory_name", "signatory_role",
                "city", "email", "phone")},
            "address_lines": list(organisation.get("address_lines", [])),
            "address_inline": ", ".join(organisation.get("address_lines", [])),
            "siret": format_siret(organisation.get("siret", "")),
            "legal_representative_role": (organisation.get("signatory_role", "") if same_person
                                          else _("représentant·e légal·e")),
        },
        "trainee": {
            "civility": trainee.civility, "first_name": trainee.first_name, "last_name": trainee.last_name,
            "full_name": trainee.full_name, "formal_name": trainee.formal_name,
            "job_title": trainee.job_title or "—",
        },
        "employer": {
            "name": employer.name if employer else "",
            "siret": format_siret(employer.siret) if employer else "",
            "label": (f"{employer.name} (SIRET {format_siret(employer.siret)})" if employer and employer.siret
                      else employer.name if employer else _("Aucune (à titre individuel)")),
            "phrase": (_("%(employee)s de la structure %(name)s", employee=_employee_word(trainee.civility),
                         name=employer.name) if employer else _("à titre individuel")),
        },
        "course": {
            "title": course.title,
            "nature": str(nature),
            "objectives": [objective.text for objective in course.objectives],
            "competencies": list(course.competencies),
            "start_date": formatting.date_fr(session.start_at, "d MMMM y"),
            "end_date": formatting.date_fr(session.end_at, "d MMMM y"),
            "place": session.place or "—",
            "modality": formatting.label(session.modality),
        },
        "results": [{**result, "result": formatting.label(result["code"])}
                    for result in stated_results(results)],
        "hours": {
            "planned_minutes": planned, "attended_minutes": attended,
            "planned": formatting.hours(planned), "attended": formatting.hours(attended),
            "attended_words": hours_in_words(attended),
        },
        "boxes": {box: TICKED if box == nature_box else UNTICKED
                  for box in ("formation", "bilan", "vae", "apprentissage")},
        "document": {
            "number": document["number"], "version": document["version"], "replaces": document.get("replaces", ""),
            "verification_code": document["verification_code"], "verify_url": document["verify_url"],
            "issued_on": formatting.date_fr(document["issued_on"], "d MMMM y"),
        },
    }


def course_nature(bpf_objective: str) -> tuple[str, str]:
    """(the box ticked on the certificat de réalisation, the nature the attestation states) of a programme with
    this BPF objective: a bilan de compétences (e), a VAE (f), otherwise an action de formation."""
    return NATURES.get(bpf_objective, TRAINING_NATURE)


def stated_nature(session: TrainingSession) -> str:
    """The nature a document of `session` states (the box of course_nature(), kept as IssuedCertificate.nature)."""
    return course_nature(session.programme.bpf_objective)[0]


def stated_results(results) -> list[dict]:
    """What an attestation states of [(objective, code, comment)]; kept on it (IssuedCertificate.results)."""
    return [{"objective": objective.text, "code": code, "comment": comment or ""}
            for objective, code, comment in results]


def stated_employer(employer) -> tuple[str, str]:
    """(name, SIRET) of the employer of the course as a document keeps them (IssuedCertificate.employer_name,
    employer_siret): ("", "") on the trainee's own account."""
    return (employer.name[:300], employer.siret or "") if employer else ("", "")


def printed_fields(read: set[str], context: dict) -> list[str]:
    """The COMPARED_FIELDS a template prints, from the data its tags read (word.render's `read`) and the context
    it was given: a path is cut where the context has no such key ("trainee.items" reads all of trainee, and
    "trainee.job_title.upper" the job title); a key read whole prints all it holds."""
    used = set()
    for path in read:
        value, known = context, []
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                break
            value = value[key]
            known.append(key)
        if known:
            used.add(".".join(known))
    return [name for name, paths in COMPARED_FIELDS.items()
            if any(path == one or path.startswith(one + ".") or one.startswith(path + ".")
                   for path in paths for one in used)]


def prints(doc: IssuedCertificate, field_name: str) -> bool:
    """Whether the document printed this field of COMPARED_FIELDS (that of its template, or of the shipped one of
    its kind for documents issued before it was kept)."""
    printed = doc.printed if doc.printed is not None else SHIPPED_PRINTS.get(doc.kind, ())
    return field_name in printed


def format_siret(siret: str) -> str:
    """"44195127000004" -> "441 951 270 00004"."""
    digits = re.sub(r"\s", "", siret or "")
    if len(digits) != 14:
        return digits
    return f"{digits[:3]} {digits[3:6]} {digits[6:9]} {digits[9:]}"


def hours_in_words(minutes: int) -> str:
    """1020 -> "17 heures", 1050 -> "17,5 heures" (decimal hours, as funders count them); singular below two, as
    French has it: "1,5 heure"."""
    value = f"{minutes / 60:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{value} {'heure' if value.split(',')[0] in ('0', '1') else 'heures'}"


def _employee_word(civility: str) -> str:
    return {"Mme": _("salariée"), "M.": _("salarié")}.get(civility) or _("salarié·e")


def qr_png(url: str) -> bytes:
    # A fixed mask pattern (any of the eight is valid) spares trying all eight: a third of the time.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=5, border=2, mask_pattern=0)
    code.add_data(url)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


def organisation_images() -> dict[str, bytes | None]:
    """The logo, signature, stamp and legal representative's signature images set on the organisation page (None
    when missing)."""
    images = {key: organisation_service.image_bytes(attribute) for key, attribute in ORGANISATION_IMAGES.items()}
    images[LEGAL_REPRESENTATIVE_SIGNATURE] = organisation_service.image_bytes("legal_representative_signature_image")
    return images


def document_organisation_images(kind: str, organisation: dict, images: dict) -> dict[str, bytes | None]:
    """The logo, signature and stamp a document of `kind` carries (organisation_images() chosen for it). The
    attestation is signed by its signatory (signature_image); the certificat de réalisation by the legal
    representative: when that is someone else, it carries their own image, or no signature image at all, never
    the signatory's."""
    chosen = {key: images.get(key) for key in ORGANISATION_IMAGES}
    if kind == CertificateKind.REALISATION and not organisation_service.one_signature(organisation):
        chosen["signature"] = images.get(LEGAL_REPRESENTATIVE_SIGNATURE)
    return chosen


def document_images(organisation: dict, link: str) -> dict:
    """The images of a document for word.render: the organisation's, and the QR code of `link`."""
    images = {key: (content, IMAGE_WIDTHS_MM[key]) for key, content in organisation.items()}
    images["qr_code"] = (qr_png(link), IMAGE_WIDTHS_MM["qr_code"])
    return images


def verify_url(code: str) -> str:
    return public_url("certificates.verify", code=code)


# --- templates ----------------------------------------------------------------------------------

def template_in_use(kind: str) -> CertificateTemplate | None:
    """The uploaded template replacing the shipped one, if any."""
    return db.session.scalar(db.select(CertificateTemplate).where(
        CertificateTemplate.kind == kind, CertificateTemplate.retired_at.is_(None)))


def template_bytes(kind: str) -> bytes:
    """The template in use: the uploaded one, refused in French when its file is missing, or the shipped one."""
    uploaded = template_in_use(kind)
    if uploaded is not None:
        try:
            return storage.read(uploaded.storage_path)
        except OSError:
            raise ServiceError(_(
                "Le fichier du modèle « %(kind)s » en service (« %(filename)s », déposé le %(date)s) est introuvable "
                "sur le serveur : restaurez-le depuis la sauvegarde, ou, sur la page « Modèles Word des "
                "attestations », déposez-en un nouveau ou rétablissez le modèle d'origine.", kind=KIND_LABELS[kind],
                filename=uploaded.original_filename, date=formatting.utc_datetime_fr(uploaded.uploaded_at))) from None
    with open(word.template_path(TEMPLATE_FILES[kind]), "rb") as handle:
        return handle.read()


def upload_template(kind: str, file_storage, actor: User | None = None) -> CertificateTemplate:
    """Replace the template of `kind` with an uploaded .docx, once it renders the sample data.

    Two uploads at once (a double click) replace the template one after the other (_lock_templates): the second
    retires the first's. The file is deleted if the transaction rolls back (storage.save_in_transaction)."""
    if kind not in KINDS:
        raise ServiceError(_("Type de document inconnu."), "kind")
    content, _kind = uploads.check_upload(file_storage, ("docx",), MAX_TEMPLATE_BYTES)
    test_render(content, kind)
    _lock_templates()
    current = template_in_use(kind)
    if current is not None:
        current.retired_at = utcnow()
        db.session.flush()
    name = file_storage.filename or TEMPLATE_FILES[kind]
    template = CertificateTemplate(
        kind=kind, storage_path=storage.save_in_transaction("certificate_templates", f"{kind}.docx", content),
        sha256=hashlib.sha256(content).hexdigest(), original_filename=name[:200], uploaded_at=utcnow(),
        uploaded_by=actor or audit._current_staff())
    db.session.add(template)
    audit.record(template, "template_uploaded", actor=actor, details={"kind": kind, "filename": name[:200]})
    return template


def restore_shipped_template(kind: str, actor: User | None = None) -> None:
    _lock_templates()
    current = template_in_use(kind)
    if current is None:
        return
    current.retired_at = utcnow()
    audit.record(current, "template_retired", actor=actor, details={"kind": kind})


def _lock_templates() -> None:
    """Hold the organisation's row until the transaction ends: whoever changes the template in use waits for a
    change under way to commit, then reads the template it left in use."""
    Organisation.get()  # made on first use
    db.session.execute(db.select(Organisation.id).where(Organisation.id == 1).with_for_update())


def output_format() -> str:
    """How documents are issued: "pdf", "docx", or "docx_no_libreoffice" (PDF asked, LibreOffice missing)."""
    if pdf.wanted():
        return "pdf"
    return "docx_no_libreoffice" if current_app.config.get("DOCUMENTS_AS_PDF") else "docx"


def test_render(content: bytes, kind: str = CertificateKind.ATTESTATION) -> bytes:
    """Render a template of `kind` with sample data; refuse it (ServiceError on "file") with the reason."""
    check_word_package(content)
    sample_code = "ABCD-EFGH-JK23"
    context = sample_context(sample_code)
    organisation = organisation_service.identity()
    images = document_images(document_organisation_images(kind, organisation, organisation_images()),
                             context["document"]["verify_url"])
    try:
        rendered = word.render(content, context, images, strict=True)
        Document(io.BytesIO(rendered))
    except Exception as error:  # noqa: BLE001 - every failure is explained, never a 500
        raise ServiceError(explain_template_error(error), "file") from None
    check_rendered(rendered)
    if sample_code not in _document_xml_text(rendered):
        raise ServiceError(_("Le modèle n'affiche pas le code de vérification : ajoutez la balise "
                             "{{ document.verification_code }} (et {{ qr_code }} pour le QR code)."), "file")
    return rendered


# What reading a broken .docx raises (ElementTree's ParseError is a SyntaxError).
UNREADABLE_PACKAGE = (zipfile.BadZipFile, KeyError, OSError, EOFError, NotImplementedError, zlib.error, SyntaxError)


def check_word_package(content: bytes) -> None:
    """Refuse (ServiceError on "file") what is not a Word document, or unpacks to more than
    MAX_TEMPLATE_UNPACKED_BYTES (uploads.check_zip_bounds), before anything reads its parts; and a template that
    every document issued from it would carry macros or links Word follows on opening (uploads.check_no_active_content)."""
    not_word = _("Ce fichier n'est pas un document Word (.docx) lisible.")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            uploads.check_zip_bounds(archive, MAX_TEMPLATE_UNPACKED_BYTES, _(
                "Ce document Word est trop volumineux une fois décompressé (plus de %(max)s Mo) : allégez-le (des "
                "images plus petites, par exemple) puis envoyez-le."))
            if WORD_MAIN_PART not in archive.read("[Content_Types].xml"):  # a spreadsheet is a zip of the same kind
                raise ServiceError(not_word, "file")
            uploads.check_no_active_content(archive)
    except UNREADABLE_PACKAGE:
        raise ServiceError(not_word, "file") from None


def check_rendered(rendered: bytes) -> None:
    """Refuse (ServiceError on "file") a document rendered from a template that holds what
    uploads.check_no_active_content refuses. A template's tags may write it although the template itself does
    not hold it: a tag's text is Word's markup once rendered (`{{ '<w:instrText>INCLUDEPICTURE …' | safe }}`),
    a tag may complete a field's code (`INCLUDE{{ 'PICTURE' }}`), and only for some trainees (`{% if %}`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(rendered)) as archive:
            uploads.check_no_active_content(archive)
    except UNREADABLE_PACKAGE:  # a part of a template uploaded before its parts were all read
        raise ServiceError(_("Ce fichier n'est pas un document Word (.docx) lisible."), "file") from None


def explain_template_error(error: Exception) -> str:
    """A French explanation of why docxtpl could not render a template: a tag of the template, the file itself,
    or one of the organisation's images (stored before they were checked) that cannot be placed."""
    return _organisation_image_problems(error) or _explain_template_itself(error)


def explain_issue_error(kind: str, error: Exception) -> str:
    """Why a document of `kind` could not be issued: its template, unless an organisation image is the cause."""
    return _organisation_image_problems(error) or unusable_template(kind, _explain_template_itself(error))


def unusable_template(kind: str, reason: str) -> str:
    return _("Le modèle « %(kind)s » ne peut pas être utilisé : %(reason)s", kind=KIND_LABELS[kind], reason=reason)


def _explain_template_itself(error: Exception) -> str:
    if isinstance(error, jinja2.TemplateSyntaxError):
        near = " ".join(line.strip() for line in getattr(error, "docx_context", []) or [] if line.strip())
        message = _("Une balise du modèle est mal écrite (%(error)s).", error=error.message)
        if near:
            message += " " + _("Près du texte : « %(text)s ».", text=near[:160])
        return message + " " + _("Une balise s'écrit {{ nom }} pour une donnée, {%% … %%} pour une instruction.")
    if isinstance(error, jinja2.UndefinedError):
        return _("Le modèle utilise une donnée qui n'existe pas (%(error)s) : vérifiez l'orthographe "
                 "des balises {{ … }}.", error=error.message)
    if isinstance(error, SecurityError):
        return _("Le modèle utilise une balise interdite : une balise ne peut lire que les données du document "
                 "(par exemple {{ trainee.formal_name }}), pas le fonctionnement interne de l'application.")
    if isinstance(error, jinja2.TemplateError):
        return _("Le modèle ne peut pas être rempli (%(error)s).", error=str(error))
    if isinstance(error, (zipfile.BadZipFile, KeyError)) or type(error).__name__ == "PackageNotFoundError":
        return _("Ce fichier n'est pas un document Word (.docx) lisible.")
    return _("Le modèle ne peut pas être rempli : %(error)s.", error=f"{type(error).__name__}: {error}")


def _organisation_image_problems(error: Exception) -> str:
    """What is wrong with the organisation's images, when one of them (rather than a tag) made rendering fail."""
    if isinstance(error, jinja2.TemplateError):
        return ""
    problems = organisation_service.image_problems()
    if not problems:
        return ""
    return " ".join(problems) + " " + ngettext(
        "Remplacez-la ou retirez-la sur la page « Organisme » : le modèle n'est pas en cause.",
        "Remplacez-les ou retirez-les sur la page « Organisme » : le modèle n'est pas en cause.", len(problems))


def _document_xml_text(docx: bytes) -> str:
    """The text of every part of a .docx (body, headers, footers), tags removed."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        parts = [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
                 if name.startswith("word/") and name.endswith(".xml")]
    return re.sub(r"<[^>]+>", "", "".join(parts))


def sample_context(code: str = "ABCD-EFGH-JK23") -> dict:
    """The context of a made-up trainee, to check a template before it is used."""
    objectives = [SimpleNamespace(text="Préparer une négociation"), SimpleNamespace(text="Suivre une négociation")]
    course = SimpleNamespace(title="Du dialogue à la négociation (exemple)", objectives=objectives,
                             competencies=["Maîtriser les outils de la négociation raisonnée"])
    session = SimpleNamespace(course=course, programme=SimpleNamespace(bpf_objective=BpfObjective.OTHER),
                              start_at=datetime(2018, 12, 11, 14), planned_minutes=1260,
                              end_at=datetime(2018, 12, 14, 12, 30), place="4 rue du Bourbonnais, Rennes",
                              modality="in_person")
    employer = SimpleNamespace(name="Centre social d'exemple", siret="44195127000004")
    trainee = SimpleNamespace(civility="Mme", first_name="Camille", last_name="Exemple", job_title="Animatrice",
                              full_name="Camille Exemple", formal_name="Mme Camille EXEMPLE", employer=employer)
    enrolment = SimpleNamespace(trainee=trainee, session=session)
    totals = SimpleNamespace(planned_minutes=1260, attended_minutes=1020)
    results = [(objectives[0], "acquired", ""), (objectives[1], "partly_acquired", "À consolider")]
    organisation = organisation_service.identity()
    for key in organisation_service.REQUIRED_FOR_DOCUMENTS:
        organisation[key] = organisation.get(key) or f"({key})"
    organisation["address_lines"] = organisation.get("address_lines") or ["1 rue d'Exemple", "35000 Rennes"]
    document = {"number": f"{local_now().year}-00000", "version": 1, "verification_code": code,
                "verify_url": verify_url(code), "issued_on": local_now().date()}
    return certificate_context(enrolment, totals, results, organisation, document, employer=employer)


# --- issuing --------------------------------------------------------------------------------------

@dataclass
class IssueReport:
    issued: list[IssuedCertificate] = field(default_factory=list)
    without_attendance: list[Enrolment] = field(default_factory=list)  # attended no slot: nothing issued, none kept
    already_issued: int = 0  # enrolments (with attendance) whose documents exist and were kept
    outdated: list["OverviewRow"] = field(default_factory=list)  # documents kept (not reissued) but outdated
    withdrawn: list[IssuedCertificate] = field(default_factory=list)  # no attendance left: no longer valid
    records_expired: list[Enrolment] = field(default_factory=list)  # their names are gone: nothing issued


def check_can_issue(session: TrainingSession) -> None:
    """Refuse (ServiceError) when the session's certificates cannot be issued yet, saying why."""
    missing = organisation_service.missing_for_documents()
    if missing:
        raise ServiceError(_("Complétez d'abord les informations de l'organisme : %(fields)s.",
                             fields=", ".join(missing)))
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée : aucune attestation ne peut être émise."))
    if session.end_at > local_now():
        raise ServiceError(_("La session n'est pas terminée (fin le %(end)s) : les attestations s'émettent "
                             "une fois la formation achevée.", end=formatting.datetime_fr(session.end_at)))
    still_open = attendance.open_slots(session)
    if still_open:
        raise ServiceError(_("Des demi-journées ne sont pas clôturées par les formateur·rices : %(slots)s. "
                             "Faites-les clôturer avant d'émettre les attestations.",
                             slots="; ".join(_describe_slot(slot) for slot in still_open)))


def records_expired_refusal(count: int = 1) -> str:
    """Why documents cannot be issued (again) to `count` trainees whose kept records were made anonymous at the end
    of the retention period (personal_data.expire_records): they would print « [effacé] » instead of the name."""
    return ngettext(
        "Les pièces conservées de %(num)d stagiaire ont été rendues anonymes au terme de la durée de conservation : "
        "ses documents ne peuvent plus être émis ni réémis (ils porteraient « [effacé] » au lieu de son nom).",
        "Les pièces conservées de %(num)d stagiaires ont été rendues anonymes au terme de la durée de conservation : "
        "leurs documents ne peuvent plus être émis ni réémis (ils porteraient « [effacé] » au lieu de leur nom).",
        count)


def _read_records_expiry(trainee_ids: list[int]) -> None:
    """Read the trainees again under a shared lock held until the transaction ends: the end of their retention
    period (personal_data.expire_records, which locks their row FOR UPDATE) comes before this issuing, which then
    sees it, or after it, and then makes anonymous what it issued too."""
    if trainee_ids:
        db.session.scalars(db.select(Trainee).where(Trainee.id.in_(trainee_ids)).with_for_update(read=True)
                           .execution_options(populate_existing=True)).all()


def check_unrecorded_outcomes(session: TrainingSession, enrolments: list[Enrolment], *,
                              unrecorded_confirmed: bool = False) -> None:
    """Refuse (ServiceError on "confirm_unrecorded") to issue attestations to `enrolments` when some of their
    objectives were never recorded (not even as an explicit "non évalué"): they would print "Non évalué", which
    only a new version can change. Issuing so anyway takes the office's explicit confirmation."""
    if unrecorded_confirmed or not enrolments:
        return
    unrecorded = outcomes.unrecorded_for_session(session)
    missing = [(enrolment, unrecorded[enrolment.id]) for enrolment in enrolments if enrolment.id in unrecorded]
    if not missing:
        return
    total = len(session.course.objectives)
    names = "; ".join(_("%(name)s (%(count)s sur %(total)d)", name=enrolment.trainee.full_name, total=total,
                        count=ngettext("%(num)d objectif", "%(num)d objectifs", len(objectives)))
                      for enrolment, objectives in missing)
    raise ServiceError(_("Acquis jamais renseignés par les formateur·rices pour : %(names)s. Les attestations "
                         "indiqueraient « Non évalué » pour ces objectifs. Faites renseigner les acquis (« non "
                         "évalué » compris), ou cochez « Émettre malgré les acquis non renseignés » pour confirmer.",
                         names=names), "confirm_unrecorded")


def issue_for_session(session: TrainingSession, *, reissue: bool = False, actor: User | None = None,
                      unrecorded_confirmed: bool = False, documents_seen: str | None = None) -> IssueReport:
    """Issue both documents to every trainee of the session who attended at least one slot.

    Documents already issued are kept unless `reissue`, which issues new versions of all of them (and withdraws
    those of trainees left with no attendance): the outdated ones kept are listed (IssueReport.outdated), to be
    reissued, like those of trainees left with no attendance, whose reissue withdraws them.
    Trainees with objectives whose outcome was never recorded get them only with `unrecorded_confirmed`
    (check_unrecorded_outcomes); nothing is issued otherwise.
    The session row stays locked until the transaction ends, so two people issuing at once wait for
    each other instead of issuing twice. `documents_seen`: the documents_fingerprint() of the page the office
    issued from; refused when the documents changed since (check_documents_seen).
    """
    session = lock_session(session.id)
    check_can_issue(session)
    totals = attendance.totals_for_session(session)
    last = last_versions_for_session(session)
    check_documents_seen(documents_seen, fingerprint(doc for documents in last.values() for doc in documents.values()))
    report = IssueReport()
    to_render = []  # (enrolment, its totals, its last documents)
    to_withdraw = []
    kept = []  # (enrolment, its last documents, minutes attended): current documents not reissued
    enrolments = _eligible_enrolments(session)
    _read_records_expiry([enrolment.trainee_id for enrolment in enrolments])
    for enrolment in enrolments:
        enrolment_totals = totals.get(enrolment.id)
        documents = last.get(enrolment.id, {})
        existing = _current(documents)
        if enrolment_totals is None or enrolment_totals.attended_minutes <= 0:
            if existing and not reissue:
                kept.append((enrolment, documents, 0))
            else:
                report.without_attendance.append(enrolment)
                to_withdraw += existing.values()
        elif not reissue and all(kind in existing for kind in KINDS):
            report.already_issued += 1
            kept.append((enrolment, documents, enrolment_totals.attended_minutes))
        elif enrolment.trainee.records_expired:
            report.records_expired.append(enrolment)
        else:
            to_render.append((enrolment, enrolment_totals, documents))
    check_unrecorded_outcomes(session, [enrolment for enrolment, _totals, _documents in to_render],
                              unrecorded_confirmed=unrecorded_confirmed)
    results = outcomes.results_for_session(session)
    batch = _Batch(actor)
    batch.employers = enrolment_service.course_employers(enrolments)
    report.outdated = [row for row in (
        _overview_row(enrolment, documents, minutes, results.get(enrolment.id, []), batch.employers[enrolment.id])
        for enrolment, documents, minutes in kept) if row.outdated]
    try:
        report.withdrawn = withdraw(to_withdraw, str(NO_ATTENDANCE), actor=batch.actor)
        for enrolment, enrolment_totals, documents in to_render:
            existing = _current(documents)
            for kind in KINDS:
                if reissue or kind not in existing:
                    batch.render(enrolment, kind, enrolment_totals, results.get(enrolment.id, []),
                                 documents.get(kind))
        report.issued = batch.finish()
    except BaseException:
        batch.discard_files()
        raise
    if not report.issued and not report.already_issued and not report.withdrawn and not report.outdated:
        if report.records_expired:
            raise ServiceError(records_expired_refusal(len(report.records_expired)))
        raise ServiceError(_("Aucun·e stagiaire n'a assisté à une demi-journée de cette session : "
                             "aucune attestation à émettre."))
    return report


def issue_for_enrolment(enrolment: Enrolment, *, actor: User | None = None, unrecorded_confirmed: bool = False,
                        documents_seen: str | None = None) -> list[IssuedCertificate]:
    """Issue (or re-issue, as a new version) both documents of one trainee.

    A trainee left with no attendance gets nothing: their current documents, if any, are withdrawn
    (see withdraw()) and the list returned is empty; with none, the refusal says why. One with objectives
    whose outcome was never recorded gets them only with `unrecorded_confirmed` (check_unrecorded_outcomes).
    `documents_seen`: the OverviewRow.documents_seen of the page the office issued from; refused when the
    trainee's documents changed since (check_documents_seen).
    """
    session = lock_session(enrolment.session_id)
    if enrolment.status not in ELIGIBLE_STATUSES:
        raise ServiceError(_("%(name)s n'a pas d'inscription confirmée à cette session : pas d'attestation.",
                             name=enrolment.trainee.full_name))
    check_can_issue(session)
    totals = attendance.totals_for(enrolment)
    documents = _last_versions(IssuedCertificate.enrolment_id == enrolment.id).get(enrolment.id, {})
    check_documents_seen(documents_seen, fingerprint(documents.values()))
    if totals.attended_minutes <= 0:
        if _current(documents):
            withdraw(_current(documents).values(), str(NO_ATTENDANCE), actor=actor)
            return []
        raise ServiceError(_("%(name)s n'a assisté à aucune demi-journée : pas d'attestation possible.",
                             name=enrolment.trainee.full_name))
    _read_records_expiry([enrolment.trainee_id])
    if enrolment.trainee.records_expired:
        raise ServiceError(records_expired_refusal())
    check_unrecorded_outcomes(session, [enrolment], unrecorded_confirmed=unrecorded_confirmed)
    results = outcomes.results_for(enrolment)
    batch = _Batch(actor)
    try:
        for kind in KINDS:
            batch.render(enrolment, kind, totals, results, documents.get(kind))
        return batch.finish()
    except BaseException:
        batch.discard_files()
        raise


def withdraw(documents, reason: str, *, actor: User | None = None) -> list[IssuedCertificate]:
    """Mark current documents no longer valid without issuing new ones (the verification page says so); they
    stay in the history with the reason. A later issue replaces them with a new version."""
    withdrawn = list(documents)
    now = utcnow()
    for doc in withdrawn:
        doc.replaced_at, doc.withdrawn_reason = now, reason[:300]
        audit.record(doc, "withdrawn", actor=actor, from_state="current", to_state="withdrawn", reason=reason,
                     details={"number": doc.number, "kind": doc.kind, "version": doc.version})
    return withdrawn


@dataclass
class _Rendered:
    """A document rendered, numbered, not yet stored nor recorded."""
    enrolment: Enrolment
    kind: str
    previous: IssuedCertificate | None
    year: int
    sequence: int
    number: str
    version: int
    code: str
    template_sha: str
    planned_minutes: int
    attended_minutes: int
    results: list[dict] | None  # what it states per objective, when its template prints them
    printed: list[str]          # what its template printed of COMPARED_FIELDS


class _Batch:
    """What a run of issuing shares: templates, organisation data and images, the files written. A Word
    document is recorded as soon as it is rendered. For PDF, the rendered documents wait in a folder of the
    batch until finish() converts them all in one start of LibreOffice (which costs more than converting)."""

    def __init__(self, actor: User | None):
        self.actor = actor or audit._current_staff()
        self.organisation = organisation_service.identity()
        self.images = organisation_images()
        self.employers: dict[int, object] = {}  # enrolment id -> the employer of the course (course_employers)
        self.templates: dict[str, tuple[bytes, str]] = {}
        self.as_pdf = pdf.wanted()
        self.to_convert: list[tuple[_Rendered, str]] = []  # (document, its .docx in the batch's folder)
        self.folder: tempfile.TemporaryDirectory | None = None
        self.issued: list[IssuedCertificate] = []
        self.written: list[str] = []

    def template(self, kind: str) -> tuple[bytes, str]:
        if kind not in self.templates:
            content = template_bytes(kind)
            self.templates[kind] = (content, hashlib.sha256(content).hexdigest())
        return self.templates[kind]

    def render(self, enrolment: Enrolment, kind: str, totals, results, previous: IssuedCertificate | None) -> None:
        """Number and render one document; finish() stores and records them all. `previous`: the last version
        (current, or withdrawn), which the new one replaces."""
        template, template_sha = self.template(kind)
        issued_on = local_now().date()
        year = issued_on.year
        sequence = next_number(year)
        number = f"{year}-{sequence:05d}"
        code = new_verification_code()
        link = verify_url(code)
        version = previous.version + 1 if previous else 1
        if enrolment.id not in self.employers:
            self.employers[enrolment.id] = enrolment_service.course_employer(enrolment)
        context = certificate_context(enrolment, totals, results, self.organisation, {
            "number": number, "version": version, "replaces": previous.number if previous else "",
            "verification_code": code, "verify_url": link, "issued_on": issued_on},
            employer=self.employers[enrolment.id])
        images = document_images(document_organisation_images(kind, self.organisation, self.images), link)
        read: set[str] = set()
        try:
            content = word.render(template, context, images, read=read)
        except Exception as error:  # noqa: BLE001 - a broken template is explained, nothing is issued
            raise ServiceError(explain_issue_error(kind, error)) from None
        try:
            check_rendered(content)
        except ServiceError as error:
            raise ServiceError(unusable_template(kind, error.message)) from None
        printed = printed_fields(read, context)
        rendered = _Rendered(enrolment, kind, previous, year, sequence, number, version, code, template_sha,
                             context["hours"]["planned_minutes"], totals.attended_minutes,
                             stated_results(results) if "results" in printed else None, printed)
        if not self.as_pdf:
            self.issued.append(self._record(rendered, content, "docx"))
            return
        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="certificates-")
        path = os.path.join(self.folder.name, f"{len(self.to_convert):05d}.docx")
        with open(path, "wb") as handle:
            handle.write(content)
        self.to_convert.append((rendered, path))

    def finish(self) -> list[IssuedCertificate]:
        """The documents issued: those waiting for PDF are converted, stored and recorded, one in memory at a
        time."""
        try:
            try:
                converted = pdf.convert_files([path for _rendered, path in self.to_convert])
            except pdf.ConversionError as error:
                raise ServiceError(str(error)) from None
            for (rendered, _docx), path in zip(self.to_convert, converted, strict=True):
                with open(path, "rb") as handle:
                    self.issued.append(self._record(rendered, handle.read(), "pdf"))
        finally:
            self._remove_folder()
        return self.issued

    def _remove_folder(self) -> None:
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None

    def _record(self, rendered: _Rendered, content: bytes, file_format: str) -> IssuedCertificate:
        now = utcnow()
        enrolment, previous = rendered.enrolment, rendered.previous
        filename = document_filename(rendered.kind, rendered.number, enrolment.trainee, file_format)
        path = storage.save_in_transaction(f"certificates/{rendered.year}", filename, content)
        self.written.append(path)
        if previous is not None and previous.is_current:  # first free the "one current" slot, then link it
            previous.replaced_at = now
            db.session.flush()
        trainee, session = enrolment.trainee, enrolment.session
        employer_name, employer_siret = stated_employer(self.employers.get(enrolment.id))
        doc = IssuedCertificate(
            enrolment=enrolment, kind=rendered.kind, year=rendered.year, sequence=rendered.sequence,
            number=rendered.number, version=rendered.version, verification_code=rendered.code,
            sha256=hashlib.sha256(content).hexdigest(), storage_path=path, filename=filename,
            file_format=file_format, template_sha256=rendered.template_sha, issued_at=now, issued_by=self.actor,
            trainee_name=trainee.full_name[:250], trainee_civility=trainee.civility, course_title=session.title[:300],
            trainee_job_title=(trainee.job_title or "")[:200] if "job_title" in rendered.printed else None,
            printed=rendered.printed,
            start_date=session.start_at.date(), end_date=session.end_at.date(),
            planned_minutes=rendered.planned_minutes, attended_minutes=rendered.attended_minutes,
            results=rendered.results, place=session.place, modality=session.modality, employer_name=employer_name,
            employer_siret=employer_siret, nature=stated_nature(session))
        db.session.add(doc)
        db.session.flush()
        if previous is not None:
            previous.replaced_by = doc
        audit.record(doc, "issued", actor=self.actor, to_state="current", details={
            "number": rendered.number, "kind": rendered.kind, "version": rendered.version, "sha256": doc.sha256,
            "replaces": previous.number if previous else None})
        return doc

    def discard_files(self) -> None:
        self._remove_folder()
        for path in self.written:
            try:
                os.remove(storage.absolute(path))
            except OSError:
                pass


def next_number(year: int) -> int:
    """The next sequential number of the year, under a row lock held until the transaction ends.

    Two processes issuing at the same moment wait for each other on the counter's row
    (PostgreSQL); the unique (year, sequence) constraint backs it up.
    """
    table = CertificateCounter.__table__
    db.session.execute(dialect_insert()(table).values(year=year, last_number=0).on_conflict_do_nothing(
        index_elements=["year"]))
    return db.session.execute(
        update(table).where(table.c.year == year).values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)).scalar_one()


def new_verification_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(value: str) -> str:
    """What a person typed ("k7qm 2xwd pl9a") -> the stored form ("K7QM-2XWD-PL9A")."""
    raw = re.sub(r"[^A-Z0-9]", "", (value or "").upper())
    if len(raw) != CODE_LENGTH:
        return raw
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def document_filename(kind: str, number: str, trainee, file_format: str) -> str:
    name = f"{trainee.last_name}-{trainee.first_name}"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9-]+", "-", ascii_name).strip("-")[:60] or "stagiaire"
    return f"{FILENAME_PREFIXES[kind]}_{number}_{ascii_name}.{file_format}"


def _eligible_enrolments(session: TrainingSession) -> list[Enrolment]:
    return list(db.session.scalars(
        db.select(Enrolment).join(Enrolment.trainee)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(ELIGIBLE_STATUSES))
        .options(selectinload(Enrolment.trainee), selectinload(Enrolment.employer))
        .order_by(Trainee.last_name, Trainee.first_name, Enrolment.id)))


def _describe_slot(slot) -> str:
    return f"{formatting.date_fr(slot.date)} {formatting.time_fr(slot.start_time)}–{formatting.time_fr(slot.end_time)}"


# --- reading, sending, checking ----------------------------------------------------------------

@dataclass
class OverviewRow:
    enrolment: Enrolment
    documents: dict[str, IssuedCertificate]  # kind -> current document
    attended_minutes: int                    # from the attendance sheets, now
    results: list[dict] | None = None        # the results per objective recorded now (stated_results())
    withdrawn: dict[str, IssuedCertificate] = field(default_factory=dict)  # kind -> withdrawn, not reissued
    employer: object = None                  # the employer of the course now (enrolments.course_employers)

    @property
    def documents_seen(self) -> str:
        """fingerprint() of the row's documents (current and withdrawn): what its issue button carries."""
        return fingerprint([*self.documents.values(), *self.withdrawn.values()])

    @property
    def outdated(self) -> bool:
        """The current documents no longer state what the data says: the sheets (hours attended), the results
        per objective, the session's place or modality, the employer of the course, the nature of the action
        (the programme's BPF objective), the trainee's name, civility or job title changed after issuing. Each
        document is compared on what its template printed (prints())."""
        return (self.hours_outdated or self.results_outdated or self.place_outdated or self.employer_outdated
                or self.nature_outdated or self.name_outdated or self.job_title_outdated)

    @property
    def name_outdated(self) -> bool:
        """A document names the trainee otherwise than their record does now (name or civility corrected since).
        Not for trainees whose data was erased or whose kept records were made anonymous (no name to print); the
        civility of documents issued before it was kept (revision 0032) is not compared."""
        return bool(self.stated_name)

    @property
    def stated_name(self) -> str:
        """How the documents naming the trainee otherwise name them ("Mme Awa Diallo"; "" when none does)."""
        if not self._compares_the_person:
            return ""
        trainee = self.enrolment.trainee
        return next((" ".join(part for part in (doc.trainee_civility, doc.trainee_name) if part)
                     for doc in self.documents.values()
                     if states_other_name(doc, trainee) or states_other_civility(doc, trainee)), "")

    @property
    def job_title_outdated(self) -> bool:
        """A document prints another job title than the trainee's record says now (corrected since). Only the
        documents whose template prints it keep it; those issued before it was kept (revision 0033) are not
        compared, nor the documents of trainees whose data was erased or whose kept records were made anonymous."""
        return self._compares_the_person and any(_states_other_job_title(doc, self.enrolment.trainee)
                                                 for doc in self.documents.values())

    @property
    def stated_job_title(self) -> str:
        """The job title the outdated documents print ("" for none)."""
        return next((doc.trainee_job_title for doc in self.documents.values()
                     if _states_other_job_title(doc, self.enrolment.trainee)), "")

    @property
    def _compares_the_person(self) -> bool:
        trainee = self.enrolment.trainee
        return not (trainee.is_erased or trainee.records_expired)

    @property
    def outdated_reasons(self) -> list[str]:
        """What the outdated documents state otherwise than the data now, in words."""
        reasons = ((self.hours_outdated, _l("heures suivies")), (self.results_outdated, _l("résultats par objectif")),
                   (self.place_outdated, _l("lieu ou modalité")), (self.employer_outdated, _l("structure employeuse")),
                   (self.nature_outdated, _l("nature de l'action")), (self.name_outdated, _l("nom")),
                   (self.job_title_outdated, _l("fonction")))
        return [label for outdated, label in reasons if outdated]

    @property
    def nature_outdated(self) -> bool:
        """A document states another nature of the action than the programme's BPF objective gives now (it was
        reclassified since). Documents issued before their nature was kept (revision 0032) are not compared."""
        return bool(self._other_natures)

    @property
    def stated_nature_label(self) -> str:
        """The nature the outdated documents state ("Action de formation"; "" when none is)."""
        return next((str(NATURE_LABELS.get(doc.nature, doc.nature)).split(" (")[0] for doc in self._other_natures), "")

    @property
    def _other_natures(self) -> list[IssuedCertificate]:
        nature = stated_nature(self.enrolment.session)
        return [doc for doc in self.documents.values()
                if doc.nature is not None and prints(doc, "nature") and doc.nature != nature]

    @property
    def place_outdated(self) -> bool:
        """A document states another place or modality than the session's now."""
        return any(_states_other_place(doc, self.enrolment.session) for doc in self.documents.values())

    @property
    def employer_outdated(self) -> bool:
        """A document names another employer than the one the trainee follows the course for now."""
        return any(_states_other_employer(doc, self.employer) for doc in self.documents.values())

    @property
    def stated_employer(self) -> str:
        """The employer the outdated documents name ("" on the trainee's own account)."""
        return next((doc.employer_name for doc in self.documents.values()
                     if _states_other_employer(doc, self.employer)), "")

    @property
    def hours_outdated(self) -> bool:
        """A document states other hours attended than the sheets now; whatever it prints, once no attendance is
        left (reissuing withdraws it)."""
        return any(doc.attended_minutes != self.attended_minutes and (prints(doc, "hours") or not self.attended_minutes)
                   for doc in self.documents.values())

    @property
    def results_outdated(self) -> bool:
        """A document states other results than those recorded now (objective, result or comment): the documents
        keep them when their template prints them (the attestation's). Attestations issued before their results
        were kept on them (revision 0011) are not compared."""
        return self.results is not None and any(
            doc.results is not None and prints(doc, "results") and doc.results != self.results
            for doc in self.documents.values())


def _states_other_place(doc: IssuedCertificate, session: TrainingSession) -> bool:
    """Of the shipped templates, only the attestation prints the place and modality. Documents issued before they
    were kept (revision 0029) are not compared."""
    return doc.place is not None and (
        (prints(doc, "place") and doc.place != session.place)
        or (prints(doc, "modality") and doc.modality != session.modality))


def _states_other_employer(doc: IssuedCertificate, employer) -> bool:
    """Of the shipped templates, the attestation prints the employer's name and SIRET, the certificat de réalisation
    its name only (a SIRET filled in later changes nothing it says). Documents issued before their employer was
    kept (revision 0029) are not compared."""
    if doc.employer_name is None:
        return False
    name, siret = stated_employer(employer)
    return ((prints(doc, "employer_name") and doc.employer_name != name)
            or (prints(doc, "employer_siret") and doc.employer_siret != siret))


def states_other_name(doc: IssuedCertificate, trainee: Trainee) -> bool:
    """The document prints the trainee's name, otherwise than their record says now (corrected since)."""
    return prints(doc, "name") and doc.trainee_name != trainee.full_name[:250]


def states_other_civility(doc: IssuedCertificate, trainee: Trainee) -> bool:
    """The document prints a civility the record no longer says (not compared when it was not kept: None)."""
    return prints(doc, "civility") and doc.trainee_civility not in (None, trainee.civility)


def _states_other_job_title(doc: IssuedCertificate, trainee: Trainee) -> bool:
    """Kept only when its template prints it (revision 0033)."""
    return (doc.trainee_job_title is not None and prints(doc, "job_title")
            and doc.trainee_job_title != (trainee.job_title or "")[:200])


def naming_another_employer(enrolment: Enrolment) -> list[IssuedCertificate]:
    """The enrolment's current documents that name another employer than the one of the course now (after the
    office corrected it): outdated, to be re-issued."""
    employer = enrolment_service.course_employer(enrolment)
    documents = current_documents(enrolment)
    return [documents[kind] for kind in KINDS if kind in documents and _states_other_employer(documents[kind], employer)]


def session_overview(session: TrainingSession) -> list[OverviewRow]:
    """The session's eligible enrolments, their current (or withdrawn) documents, hours and results (constant
    queries)."""
    totals = attendance.totals_for_session(session)
    results = outcomes.results_for_session(session)
    last = last_versions_for_session(session)
    enrolments = _eligible_enrolments(session)
    employers = enrolment_service.course_employers(enrolments)
    return [_overview_row(enrolment, last.get(enrolment.id, {}),
                          totals[enrolment.id].attended_minutes if enrolment.id in totals else 0,
                          results.get(enrolment.id, []), employers[enrolment.id]) for enrolment in enrolments]


def enrolment_overview(enrolment: Enrolment) -> OverviewRow:
    """One enrolment's row of session_overview()."""
    documents = _last_versions(IssuedCertificate.enrolment_id == enrolment.id).get(enrolment.id, {})
    return _overview_row(enrolment, documents, attendance.totals_for(enrolment).attended_minutes,
                         outcomes.results_for(enrolment), enrolment_service.course_employer(enrolment))


def _overview_row(enrolment, documents, attended_minutes, results, employer) -> OverviewRow:
    current = _current(documents)
    return OverviewRow(enrolment, current, attended_minutes, stated_results(results),
                       {kind: doc for kind, doc in documents.items() if kind not in current}, employer)


def current_documents_by_enrolment(session: TrainingSession) -> list[tuple[Enrolment, dict]]:
    """The session's eligible enrolments (by name) with their current documents (two queries)."""
    current = current_documents_for_session(session)
    return [(enrolment, current.get(enrolment.id, {})) for enrolment in _eligible_enrolments(session)]


def sessions_awaiting_certificates(limit: int = 5) -> list[TrainingSession]:
    """Ended sessions with trainees (confirmed, or who dropped out) who attended something, of whom none has a
    document yet (latest first). Enrolments with no minutes attended get no document: they do not count."""
    has_attended = db.select(Enrolment.id).where(
        Enrolment.session_id == TrainingSession.id, Enrolment.status.in_(ELIGIBLE_STATUSES),
        db.select(AttendanceRecord.id).where(AttendanceRecord.enrolment_id == Enrolment.id,
                                             AttendanceRecord.minutes_attended > 0).exists()).exists()
    has_documents = db.select(IssuedCertificate.id).join(IssuedCertificate.enrolment).where(
        Enrolment.session_id == TrainingSession.id).exists()
    return list(db.session.scalars(
        db.select(TrainingSession)
        .where(TrainingSession.end_at < local_now(), TrainingSession.status != SessionStatus.CANCELLED,
               has_attended, ~has_documents)
        .options(selectinload(TrainingSession.programme))
        .order_by(TrainingSession.end_at.desc()).limit(limit)))


MISSING, ALTERED = "missing", "altered"  # what stored_content() finds wrong with a stored file


def stored_content(doc: IssuedCertificate) -> tuple[bytes | None, str]:
    """The stored file, as issued, and "" ; or None and what is wrong: MISSING on the server, or ALTERED (no longer
    matching its SHA-256)."""
    try:
        content = storage.read(doc.storage_path)
    except OSError:
        return None, MISSING
    if hashlib.sha256(content).hexdigest() != doc.sha256:
        return None, ALTERED
    return content, ""


def document_bytes(doc: IssuedCertificate) -> bytes:
    """The stored file, as issued: refused in French when it is missing or no longer matches its SHA-256."""
    content, problem = stored_content(doc)
    label = KIND_LABELS.get(doc.kind, doc.kind)
    if problem == MISSING:
        raise ServiceError(_("Le fichier du document « %(label)s » n° %(number)s est introuvable sur le serveur : "
                             "restaurez-le depuis la sauvegarde.", label=label, number=doc.number))
    if problem == ALTERED:
        raise ServiceError(_("Le fichier du document « %(label)s » n° %(number)s ne correspond plus à son empreinte "
                             "(SHA-256) : il a été modifié sur le serveur.", label=label, number=doc.number))
    return content


def zip_filename(session: TrainingSession) -> str:
    return f"attestations_session-{session.id}_{session.start_at:%Y-%m-%d}.zip"


def send_to_trainee(enrolment: Enrolment, actor: User | None = None) -> mail.Mail:
    """E-mail the trainee their current documents (delivered once the transaction commits); refused when they are
    outdated (OverviewRow.outdated): they are reissued first; refused too when they were sent less than RESEND_GAP
    ago (a double click). The session stays locked until the transaction ends (as in send_for_session)."""
    lock_session(enrolment.session_id)
    row = enrolment_overview(enrolment)
    if row.documents and _all_sent_recently(row.documents.values(), _sent_recently(row.documents.values())):
        raise ServiceError(_("Rien n'a été envoyé : %(refusal)s", refusal=skipped_message([row])))
    return _send(row, actor)


@dataclass
class SendReport:
    sent: int = 0
    left_out: list[OverviewRow] = field(default_factory=list)  # outdated documents: not sent, to reissue first
    skipped: list[OverviewRow] = field(default_factory=list)  # sent less than RESEND_GAP ago: not sent again


def send_for_session(session: TrainingSession, actor: User | None = None) -> SendReport:
    """E-mail every trainee of the session who has documents, except those whose documents are outdated (left out,
    listed: reissue them first), those whose documents were sent less than RESEND_GAP ago (skipped, listed: a
    double click or a second tab sends nothing twice) and those whose data was erased (they have no address).

    The session row stays locked until the transaction ends: a second sending at the same moment waits for the
    first to commit, then finds its documents just sent."""
    session = lock_session(session.id)
    report = SendReport()
    rows = [row for row in session_overview(session)
            if row.documents and row.enrolment.trainee.erased_at is None]
    recent = _sent_recently([doc for row in rows for doc in row.documents.values()])
    for row in rows:
        if _all_sent_recently(row.documents.values(), recent):
            report.skipped.append(row)
        elif row.outdated:
            report.left_out.append(row)
        else:
            _send(row, actor)
            report.sent += 1
    if not report.sent and not report.skipped:
        if report.left_out:
            raise ServiceError(_("Rien n'a été envoyé : %(refusal)s", refusal=left_out_message(report.left_out)))
        raise ServiceError(_("Aucune attestation n'a encore été émise pour cette session."))
    return report


def left_out_message(rows: list[OverviewRow]) -> str:
    """Why the documents of `rows` were not sent (French)."""
    return ngettext("les documents %(of_names)s ne sont plus à jour (%(reasons)s) : réémettez-les d'abord.",
                    "les documents %(of_names)s ne sont plus à jour : réémettez-les d'abord.", len(rows),
                    of_names=_names_of(rows), reasons=", ".join(str(reason) for reason in rows[0].outdated_reasons))


def resending_refusal(enrolment: Enrolment, attached: list[str] | None = None) -> str | None:
    """Why the certificates e-mailed to the enrolment's trainee may not be sent again as written (the outbox's
    « Renvoyer », services/mail.outdated_reason), or None: the trainee has no current documents (none issued, or
    withdrawn since), the files `attached` to it are no longer the current ones (replaced by new versions since),
    or the current documents no longer state what the data says (OverviewRow.outdated, as _send refuses)."""
    row = enrolment_overview(enrolment)
    if not row.documents:
        if row.withdrawn:
            withdrawn = [row.withdrawn[kind] for kind in KINDS if kind in row.withdrawn]
            return ngettext("Le document joint (n° %(numbers)s) a été retiré depuis (%(reason)s).",
                            "Les documents joints (n° %(numbers)s) ont été retirés depuis (%(reason)s).",
                            len(withdrawn), numbers=", ".join(doc.number for doc in withdrawn),
                            reason=withdrawn[0].withdrawn_reason)
        return _("Aucune attestation n'a été émise pour %(name)s.", name=enrolment.trainee.full_name)
    if attached is not None:
        current = {doc.filename for doc in row.documents.values()}
        replaced = [name for name in attached if name not in current]
        if replaced:
            return ngettext("Le document joint %(files)s a été remplacé par une nouvelle version depuis.",
                            "Les documents joints %(files)s ont été remplacés par de nouvelles versions depuis.",
                            len(replaced), files=", ".join(replaced))
    if row.outdated:
        return ngettext("Le document joint n'est plus à jour (%(reasons)s) : réémettez-le, puis envoyez-le.",
                        "Les documents joints ne sont plus à jour (%(reasons)s) : réémettez-les, puis envoyez-les.",
                        len(attached) if attached is not None else len(row.documents),
                        reasons=", ".join(str(reason) for reason in row.outdated_reasons))
    return None


def skipped_message(rows: list[OverviewRow]) -> str:
    """Why the documents of `rows` were not sent again (French): they were sent less than RESEND_GAP ago."""
    minutes = int(RESEND_GAP.total_seconds() // 60)
    return ngettext("les documents %(of_names)s ont déjà été envoyés il y a moins de %(num)d minute : ils ne sont "
                    "pas renvoyés.",
                    "les documents %(of_names)s ont déjà été envoyés il y a moins de %(num)d minutes : ils ne sont "
                    "pas renvoyés.", minutes, of_names=_names_of(rows))


def _sent_recently(documents) -> set[int]:
    """The ids of `documents` e-mailed less than RESEND_GAP ago (their "sent" audit entries; one query), but by an
    e-mail that failed since (refused by the relay, e.g. a bad address, or then filed by the office): the office
    corrects the address and sends again at once. An entry naming no message (written before the message's id
    was kept in it) counts as sent."""
    ids = [doc.id for doc in documents]
    if not ids:
        return set()
    return set(db.session.scalars(
        db.select(AuditEntry.entity_id)
        .outerjoin(OutgoingMail, OutgoingMail.id == AuditEntry.details["mail"].as_integer())
        .where(AuditEntry.entity_type == IssuedCertificate.__tablename__, AuditEntry.entity_id.in_(ids),
               AuditEntry.action == "sent", AuditEntry.at > utcnow() - RESEND_GAP,
               or_(OutgoingMail.id.is_(None), OutgoingMail.status.not_in(MAIL_FAILED)))))


def _all_sent_recently(documents, recent: set[int]) -> bool:
    documents = list(documents)
    return bool(documents) and all(doc.id in recent for doc in documents)


def kept_outdated_messages(rows: list[OverviewRow]) -> list[str]:
    """What to do about the outdated documents an issue without reissuing kept (IssueReport.outdated), in French:
    those of trainees left with no attendance first (they are still valid: reissuing withdraws them)."""
    messages = []
    none_left = [row for row in rows if not row.attended_minutes]
    others = [row for row in rows if row.attended_minutes]
    if none_left:
        messages.append(ngettext(
            "Les documents %(of_names)s restent valides alors que les feuilles corrigées ne comptent plus aucune "
            "présence : réémettez-les pour les retirer.",
            "Les documents %(of_names)s restent valides alors que les feuilles corrigées ne leur comptent plus "
            "aucune présence : réémettez-les pour les retirer.", len(none_left),
            of_names=_names_of(none_left)))
    if others:
        messages.append(ngettext(
            "Les documents %(of_names)s, déjà émis, ne sont plus à jour (%(reasons)s) : réémettez-les.",
            "Les documents %(of_names)s, déjà émis, ne sont plus à jour : réémettez-les.", len(others),
            of_names=_names_of(others), reasons=", ".join(str(reason) for reason in others[0].outdated_reasons)))
    return messages


def _names_of(rows: list[OverviewRow]) -> str:
    return formatting.de(", ".join(row.enrolment.trainee.full_name for row in rows))


def _send(row: OverviewRow, actor: User | None) -> mail.Mail:
    from training_app.services import trainee_links

    enrolment, documents = row.enrolment, row.documents
    trainee = enrolment.trainee
    if trainee.erased_at is None:  # read again under a shared lock: an erasure runs before this or after it
        lock_trainee(trainee, _("Les données %(of_name)s viennent d'être effacées : rien n'a été envoyé.",
                                of_name=formatting.de(trainee.full_name)))
    if trainee.erased_at is not None:  # their address is a placeholder: nothing would be written or sent
        raise ServiceError(_("Les données %(of_name)s ont été effacées : aucune adresse e-mail où envoyer ses "
                             "attestations.", of_name=formatting.de(trainee.full_name)))
    if not documents:
        raise ServiceError(_("Aucune attestation n'a été émise pour %(name)s.", name=trainee.full_name))
    if row.outdated:  # the name is compared as read under the lock
        raise ServiceError(_("Rien n'a été envoyé : %(refusal)s", refusal=left_out_message([row])))
    ordered = [documents[kind] for kind in KINDS if kind in documents]
    attachments = [mail.Attachment(doc.filename, document_bytes(doc), doc.mimetype) for doc in ordered]
    listing = "\n".join(f"- {KIND_LABELS[doc.kind]} n° {doc.number}" for doc in ordered)
    body = _(
        "Bonjour %(name)s,\n\nVous trouverez ci-joints les documents de fin de la formation « %(title)s » :\n"
        "%(listing)s\n\nVous pouvez aussi les télécharger sur votre page personnelle :\n%(link)s\n\n"
        "Leur authenticité peut être vérifiée avec le code imprimé sur chacun d'eux.\n",
        name=trainee.full_name, title=enrolment.session.title, listing=listing,
        link=trainee_links.personal_url(trainee))
    message = mail.queue(trainee.email, _("Vos attestations de formation : %(title)s", title=enrolment.session.title),
                         body, attachments, tag=f"certificates:{enrolment.id}", with_id=True)
    for doc in ordered:  # the message's row is named: a sending whose e-mail failed holds nothing back
        audit.record(doc, "sent", actor=actor, details={"to": trainee.email, "mail": message.record_id})
    return message


def find_by_code(code: str) -> IssuedCertificate | None:
    normalised = normalise_code(code)
    if not normalised:
        return None
    return db.session.scalar(db.select(IssuedCertificate).where(IssuedCertificate.verification_code == normalised))


def trainee_document(trainee: Trainee, certificate_id: int) -> IssuedCertificate | None:
    """A document of this trainee, any version (None for anybody else's): a replaced or withdrawn one is not served
    (replaced_notice says why)."""
    doc = db.session.get(IssuedCertificate, certificate_id)
    if doc is None or doc.enrolment.trainee_id != trainee.id:
        return None
    return doc


def current_version(doc: IssuedCertificate) -> IssuedCertificate | None:
    """The document in force of the same trainee's enrolment and kind (`doc` itself when current); None when the
    last version was withdrawn."""
    return current_documents(doc.enrolment).get(doc.kind)


def replaced_notice(doc: IssuedCertificate) -> str:
    """What a trainee following a link to a version no longer valid is told: which number replaces it, or that
    it was withdrawn."""
    kind = KIND_LABELS[doc.kind]
    current = current_version(doc)
    if current is not None:
        return _("Ce document (%(kind)s n° %(old)s) a été remplacé par une version corrigée, le n° %(new)s : "
                 "c'est elle qui est valable, téléchargez-la ci-dessous.", kind=kind, old=doc.number, new=current.number)
    return _("Ce document (%(kind)s n° %(old)s) a été retiré le %(date)s : il n'est plus valable. Pour toute "
             "question, adressez-vous à l'équipe de formation.", kind=kind, old=doc.number,
             date=formatting.utc_date_fr(_last_version(doc).replaced_at, "d MMMM y"))


def _last_version(doc: IssuedCertificate) -> IssuedCertificate:
    """The last version of `doc`, the chain of replacements followed (withdrawn, when no version is current)."""
    while doc.replaced_by is not None:
        doc = doc.replaced_by
    return doc


def issued_on_local(doc: IssuedCertificate) -> date:
    from training_app.clock import to_local
    return to_local(doc.issued_at).date()
