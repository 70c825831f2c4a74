"""A session's current documents in one .zip, as issued (the stored files). Those that cannot be in it are listed,
with why, in documents-non-inclus.txt inside the .zip: a trainee's records expired at the end of the retention
period (their files were deleted), a file missing on the server or changed since it was issued (its SHA-256)."""
import io
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from training_app.extensions import db
from training_app.formatting import date_fr
from training_app.models import Enrolment, IssuedCertificate, TrainingSession
from training_app.services import ServiceError
from training_app.services import certificates as certificate_service

LEFT_OUT_FILENAME = "documents-non-inclus.txt"


@dataclass(frozen=True)
class LeftOut:
    document: IssuedCertificate
    name: str    # the trainee's name as the document printed it ("" once their records expired: it is gone)
    reason: str  # why, in French

    @property
    def line(self) -> str:
        label = str(certificate_service.KIND_LABELS.get(self.document.kind, self.document.kind))
        who = f" ({self.name})" if self.name else ""
        return f"- {label} n° {self.document.number}{who} : {self.reason}"


def session_zip(session: TrainingSession) -> bytes:
    """Every current document of the session in one .zip; those left out listed in LEFT_OUT_FILENAME. Refused
    (ServiceError) when none was issued, or none can be in it (with why)."""
    current = certificate_service.current_documents_for_session(session)
    if not current:
        raise ServiceError(_("Aucune attestation n'a encore été émise pour cette session."))
    trainees = {enrolment.id: enrolment.trainee for enrolment in db.session.scalars(
        select(Enrolment).where(Enrolment.id.in_(list(current))).options(selectinload(Enrolment.trainee)))}
    out = io.BytesIO()
    included = 0
    left_out: list[LeftOut] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for enrolment_id, documents in current.items():
            trainee = trainees[enrolment_id]
            for doc in documents.values():
                if trainee.records_expired:
                    left_out.append(LeftOut(doc, "", _(
                        "les fichiers des documents de cette personne ont été supprimés le %(date)s, au terme de la "
                        "durée de conservation ; seuls leurs numéros, codes de vérification et dates restent.",
                        date=date_fr(trainee.records_expired_at, "d MMMM y"))))
                    continue
                content, reason = _stored(doc)
                if content is None:
                    left_out.append(LeftOut(doc, doc.trainee_name, reason))
                    continue
                archive.writestr(doc.filename, content)
                included += 1
        if left_out and not included:
            reasons = list(dict.fromkeys(item.reason for item in left_out))
            raise ServiceError(_("Aucun document de la session ne peut être téléchargé : %(reasons)s",
                                 reasons=" ".join(reasons)))
        if left_out:
            archive.writestr(LEFT_OUT_FILENAME, left_out_text(left_out).encode("utf-8"))
    return out.getvalue()


def left_out_text(left_out: list[LeftOut]) -> str:
    heading = ngettext("%(num)d document de la session n'est pas dans ce fichier :",
                       "%(num)d documents de la session ne sont pas dans ce fichier :", len(left_out))
    return "\r\n".join([heading, "", *(item.line for item in left_out), ""])


def _stored(doc: IssuedCertificate) -> tuple[bytes | None, str]:
    """The stored file as issued, or None and why it cannot be given (certificates.stored_content)."""
    content, problem = certificate_service.stored_content(doc)
    if problem == certificate_service.MISSING:
        return None, _("le fichier est introuvable sur le serveur : restaurez-le depuis la sauvegarde.")
    if problem == certificate_service.ALTERED:
        return None, _("le fichier ne correspond plus à son empreinte (SHA-256) : il a été modifié sur le serveur "
                       "depuis son émission.")
    return content, ""
