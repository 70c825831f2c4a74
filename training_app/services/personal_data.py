"""A trainee's personal data: export on request (RGPD art. 15 and 20), erasure on request (art. 17) and at the
end of the retention period.

Attendance records (with their signatures), issued certificates and funding agreement lines are kept
RECORD_RETENTION_YEARS (6 by default, see domain.md, "Keeping records"), and so are the enrolments the closed
sheets print or the annual report counts (withdrawals): they and what they print (civility, names, employer,
job title: certificates/ and the claim workbook) survive an erasure. Everything else about the person goes:
e-mail address (replaced by a placeholder that cannot receive mail), phone (and past ones in the audit trail),
the free-text reasons of their kept enrolments (cancellation, withdrawal), the trainers' comments on their results
that no kept attestation prints, their full names in what the office and trainers typed about their sessions
(notes, reviews, funding texts, other trainees' reasons and comments but those a kept attestation prints),
named questionnaire answers, e-mails written to them, enrolments that hold no kept record and what hangs on
them, their personal links, the requests they made on the public registration page (services/registration_requests.py). A person with no kept record is
deleted entirely.

The retention period runs from the end of the person's last session, or from the last payment received for a
claim covering one of their funding lines when later (retention_end). Once it is over, `flask purge-expired`
erases the person (if not done yet) and then expires the kept records (expire_records): the names are replaced
in every kept row (sheets and their versions, certificates, claims' figures, the audit trail), the signatures
lose their image, address and device, the certificates' and justifications' files are deleted; the rows
themselves stay, nameless, with what the annual report counts (statuses, minutes, amounts, the category).

Where the data is: every table with a foreign key to `trainees` or `enrolments` is listed in
PERSON_TABLES; tests/unit/test_personal_data.py fails when a new one is not, so that an export or an
erasure cannot forget it. Outside those: `outgoing_mail` (by recipient address while it was theirs, and the
office's notifications tagged with an enrolment), `audit_entries` (by entity), `attendance_sheet_versions` and
`funding_claims` (their snapshots name the enrolment).
"""
import json
import re
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, case, cast, delete, func, select, update

from training_app.clock import local_now, utcnow
from training_app.documents import storage
from training_app.extensions import db
from training_app.formatting import label
from training_app.models import (AgreementTrainee, AttendanceRecord, AttendanceSheet, AttendanceSheetVersion,
                                 AuditEntry, ClaimPayment, ConvocationSending, Enrolment, EnrolmentStatus,
                                 FundingAgreement, FundingClaim, IssuedCertificate, LearningOutcome, MailStatus,
                                 OutgoingMail, OutgoingMailAttachment, SessionReview, Signature, Slot, SheetStatus,
                                 Survey, SurveyParticipation, Trainee, TrainingSession, User)
from training_app.models.enrolments import LIVE_STATUSES
from training_app.models.funding_files import claim_sessions
from training_app.services import ServiceError, audit, flush_or_refuse, registration_requests
from training_app.services import attendance as attendance_service
from training_app.services import enrolments as enrolment_service
from training_app.services.certificates import KIND_LABELS
from training_app.services.claim_calculation import ANNEX_KINDS, ANNEX_LABELS
from training_app.services.registrations import FUNDING_LABELS, email_to_look_up, funding_label
from training_app.services.attendance import before_enrolment

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
    "registration_requests": "demandes d'inscription (confirmation par e-mail)",
}
# The kept records: an enrolment holding one of these stays, and so does its trainee (names, employer, job).
KEPT_RECORDS = (AttendanceRecord, Signature, IssuedCertificate, AgreementTrainee)

ERASED_DOMAIN = "efface.invalid"  # ".invalid" is reserved (RFC 2606): no mail can ever be delivered there
ERASED_TEXT = "[effacé]"
CONTACT_KEYS = ("email", "phone")  # a change of details keeps that they changed, not their values
RETENTION_REASON = "durée de conservation échue"
REASON_MAX = 500
SIGNATURE_IMAGE = "image de signature conservée"
SIGNATURE_IMAGE_EXPIRED = "image de signature supprimée au terme de la durée de conservation"
PURGE_ACTOR = "flask purge-expired"
EXPIRED_FOLDER = "supprime"  # where an expired certificate's row points: no file is ever stored there
# What a change of details keeps once the records expired: which field changed, not its values.
IDENTITY_KEYS = ("civility", "first_name", "last_name", "job_title", "employer")
# Tags of the messages written about one enrolment ("convocation:12") or one trainee ("trainee_link:7").
ENROLMENT_TAGS = ("enrolment", "convocation", "certificates", "cancelled", "session_cancelled")
TRAINEE_TAGS = ("trainee_link",)


# French words for the stored codes the export shows that no Python dictionary of the pages holds (formatting.label,
# the attendance statuses and signing methods and the kinds of certificate have theirs: _word).
WORDS = {
    "pending": "en attente d'envoi", "sent": "envoyé", "failed": "échec", "captured": "conservé, non envoyé",
    "dismissed": "classé",
    "granted": "accordé", "refused": "refusé", "subrogation": "subrogation (paiement à l'organisme)",
    "reimbursement": "remboursement de l'employeur",
}
# What the history of the person's record says of each action (those of enrolments and sheets have theirs).
TRAINEE_ACTION_LABELS = {
    "details_changed": _l("Coordonnées modifiées"), "links_revoked": _l("Liens personnels révoqués"),
    "personal_data_erased": _l("Données personnelles effacées"),
    "records_expired": _l("Pièces conservées rendues anonymes (durée de conservation échue)"),
}
# The French words of the codes an audit entry's details hold, by key (at any depth: "before", "after"...).
DETAIL_WORDS = {"status": attendance_service.STATUS_LABELS, "method": attendance_service.METHOD_LABELS,
                "by": enrolment_service.CANCELLED_BY_LABELS}
