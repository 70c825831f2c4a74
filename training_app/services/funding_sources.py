"""What a funding claim takes from the other features: attendance figures and documents.

Every call into the attendance and certificates features goes through this module, so
that the claim's rules do not depend on how those features store their data (tests of the
claim alone replace these functions).
"""
from dataclasses import dataclass, replace

from training_app.models import Slot, TrainingSession


@dataclass(frozen=True)
class Hours:
    planned_minutes: int
    attended_minutes: int
    absent_justified_minutes: int
    absent_unjustified_minutes: int


def hours_by_enrolment(session: TrainingSession) -> dict[int, Hours]:
    """Planned, attended and absent minutes of each enrolment of `session`, from the sheets."""
    from training_app.services import attendance

    return {enrolment_id: Hours(t.planned_minutes, t.attended_minutes, t.absent_justified_minutes,
                                t.absent_unjustified_minutes)
            for enrolment_id, t in attendance.totals_for_session(session).items()}


def open_slots(session: TrainingSession) -> list[Slot]:
    """Half-days whose sheet is not closed yet (their hours may still change)."""
    from training_app.services import attendance

    return attendance.open_slots(session)


def attendance_link(session: TrainingSession) -> tuple[str, dict, str]:
    """(endpoint, values, anchor) of the page where the session's half-days are closed."""
    return "attendance.overview", {"session_id": session.id}, ""


def certificates_by_enrolment(session: TrainingSession) -> dict[int, dict]:
    """The current certificates of each enrolment: {enrolment_id: {kind: issued certificate}}."""
    from training_app.services import certificates

    return certificates.current_documents_for_session(session)


def outdated_certificates(session: TrainingSession) -> dict[int, list[str]]:
    """{enrolment_id: [why, in French]} of the enrolments whose current certificat de réalisation no longer states
    what the data says now: the hours attended (a closed sheet corrected after issuing), the employer of the
    course, the nature of the action, the trainee's name or civility (what its template printed): it must be
    issued again. A changed learning result outdates the attestation only, which does not go to the funder."""
    from flask_babel import gettext as _

    from training_app.services import certificates

    outdated = {}
    for row in certificates.session_overview(session):
        document = row.documents.get("realisation")
        if document is None:
            continue
        alone = replace(row, documents={"realisation": document})  # compared on what this document printed
        trainee = row.enrolment.trainee
        reasons = [label for changed, label in (
            (alone.hours_outdated, _("heures suivies")), (alone.place_outdated, _("lieu ou modalité")),
            (alone.employer_outdated, _("structure employeuse")), (alone.nature_outdated, _("nature de l'action")),
            (alone.name_outdated and certificates.states_other_name(document, trainee), _("nom")),
            (alone.name_outdated and certificates.states_other_civility(document, trainee), _("civilité")),
            (alone.job_title_outdated, _("fonction"))) if changed]
        if reasons:
            outdated[row.enrolment.id] = reasons
    return outdated


def certificates_link(session: TrainingSession) -> tuple[str, dict, str]:
    """(endpoint, values, anchor) of the page where the session's certificates are issued."""
    return "certificates.session_documents", {"session_id": session.id}, ""


def realisation_certificates(session: TrainingSession, enrolment_ids) -> dict[int, tuple[str, bytes, object]]:
    """{enrolment_id: (filename, content, certificate)} of the current certificats de réalisation."""
    from training_app.services import certificates

    found = {}
    by_enrolment = certificates_by_enrolment(session)
    for enrolment_id in enrolment_ids:
        certificate = by_enrolment.get(enrolment_id, {}).get("realisation")
        if certificate is not None:
            found[enrolment_id] = (certificate.filename, certificates.document_bytes(certificate), certificate)
    return found


def attendance_sheets(session: TrainingSession) -> list[tuple[str, bytes]]:
    """The session's attendance sheets as files: the signed Word sheet (every half-day, the trainees'
    and trainers' signatures) and the scans of paper sheets attached to half-days."""
    from training_app.documents import attendance_sheet, storage
    from training_app.extensions import db
    from training_app.models import AttendanceSheet

    files = [(f"feuille-emargement-{session.start_at:%Y-%m-%d}.docx", attendance_sheet.word_sheet(session))]
    sheets = db.session.scalars(
        db.select(AttendanceSheet).join(Slot, Slot.id == AttendanceSheet.slot_id)
        .where(Slot.session_id == session.id, AttendanceSheet.scan_path != "").order_by(Slot.date, Slot.start_time))
    for sheet in sheets:
        if storage.exists(sheet.scan_path):
            extension = {"jpeg": "jpg"}.get(sheet.scan_kind, sheet.scan_kind or "pdf")
            files.append((f"scan-emargement-{sheet.slot.date:%Y-%m-%d}-{sheet.slot.start_time:%Hh%M}.{extension}",
                          storage.read(sheet.scan_path)))
    return files
