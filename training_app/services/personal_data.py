"""A trainee's personal data: export on request (RGPD art. 15 and 20), erasure on request (art. 17) and at the
end of the retention period.

Attendance records (with their signatures), issued certificates and funding agreement lines are kept
RECORD_RETENTION_YEARS (6 by default, see domain.md, "Keeping records"): they and what they print (civility,
names, employer, job title: certificates/ and the claim workbook) survive an erasure. Everything else about
the person goes: e-mail address (replaced by a placeholder that cannot receive mail), phone (and past ones in
the audit trail), the free-text reasons of their kept enrolments (cancellation, withdrawal), named
questionnaire answers, e-mails written to them, enrolments that hold no kept record and what hangs on them,
their personal links. A person with no kept record is deleted entirely.

Where the data is: every table with a foreign key to `trainees` or `enrolments` is listed in
PERSON_TABLES; tests/unit/test_personal_data.py fails when a new one is not, so that an export or an
erasure cannot forget it. Outside those: `outgoing_mail` (by recipient address, and the office's
notifications tagged with an enrolment) and `audit_entries` (by entity).
"""
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Text, cast, delete, func, select, update

from training_app.clock import local_now, utcnow
from training_app.documents import storage
from training_app.extensions import db
from training_app.formatting import label
from training_app.models import (AgreementTrainee, AttendanceRecord, AttendanceSheet, AuditEntry, ConvocationSending,
                                 Enrolment, IssuedCertificate, LearningOutcome, MailStatus, OutgoingMail,
                                 OutgoingMailAttachment, Signature, Slot, SurveyParticipation, Trainee,
                                 TrainingSession, User)
from training_app.models.enrolments import LIVE_STATUSES
from training_app.services import ServiceError, audit, flush_or_refuse

# Every table pointing at a trainee (trainee_id) or at one of their enrolments (enrolment_id), and what the
# export calls it. tests/unit/test_personal_data.py compares this with the foreign keys of the schema.
PERSON_TABLES = {
    "enrolments": "inscriptions",
    "survey_participations": "questionnaires",
    "attendance_records": "emargement",
    "attendance_signatures": "emargement (signature)",
    "learning_outcomes": "acquis",
    "convocation_sendings": "convocations",
    "issued_certificates": "attestations",
    "funding_agreement_trainees": "financements",
}
# The kept records: an enrolment holding one of these stays, and so does its trainee (names, employer, job).
KEPT_RECORDS = (AttendanceRecord, Signature, IssuedCertificate, AgreementTrainee)

ERASED_DOMAIN = "efface.invalid"  # ".invalid" is reserved (RFC 2606): no mail can ever be delivered there
ERASED_TEXT = "[effacé]"
CONTACT_KEYS = ("email", "phone")  # a change of details keeps that they changed, not their values
RETENTION_REASON = "durée de conservation échue"
REASON_MAX = 500
SIGNATURE_IMAGE = "image de signature conservée"


# French words for the stored codes the export shows (formatting.label has the others).
WORDS = {
    "present": "présent·e", "late": "en retard", "left_early": "parti·e en avance",
    "absent_justified": "absent·e (justifié)", "absent_unjustified": "absent·e (non justifié)",
    "device": "sur l'appareil du formateur ou de la formatrice", "personal_link": "par le lien personnel",
    "qr": "par le QR code de la salle",
    "pending": "en attente d'envoi", "sent": "envoyé", "failed": "échec", "captured": "conservé, non envoyé",
    "dismissed": "classé",
    "attestation": "attestation individuelle de fin de formation", "realisation": "certificat de réalisation",
    "granted": "accordé", "refused": "refusé", "subrogation": "subrogation (paiement à l'organisme)",
    "reimbursement": "remboursement de l'employeur",
}


def _word(value: str) -> str:
    return WORDS[value] if value in WORDS else label(value)


def is_erased_address(address: str) -> bool:
    return address.strip().lower().endswith("@" + ERASED_DOMAIN)


# --- export ------------------------------------------------------------------------------------------------

def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _enrolments(trainee: Trainee) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.trainee_id == trainee.id)
                                   .order_by(Enrolment.requested_at, Enrolment.id)))


def _history(entity_type: str, ids: list[int]) -> list[AuditEntry]:
    if not ids:
        return []
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == entity_type, AuditEntry.entity_id.in_(ids)).order_by(AuditEntry.at, AuditEntry.id)))