# The same, for keys whose words depend on the action: a change of funding keeps the modes it went from and to.
FUNDING_WORDS = {**FUNDING_LABELS, "": "non indiqué"}  # an enrolment imported without its funding
ACTION_DETAIL_WORDS = {"funding_mode_changed": {"from": FUNDING_WORDS, "to": FUNDING_WORDS}}
# The French names the export gives the keys of an audit entry's details (at any depth), the values kept as they are
# (or in French words: DETAIL_WORDS). A key not listed (an id's name, "justification") is French already.
DETAIL_KEYS = {
    # the enrolment's history (services/enrolments.py)
    "by": "par", "session_cancelled": "session_annulee", "withdrawn_on": "abandon_le",
    "to_enrolment_id": "vers_inscription_id", "to_session_id": "vers_session_id",
    "from_enrolment_id": "depuis_inscription_id", "from_session_id": "depuis_session_id",
    "from": "avant", "to": "apres", "before": "avant", "after": "apres",
    "typed": "indique_sur_le_formulaire_public", "employer_name": "nom_de_la_structure",
    "employer_siret": "siret_de_la_structure",
    # the attendance sheets' history about the enrolment (services/attendance.py)
    "enrolment_id": "inscription_id", "trainee": "stagiaire", "slot": "demi_journee", "method": "methode",
    "signed_at": "signee_le", "image_sha256": "empreinte_sha256_de_l_image", "status": "statut",
    "minutes": "minutes_suivies", "arrival": "heure_arrivee", "departure": "heure_depart",
    "justification_file": "fichier_justificatif", "justification_kind": "type_de_fichier_justificatif",
    # the record's history: a change of details (services/registrations.py), revoked links, erasure, expiry
    "changes": "modifications", "civility": "civilite", "first_name": "prenom", "last_name": "nom",
    "email": "adresse_email", "phone": "telephone", "job_title": "fonction", "category": "categorie",
    "employer": "structure_employeuse", "link_version": "version_des_liens_personnels",
    "deleted": "personne_supprimee", "kept": "conserves", "removed": "supprimes_ou_vides",
    "counts": "rendus_anonymes",
    # what an erasure kept and removed, what an expiry made anonymous (how many of each)
    "enrolments": "inscriptions", "attendance_records": "emargements", "certificates": "attestations",
    "funding_lines": "lignes_de_financement", "named_answers": "reponses_nominatives", "mails": "courriels",
    "registration_requests": "demandes_d_inscription",
    "texts_naming_them": "textes_la_nommant", "survey_participations": "participations_aux_questionnaires",
    "outcome_comments": "commentaires_des_acquis", "learning_outcomes": "acquis",
    "sheet_versions": "versions_des_feuilles_d_emargement", "closing_reasons": "motifs_de_cloture",
    "claims": "demandes_de_paiement", "texts": "textes", "shared_files": "fichiers_partages",
    "audit_entries": "entrees_d_historique",
}


def _word(value: str) -> str:
    for labels in (attendance_service.STATUS_LABELS, attendance_service.METHOD_LABELS, KIND_LABELS):
        if value in labels:
            return str(labels[value])
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


def _audit_rows(entries: list[AuditEntry], actions: dict) -> list[dict]:
    """The entries in French: the action in the words of `actions` (those of its history's page), the states and
    the codes of the details (DETAIL_WORDS) in those of the pages."""
    return [{"le": _iso(e.at), "par": e.who, "action": str(actions.get(e.action, e.action)),
             "etat_precedent": _state(e.from_state), "nouvel_etat": _state(e.to_state), "motif": e.reason,
             "details": _details_in_french(e.details, words={**DETAIL_WORDS, **ACTION_DETAIL_WORDS.get(e.action, {})})}
            for e in entries]


def _state(value: str | None) -> str | None:
    return label(value) if value else value


def _details_in_french(value, key: str | None = None, words: dict = DETAIL_WORDS):
    if isinstance(value, dict):
        return {DETAIL_KEYS.get(k, k): _details_in_french(item, k, words) for k, item in value.items()}
    if isinstance(value, list):
        return [_details_in_french(item, words=words) for item in value]
    labels = words.get(key)
    if labels is not None and isinstance(value, str) and value in labels:
        return str(labels[value])
    return value


def _funding(mode: str | None) -> str | None:
    """The funding the person indicated, in the words of the registration form (None if none)."""
    return funding_label(mode) if mode else None


Period = tuple[datetime | None, datetime | None]  # (from, until), UTC; None: open


def address_periods(trainee: Trainee) -> dict[str, list[Period]]:
    """{address: when it was the trainee's}: the address they have now, since their last change of address
    (ever, without one), and those they had before, each until the change that replaced it (the changes of
    details recorded in the audit trail). An address given up may have gone to somebody else since. Each is
    written as addresses are stored (email_to_look_up: lower case, a punycode domain in Unicode)."""
    periods: dict[str, list[Period]] = defaultdict(list)
    since = None
    for entry in _history("trainees", [trainee.id]):
        change = ((entry.details or {}).get("changes") or {}).get("email")
        if not (isinstance(change, list) and len(change) == 2 and all(isinstance(v, str) for v in change)):
            continue
        periods[email_to_look_up(change[0])].append((since, entry.at))
        since = entry.at
    periods[email_to_look_up(trainee.email or "")].append((since, None))
    return {address: spans for address, spans in periods.items()
            if address and address != ERASED_TEXT and not is_erased_address(address)}


def addresses(trainee: Trainee) -> set[str]:
    """The trainee's address and those they had before (changes recorded in the audit trail)."""
    return set(address_periods(trainee))


def _held(spans: list[Period], moment: datetime) -> bool:
    return any((start is None or start <= moment) and (end is None or moment <= end) for start, end in spans)


def _about_someone_else(tag: str, trainee_id: int, enrolment_ids: set[int]) -> bool:
    """Whether the message's tag names another trainee or another trainee's enrolment ("convocation:12")."""
    kind, _sep, rest = (tag or "").partition(":")
    number = rest.split(":", 1)[0]
    if not number.isdigit():
        return False
    if kind in ENROLMENT_TAGS:
        return int(number) not in enrolment_ids
    if kind in TRAINEE_TAGS:
        return int(number) != trainee_id
    return False


def _mails_of(trainee: Trainee, enrolment_ids) -> list[tuple[OutgoingMail, set[str]]]:
    """The messages written to the trainee, each with the recipients that were the trainee: sent to an address
    while it was theirs (a former address given to somebody else since brings none of that person's mail), and
    not about another trainee or their enrolment (its tag)."""
    periods = address_periods(trainee)
    ids = set(enrolment_ids)
    found = []
    for message in _mails_to(set(periods)):
        theirs = {r.lower() for r in message.recipients or []
                  if _held(periods.get(email_to_look_up(r), []), message.queued_at)}
        if theirs and not _about_someone_else(message.tag, trainee.id, ids):
            found.append((message, theirs))
    return found


def _mails_to(emails: set[str]) -> list[OutgoingMail]:
    """Messages with one of these addresses (as email_to_look_up writes them) among their recipients, whatever
    the case and the form of the domain (Unicode or punycode): an ILIKE narrows, the list decides. The JSON text
    may hold an address as it is or with \\uXXXX escapes for its non-ASCII letters: both are looked for, any
    non-ASCII letter standing for any (an upper case "É" is escaped otherwise than "é")."""
    if not emails:
        return []
    text = cast(OutgoingMail.recipients, Text)
    patterns = {pattern for e in emails for form in _address_forms(e) for pattern in _like_patterns(form)}
    candidates = db.session.scalars(select(OutgoingMail).where(db.or_(*(
        text.ilike("%" + p + "%", escape="\\") for p in sorted(patterns)))).order_by(OutgoingMail.queued_at))
    return [m for m in candidates if emails & {email_to_look_up(r) for r in m.recipients or []}]


def _address_forms(address: str) -> set[str]:
    """The address with its domain in Unicode and in punycode (xn--): a message may have been written to either."""
    local, at, domain = address.rpartition("@")
    if not at:
        return {address}
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return {address}
    return {address, f"{local}@{ascii_domain}"}


