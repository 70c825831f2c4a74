"""What a funding claim takes from the other features: attendance figures and documents.

Every call into the attendance and certificates features goes through this module, so
that the claim's rules do not depend on how those features store their data.
"""
from dataclasses import dataclass

from training_app.models import Slot, TrainingSession


@dataclass(frozen=True)
class Hours:
    planned_minutes: int
    attended_minutes: int
    absent_justified_minutes: int
    absent_unjustified_minutes: int


def hours_by_enrolment(session: TrainingSession) -> dict[int, Hours]:
    """Planned, attended and absent minutes of each enrolment of `session`, from the sheets."""
    try:
        from training_app.services import attendance
    except ImportError:  # the attendance feature is not installed: nothing was attended
        return {}
    return {enrolment_id: Hours(t.planned_minutes, t.attended_minutes, t.absent_justified_minutes,
                                t.absent_unjustified_minutes)
            for enrolment_id, t in attendance.totals_for_session(session).items()}


def open_slots(session: TrainingSession) -> list[Slot]:
    """Half-days whose sheet is not closed yet (their hours may still change)."""
    try:
        from training_app.services import attendance
    except ImportError:
        return list(session.slots)
    return list(attendance.open_slots(session))


def attendance_link(session: TrainingSession) -> tuple[str, dict, str]:
    """(endpoint, values, anchor) of the page where the session's half-days are closed."""
    return "sessions.session_detail", {"session_id": session.id}, "creneaux"


def certificates_by_enrolment(session: TrainingSession) -> dict[int, dict]:
    """The current certificates of each enrolment: {enrolment_id: {kind: issued certificate}}."""
    try:
        from training_app.services import certificates
    except ImportError:
        return {}
    return certificates.current_documents_for_session(session)


def certificates_link(session: TrainingSession) -> tuple[str, dict, str]:
    """(endpoint, values, anchor) of the page where the session's certificates are issued."""
    return "sessions.session_detail", {"session_id": session.id}, ""


def realisation_certificates(session: TrainingSession, enrolment_ids) -> dict[int, tuple[str, bytes, object]]:
    """{enrolment_id: (filename, content, certificate)} of the current certificats de réalisation."""
    from training_app.documents import storage

    found = {}
    by_enrolment = certificates_by_enrolment(session)
    for enrolment_id in enrolment_ids:
        certificate = by_enrolment.get(enrolment_id, {}).get("realisation")
        if certificate is not None:
            found[enrolment_id] = (certificate.filename, storage.read(certificate.storage_path), certificate)
    return found


def attendance_sheets(session: TrainingSession) -> list[tuple[str, bytes]]:
    """The session's attendance sheets as files: [(filename, content)]."""
    return []