def _trainee_history(trainee: Trainee) -> list[AuditEntry]:
    """The trainee's audit trail; not the erasure of someone deleted before whose id the database gave again."""
    return [e for e in _history("trainees", [trainee.id])
            if e.action != "personal_data_erased" or trainee.erased_at is not None]


def _audit_rows(entries: list[AuditEntry]) -> list[dict]:
    return [{"le": _iso(e.at), "par": e.who, "action": e.action, "etat_precedent": e.from_state,
             "nouvel_etat": e.to_state, "motif": e.reason, "details": e.details} for e in entries]


def addresses(trainee: Trainee) -> set[str]:
    """The trainee's address and those they had before (changes recorded in the audit trail)."""
    found = {trainee.email}
    for entry in _history("trainees", [trainee.id]):
        change = (entry.details or {}).get("changes", {}).get("email")
        if isinstance(change, list):
            found.update(value for value in change if isinstance(value, str) and value != ERASED_TEXT)
    return {a.lower() for a in found if a and not is_erased_address(a)}


def _mails_to(emails: set[str]) -> list[OutgoingMail]:
    """Messages with one of these addresses among their recipients (a LIKE narrows, the list decides). The JSON
    text may hold an address as it is or with \\uXXXX escapes for its non-ASCII letters: both are looked for."""
    if not emails:
        return []
    text = cast(OutgoingMail.recipients, Text)
    forms = {form for e in emails for form in (e, json.dumps(e)[1:-1])}
    candidates = db.session.scalars(select(OutgoingMail).where(db.or_(*(
        text.like("%" + _escaped(f) + "%", escape="\\") for f in sorted(forms)))).order_by(OutgoingMail.queued_at))
    return [m for m in candidates if emails & {r.lower() for r in m.recipients or []}]


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def export(trainee: Trainee) -> dict:
    """Everything the application holds about the trainee, as plain data (French keys)."""
    enrolments = _enrolments(trainee)
    ids = [e.id for e in enrolments]
    employer = trainee.employer
    return {
        "export": {
            "genere_le": _iso(utcnow()), "stagiaire_id": trainee.id,
            "heures": _("Les dates et heures « _le » sont en temps universel (UTC) ; celles des demi-journées et "
                        "des sessions sont à l'heure locale."),
        },
        "personne": {
            "civilite": trainee.civility, "prenom": trainee.first_name, "nom": trainee.last_name,
            "adresse_email": "" if is_erased_address(trainee.email) else trainee.email,
            "telephone": trainee.phone, "fonction": trainee.job_title, "categorie": label(trainee.category),
            "cree_le": _iso(trainee.created_at), "donnees_effacees_le": _iso(trainee.erased_at),
        },
        "structure_employeuse": None if employer is None else {
            "nom": employer.name, "siret": employer.siret, "adresse": employer.address},
        "historique_de_la_fiche": _audit_rows(_trainee_history(trainee)),
        "inscriptions": [_enrolment_export(e) for e in enrolments],
        "questionnaires": _surveys_export(trainee),
        "courriels": [{"objet": m.subject, "mis_en_file_le": _iso(m.queued_at), "envoye_le": _iso(m.sent_at),
                       "etat": _word(m.status), "destinataires": m.recipients}
                      for m in _mails_to(addresses(trainee))],
        "courriels_au_bureau": [{"objet": m.subject, "mis_en_file_le": _iso(m.queued_at), "etat": _word(m.status)}
                                for m in _office_mails(ids)],
    }


def _signature_export(signature: Signature) -> dict:
    return {"signee_le": _iso(signature.signed_at), "methode": _word(signature.method),
            "nom_signataire": signature.signer_name, "adresse_ip": signature.ip_address,
            "appareil": signature.user_agent, "image": _(SIGNATURE_IMAGE)}