def _like_patterns(address: str) -> tuple[str, str]:
    """LIKE patterns (escaped with a backslash) of the address as it is and as JSON escapes it, each non-ASCII
    letter matching any letter (one character, or its escape of the same length)."""
    raw, escaped = [], []
    for char in address:
        if char.isascii():
            raw.append(_escaped(char))
            escaped.append(_escaped(json.dumps(char)[1:-1]))
        else:
            raw.append("_")
            escaped.append("_" * len(json.dumps(char)[1:-1]))
    return "".join(raw), "".join(escaped)


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
            "pieces_conservees_anonymisees_le": _iso(trainee.records_expired_at),
            "pieces_conservees_jusqu_au": _iso(None if trainee.records_expired_at else retention_end(trainee)),
        },
        "structure_employeuse": None if employer is None else {
            "nom": employer.name, "siret": employer.siret, "adresse": employer.address},
        "historique_de_la_fiche": _audit_rows(_trainee_history(trainee), TRAINEE_ACTION_LABELS),
        "inscriptions": [_enrolment_export(e) for e in enrolments],
        "questionnaires": _surveys_export(trainee),
        "courriels": [{"objet": m.subject, "mis_en_file_le": _iso(m.queued_at), "envoye_le": _iso(m.sent_at),
                       "etat": _word(m.status), "destinataires": m.recipients}
                      for m, _theirs in _mails_of(trainee, ids)],
        "courriels_au_bureau": [{"objet": m.subject, "mis_en_file_le": _iso(m.queued_at), "etat": _word(m.status)}
                                for m in _office_mails(ids)],
        "demandes_d_inscription": [_request_export(r) for r in _requests_of(trainee, ids)],
    }


def _requests_of(trainee: Trainee, enrolment_ids) -> list:
    """The requests of the public page the trainee made: those that became one of their enrolments, and those
    made with an address while it was theirs and not become somebody else's enrolment (a former address given
    to somebody else since brings none of that person's requests), as _mails_of does for e-mails."""
    periods = address_periods(trainee)
    ids = set(enrolment_ids)
    return [r for r in registration_requests.of_person(set(periods), sorted(ids))
            if r.enrolment_id in ids or (r.enrolment_id is None
                                         and _held(periods.get(email_to_look_up(r.email), []), r.requested_at))]


def _request_export(asked) -> dict:
    """A request of the public page (services/registration_requests.py): what was typed, kept until its link
    expires."""
    return {"session": {"id": asked.session_id, "titre": asked.session.title, "debut": _iso(asked.session.start_at)},
            "adresse_email": asked.email, "indique": registration_requests.typed(asked),
            "financement_indique": _funding(asked.funding_mode),
            "demandee_le": _iso(asked.requested_at), "lien_valable_jusqu_au": _iso(asked.expires_at),
            "confirmee_le": _iso(asked.confirmed_at), "inscription_id": asked.enrolment_id}


def _signature_export(signature: Signature, expired: bool) -> dict:
    return {"signee_le": _iso(signature.signed_at), "methode": _word(signature.method),
            "nom_signataire": signature.signer_name, "adresse_ip": signature.ip_address,
            "appareil": signature.user_agent, "image": _(SIGNATURE_IMAGE_EXPIRED if expired else SIGNATURE_IMAGE)}


def _enrolment_export(enrolment: Enrolment) -> dict:
    session = enrolment.session
    expired = enrolment.trainee.records_expired
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
            "signature": None if signature is None else _signature_export(signature, expired),
            "signatures_annulees": [{**_signature_export(s, expired), "annulee_le": _iso(s.voided_at),
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
        "financement_indique": _funding(enrolment.funding_mode), "prix_centimes": enrolment.price_cents,
        "historique": _audit_rows(_history("enrolments", [enrolment.id]), enrolment_service.ACTION_LABELS),
        "emargement": attendance,
        "historique_emargement": _audit_rows(_sheet_history(enrolment), attendance_service.SHEET_ACTION_LABELS),
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
                              ANNEX_LABELS[kind].lower(): {"accordes": getattr(line, f"{kind}_agreed_cents"),
                                                           "reels": getattr(line, f"{kind}_actual_cents")}
                              for kind in ANNEX_KINDS}} for line in lines],
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
    """The office's notifications about the trainee's enrolments, whatever they tell (registration
    "office:enrolment:12", cancellation "office:cancelled:12", ...): they name them, give their address, their
    reasons."""
    if not enrolment_ids:
        return []
    wanted = {str(i) for i in enrolment_ids}
    candidates = db.session.scalars(select(OutgoingMail).where(db.or_(*(
        OutgoingMail.tag.like(f"office:%:{i}") for i in sorted(set(enrolment_ids))))).order_by(OutgoingMail.queued_at))
    return [m for m in candidates if m.tag.rsplit(":", 1)[-1] in wanted]


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
                 "certificates": _("attestations"), "funding_lines": _("lignes de financement"),
                 "enrolments": _("inscriptions (imprimées sur les feuilles, comptées au bilan)")}
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
    # The requests of the public page made with their addresses, confirmed or not (one waiting can then no longer
    # be confirmed): first, before the trainee's lock, which a confirmation holding a request's takes after it.
    before = _enrolments(trainee)
    requests = registration_requests.delete_requests([r.id for r in _requests_of(trainee, [e.id for e in before])])
    # What others typed about their sessions and claims names them no more (their kept records still do). Before
    # the trainee's lock too: it updates the sessions' rows, which the lock order takes before the trainee's
    # (enrolments.lock_trainee).
    texts = _texts_without_names({e.session_id for e in before}, {e.id for e in before},
                                 _full_names_pattern(trainee, [e.id for e in before]))
    trainee = _locked(trainee)
    if trainee is None:
        raise ServiceError(_("Cette personne n'existe plus."))
    if trainee.erased_at is not None:
        raise ServiceError(_("Les données de cette personne ont déjà été effacées."))
    _refuse_live_enrolments(trainee)
    enrolments = _enrolments(trainee)
    kept_ids = _kept_enrolments(enrolments)
    emails = addresses(trainee)
    removed = {"enrolments": 0, "named_answers": 0, "mails": 0, "registration_requests": requests,
               "texts_naming_them": texts}
    gone = [e for e in enrolments if e.id not in kept_ids]
    # The convocations' Word files print the name, the employer and a personal link; no law keeps them.
    storage.delete_after_commit(db.session.scalars(select(ConvocationSending.document_path).where(
        ConvocationSending.enrolment_id.in_([e.id for e in enrolments]))))
    removed["mails"] = _delete_mails(trainee, [e.id for e in enrolments])
    removed["named_answers"] = _delete_named_answers(trainee)
    removed["survey_participations"] = _delete_participations(trainee, enrolments, kept_ids)
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
        removed["outcome_comments"] = _erase_unprinted_comments(kept_ids)
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


def _locked(trainee: Trainee) -> Trainee | None:
    """The trainee's row read again and held (FOR UPDATE) until the commit; None if it is gone."""
    return db.session.scalar(select(Trainee).where(Trainee.id == trainee.id).with_for_update()
                             .execution_options(populate_existing=True))


class _Gone:
    """The audit trail's name for a trainee deleted entirely."""
    __tablename__ = "trainees"

    def __init__(self, id_: int):
        self.id = id_


def _refuse_live_enrolments(trainee: Trainee) -> None:
    refusal = erasure_refusal(trainee)
    if refusal is not None:
        raise ServiceError(refusal)


def erasure_refusal(trainee: Trainee) -> str | None:
    """Why erasing the trainee is refused now (a live enrolment in a session not over), or None: erase() refuses
    it, the trainee's page says it before the reason is typed."""
    live = db.session.execute(
        select(TrainingSession.start_at, TrainingSession.end_at).join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .where(Enrolment.trainee_id == trainee.id, Enrolment.status.in_(LIVE_STATUSES),
               TrainingSession.end_at > local_now()).order_by(TrainingSession.start_at)).first()
    if live is None:
        return None
    from training_app.formatting import date_fr
    return _("%(name)s a une inscription en cours (session du %(start)s) : annulez-la d'abord, puis effacez ses "
             "données.", name=trainee.full_name, start=date_fr(live.start_at))


def keeps_records(trainee: Trainee) -> bool:
    """Whether an erasure now would keep records of the trainee (_kept_enrolments: sheets, certificates, funding
    lines, withdrawals); without any, it deletes the person entirely."""
    return bool(_kept_enrolments(_enrolments(trainee)))


def _kept_enrolments(enrolments: list[Enrolment]) -> set[int]:
    """The enrolments that stay: those holding a kept record, the withdrawals (the closed sheets print "abandon
    le ...", the annual report counts them), and any other one a closed sheet prints (a confirmed trainee
    without a record, on a half-day not over and whose sheet was not closed when they were confirmed:
    services/attendance.before_enrolment)."""
    ids = [e.id for e in enrolments]
    if not ids:
        return set()
    kept = {e.id for e in enrolments if e.status == EnrolmentStatus.WITHDRAWN}
    for model in KEPT_RECORDS:
        kept.update(db.session.scalars(select(model.enrolment_id).where(model.enrolment_id.in_(ids))))
    confirmed = [e for e in enrolments if e.status == EnrolmentStatus.CONFIRMED and e.id not in kept]
    if confirmed:
        closed = defaultdict(list)
        for slot, closed_at in db.session.execute(
                select(Slot, AttendanceSheet.closed_at).join(AttendanceSheet, AttendanceSheet.slot_id == Slot.id)
                .where(Slot.session_id.in_({e.session_id for e in confirmed}),
                       AttendanceSheet.status == SheetStatus.CLOSED)):
            closed[slot.session_id].append((slot, closed_at))
        kept.update(e.id for e in confirmed if any(not before_enrolment(slot, e.confirmed_at, closed_at)
                                                   for slot, closed_at in closed[e.session_id]))
    return kept


def _kept_counts(ids: list[int]) -> dict:
    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(model.enrolment_id.in_(ids)))
    return {"attendance_records": count(AttendanceRecord), "signatures": count(Signature),
            "certificates": count(IssuedCertificate), "funding_lines": count(AgreementTrainee),
            "enrolments": len(ids)}


def _erase_unprinted_comments(enrolment_ids: set[int]) -> int:
    """The trainers' comments on the person's results (free text about them) go, but those one of their
    certificates states (_printed_comments): they stay with it until the records expire, and the documents are not
    found to state other results than the records (certificates.results_outdated). Returns how many went."""
    printed = _printed_comments(enrolment_ids)
    n = 0
    for outcome in db.session.scalars(select(LearningOutcome).where(
            LearningOutcome.enrolment_id.in_(enrolment_ids), LearningOutcome.comment != "",
            LearningOutcome.comment != ERASED_TEXT)):
        if not printed(outcome.enrolment_id, outcome.comment):
            outcome.comment = ERASED_TEXT
            n += 1
    return n


def _printed_comments(enrolment_ids) -> Callable[[int, str], bool]:
    """printed(enrolment_id, comment): whether one of the enrolment's certificates states that comment on a result,
    printed on it as it kept them (IssuedCertificate.results), or any comment when it predates that."""
    from training_app.services.certificates import prints
    stated, unknown = defaultdict(set), set()
    for doc in db.session.scalars(select(IssuedCertificate).where(IssuedCertificate.enrolment_id.in_(enrolment_ids))):
        if not prints(doc, "results"):
            continue
        if doc.results is None:
            unknown.add(doc.enrolment_id)
        else:
            stated[doc.enrolment_id].update(r.get("comment") for r in doc.results if isinstance(r, dict))
    return lambda enrolment_id, comment: enrolment_id in unknown or comment in stated[enrolment_id]


def _texts_without_names(session_ids: set[int], own_ids: set[int], names: re.Pattern | None) -> int:
    """The free texts about the person's sessions, typed by the office or the trainers, lose the person's names
    (`names`: their full names, _full_names_pattern, never a first or last name alone, which may be somebody
    else's or a word): the sessions' notes and reviews, the funding agreements' notes and refusal reasons, the
    claims' rejection reasons and payments' notes, and what concerns the other trainees of those sessions
    (comments on their results, but those their certificates print: _printed_comments; the reasons of their
    cancellation or withdrawal, their absences' justifications). At an erasure (the kept records keep the names
    until they expire) and at the end of the retention period (texts written since). Returns how many changed."""
    if names is None or not session_ids:
        return 0
    sessions = sorted(session_ids)
    others = list(db.session.scalars(select(Enrolment.id).where(Enrolment.session_id.in_(sessions),
                                                               Enrolment.id.not_in(sorted(own_ids)))))
    printed = _printed_comments(others)
    stated = [row_id for row_id, enrolment_id, comment in db.session.execute(
        select(LearningOutcome.id, LearningOutcome.enrolment_id, LearningOutcome.comment).where(
            LearningOutcome.enrolment_id.in_(others), LearningOutcome.comment != "")) if printed(enrolment_id, comment)]
    claims = select(claim_sessions.c.claim_id).where(claim_sessions.c.session_id.in_(sessions))
    texts = ((TrainingSession.notes, TrainingSession.id.in_(sessions)),  # first: the lock order, session first
             (SessionReview.text, SessionReview.session_id.in_(sessions)),
             (FundingAgreement.notes, FundingAgreement.session_id.in_(sessions)),
             (FundingAgreement.refusal_reason, FundingAgreement.session_id.in_(sessions)),
             (FundingClaim.rejection_reason, FundingClaim.id.in_(claims)),
             (ClaimPayment.note, ClaimPayment.claim_id.in_(claims)),
             (ClaimPayment.cancel_reason, ClaimPayment.claim_id.in_(claims)),
             (LearningOutcome.comment, LearningOutcome.enrolment_id.in_(others) & LearningOutcome.id.not_in(stated)),
             (Enrolment.status_reason, Enrolment.id.in_(others)),
             (AttendanceRecord.justification, AttendanceRecord.enrolment_id.in_(others)))
    return sum(_without_names_in(column, where, names) for column, where in texts)


def _without_names_in(column, where, names: re.Pattern) -> int:
    """`column` of the rows `where` selects (in id order: the order their locks are taken), without the person's
    names; the rows keep their time of last change (a name taken out is no edit), but their edit version moves
    (services/edit_versions): a form opened before on the text would otherwise write the name back."""
    model = column.class_
    changed = 0
    for row_id, text in db.session.execute(select(model.id, column).where(where, column != "").order_by(model.id)):
        new = _without_names(text, names)
        if new != text:
            values = {column.key: new}
            if "updated_at" in model.__table__.c:
                values["updated_at"] = model.updated_at
            if hasattr(model, "edit_version_key"):
                version = getattr(model, model.edit_version_key)
                values[version.key] = version + 1
            db.session.execute(update(model).where(model.id == row_id).values(**values)
                               .execution_options(synchronize_session="fetch"))
            changed += 1
    return changed