def _enrolment_export(enrolment: Enrolment) -> dict:
    session = enrolment.session
    records = {r.slot_id: r for r in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id))}
    signatures = defaultdict(list)  # a half-day's valid signature, and those voided (made in the wrong row)
    for signature in db.session.scalars(select(Signature).where(Signature.enrolment_id == enrolment.id)
                                        .order_by(Signature.signed_at, Signature.id)):
        signatures[signature.slot_id].append(signature)
    attendance = []
    for slot in sorted((s for s in session.slots if s.id in records or s.id in signatures),
                       key=lambda s: (s.date, s.start_time)):
        record = records.get(slot.id)
        signature = next((s for s in signatures[slot.id] if not s.is_voided), None)
        attendance.append({
            "demi_journee": {"date": _iso(slot.date), "debut": _iso(slot.start_time), "fin": _iso(slot.end_time)},
            "statut": _word(record.status) if record else None,
            "minutes_suivies": record.minutes_attended if record else None,
            "heure_arrivee": _iso(record.arrival_time) if record else None,
            "heure_depart": _iso(record.departure_time) if record else None,
            "justification": record.justification if record else None,
            "signature": None if signature is None else _signature_export(signature),
            "signatures_annulees": [{**_signature_export(s), "annulee_le": _iso(s.voided_at),
                                     "motif_annulation": s.voided_reason}
                                    for s in signatures[slot.id] if s.is_voided],
        })
    outcomes = db.session.scalars(select(LearningOutcome).where(LearningOutcome.enrolment_id == enrolment.id)
                                  .order_by(LearningOutcome.objective_id)).all()
    certificates = db.session.scalars(select(IssuedCertificate).where(IssuedCertificate.enrolment_id == enrolment.id)
                                      .order_by(IssuedCertificate.issued_at, IssuedCertificate.id)).all()
    lines = db.session.scalars(select(AgreementTrainee).where(AgreementTrainee.enrolment_id == enrolment.id)
                               .order_by(AgreementTrainee.id)).all()
    sendings = db.session.scalars(select(ConvocationSending).where(ConvocationSending.enrolment_id == enrolment.id)
                                  .order_by(ConvocationSending.sent_at)).all()
    return {
        "id": enrolment.id,
        "session": {"id": session.id, "titre": session.title, "debut": _iso(session.start_at),
                    "fin": _iso(session.end_at), "lieu": session.place},
        "etat": label(enrolment.status), "demandee_le": _iso(enrolment.requested_at),
        "en_liste_d_attente_le": _iso(enrolment.waitlisted_at),
        "confirmee_le": _iso(enrolment.confirmed_at), "annulee_le": _iso(enrolment.cancelled_at),
        "abandon_le": _iso(enrolment.withdrawn_on), "motif": enrolment.status_reason,
        "financement_indique": enrolment.funding_mode, "prix_centimes": enrolment.price_cents,
        "historique": _audit_rows(_history("enrolments", [enrolment.id])),
        "emargement": attendance,
        "historique_emargement": _audit_rows(_sheet_history(enrolment)),
        "convocations": [{"envoyee_le": _iso(s.sent_at), "a": s.sent_to, "canal": s.channel} for s in sendings],
        "acquis": [{"objectif": o.objective.text, "resultat": label(o.result), "commentaire": o.comment,
                    "evalue_le": _iso(o.assessed_at)} for o in outcomes],
        "attestations": [{"numero": c.number, "type": _word(c.kind), "version": c.version,
                          "emise_le": _iso(c.issued_at), "code_de_verification": c.verification_code,
                          "heures_suivies_minutes": c.attended_minutes, "remplacee_le": _iso(c.replaced_at),
                          "retrait": c.withdrawn_reason} for c in certificates],
        "financements": [{"financeur": line.agreement.funder.name, "numero_de_dossier": line.agreement.file_number,
                          "etat": _word(line.agreement.status), "mode": _word(line.agreement.mode),
                          "frais_annexes_centimes": {
                              kind: {"accordes": getattr(line, f"{kind}_agreed_cents"),
                                     "reels": getattr(line, f"{kind}_actual_cents")}
                              for kind in ("travel", "accommodation", "meals")}} for line in lines],
    }


def _sheet_history(enrolment: Enrolment) -> list[AuditEntry]:
    """What the attendance sheets of the session recorded about this enrolment (signed, marked, corrected):
    audited on the sheet, with the enrolment in the details."""
    sheet_ids = list(db.session.scalars(select(AttendanceSheet.id).join(Slot, Slot.id == AttendanceSheet.slot_id)
                                        .where(Slot.session_id == enrolment.session_id)))
    return [e for e in _history("attendance_sheets", sheet_ids)
            if isinstance(e.details, dict) and e.details.get("enrolment_id") == enrolment.id]


def _surveys_export(trainee: Trainee) -> list[dict]:
    participations = db.session.scalars(select(SurveyParticipation).where(
        SurveyParticipation.trainee_id == trainee.id).order_by(SurveyParticipation.answered_at)).all()
    rows = []
    for p in participations:
        questionnaire = p.survey.questionnaire
        row = {"questionnaire": questionnaire.title, "session_id": p.survey.session_id,
               "repondu_le": _iso(p.answered_at), "anonyme": questionnaire.anonymous}
        if questionnaire.anonymous:
            row["reponses"] = _("Questionnaire anonyme : vos réponses sont conservées sans lien avec vous ; seul "
                                "le fait que vous avez répondu est enregistré.")
        elif p.response is None:
            row["reponses"] = []
        else:
            texts = {q.id: q.text for q in questionnaire.questions}
            row["reponses"] = [{"question": texts.get(a.question_id, ""), "reponse": _answer(a)}
                               for a in sorted(p.response.answers, key=lambda a: a.question_id)]
        rows.append(row)
    return rows