def _delete_mails(trainee: Trainee, enrolment_ids: list[int]) -> int:
    """Messages to them (_mails_of) are deleted; one also to others loses their address only. And the office's
    notifications about their enrolments."""
    n, gone = 0, []
    for message, theirs in _mails_of(trainee, enrolment_ids):
        others = [r for r in message.recipients if r.lower() not in theirs]
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


def _delete_participations(trainee: Trainee, enrolments: list[Enrolment], kept_ids: set[int]) -> int:
    """Her participations in the surveys of the sessions whose enrolments go (not of a session where an enrolment
    of hers is kept): nothing ties her to these sessions any more. The anonymous answers stay, tying nobody."""
    sessions = ({e.session_id for e in enrolments if e.id not in kept_ids}
                - {e.session_id for e in enrolments if e.id in kept_ids})
    if not sessions:
        return 0
    return db.session.execute(delete(SurveyParticipation).where(
        SurveyParticipation.trainee_id == trainee.id,
        SurveyParticipation.survey_id.in_(select(Survey.id).where(Survey.session_id.in_(sessions))))
        .execution_options(synchronize_session=False)).rowcount


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
    by key); nor the free-text reasons of their enrolments' changes. An address is found whatever its case and
    the form of its domain (Unicode or punycode, as _mails_to finds their messages)."""
    values = {v for v in values if v}
    certificate_ids = list(db.session.scalars(select(IssuedCertificate.id).where(
        IssuedCertificate.enrolment_id.in_(enrolment_ids))))
    entries = db.session.scalars(select(AuditEntry).where(db.or_(
        (AuditEntry.entity_type == "trainees") & (AuditEntry.entity_id == trainee.id),
        (AuditEntry.entity_type == "enrolments") & AuditEntry.entity_id.in_(enrolment_ids or [-1]),
        (AuditEntry.entity_type == "issued_certificates") & AuditEntry.entity_id.in_(certificate_ids or [-1]))))
    lowered = {form.lower() for v in values for form in _address_forms(v)}  # the case, the domain's form
    for entry in entries:
        scrubbed = _scrub_changes(_scrub(entry.details, lowered))
        if scrubbed != entry.details:
            entry.details = scrubbed
        if entry.reason and (entry.entity_type == "enrolments" or any(v in entry.reason.lower() for v in lowered)):
            entry.reason = ERASED_TEXT  # an enrolment's reasons are free text about the person (health, family...)


def _scrub_changes(details, keys=CONTACT_KEYS):
    """A change of details keeps which field (contact, by default) changed, not its values (before or after)."""
    changes = details.get("changes") if isinstance(details, dict) else None
    if not isinstance(changes, dict) or not any(k in changes for k in keys):
        return details
    blank = {k: ([ERASED_TEXT if v else v for v in change] if isinstance(change, list) else ERASED_TEXT)
             for k, change in changes.items() if k in keys}
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

def _last_session_ends():
    """(trainee_id, the end of their last session), local time."""
    return (select(Enrolment.trainee_id.label("trainee_id"), func.max(TrainingSession.end_at).label("last_end"))
            .join(TrainingSession, TrainingSession.id == Enrolment.session_id).group_by(Enrolment.trainee_id))


def _last_payments():
    """(trainee_id, the last payment received for a claim covering one of their funding lines: a claim of the
    line's funder for the line's session; a payment cancelled, typed by mistake, was not received)."""
    return (select(Enrolment.trainee_id.label("trainee_id"), func.max(ClaimPayment.received_on).label("last_paid"))
            .select_from(Enrolment)
            .join(AgreementTrainee, AgreementTrainee.enrolment_id == Enrolment.id)
            .join(FundingAgreement, FundingAgreement.id == AgreementTrainee.agreement_id)
            .join(claim_sessions, claim_sessions.c.session_id == FundingAgreement.session_id)
            .join(FundingClaim, (FundingClaim.id == claim_sessions.c.claim_id)
                  & (FundingClaim.funder_id == FundingAgreement.funder_id))
            .join(ClaimPayment, (ClaimPayment.claim_id == FundingClaim.id) & ClaimPayment.cancelled_at.is_(None))
            .group_by(Enrolment.trainee_id))


def retention_end(trainee: Trainee) -> date | None:
    """The day the trainee's kept records expire (`flask purge-expired` removes or anonymises them from then
    on): RECORD_RETENTION_YEARS after the end of their last session, or after the last payment received for
    their funding when later. None for someone without any enrolment (nothing is kept)."""
    last_end = db.session.execute(_last_session_ends().where(Enrolment.trainee_id == trainee.id)).first()
    if last_end is None:
        return None
    last_paid = db.session.execute(_last_payments().where(Enrolment.trainee_id == trainee.id)).first()
    years = current_app.config["RECORD_RETENTION_YEARS"]
    ends = _years_after(last_end.last_end.date(), years)
    if last_paid is not None and last_paid.last_paid is not None:
        ends = max(ends, _years_after(last_paid.last_paid, years))
    return ends


def retention_over(until: date | None) -> bool:
    """Whether the retention period ending on `until` (retention_end) is over: the kept records are due for
    anonymisation, which `flask purge-expired` (run from cron) carries out on its next run."""
    return until is not None and until < local_now().date()  # purge_plan: strictly before its cutoffs


@dataclass
class PurgePlan:
    mail_ids: list[int]
    trainees: list[Trainee]  # to erase
    expired: list[Trainee] = field(default_factory=list)  # whose kept records expire (erased first if need be)
    request_ids: list[int] = field(default_factory=list)  # requests of the public page whose link expired


def purge_plan() -> PurgePlan:
    """What `purge` would do now: the requests of the public registration page whose confirmation link expired,
    confirmed or not (registration_requests.expired_ids); the messages sent, filed or captured (never sent: no
    mail server) more than MAIL_KEEP_DAYS ago (a failed one waits for the office's decision); the trainees not erased yet whose
    last session ended more than RECORD_RETENTION_YEARS ago (so none of their enrolments is still live), or
    who have no enrolment at all and were created more than RECORD_RETENTION_YEARS ago; and the trainees, erased
    or not, whose kept records expired (retention_end passed) and are still there."""
    config = current_app.config
    mail_cutoff = utcnow() - timedelta(days=config["MAIL_KEEP_DAYS"])
    mail_ids = list(db.session.scalars(select(OutgoingMail.id).where(
        OutgoingMail.status.in_((MailStatus.SENT, MailStatus.DISMISSED, MailStatus.CAPTURED)),
        func.coalesce(OutgoingMail.sent_at, OutgoingMail.queued_at) < mail_cutoff).order_by(OutgoingMail.id)))
    years = config["RECORD_RETENTION_YEARS"]
    session_cutoff = _years_before(local_now(), years)  # sessions are in local time
    created_cutoff = _years_before(utcnow(), years)  # created_at is UTC
    payment_cutoff = session_cutoff.date()  # payments are local dates
    last_end = _last_session_ends().subquery()
    last_paid = _last_payments().subquery()
    trainees = list(db.session.scalars(
        select(Trainee).outerjoin(last_end, last_end.c.trainee_id == Trainee.id)
        .where(Trainee.erased_at.is_(None), db.or_(
            last_end.c.last_end < session_cutoff,
            last_end.c.trainee_id.is_(None) & (Trainee.created_at < created_cutoff)))
        .order_by(Trainee.id)))
    expired = list(db.session.scalars(
        select(Trainee).join(last_end, last_end.c.trainee_id == Trainee.id)
        .outerjoin(last_paid, last_paid.c.trainee_id == Trainee.id)
        .where(Trainee.records_expired_at.is_(None), last_end.c.last_end < session_cutoff,
               db.or_(last_paid.c.last_paid.is_(None), last_paid.c.last_paid < payment_cutoff))
        .order_by(Trainee.id)))
    return PurgePlan(mail_ids=mail_ids, trainees=trainees, expired=expired,
                     request_ids=registration_requests.expired_ids())


def _years_before(moment, years: int):
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class PurgeResult:
    erasures: list[Erasure]
    expiries: list["Expiry"]


def purge(plan: PurgePlan) -> PurgeResult:
    """Carry out `plan` in the caller's transaction: delete the expired requests and the old messages, erase,
    then expire the records of those whose retention period is over (someone erased just now and deleted
    entirely has none left)."""
    registration_requests.delete_requests(plan.request_ids)
    _delete_mail_rows(plan.mail_ids)
    erasures = [erase(t, RETENTION_REASON, None, actor_label=PURGE_ACTOR) for t in plan.trainees]
    deleted = {e.trainee_id for e in erasures if e.deleted}
    expired_ids = [t.id for t in plan.expired if t.id not in deleted]
    expiries = []
    for trainee_id in expired_ids:
        trainee = db.session.get(Trainee, trainee_id)
        if trainee is not None:
            expiries.append(expire_records(trainee))
    return PurgeResult(erasures=erasures, expiries=expiries)


# --- the end of the retention period: the kept records expire ----------------------------------------------

@dataclass
class Expiry:
    trainee_id: int
    counts: dict  # what was emptied and how many: {"signatures": 6, "certificates": 2, ...}


def expire_records(trainee: Trainee, *, actor_label: str = PURGE_ACTOR) -> Expiry:
    """The retention period of the trainee's kept records is over (retention_end; the caller checked it): they
    lose what names or shows the person, in the caller's transaction (the files go once it commits).

    - the trainee: names, civility, job title and employer; the category stays (the annual report counts it);
    - enrolments: the employer of the course (a funding agreement keeps the one it names: its own party);
    - signatures: image, IP address, device, signer's name, the reason of a voided one (time, method stay);
    - attendance records: the justification and its file (status and minutes stay);
    - certificates: the file, the name, civility and job title, the results and the employer stated (number,
      code, SHA-256, dates, hours, place and modality stay; the public verification page then says the document's
      data were deleted);
    - learning outcomes: the comment (the result stays); funding lines keep their amounts;
    - the free texts about their sessions (notes, reviews, the claims' and agreements' texts, what concerns the
      other trainees: _texts_without_names) lose their full names again (some may have been written since the erasure);
    - the versions of the sheets, the claims' figures, the audit trail: the person's rows lose their name,
      justification and employer, any text naming them (their names, past and present) loses it, as does the
      reason the office typed when closing a sheet of their sessions without the trainer's signature;
    - the files that print several people (the paper scans of a session's sheets, a claim's dossier as sent) go
      with the last of them whose records expire.
    The erasure must have been done (erase): contact details, answers and e-mails are gone already."""
    trainee = db.session.scalar(select(Trainee).where(Trainee.id == trainee.id).with_for_update()
                                .execution_options(populate_existing=True))
    if trainee is None:
        raise ServiceError(_("Cette personne n'existe plus."))
    if trainee.erased_at is None:
        raise ServiceError(_("Effacez d'abord les données de cette personne."))
    if trainee.records_expired_at is not None:
        raise ServiceError(_("Les pièces conservées de cette personne ont déjà été rendues anonymes."))
    enrolments = _enrolments(trainee)
    ids = [e.id for e in enrolments]
    session_ids = {e.session_id for e in enrolments}
    # Their own records and the sheets' texts lose their first and last names alone too, but other trainees'
    # (M. Martin may be Julien Martin); the texts only others' records hold lose their full names only.
    names = _names_pattern(trainee, ids, _others_names(trainee, session_ids))
    files: list[str] = []
    counts = {"signatures": 0, "attendance_records": 0, "certificates": 0, "learning_outcomes": 0,
              "sheet_versions": 0, "closing_reasons": 0, "claims": 0, "texts": 0, "shared_files": 0,
              "audit_entries": 0}
    if ids:
        counts["signatures"] = _expire_signatures(ids)
        counts["attendance_records"] = _expire_justifications(ids, files)
        counts["certificates"] = _expire_certificates(ids, files)
        counts["learning_outcomes"] = db.session.execute(
            update(LearningOutcome).where(LearningOutcome.enrolment_id.in_(ids), LearningOutcome.comment != "")
            .values(comment=ERASED_TEXT).execution_options(synchronize_session=False)).rowcount
        counts["sheet_versions"] = _expire_sheet_versions(session_ids, set(ids), names, files)
        counts["closing_reasons"] = _expire_closing_reasons(session_ids, names)
        counts["claims"] = _expire_claims(session_ids, set(ids))
        counts["texts"] = _texts_without_names(session_ids, set(ids), _full_names_pattern(trainee, ids))
        counts["shared_files"] = _expire_shared_files(trainee.id, session_ids, set(ids), files)
    counts["audit_entries"] = _expire_audit(trainee, ids, session_ids, names, files)
    trainee.first_name, trainee.last_name, trainee.civility, trainee.job_title = "", ERASED_TEXT, "", ""
    trainee.employer = None
    for enrolment in enrolments:
        enrolment.employer = None
    trainee.records_expired_at = utcnow()
    storage.delete_after_commit(sorted(set(files)))
    audit.record(trainee, "records_expired", actor_label=actor_label, reason=RETENTION_REASON,
                 details={"counts": counts})
    db.session.flush()
    for loaded in list(db.session.identity_map.values()):  # written past the ORM above: read again when used
        if isinstance(loaded, (Signature, AttendanceRecord, LearningOutcome, AttendanceSheetVersion)):
            db.session.expire(loaded)
    return Expiry(trainee.id, counts)


def _names_pattern(trainee: Trainee, enrolment_ids: list[int], spare=frozenset()) -> re.Pattern | None:
    """The person's names as their kept records may hold them (_name_forms), the first and last names alone too,
    but those in `spare` (lower case: the other trainees' of their sessions, _others_names)."""
    firsts, lasts, whole = _name_forms(trainee, enrolment_ids)
    return _pattern(whole | {v for v in firsts | lasts if v.strip().lower() not in spare})


def _full_names_pattern(trainee: Trainee, enrolment_ids: list[int]) -> re.Pattern | None:
    """The person's full names only (_name_forms; of two words at least), never a first or last name alone: for
    the texts others typed, where that may be somebody else's or a word ("Salle claire ; M. Martin")."""
    whole = _name_forms(trainee, enrolment_ids)[2]
    return _pattern({v for v in whole if len(v.split()) >= 2})


def _name_forms(trainee: Trainee, enrolment_ids: list[int]) -> tuple[set[str], set[str], set[str]]:
    """(first names, last names, full names) of the person: today's, those changed since (the audit trail); the
    full names are each first with each last name, either way round, the formal one, and as signed and as printed
    on their certificates."""
    firsts, lasts = {trainee.first_name}, {trainee.last_name}
    for entry in _history("trainees", [trainee.id]):
        changes = (entry.details or {}).get("changes") or {}
        for key, values in (("first_name", firsts), ("last_name", lasts)):
            if isinstance(changes.get(key), list):
                values.update(v for v in changes[key] if isinstance(v, str))
    firsts = {v.strip() for v in firsts if v and v.strip()}
    lasts = {v.strip() for v in lasts if v and v.strip() and v.strip() != ERASED_TEXT}
    whole = {trainee.full_name, trainee.formal_name}
    whole.update(f"{a} {b}" for first in firsts for last in lasts for a, b in ((first, last), (last, first)))
    if enrolment_ids:
        whole.update(db.session.scalars(select(Signature.signer_name).distinct().where(
            Signature.enrolment_id.in_(enrolment_ids))))
        whole.update(db.session.scalars(select(IssuedCertificate.trainee_name).distinct().where(
            IssuedCertificate.enrolment_id.in_(enrolment_ids))))
    return firsts, lasts, whole


def _pattern(values) -> re.Pattern | None:
    """The values matched as whole words (a hyphen joins: "Claire" is not in "Marie-Claire"), in any case and
    whatever the spaces between their words."""
    words = sorted({v.strip() for v in values if v and len(v.strip()) >= 2 and v.strip() != ERASED_TEXT},
                   key=lambda v: (-len(v), v))
    if not words:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
                      + r")(?![\w-])", re.IGNORECASE)


def _others_names(trainee: Trainee, session_ids) -> frozenset[str]:
    """The first and last names (lower case) of the other trainees of these sessions."""
    rows = db.session.execute(select(Trainee.first_name, Trainee.last_name).join(
        Enrolment, Enrolment.trainee_id == Trainee.id).where(Enrolment.session_id.in_(session_ids or {0}),
                                                             Trainee.id != trainee.id)).all()
    return frozenset(v.strip().lower() for row in rows for v in row if v)


def _without_names(text, names: re.Pattern | None):
    if not isinstance(text, str) or names is None:
        return text
    return names.sub(ERASED_TEXT, text)


def _expire_signatures(ids: list[int]) -> int:
    return db.session.execute(
        update(Signature).where(Signature.enrolment_id.in_(ids))
        .values(image=b"", ip_address="", user_agent="", signer_name=ERASED_TEXT,
                voided_reason=case((Signature.voided_reason != "", ERASED_TEXT), else_=""))
        .execution_options(synchronize_session=False)).rowcount


def _expire_justifications(ids: list[int], files: list[str]) -> int:
    records = db.session.execute(select(AttendanceRecord.id, AttendanceRecord.justification_path).where(
        AttendanceRecord.enrolment_id.in_(ids),
        (AttendanceRecord.justification != "") | (AttendanceRecord.justification_path != ""))).all()
    files.extend(path for _id, path in records if path)
    if records:
        db.session.execute(
            update(AttendanceRecord).where(AttendanceRecord.id.in_([r.id for r in records]))
            .values(justification=case((AttendanceRecord.justification != "", ERASED_TEXT), else_=""),
                    justification_path="", justification_kind="", updated_at=AttendanceRecord.updated_at)
            .execution_options(synchronize_session=False))
    return len(records)


def _expire_certificates(ids: list[int], files: list[str]) -> int:
    """The stored file goes, and its name, which names the person: the row points at no file (a download says it
    is missing); it keeps its number, verification code, SHA-256, kind, version, dates, hours, place and modality.
    The civility and job title it printed go, and the employer it names: NULL, not known (as on documents issued
    before revisions 0029 to 0033), so the document is never found to state others than the records' (which have
    none any more)."""
    documents = db.session.scalars(select(IssuedCertificate).where(IssuedCertificate.enrolment_id.in_(ids))).all()
    for doc in documents:
        files.append(doc.storage_path)
        doc.storage_path = f"{EXPIRED_FOLDER}/{doc.number}.{doc.file_format}"
        doc.trainee_name = ERASED_TEXT
        doc.results = None
        doc.employer_name = doc.employer_siret = doc.trainee_civility = doc.trainee_job_title = None
        doc.filename = f"{doc.kind}-{doc.number}.{doc.file_format}"
    return len(documents)


def _expire_row(value, names: re.Pattern | None, files: list[str]):
    """A sheet's row (or an audit entry's details) about the person: no name, justification, reason."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "justification_file":
                if item:
                    files.append(item)
                out[key] = None
            elif key in ("trainee", "justification", "reason") and isinstance(item, str):
                out[key] = ERASED_TEXT if item else item
            else:
                out[key] = _expire_row(item, names, files)
        return out
    if isinstance(value, list):
        return [_expire_row(item, names, files) for item in value]
    return _without_names(value, names)


def _sheet_ids(session_ids) -> list[int]:
    return list(db.session.scalars(select(AttendanceSheet.id).join(Slot, Slot.id == AttendanceSheet.slot_id)
                                   .where(Slot.session_id.in_(session_ids or {0}))))


def _expire_sheet_versions(session_ids, ids: set[int], names: re.Pattern | None, files: list[str]) -> int:
    """The versions are append-only (models/attendance): the end of the retention period is the one change they
    take, written past the ORM's guard. Only the person's rows change (the others are other people's)."""
    table = AttendanceSheetVersion.__table__
    changed = 0
    for version_id, reason, snapshot in db.session.execute(
            select(table.c.id, table.c.reason, table.c.snapshot).where(table.c.sheet_id.in_(_sheet_ids(session_ids)))):
        rows = (snapshot or {}).get("rows") or []
        new_rows = [_expire_row(row, names, files) if row.get("enrolment_id") in ids else row for row in rows]
        new_reason = _without_names(reason, names)
        closing = (snapshot or {}).get("office_closing_reason")  # the sheet's (_expire_closing_reasons)
        new_closing = _without_names(closing, names)
        if new_rows != rows or new_reason != reason or new_closing != closing:
            new_snapshot = {**snapshot, "rows": new_rows}
            if closing is not None:
                new_snapshot["office_closing_reason"] = new_closing
            db.session.execute(table.update().where(table.c.id == version_id)
                               .values(snapshot=new_snapshot, reason=new_reason))
            changed += 1
    return changed


def _expire_closing_reasons(session_ids, names: re.Pattern | None) -> int:
    """The reason the office typed when closing a sheet without the trainer's signature (free text printed on the
    sheet, which may name a trainee) loses the person's names, as the versions' reasons do; the rest stays."""
    changed = 0
    for sheet in db.session.scalars(select(AttendanceSheet).where(AttendanceSheet.id.in_(_sheet_ids(session_ids)),
                                                                  AttendanceSheet.office_closing_reason != "")):
        reason = _without_names(sheet.office_closing_reason, names)
        if reason != sheet.office_closing_reason:
            sheet.office_closing_reason = reason
            changed += 1
    return changed


def _expire_claims(session_ids, ids: set[int]) -> int:
    """The claims' figures (their snapshot: the workbook and the invoice are made from it) keep the person's
    lines, without their name, job title and employer (the agreement keeps the one it names: its own party); the
    free texts of the claims and agreements lose their names (_texts_without_names)."""
    claims = db.session.scalars(select(FundingClaim).where(FundingClaim.id.in_(
        select(claim_sessions.c.claim_id).where(claim_sessions.c.session_id.in_(session_ids or {0}))))
        .order_by(FundingClaim.id)).all()
    changed = 0
    for claim in claims:
        lines = (claim.snapshot or {}).get("lines") or []
        if any(line.get("enrolment_id") in ids for line in lines):
            claim.snapshot = {**claim.snapshot, "lines": [
                {**line, "trainee_name": ERASED_TEXT, "job_title": "", "employer_name": "", "employer_siret": ""}
                if line.get("enrolment_id") in ids else line
                for line in lines]}
            changed += 1
    return changed


def is_expired_file(path: str | None) -> bool:
    """Whether a stored file's row points at the file deleted at the end of the retention period."""
    return bool(path) and path.startswith(EXPIRED_FOLDER + "/")


def _expired_path(path: str) -> str:
    return f"{EXPIRED_FOLDER}/{path.rsplit('/', 1)[-1]}"


def _still_kept(trainee_id: int, enrolment_ids=None, session_ids=None) -> set[int]:
    """Among these enrolments (or those the sheets of these sessions print: confirmed, withdrawn, or with a
    record), the sessions, or the enrolments, of someone other than `trainee_id` whose records have not expired."""
    query = (select(Enrolment.session_id if session_ids is not None else Enrolment.id)
             .join(Trainee, Trainee.id == Enrolment.trainee_id)
             .where(Trainee.id != trainee_id, Trainee.records_expired_at.is_(None)))
    if session_ids is not None:
        recorded = select(AttendanceRecord.enrolment_id).where(AttendanceRecord.enrolment_id == Enrolment.id).exists()
        query = query.where(Enrolment.session_id.in_(session_ids or {0}), db.or_(
            Enrolment.status.in_((EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)), recorded))
    else:
        query = query.where(Enrolment.id.in_(enrolment_ids or {0}))
    return set(db.session.scalars(query))


def _expire_shared_files(trainee_id: int, session_ids, ids: set[int], files: list[str]) -> int:
    """The paper scans of the sheets of a session (and those they replaced, named by the versions), once
    nobody they print keeps records; a claim's dossier (.zip) as sent, once nobody on its lines does. Their rows
    point at no file any more (is_expired_file): a download says why."""
    n = 0
    done = set(session_ids) - _still_kept(trainee_id, session_ids=set(session_ids))
    sheet_ids = _sheet_ids(done)
    for sheet in db.session.scalars(select(AttendanceSheet).where(AttendanceSheet.id.in_(sheet_ids or [-1]),
                                                                  AttendanceSheet.scan_path != "")):
        if not is_expired_file(sheet.scan_path):
            files.append(sheet.scan_path)
            sheet.scan_path = _expired_path(sheet.scan_path)
            n += 1
    table = AttendanceSheetVersion.__table__
    files.extend(snapshot["scan_file"] for snapshot in db.session.scalars(
        select(table.c.snapshot).where(table.c.sheet_id.in_(sheet_ids or [-1])))
        if isinstance(snapshot, dict) and snapshot.get("scan_file") and not is_expired_file(snapshot["scan_file"]))
    claims = db.session.scalars(select(FundingClaim).where(FundingClaim.id.in_(
        select(claim_sessions.c.claim_id).where(claim_sessions.c.session_id.in_(session_ids or {0}))),
        FundingClaim.dossier_path.is_not(None), FundingClaim.dossier_path != "")).all()
    for claim in claims:
        on_lines = {line.get("enrolment_id") for line in (claim.snapshot or {}).get("lines") or []} - {None}
        if on_lines & ids and not is_expired_file(claim.dossier_path) and not _still_kept(trainee_id, on_lines):
            files.append(claim.dossier_path)
            claim.dossier_path = _expired_path(claim.dossier_path)
            n += 1
    return n


def _expire_audit(trainee: Trainee, ids: list[int], session_ids, names: re.Pattern | None, files: list[str]) -> int:
    """The audit trail about the person keeps what happened, not who: their names leave the texts (who acted,
    why, details), a change of their details keeps which field changed, as a correction of the employer of
    their course keeps that it was corrected, the sheets' entries about them lose the name, justification and
    reason."""
    certificate_ids = list(db.session.scalars(select(IssuedCertificate.id).where(
        IssuedCertificate.enrolment_id.in_(ids or [-1]))))
    outcome_ids = list(db.session.scalars(select(LearningOutcome.id).where(
        LearningOutcome.enrolment_id.in_(ids or [-1]))))
    entries = db.session.scalars(select(AuditEntry).where(db.or_(
        (AuditEntry.entity_type == "trainees") & (AuditEntry.entity_id == trainee.id),
        (AuditEntry.entity_type == "enrolments") & AuditEntry.entity_id.in_(ids or [-1]),
        (AuditEntry.entity_type == "issued_certificates") & AuditEntry.entity_id.in_(certificate_ids or [-1]),
        (AuditEntry.entity_type == "learning_outcomes") & AuditEntry.entity_id.in_(outcome_ids or [-1]),
        (AuditEntry.entity_type == "attendance_sheets") & AuditEntry.entity_id.in_(_sheet_ids(session_ids) or [-1]))))
    wanted = set(ids)
    changed = 0
    for entry in entries:
        about_row = entry.entity_type == "attendance_sheets"
        if about_row and not (isinstance(entry.details, dict) and entry.details.get("enrolment_id") in wanted):
            if not (isinstance(entry.details, dict) and "enrolment_id" in entry.details):
                # the sheet itself (closed, reopened, scan replaced): its reason loses the names, as its versions'
                reason = _without_names(entry.reason, names)
                if reason != entry.reason:
                    entry.reason = reason
                    changed += 1
            continue  # another trainee's row
        before = (entry.actor_label, entry.reason, entry.details)
        if entry.actor_id is None:  # the person acting ("Awa Diallo (lien personnel)"), not a staff member
            entry.actor_label = _without_names(entry.actor_label, names)
        entry.reason = ERASED_TEXT if about_row and entry.reason else _without_names(entry.reason, names)
        details = _scrub_changes(entry.details, IDENTITY_KEYS)
        if entry.entity_type == "enrolments" and entry.action == "employer_changed" and isinstance(details, dict):
            entry.reason = ERASED_TEXT  # "Association A → Association B" (enrolments.set_employer)
            details = {**details, **{key: ERASED_TEXT for key in ("from", "to") if details.get(key)}}
        if entry.entity_type == "enrolments" and isinstance(details, dict) and isinstance(details.get("typed"), dict):
            # what the public form typed that the records did not hold: job title, employer (registrations)
            details = {**details, "typed": {key: ERASED_TEXT for key in details["typed"]}}
        details = _expire_row(details, names, files) if about_row else _expire_texts(details, names)
        if details != entry.details:
            entry.details = details
        changed += (entry.actor_label, entry.reason, entry.details) != before
    return changed


def _expire_texts(value, names: re.Pattern | None):
    if isinstance(value, dict):
        return {key: _expire_texts(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_expire_texts(item, names) for item in value]
    return _without_names(value, names)