def _answer(answer) -> object:
    from training_app.services.survey_results import answer_value
    return answer_value(answer.question, answer)


def _office_mails(enrolment_ids: list[int]) -> list[OutgoingMail]:
    """The office's notifications of the trainee's registrations (they name them and give their address)."""
    if not enrolment_ids:
        return []
    return list(db.session.scalars(select(OutgoingMail).where(
        OutgoingMail.tag.in_([f"office:enrolment:{i}" for i in enrolment_ids])).order_by(OutgoingMail.queued_at)))


# --- erasure -----------------------------------------------------------------------------------------------

@dataclass
class Erasure:
    trainee_id: int
    deleted: bool  # the person is gone entirely (no kept record)
    kept: dict = field(default_factory=dict)  # what was kept and how many: {"attendance_records": 6, ...}
    removed: dict = field(default_factory=dict)  # what was deleted or emptied and how many

    @property
    def kept_text(self) -> str:
        names = {"attendance_records": _("feuilles d'émargement"), "signatures": _("signatures"),
                 "certificates": _("attestations"), "funding_lines": _("lignes de financement")}
        return ", ".join(f"{names[k]} ({n})" for k, n in self.kept.items() if n)


def erase(trainee: Trainee, reason: str, actor: User | None, *, actor_label: str = "") -> Erasure:
    """Erase the trainee's personal data (see the module's docstring), in the caller's transaction: the caller
    commits, or rolls back on any error, which leaves everything as it was. One audit entry, without the
    erased data."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Indiquez le motif de l'effacement."), "reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(_("Le motif dépasse %(n)d caractères.", n=REASON_MAX), "reason")
    trainee = db.session.scalar(select(Trainee).where(Trainee.id == trainee.id).with_for_update()
                                .execution_options(populate_existing=True))
    if trainee is None:
        raise ServiceError(_("Cette personne n'existe plus."))
    if trainee.erased_at is not None:
        raise ServiceError(_("Les données de cette personne ont déjà été effacées."))
    _refuse_live_enrolments(trainee)
    enrolments = _enrolments(trainee)
    kept_ids = _enrolments_with_records([e.id for e in enrolments])
    emails = addresses(trainee)
    removed = {"enrolments": 0, "named_answers": 0, "mails": 0}
    gone = [e for e in enrolments if e.id not in kept_ids]
    # The convocations' Word files print the name, the employer and a personal link; no law keeps them.
    storage.delete_after_commit(db.session.scalars(select(ConvocationSending.document_path).where(
        ConvocationSending.enrolment_id.in_([e.id for e in enrolments]))))
    removed["mails"] = _delete_mails(emails, [e.id for e in enrolments])
    removed["named_answers"] = _delete_named_answers(trainee)
    removed["enrolments"] = _delete_enrolments(gone)
    trainee_id = trainee.id
    if not kept_ids:
        db.session.execute(delete(SurveyParticipation).where(SurveyParticipation.trainee_id == trainee_id))
        db.session.execute(delete(AuditEntry).where(AuditEntry.entity_type == "trainees",
                                                    AuditEntry.entity_id == trainee_id))
        db.session.delete(trainee)
        # An enrolment made for them at this very moment keeps them (its foreign key refuses the delete).
        flush_or_refuse(_("Une inscription de cette personne vient d'être enregistrée : rien n'a été effacé. "
                          "Rechargez la page."))
        erasure = Erasure(trainee_id, deleted=True, removed=removed)
        entity = _Gone(trainee_id)
    else:
        _scrub_audit(trainee, sorted(kept_ids), emails | ({trainee.phone} if trainee.phone else set()))
        db.session.execute(update(ConvocationSending).where(ConvocationSending.enrolment_id.in_(kept_ids))
                           .values(sent_to=ERASED_TEXT, document_path=""))
        # Free text about the person (why they cancelled or dropped out); no kept document prints it.
        db.session.execute(update(Enrolment).where(Enrolment.id.in_(kept_ids), Enrolment.status_reason != "")
                           .values(status_reason=ERASED_TEXT).execution_options(synchronize_session="fetch"))
        trainee.email = f"efface-{trainee.id}-{secrets.token_hex(6)}@{ERASED_DOMAIN}"
        trainee.phone = ""
        trainee.link_version += 1  # every personal link stops working
        trainee.erased_at = utcnow()
        erasure = Erasure(trainee_id, deleted=False, removed=removed, kept=_kept_counts(sorted(kept_ids)))
        entity = trainee
    audit.record(entity, "personal_data_erased", actor=actor, actor_label=actor_label, reason=reason,
                 details={"deleted": erasure.deleted, "kept": erasure.kept, "removed": erasure.removed})
    db.session.flush()
    return erasure


class _Gone:
    """The audit trail's name for a trainee deleted entirely."""
    __tablename__ = "trainees"

    def __init__(self, id_: int):
        self.id = id_


def _refuse_live_enrolments(trainee: Trainee) -> None:
    live = db.session.execute(
        select(TrainingSession.start_at, TrainingSession.end_at).join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .where(Enrolment.trainee_id == trainee.id, Enrolment.status.in_(LIVE_STATUSES),
               TrainingSession.end_at > local_now()).order_by(TrainingSession.start_at)).first()
    if live is not None:
        from training_app.formatting import date_fr
        raise ServiceError(_("%(name)s a une inscription en cours (session du %(start)s) : annulez-la d'abord, "
                             "puis effacez ses données.", name=trainee.full_name, start=date_fr(live.start_at)))


def _enrolments_with_records(ids: list[int]) -> set[int]:
    if not ids:
        return set()
    kept = set()
    for model in KEPT_RECORDS:
        kept.update(db.session.scalars(select(model.enrolment_id).where(model.enrolment_id.in_(ids))))
    return kept


def _kept_counts(ids: list[int]) -> dict:
    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(model.enrolment_id.in_(ids)))
    return {"attendance_records": count(AttendanceRecord), "signatures": count(Signature),
            "certificates": count(IssuedCertificate), "funding_lines": count(AgreementTrainee)}


def _delete_mails(emails: set[str], enrolment_ids: list[int]) -> int:
    """Messages to them are deleted; one also to others loses their address only. And the office's
    notifications of their registrations."""
    n, gone = 0, []
    for message in _mails_to(emails):
        others = [r for r in message.recipients if r.lower() not in emails]
        if others:
            message.recipients = others
        else:
            gone.append(message.id)
        n += 1
    for message in _office_mails(enrolment_ids):
        gone.append(message.id)
        n += 1
    db.session.flush()
    _delete_mail_rows(gone)
    return n


def _delete_mail_rows(ids: list[int]) -> None:
    """Delete these messages and their attachments (said explicitly: SQLite does not cascade)."""
    if ids:
        db.session.execute(delete(OutgoingMailAttachment).where(OutgoingMailAttachment.mail_id.in_(ids)))
        db.session.execute(delete(OutgoingMail).where(OutgoingMail.id.in_(ids)))


def _delete_named_answers(trainee: Trainee) -> int:
    """The answers of questionnaires that are not anonymous; the participation (the fact of answering, which
    the response rates count) stays while the trainee does."""
    participations = db.session.scalars(select(SurveyParticipation).where(
        SurveyParticipation.trainee_id == trainee.id, SurveyParticipation.response_id.is_not(None))).all()
    responses = [p.response for p in participations if p.response is not None]
    for p in participations:
        p.response_id = None
    db.session.flush()
    for response in responses:
        db.session.delete(response)
    db.session.flush()
    return len(responses)


def _delete_enrolments(enrolments: list[Enrolment]) -> int:
    """Enrolments holding no kept record, with what hangs on them and their audit trail."""
    ids = [e.id for e in enrolments]
    if not ids:
        return 0
    outcome_ids = list(db.session.scalars(select(LearningOutcome.id).where(LearningOutcome.enrolment_id.in_(ids))))
    db.session.execute(delete(AuditEntry).where(AuditEntry.entity_type == "learning_outcomes",
                                                AuditEntry.entity_id.in_(outcome_ids or [-1])))
    db.session.execute(delete(LearningOutcome).where(LearningOutcome.enrolment_id.in_(ids)))
    db.session.execute(delete(ConvocationSending).where(ConvocationSending.enrolment_id.in_(ids)))
    db.session.execute(delete(AuditEntry).where(AuditEntry.entity_type == "enrolments", AuditEntry.entity_id.in_(ids)))
    for enrolment in enrolments:
        db.session.delete(enrolment)
    db.session.flush()
    return len(ids)


def _scrub_audit(trainee: Trainee, enrolment_ids: list[int], values: set[str]) -> None:
    """The audit trail about the person keeps what happened, not their address or phone: neither those they
    have now (wherever they appear) nor any they had before (the `email` and `phone` of a change of details,
    by key); nor the free-text reasons of their enrolments' changes."""
    values = {v for v in values if v}
    certificate_ids = list(db.session.scalars(select(IssuedCertificate.id).where(
        IssuedCertificate.enrolment_id.in_(enrolment_ids))))
    entries = db.session.scalars(select(AuditEntry).where(db.or_(
        (AuditEntry.entity_type == "trainees") & (AuditEntry.entity_id == trainee.id),
        (AuditEntry.entity_type == "enrolments") & AuditEntry.entity_id.in_(enrolment_ids or [-1]),
        (AuditEntry.entity_type == "issued_certificates") & AuditEntry.entity_id.in_(certificate_ids or [-1]))))
    lowered = {v.lower() for v in values}
    for entry in entries:
        scrubbed = _scrub_changes(_scrub(entry.details, lowered))
        if scrubbed != entry.details:
            entry.details = scrubbed
        if entry.reason and (entry.entity_type == "enrolments" or any(v in entry.reason.lower() for v in lowered)):
            entry.reason = ERASED_TEXT  # an enrolment's reasons are free text about the person (health, family...)


def _scrub_changes(details):
    """A change of details keeps which contact field changed, not its values (before or after)."""
    changes = details.get("changes") if isinstance(details, dict) else None
    if not isinstance(changes, dict) or not any(k in changes for k in CONTACT_KEYS):
        return details
    blank = {k: ([ERASED_TEXT if v else v for v in change] if isinstance(change, list) else ERASED_TEXT)
             for k, change in changes.items() if k in CONTACT_KEYS}
    return {**details, "changes": {**changes, **blank}}


def _scrub(value, lowered: set[str]):
    if isinstance(value, dict):
        return {k: _scrub(v, lowered) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, lowered) for v in value]
    if isinstance(value, str) and value.lower() in lowered:
        return ERASED_TEXT
    return value


# --- retention ---------------------------------------------------------------------------------------------

@dataclass
class PurgePlan:
    mail_ids: list[int]
    trainees: list[Trainee]


def purge_plan() -> PurgePlan:
    """What `purge` would do now: the messages sent, filed or captured (never sent: no mail server) more than
    MAIL_KEEP_DAYS ago (a failed one waits for the office's decision), and the trainees not erased yet whose
    last session ended more than RECORD_RETENTION_YEARS ago (so none of their enrolments is still live), or
    who have no enrolment at all and were created more than RECORD_RETENTION_YEARS ago."""
    config = current_app.config
    mail_cutoff = utcnow() - timedelta(days=config["MAIL_KEEP_DAYS"])
    mail_ids = list(db.session.scalars(select(OutgoingMail.id).where(
        OutgoingMail.status.in_((MailStatus.SENT, MailStatus.DISMISSED, MailStatus.CAPTURED)),
        func.coalesce(OutgoingMail.sent_at, OutgoingMail.queued_at) < mail_cutoff).order_by(OutgoingMail.id)))
    years = config["RECORD_RETENTION_YEARS"]
    session_cutoff = _years_before(local_now(), years)  # sessions are in local time
    created_cutoff = _years_before(utcnow(), years)  # created_at is UTC
    last_end = (select(Enrolment.trainee_id, func.max(TrainingSession.end_at).label("last_end"))
                .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
                .group_by(Enrolment.trainee_id).subquery())
    trainees = list(db.session.scalars(
        select(Trainee).outerjoin(last_end, last_end.c.trainee_id == Trainee.id)
        .where(Trainee.erased_at.is_(None), db.or_(
            last_end.c.last_end < session_cutoff,
            last_end.c.trainee_id.is_(None) & (Trainee.created_at < created_cutoff)))
        .order_by(Trainee.id)))
    return PurgePlan(mail_ids=mail_ids, trainees=trainees)


def _years_before(moment, years: int):
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def purge(plan: PurgePlan) -> list[Erasure]:
    """Carry out `plan` in the caller's transaction."""
    _delete_mail_rows(plan.mail_ids)
    return [erase(t, RETENTION_REASON, None, actor_label="flask purge-expired") for t in plan.trainees]
