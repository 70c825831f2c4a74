"""Funding: funders and their hourly caps, employers' SIRET, agreements, claims and payments.

Every state change of an agreement or a claim goes through this module and writes an
audit entry. The claim's figures come from services/claim_calculation.py (pure) fed with
the attendance figures of services/funding_sources.py.
"""
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import case, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from training_app.clock import local_now, to_local, utcnow
from training_app.documents import storage
from training_app.extensions import db
from training_app.formatting import de, hours, money
from training_app.identifiers import is_valid_siret, normalise_siret
from training_app.models import (AgreementStatus, AgreementTrainee, ClaimPayment, ClaimStatus, Employer, Enrolment,
                                 EnrolmentStatus, Funder, FunderHourlyCap, FundingAgreement, FundingClaim,
                                 FundingMode, SessionStatus, Trainee, TrainingSession)
from training_app.models.funding_files import ANNEX_KINDS, claim_sessions
from training_app.services import ServiceError, audit, claim_calculation, flush_or_refuse, funding_sources
from training_app.services import organisation as organisation_service
from training_app.services.enrolments import lock_session

OVERDUE_AFTER_DAYS = 60  # a sent claim not fully paid after this many days is overdue
BILLABLE_STATUSES = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)  # withdrawn: hours attended count
OPEN_CLAIM_STATUSES = (ClaimStatus.SENT, ClaimStatus.PARTIALLY_PAID)
SETTLED_OR_OPEN = (*OPEN_CLAIM_STATUSES, ClaimStatus.PAID, ClaimStatus.BALANCE_REFUSED)  # sent, not rejected
CLAIM_STATES = {ClaimStatus.DRAFT: _l("brouillon"), ClaimStatus.SENT: _l("envoyée"),  # in a sentence
                ClaimStatus.PARTIALLY_PAID: _l("payée en partie"), ClaimStatus.PAID: _l("payée"),
                ClaimStatus.REJECTED: _l("rejetée"), ClaimStatus.BALANCE_REFUSED: _l("payée en partie, solde refusé")}


MAX_CENTS = 2**31 - 1  # amounts are integer cents in 32-bit columns (PostgreSQL's INTEGER): none above it


def _not_negative(value: int | None, field_name: str) -> None:
    if value is not None and value < 0:
        raise ServiceError(_("Un montant ne peut pas être négatif."), field_name)
    _not_too_large(value, field_name)


def _not_too_large(value: int | None, field_name: str | None = None) -> None:
    """Refused in French rather than by the database (an error 500 on PostgreSQL): an amount beyond MAX_CENTS."""
    if value is not None and value > MAX_CENTS:
        raise ServiceError(_("Montant trop élevé : %(amount)s au plus.", amount=money(MAX_CENTS)), field_name)


# --- funders and their hourly caps -----------------------------------------------------------------

def save_funder(funder: Funder | None, data: dict) -> Funder:
    name = (data.get("name") or "").strip()
    if not name:
        raise ServiceError(_("Indiquez le nom de l'OPCO."), "name")
    other = db.session.scalar(select(Funder.id).where(func.lower(Funder.name) == name.lower()))
    if other is not None and (funder is None or other != funder.id):
        raise ServiceError(_("Un financeur porte déjà ce nom."), "name")
    creating = funder is None
    if creating:
        funder = Funder()
        db.session.add(funder)
    funder.name = name
    funder.address = (data.get("address") or "").strip()
    funder.contact_name = (data.get("contact_name") or "").strip()
    funder.contact_email = (data.get("contact_email") or "").strip()
    funder.accepts_annex_costs = bool(data.get("accepts_annex_costs"))
    flush_or_refuse(_("Un financeur porte déjà ce nom."), "name")  # one created meanwhile (a double click)
    audit.record(funder, "created" if creating else "updated")
    return funder


def set_hourly_cap(funder: Funder, year: int, cap_cents: int, note: str = "") -> FunderHourlyCap:
    """Set (or change) the funder's hourly cap for a year."""
    if year is None or not 2000 <= year <= 2100:
        raise ServiceError(_("Indiquez une année entre 2000 et 2100."), "year")
    if cap_cents is None:
        raise ServiceError(_("Indiquez un plafond horaire."), "cap")
    _not_negative(cap_cents, "cap")
    cap = db.session.scalar(select(FunderHourlyCap).where(FunderHourlyCap.funder_id == funder.id,
                                                          FunderHourlyCap.year == year))
    before = cap.cap_cents if cap else None
    if cap is None:
        cap = FunderHourlyCap(funder=funder, year=year)
        db.session.add(cap)
    cap.cap_cents, cap.note = cap_cents, (note or "").strip()
    # A cap for the same year saved meanwhile (a double click, a colleague): refused, the page lists it.
    flush_or_refuse(_("Un plafond horaire %(year)d vient d'être enregistré pour %(funder)s : vérifiez-le dans la "
                      "liste, puis enregistrez à nouveau si besoin.", year=year, funder=funder.name), "year")
    audit.record(funder, "hourly_cap_set", details={"year": year, "before": before, "after": cap_cents})
    return cap


def delete_hourly_cap(cap: FunderHourlyCap) -> None:
    audit.record(cap.funder, "hourly_cap_removed", details={"year": cap.year, "before": cap.cap_cents})
    db.session.delete(cap)


def hourly_cap_for(funder: Funder, year: int) -> int | None:
    return db.session.scalar(select(FunderHourlyCap.cap_cents).where(
        FunderHourlyCap.funder_id == funder.id, FunderHourlyCap.year == year))


def funders() -> list[Funder]:
    return list(db.session.scalars(select(Funder).order_by(Funder.name)))


# --- employers (their SIRET and funder) ---------------------------------------------------------------

def update_employer(employer: Employer, data: dict) -> Employer:
    name = (data.get("name") or "").strip()
    if not name:
        raise ServiceError(_("Indiquez le nom de la structure."), "name")
    siret = normalise_siret(data.get("siret"))
    if siret and not is_valid_siret(siret):
        raise ServiceError(_("Ce SIRET n'est pas valide (14 chiffres, clé de contrôle incorrecte)."), "siret")
    # One establishment, one record: registrations and imports find an employer by its SIRET
    # (registrations.find_or_create_employer), and would otherwise take the other one. Checked when the SIRET
    # changes: two records sharing one from before this rule can still be edited (address, contact...).
    other = siret and siret != employer.siret and db.session.scalar(select(Employer).where(Employer.siret == siret, Employer.id != employer.id)
                                        .order_by(Employer.id).limit(1))
    if other:
        raise ServiceError(_("Ce SIRET est déjà celui de la structure %(name)s.", name=other.name), "siret")
    employer.name, employer.siret = name, siret
    for key in ("address", "contact_name", "contact_email", "phone"):
        if key in data:
            setattr(employer, key, (data[key] or "").strip())
    if "funder_id" in data:
        employer.funder_id = data["funder_id"] or None
    audit.record(employer, "updated")
    return employer


# --- agreements -------------------------------------------------------------------------------------------

@dataclass
class AgreementData:
    """What an administrator records about a funding request and the funder's answer."""
    funder: Funder
    enrolments: list[Enrolment]
    requested_on: date
    employer: Employer | None = None
    file_number: str = ""
    mode: str = FundingMode.SUBROGATION
    hourly_rate_cents: int | None = None
    amount_cents: int | None = None
    hourly_cap_cents: int | None = None  # None: the funder's cap for the session's year
    notes: str = ""


def create_agreement(session: TrainingSession, data: AgreementData) -> FundingAgreement:
    session = lock_session(session.id)  # a double click waits for the first request, then finds its trainees covered
    agreement = FundingAgreement(session=session, status=AgreementStatus.REQUESTED)
    _apply_agreement(agreement, data)
    audit.record(agreement, "requested", to_state=AgreementStatus.REQUESTED,
                 details={"enrolments": [e.id for e in data.enrolments]})
    return agreement


def update_agreement(agreement: FundingAgreement, data: AgreementData) -> FundingAgreement:
    """Change a request (or its recorded answer). The trainees it covers whose enrolment is no longer billable
    (cancelled since) stay covered whatever data.enrolments says: the edit form no longer offers them, and the
    agreed amount was spread over their planned hours too (claim_terms), so that dropping them would bill the
    others more."""
    lock_session(agreement.session_id)
    chosen = {e.id for e in data.enrolments}
    data = replace(data, enrolments=[*data.enrolments,
                                     *(e for e in unbillable_covered(agreement) if e.id not in chosen)])
    claimed = _claimed(agreement)
    if claimed:
        _refuse_changing_what_was_claimed(agreement, data)
    _apply_agreement(agreement, data, resolve_cap=not claimed)
    audit.record(agreement, "updated", details={"enrolments": [e.id for e in data.enrolments]})
    return agreement


def unbillable_covered(agreement: FundingAgreement) -> list[Enrolment]:
    """The enrolments the agreement covers that are no longer billable (cancelled after the request): they stay
    covered, unchanged (update_agreement), and are billed nothing."""
    return [t.enrolment for t in agreement.trainees if t.enrolment.status not in BILLABLE_STATUSES]


def _apply_agreement(agreement: FundingAgreement, data: AgreementData, resolve_cap: bool = True) -> None:
    """Store `data`. No cap given (data.hourly_cap_cents None): the funder's cap for the session's year, read now
    when `resolve_cap`, else the stored one kept (a grant, an agreement a claim sent states)."""
    with db.session.no_autoflush:
        _check_agreement(agreement, data)
    file_number = (data.file_number or "").strip()
    agreement.funder = data.funder
    agreement.employer = data.employer
    agreement.requested_on = data.requested_on
    agreement.file_number = file_number
    agreement.mode = data.mode
    agreement.hourly_rate_cents = data.hourly_rate_cents
    agreement.amount_cents = data.amount_cents
    if data.hourly_cap_cents is not None:
        agreement.hourly_cap_cents = data.hourly_cap_cents
    elif resolve_cap:
        agreement.hourly_cap_cents = hourly_cap_for(data.funder, agreement.session.start_at.year)
    agreement.notes = (data.notes or "").strip()
    kept = {t.enrolment_id: t for t in agreement.trainees}
    wanted = {e.id: e for e in data.enrolments}
    for enrolment_id, covered in kept.items():
        if enrolment_id not in wanted:
            agreement.trainees.remove(covered)
    for enrolment_id, enrolment in wanted.items():
        if enrolment_id not in kept:
            agreement.trainees.append(AgreementTrainee(enrolment=enrolment))
    db.session.add(agreement)
    _flush_unique(file_number, data.funder)


def _check_agreement(agreement: FundingAgreement, data: AgreementData) -> None:
    session = agreement.session
    for value, name in ((data.hourly_rate_cents, "hourly_rate"), (data.amount_cents, "amount"),
                        (data.hourly_cap_cents, "hourly_cap")):
        _not_negative(value, name)
    if data.mode not in (FundingMode.SUBROGATION, FundingMode.REIMBURSEMENT):
        raise ServiceError(_("Choisissez subrogation ou remboursement de l'employeur."), "mode")
    if data.requested_on is None:
        raise ServiceError(_("Indiquez la date de la demande."), "requested_on")
    _not_in_future(data.requested_on, _("La date de la demande ne peut pas être dans le futur."), "requested_on")
    if not data.enrolments:
        raise ServiceError(_("Choisissez au moins un·e stagiaire couvert·e par l'accord."), "enrolments")
    already_covered = {t.enrolment_id for t in agreement.trainees}  # kept when cancelled since (update_agreement)
    for enrolment in data.enrolments:
        if enrolment.session_id != session.id:
            raise ServiceError(_("Un·e stagiaire choisi·e n'est pas inscrit·e à cette session."), "enrolments")
        if enrolment.status not in BILLABLE_STATUSES and enrolment.id not in already_covered:
            raise ServiceError(_("%(name)s n'a pas d'inscription confirmée à cette session.",
                                 name=enrolment.trainee.full_name), "enrolments")
        if data.employer is not None and enrolment.employer_id != data.employer.id:
            # the employer the trainee follows this course for (kept on the enrolment), not their record now
            raise ServiceError(_("%(name)s n'est pas inscrit·e à cette session comme salarié·e de la structure "
                                 "%(employer)s (corrigez la structure employeuse de son inscription si besoin).",
                                 name=enrolment.trainee.full_name, employer=data.employer.name), "enrolments")
    _check_coverage(agreement, data.enrolments)
    file_number = (data.file_number or "").strip()
    if file_number:
        duplicate = db.session.scalar(select(FundingAgreement.id).where(
            FundingAgreement.funder_id == data.funder.id, FundingAgreement.file_number == file_number,
            FundingAgreement.id != (agreement.id or 0)))
        if duplicate is not None:
            raise ServiceError(_("Le numéro de dossier %(number)s existe déjà chez %(funder)s.",
                                 number=file_number, funder=data.funder.name), "file_number")


def _check_coverage(agreement: FundingAgreement, enrolments: list[Enrolment]) -> None:
    """A trainee is covered by one agreement at most (a refused one aside): the same hours are never billed
    twice. Checked on every change and on every grant (a refused request granted on appeal after another
    covered the same trainees). The caller holds the session's row lock (lock_session): two requests made
    at once see each other."""
    for enrolment in enrolments:
        other = db.session.scalar(
            select(FundingAgreement).join(AgreementTrainee)
            .where(AgreementTrainee.enrolment_id == enrolment.id, FundingAgreement.id != (agreement.id or 0),
                   FundingAgreement.status != AgreementStatus.REFUSED))
        if other is not None:
            raise ServiceError(_("%(name)s est déjà couvert·e par un autre accord (dossier %(number)s).",
                                 name=enrolment.trainee.full_name, number=other.file_number or _("sans numéro")),
                               "enrolments")


def agreement_doubts(agreement: FundingAgreement) -> list[str]:
    """What looks wrong in what an agreement covers, said on its page (not refused: the office may know better):
    a trainee whose course is paid personally or by the employer's own funds (SELF_FUNDED: no funder pays it), and
    one whose employer of the course belongs to another funder than the agreement's (an OPCO pays for its members'
    staff). See agreements_doubts."""
    return agreements_doubts([agreement])[agreement.id]


def agreements_doubts(agreements: list[FundingAgreement]) -> dict[int, list[str]]:
    """agreement_doubts of several agreements (those a claim bills), by agreement id. A fixed number of queries
    whatever the number of agreements and trainees: the covered enrolments with their trainees, the employers of
    the course (course_employers), then the funders named."""
    from training_app.services.enrolments import course_employers
    from training_app.services.registrations import funding_label
    covered = db.session.execute(
        select(AgreementTrainee.agreement_id, Enrolment)
        .join(AgreementTrainee, AgreementTrainee.enrolment_id == Enrolment.id)
        .where(AgreementTrainee.agreement_id.in_([agreement.id for agreement in agreements]))
        .options(selectinload(Enrolment.trainee), selectinload(Enrolment.employer))).all() if agreements else []
    employers = course_employers({enrolment.id: enrolment for _id, enrolment in covered}.values())
    funders = _funder_names({agreement.funder_id for agreement in agreements}
                            | {e.funder_id for e in employers.values() if e is not None})
    doubts = {agreement.id: [] for agreement in agreements}
    funder_of = {agreement.id: agreement.funder_id for agreement in agreements}
    for agreement_id, enrolment in sorted(covered, key=lambda row: row[1].trainee.full_name):
        name, employer = enrolment.trainee.full_name, employers[enrolment.id]
        if enrolment.funding_mode in SELF_FUNDED:
            doubts[agreement_id].append(_(
                "%(name)s est inscrit·e avec le financement « %(funding)s » : aucun financeur ne prend sa "
                "formation en charge. Corrigez son financement, ou retirez cette personne de l'accord.",
                name=name, funding=funding_label(enrolment.funding_mode)))
        if employer is not None and employer.funder_id not in (None, funder_of[agreement_id]):
            doubts[agreement_id].append(_(
                "La structure de %(name)s, %(employer)s, adhère à %(its_funder)s, pas à %(funder)s : vérifiez le "
                "financeur de l'accord, ou celui de la structure.", name=name, employer=employer.name,
                its_funder=funders[employer.funder_id], funder=funders[funder_of[agreement_id]]))
    return doubts


def _funder_names(funder_ids: set[int | None]) -> dict[int, str]:
    """funder id -> its name, in one query (rather than one `employer.funder` each)."""
    funder_ids.discard(None)
    return dict(db.session.execute(select(Funder.id, Funder.name).where(Funder.id.in_(funder_ids))).all()
                ) if funder_ids else {}


def _flush_unique(file_number: str, funder: Funder) -> None:
    """Flush, turning a file number taken meanwhile by another request into a clear refusal (the
    transaction is rolled back, as the view does on any refusal)."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(_("Le numéro de dossier %(number)s existe déjà chez %(funder)s.",
                             number=file_number, funder=funder.name), "file_number") from None


def grant(agreement: FundingAgreement, amount_cents: int | None, decided_on: date, file_number: str | None = None,
          hourly_rate_cents: int | None = None) -> None:
    """The funder agreed: the granted amount (and its rate, when it gives one)."""
    lock_session(agreement.session_id)
    agreement_actions(agreement).check("grant")
    if amount_cents is None:
        raise ServiceError(_("Indiquez le montant accordé."), "amount")
    _not_negative(amount_cents, "amount")
    _not_negative(hourly_rate_cents, "hourly_rate")
    _check_decided_on(agreement, decided_on)
    if file_number is not None and file_number.strip() != agreement.file_number:
        data = _data_of(agreement)
        data.file_number = file_number
        _apply_agreement(agreement, data, resolve_cap=False)  # the cap stays the one of the request
    else:
        with db.session.no_autoflush:
            _check_coverage(agreement, agreement.enrolments)
    before = agreement.status
    agreement.status = AgreementStatus.GRANTED
    agreement.amount_cents = amount_cents
    if hourly_rate_cents is not None:
        agreement.hourly_rate_cents = hourly_rate_cents
    agreement.decided_on = decided_on
    agreement.refusal_reason = ""
    _answered(agreement)
    audit.record(agreement, "granted", from_state=before, to_state=agreement.status,
                 details={"amount_cents": amount_cents, "hourly_rate_cents": agreement.hourly_rate_cents})


def refuse(agreement: FundingAgreement, reason: str, decided_on: date) -> None:
    """The funder refused. Under the session's lock, as the agreement's other changes: a claim being sent meanwhile
    is waited for, then found (agreement_actions)."""
    lock_session(agreement.session_id)
    agreement_actions(agreement).check("refuse")
    if not (reason or "").strip():
        raise ServiceError(_("Indiquez le motif du refus."), "reason")
    _check_decided_on(agreement, decided_on)
    before = agreement.status
    agreement.status = AgreementStatus.REFUSED
    agreement.decided_on = decided_on
    agreement.refusal_reason = reason.strip()
    _answered(agreement)
    audit.record(agreement, "refused", from_state=before, to_state=agreement.status, reason=agreement.refusal_reason)


def _answered(agreement: FundingAgreement) -> None:
    """The funder's answer changes what the agreement's edit form holds (amount, rate, file number): it moves
    the form's version (edit_versions; the ORM writes `WHERE version = <old>`), so that a form opened before
    the answer cannot put the request's figures back over it."""
    agreement.version += 1


def _check_decided_on(agreement: FundingAgreement, decided_on: date) -> None:
    """The funder answers a request once it was made."""
    if decided_on is None:
        raise ServiceError(_("Indiquez la date de la réponse."), "decided_on")
    _not_in_future(decided_on, _("La date de la réponse ne peut pas être dans le futur."), "decided_on")
    if decided_on < agreement.requested_on:
        raise ServiceError(_("La réponse du financeur ne peut pas précéder la demande (%(date)s).",
                             date=agreement.requested_on.strftime("%d/%m/%Y")), "decided_on")


def _not_in_future(day: date, message: str, field_name: str) -> None:
    """The one rule for the dates of what already happened (a request, an answer, a sending, a payment): not
    after today, in the organisation's time zone."""
    if day > local_now().date():
        raise ServiceError(message, field_name)


def set_annex_costs(covered: AgreementTrainee, amounts: dict) -> None:
    """amounts: {"travel_agreed_cents": ..., "travel_actual_cents": ..., ...}; none negative. Not once a claim
    sent bills them: under the session's lock, as the agreement's other changes, so that a sending under way is
    waited for (send), then seen."""
    lock_session(covered.agreement.session_id)
    agreement_actions(covered.agreement).check("annex_costs")
    for kind in ANNEX_KINDS:
        for which in ("agreed", "actual"):
            key = f"{kind}_{which}_cents"
            value = amounts.get(key) or 0
            _not_negative(value, f"{kind}_{which}")
            setattr(covered, key, value)
    audit.record(covered.agreement, "annex_costs_set", details={"enrolment_id": covered.enrolment_id, **{
        key: getattr(covered, key) for key in amounts}})


def _data_of(agreement: FundingAgreement) -> AgreementData:
    return AgreementData(funder=agreement.funder, enrolments=agreement.enrolments, requested_on=agreement.requested_on,
                         employer=agreement.employer, file_number=agreement.file_number, mode=agreement.mode,
                         hourly_rate_cents=agreement.hourly_rate_cents, amount_cents=agreement.amount_cents,
                         hourly_cap_cents=agreement.hourly_cap_cents, notes=agreement.notes)


def _claiming(agreement: FundingAgreement) -> FundingClaim | None:
    """The claim sent to the funder, and not rejected, that bills this agreement's session (one whose balance
    was refused counts: the funder paid part of it), if any. A rejected claim stays as it was sent; the
    agreement may then be corrected for the next one."""
    if agreement.id is None:
        return None
    return db.session.scalar(
        select(FundingClaim).join(FundingClaim.sessions).options(defer(FundingClaim.snapshot))
        .where(TrainingSession.id == agreement.session_id, FundingClaim.funder_id == agreement.funder_id,
               FundingClaim.status.not_in([ClaimStatus.DRAFT, ClaimStatus.REJECTED]))
        .order_by(FundingClaim.id).limit(1))


def _claimed(agreement: FundingAgreement) -> bool:
    return _claiming(agreement) is not None


@dataclass(frozen=True)
class SentClaim:
    """A claim the funder holds (sent, not rejected), as a refusal names it."""
    number: str
    funder: str
    status: str
    sent_on: date | None
    claim_id: int | None = None

    def describe(self) -> str:
        """« la demande de paiement n° 2030-0004, envoyée le 20/03/2030 à Uniformation », and its state once the
        funder answered (« (payée) »)."""
        values = {"number": self.number, "funder": self.funder}
        claim = (_("la demande de paiement n° %(number)s, envoyée à %(funder)s", **values) if self.sent_on is None
                 else _("la demande de paiement n° %(number)s, envoyée le %(date)s à %(funder)s",
                        date=self.sent_on.strftime("%d/%m/%Y"), **values))
        return claim if self.status == ClaimStatus.SENT else f"{claim} ({CLAIM_STATES[self.status]})"

    def freed_by_rejection(self) -> bool:
        """Whether recording the funder's rejection of this claim (reject: claim_actions offers it) would free what
        it bills: a claim nothing was paid on becomes rejected, no longer held; one paid in part would have its
        balance refused, which the funder still holds. Reads the claim (a refusal's wording, not a page's)."""
        claim = db.session.get(FundingClaim, self.claim_id) if self.claim_id is not None else None
        return claim is not None and "reject" in claim_actions(claim) and claim.paid_cents == 0


def sent_claims_by_enrolment(session: TrainingSession, *, withdrawn: bool) -> dict[int, SentClaim]:
    """enrolment id -> the first claim sent and not rejected (SETTLED_OR_OPEN: the funder holds it, paid or not)
    billing `session` with a line for that enrolment stating its withdrawal (`withdrawn`), or billing it as
    attending, its line saying no withdrawal (not `withdrawn`): its frozen snapshot's lines, one query. Changing
    the enrolment from what such a line states (recording or cancelling a withdrawal) would contradict what the
    funder received. A line without the flag (older figures) is taken as stating the enrolment as it is: it keeps
    both changes. A draft is recalculated until it is sent, and a rejected claim is made again with the data as it
    then is (_refuse_claiming_twice): neither holds anything the data must keep agreeing with."""
    found: dict[int, SentClaim] = {}
    for claim, line in _held_claim_lines(session):
        if line.get("withdrawn", withdrawn) == withdrawn:
            found.setdefault(line["enrolment_id"], claim)
    return found


def _held_claim_lines(session: TrainingSession):
    """(SentClaim, line) for each line naming an enrolment of the frozen snapshots of the claims sent and not
    rejected (SETTLED_OR_OPEN: the funder holds them, paid or not) billing `session`, earliest claim first: one
    query."""
    for claim_id, number, status, sent_on, funder, snapshot in db.session.execute(
            select(FundingClaim.id, FundingClaim.number, FundingClaim.status, FundingClaim.sent_on, Funder.name,
                   FundingClaim.snapshot)
            .join(Funder, Funder.id == FundingClaim.funder_id)
            .join(claim_sessions, claim_sessions.c.claim_id == FundingClaim.id)
            .where(claim_sessions.c.session_id == session.id, FundingClaim.status.in_(SETTLED_OR_OPEN))
            .order_by(FundingClaim.id)):
        claim = SentClaim(number, funder, status, sent_on, claim_id)
        for line in (snapshot or {}).get("lines") or []:
            if line.get("enrolment_id") is not None:
                yield claim, line


@dataclass(frozen=True)
class SheetClaims:
    """The claims the funder holds that bill the hours of a half-day sheet's trainees: a correction of the sheet
    (reopening it, changing a trainee's status or hours) is the truth and stays possible, but changes nothing in
    the dossier sent; the office settles the difference with the funder (changes_since_sent lists it)."""
    by_enrolment: dict[int, list[SentClaim]] = field(default_factory=dict)

    @property
    def claims(self) -> list[SentClaim]:
        """Each claim once, earliest first."""
        found = {claim.claim_id: claim for claims in self.by_enrolment.values() for claim in claims}
        return sorted(found.values(), key=lambda claim: claim.claim_id)

    def __bool__(self) -> bool:
        return bool(self.by_enrolment)


def claims_billing_sheet(session: TrainingSession, enrolment_ids) -> SheetClaims:
    """The claims sent and not rejected (paid or not) billing `session` with a line for one of `enrolment_ids`
    (the trainees a half-day's sheet shows): every half-day of the session counts in the hours such a line
    bills. A draft is recalculated until it is sent, a rejected claim is made again with the sheets as they then
    are: neither is named. One query, whatever the number of trainees."""
    wanted = set(enrolment_ids)
    by_enrolment: dict[int, list[SentClaim]] = {}
    for claim, line in _held_claim_lines(session):
        if line["enrolment_id"] in wanted:
            by_enrolment.setdefault(line["enrolment_id"], []).append(claim)
    return SheetClaims(by_enrolment)


@dataclass(frozen=True)
class BilledDifference:
    """A claim the funder holds whose hours billed for a trainee are no longer those of the sheets."""
    claim: SentClaim
    billed_minutes: int
    sheet_minutes: int

    def describe(self, name: str) -> str:
        """What the office is told once a correction made the difference (French)."""
        return _("Les heures %(of_name)s facturées dans %(claim)s ne correspondent plus aux feuilles d'émargement "
                 ": %(billed)s facturées, %(sheets)s sur les feuilles. Le dossier envoyé reste tel qu'il est, la "
                 "différence est à régler avec le financeur.", of_name=de(name), claim=self.claim.describe(),
                 billed=hours(self.billed_minutes), sheets=hours(self.sheet_minutes))


def billed_differences(session: TrainingSession, enrolment: Enrolment) -> list[BilledDifference]:
    """The claims sent and not rejected (paid or not) billing `enrolment` whose hours billed differ from what the
    sheets state now (claim_calculation.billable_minutes, as changes_since_sent compares them): what a
    correction of one of its half-days (attendance.mark) is to be followed by. One query, and the session's
    hours only when a claim bills the enrolment."""
    lines = [(claim, line) for claim, line in _held_claim_lines(session) if line["enrolment_id"] == enrolment.id]
    if not lines:
        return []
    hours_now = funding_sources.hours_by_enrolment(session).get(enrolment.id)
    attended = hours_now.attended_minutes if hours_now is not None else 0
    differences = []
    for claim, line in lines:
        on_sheets = claim_calculation.billable_minutes(line, attended)
        if on_sheets != line["attended_minutes"]:
            differences.append(BilledDifference(claim, line["attended_minutes"], on_sheets))
    return differences


@dataclass(frozen=True)
class Actions:
    """What a record's state allows now: the actions offered and, for each one that is not, why (French). A page
    shows the forms of the actions offered (`"grant" in actions`) and `notice`, saying why the others are not;
    the service refuses an action not offered with its reason (`check`), for a page left open meanwhile."""
    offered: frozenset[str]
    reasons: dict[str, str] = field(default_factory=dict)
    notice: str = ""

    def __contains__(self, action: str) -> bool:
        return action in self.offered

    def check(self, action: str) -> None:
        if action not in self.offered:
            raise ServiceError(self.reasons[action])


AGREEMENT_ACTIONS = frozenset({"grant", "refuse", "annex_costs"})


def agreement_actions(agreement: FundingAgreement) -> Actions:
    """The funder's answers (grant, refuse) and the annex costs (annex_costs) an agreement takes now: all of them,
    until a claim sent to its funder bills its session. Then a granted agreement no longer changes (the claim
    states it: the notes aside, update_agreement), and another one may only be granted (its trainees were not
    billed)."""
    claim = _claiming(agreement)
    if claim is None:
        return Actions(AGREEMENT_ACTIONS)
    values = {"number": claim.number, "state": CLAIM_STATES[claim.status]}
    if agreement.status == AgreementStatus.GRANTED:
        frozen = _("Accord déjà repris dans la demande de paiement n° %(number)s (%(state)s) : il ne change plus.",
                   **values)
        annex = _("Accord déjà repris dans la demande de paiement n° %(number)s (%(state)s) : ses frais annexes ne "
                  "changent plus.", **values)
        notice = _("Accord déjà repris dans la demande de paiement n° %(number)s (%(state)s) : la réponse du "
                   "financeur et les frais annexes ne changent plus ; seules les notes peuvent encore être "
                   "modifiées.", **values)
        return Actions(frozenset(), {"grant": frozen, "refuse": frozen, "annex_costs": annex}, notice)
    frozen = _("La session figure déjà dans la demande de paiement n° %(number)s (%(state)s) à ce financeur : "
               "cet accord ne peut plus être refusé.", **values)
    annex = _("La session figure déjà dans la demande de paiement n° %(number)s (%(state)s) à ce financeur : "
              "les frais annexes de cet accord ne changent plus.", **values)
    notice = _("La session figure déjà dans la demande de paiement n° %(number)s (%(state)s) à ce financeur : "
               "cet accord peut encore être accordé, mais plus refusé ; ses frais annexes et ce qu'il indique (en "
               "dehors des notes) ne changent plus.", **values)
    return Actions(frozenset({"grant"}), {"refuse": frozen, "annex_costs": annex}, notice)


def _refuse_changing_what_was_claimed(agreement: FundingAgreement, data: AgreementData) -> None:
    """A claim sent states the agreement's funder, employer, file number, mode, rate, amount, cap and trainees:
    they no longer change (the notes may)."""
    if data.funder.id != agreement.funder_id:
        raise ServiceError(_("Cet accord figure dans une demande de paiement envoyée : "
                             "son financeur ne peut plus changer."), "funder_id")
    stored = _data_of(agreement)
    for name in ("employer", "requested_on", "file_number", "mode", "hourly_rate_cents", "amount_cents",
                 "hourly_cap_cents", "enrolments"):
        wanted, kept = getattr(data, name), getattr(stored, name)
        if name == "file_number":
            wanted, kept = (wanted or "").strip(), (kept or "").strip()
        elif name == "enrolments":
            wanted, kept = sorted(e.id for e in wanted), sorted(e.id for e in kept)
        elif name == "hourly_cap_cents" and wanted is None:
            continue  # the form's "the funder's cap for the year": the stored one, unchanged
        if wanted != kept:
            raise ServiceError(_("Cet accord figure dans une demande de paiement envoyée : ce qu'elle en indique "
                                 "(numéro de dossier, mode, taux, montant, plafond, stagiaires) ne change plus ; "
                                 "seules les notes peuvent encore être modifiées."))


def agreements_for_session(session: TrainingSession) -> list[FundingAgreement]:
    return list(db.session.scalars(
        select(FundingAgreement).where(FundingAgreement.session_id == session.id)
        .options(selectinload(FundingAgreement.trainees).selectinload(AgreementTrainee.enrolment)
                 .options(selectinload(Enrolment.trainee), selectinload(Enrolment.employer)),
                 selectinload(FundingAgreement.funder),
                 selectinload(FundingAgreement.employer))
        .order_by(FundingAgreement.id)))


def billable_enrolments(session: TrainingSession) -> list[Enrolment]:
    """Enrolments that can be billed: confirmed, or withdrawn after attending part of the course."""
    return list(db.session.scalars(
        select(Enrolment).join(Enrolment.trainee)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(BILLABLE_STATUSES))
        .options(selectinload(Enrolment.trainee), selectinload(Enrolment.employer))
        .order_by(Trainee.last_name, Trainee.first_name)))


# --- claims -----------------------------------------------------------------------------------------------

def create_claim(funder: Funder, session: TrainingSession | None = None, period_start: date | None = None,
                 period_end: date | None = None) -> FundingClaim:
    """A draft claim to `funder` for one completed session, or for the sessions ending in a period (one begun
    before it included: a session is claimed with the period it ends in)."""
    if session is not None:
        sessions = [session]
    else:
        if period_start is None or period_end is None:
            raise ServiceError(_("Indiquez la session, ou le début et la fin de la période."), "period_start")
        if period_end < period_start:
            raise ServiceError(_("La fin de la période doit suivre son début."), "period_end")
        sessions = list(db.session.scalars(
            select(TrainingSession).where(
                TrainingSession.id.in_(select(FundingAgreement.session_id).where(
                    FundingAgreement.funder_id == funder.id, FundingAgreement.status == AgreementStatus.GRANTED)),
                # a session is claimed with the period it ends in (one begun before the period included)
                func.date(TrainingSession.end_at) >= period_start, func.date(TrainingSession.end_at) <= period_end,
                TrainingSession.status != SessionStatus.CANCELLED)
            .order_by(TrainingSession.start_at)))
        if not sessions:
            raise ServiceError(_("Aucune session de cette période n'a d'accord accordé par %(funder)s.",
                                 funder=funder.name), "period_start")
    for candidate in sessions:
        refusal = _not_completed(candidate)
        if refusal:
            raise ServiceError(refusal)
    _refuse_claiming_twice(funder, sessions)
    claim = FundingClaim(funder=funder, sessions=sessions, status=ClaimStatus.DRAFT,
                         period_start=period_start if session is None else None,
                         period_end=period_end if session is None else None)
    db.session.add(claim)
    db.session.flush()  # no invoice number: send() gives it
    refresh(claim)
    audit.record(claim, "created", to_state=ClaimStatus.DRAFT)
    return claim


def delete_draft(claim: FundingClaim) -> None:
    """Delete a draft claim (made by mistake, for the wrong funder or period): its sessions may be claimed again.
    Not a claim sent (nor one numbered): its invoice number and dossier belong to the invoices' continuous
    sequence and to the funder. Read under the claim's lock: a sending under way is waited for, then refuses
    the deletion. The audit keeps a trace of it (its funder, sessions and total)."""
    _lock(claim)
    claim_actions(claim).check("delete")
    audit.record(claim, "deleted", from_state=claim.status,
                 details={"funder_id": claim.funder_id, "session_ids": sorted(s.id for s in claim.sessions),
                          "total_cents": claim.total_cents})
    claim.sessions = []
    db.session.delete(claim)
    db.session.flush()


def _refuse_claiming_twice(funder: Funder, sessions: list[TrainingSession]) -> None:
    """One claim to a funder per session, but for a rejected one (which may be made again; one whose balance was
    refused may not: the funder paid part of it, and a payment it makes after all, the dossier completed, is
    recorded on that claim): the same hours are never billed twice. The sessions' rows are locked first (in id
    order), so that two claims made at once for the same session see each other."""
    for session_id in sorted(s.id for s in sessions):
        lock_session(session_id)
    earlier = db.session.execute(_claims_billing([s.id for s in sessions])
                                 .where(FundingClaim.funder_id == funder.id).limit(1)).first()
    if earlier is None:
        return
    if earlier.number is None:  # a draft: its invoice number comes when it is sent
        raise ServiceError(_("La session du %(date)s figure déjà dans une demande de paiement en brouillon à "
                             "%(funder)s : les mêmes heures ne se facturent pas deux fois. Ouvrez cette demande, "
                             "ou choisissez une autre période.", date=earlier.start_at.strftime("%d/%m/%Y"),
                             funder=funder.name))
    message = _("La session du %(date)s figure déjà dans la demande de paiement n° %(number)s à %(funder)s "
                "(%(state)s) : les mêmes heures ne se facturent pas deux fois.",
                date=earlier.start_at.strftime("%d/%m/%Y"), number=earlier.number, funder=funder.name,
                state=CLAIM_STATES[earlier.status])
    if earlier.status == ClaimStatus.BALANCE_REFUSED:
        # a second attempt once the dossier is completed goes to the same claim: the funder pays its balance
        raise ServiceError(message + " " + _("Si le financeur revient sur son refus (dossier complété), "
                                             "enregistrez son paiement sur la demande n° %(number)s.",
                                             number=earlier.number))
    raise ServiceError(message + " " + _("Ouvrez cette demande, ou choisissez une autre période."))


def _claims_billing(session_ids: list[int]):
    """The claims not rejected that bill one of these sessions (to any funder), earliest session first: (number,
    status, funder_id, start_at) rows."""
    return (select(FundingClaim.number, FundingClaim.status, FundingClaim.funder_id, TrainingSession.start_at)
            .join(claim_sessions, claim_sessions.c.claim_id == FundingClaim.id)
            .join(TrainingSession, TrainingSession.id == claim_sessions.c.session_id)
            .where(FundingClaim.status != ClaimStatus.REJECTED, claim_sessions.c.session_id.in_(session_ids))
            .order_by(TrainingSession.start_at, FundingClaim.id))


def _not_completed(session: TrainingSession) -> str:
    """Why no claim bills `session` yet (cancelled, or not over), or ""."""
    if session.status == SessionStatus.CANCELLED:
        return _("La session du %(date)s est annulée : il n'y a rien à facturer.",
                 date=session.start_at.strftime("%d/%m/%Y"))
    if session.end_at > local_now():
        return _("La session du %(date)s n'est pas terminée : la demande de paiement se fait après la formation.",
                 date=session.start_at.strftime("%d/%m/%Y"))
    return ""


@dataclass(frozen=True)
class ClaimOffer:
    """What the session's funding page offers: the funders a claim for the session may be made to now
    (create_claim refuses the others), and why some, or all, are not offered."""
    funders: list[Funder]
    notice: str = ""


def session_claim_offer(session: TrainingSession) -> ClaimOffer:
    """The funders create_claim(funder, session=session) would take now: none while the session is not over
    (or cancelled); else those without a claim, not rejected, for it."""
    refusal = _not_completed(session)
    if refusal:
        return ClaimOffer([], refusal)
    claimed = {row.funder_id for row in db.session.execute(_claims_billing([session.id]))}
    every = funders()
    offered = [funder for funder in every if funder.id not in claimed]
    if not every:
        return ClaimOffer([], _("Aucun financeur n'est enregistré : ajoutez d'abord l'OPCO."))
    if not offered:
        return ClaimOffer([], _("Chaque financeur a déjà sa demande de paiement pour cette session (voir la liste "
                                "ci-dessus) : les mêmes heures ne se facturent pas deux fois."))
    if claimed:
        return ClaimOffer(offered, _("Les financeurs qui ont déjà une demande de paiement pour cette session ne sont "
                                     "pas proposés : les mêmes heures ne se facturent pas deux fois."))
    return ClaimOffer(offered)


def _billed(claim: FundingClaim, agreements: list[FundingAgreement]) -> list[FundingAgreement]:
    """The agreements a claim bills: its funder's, granted."""
    return [a for a in agreements if a.funder_id == claim.funder_id and a.status == AgreementStatus.GRANTED]


def claim_terms(claim: FundingClaim) -> list[claim_calculation.AgreementTerms]:
    """The granted agreements of the claim's funder for its sessions, with each trainee's hours."""
    terms = []
    for session in claim.sessions:
        hours = funding_sources.hours_by_enrolment(session)
        for agreement in _billed(claim, agreements_for_session(session)):
            # A covered trainee whose enrolment was cancelled (or never confirmed) attended nothing and gets no
            # line; the agreed amount was spread over their planned hours too (their share is not billed).
            unbilled = [t for t in agreement.trainees if t.enrolment.status not in BILLABLE_STATUSES]
            covered = sorted((t for t in agreement.trainees if t not in unbilled),
                             key=lambda t: (_employer_of(agreement, t).name if _employer_of(agreement, t) else "",
                                            t.enrolment.trainee.last_name, t.enrolment.trainee.first_name))
            figures = []
            for item in covered:
                trainee = item.enrolment.trainee
                employer = _employer_of(agreement, item)
                h = hours.get(item.enrolment_id) or funding_sources.Hours(session.planned_minutes, 0, 0, 0)
                figures.append(claim_calculation.TraineeFigures(
                    enrolment_id=item.enrolment_id, trainee_name=trainee.formal_name,
                    employer_name=employer.name if employer else "", employer_siret=employer.siret if employer else "",
                    job_title=trainee.job_title, session_id=session.id, planned_minutes=h.planned_minutes,
                    attended_minutes=h.attended_minutes, absent_justified_minutes=h.absent_justified_minutes,
                    absent_unjustified_minutes=h.absent_unjustified_minutes, price_cents=item.enrolment.price_cents,
                    annex={kind: (getattr(item, f"{kind}_agreed_cents"), getattr(item, f"{kind}_actual_cents"))
                           for kind in ANNEX_KINDS},
                    withdrawn=item.enrolment.status == EnrolmentStatus.WITHDRAWN))
            terms.append(claim_calculation.AgreementTerms(
                file_number=agreement.file_number, trainees=tuple(figures), mode=agreement.mode,
                hourly_rate_cents=agreement.hourly_rate_cents, amount_cents=agreement.amount_cents,
                hourly_cap_cents=agreement.hourly_cap_cents,
                unbilled_planned_minutes=session.planned_minutes * len(unbilled)))
    return terms


def _employer_of(agreement: FundingAgreement, covered: AgreementTrainee) -> Employer | None:
    """The employer the claim names: the agreement's (its request named it), else the one the trainee followed the
    course for (kept on the enrolment), as the certificates name it (enrolments.course_employers)."""
    return agreement.employer or covered.enrolment.employer


def refresh(claim: FundingClaim) -> None:
    """Recalculate a draft claim's figures from the agreements and the attendance sheets. The claim's state is
    read under its lock (as bring_up_to_date does): a recalculation waiting for a sending under way is then
    refused, instead of writing its figures over the claim sent. (A claim not inserted yet has no row to lock.)"""
    if inspect(claim).persistent:
        _lock(claim)
    claim_actions(claim).check("refresh")
    _store_figures(claim, _figures(claim))


def bring_up_to_date(claim: FundingClaim) -> bool:
    """A draft shows, and its files state, today's figures: recalculated from the agreements and the sheets,
    stored when they changed (a sheet corrected since, an agreement edited). True when they changed; the
    caller commits. A sent claim's figures never change."""
    if claim.status != ClaimStatus.DRAFT:
        return False
    snapshot = _figures(claim)
    if snapshot == claim.snapshot:
        return False
    claim.figures_refusal = _amount_refusal(snapshot)
    if claim.figures_refusal:  # kept as they were: preflight() says why, sending refuses
        return False
    _lock(claim)  # not over a sending under way: its figures are the ones sent
    if claim.status != ClaimStatus.DRAFT:
        return False
    _store_figures(claim, snapshot)
    return True


def _figures(claim: FundingClaim) -> dict:
    """The claim's snapshot as calculated now (plain JSON data, as stored)."""
    result = claim_calculation.calculate(claim_terms(claim), claim.funder.accepts_annex_costs)
    sessions = {s.id: s for s in claim.sessions}
    for line in result["lines"]:
        session = sessions[line["session_id"]]
        line["session_title"] = session.title
        line["session_dates"] = f"{session.start_at:%d/%m/%Y} – {session.end_at:%d/%m/%Y}"
    funder = claim.funder
    snapshot = {
        "number": claim.number,
        "organisation": organisation_service.identity(),
        "funder": {"name": funder.name, "address": funder.address, "contact_name": funder.contact_name,
                   "contact_email": funder.contact_email, "accepts_annex_costs": funder.accepts_annex_costs},
        "period": [claim.period_start.isoformat(), claim.period_end.isoformat()] if claim.period_start else None,
        "sessions": [{"id": s.id, "title": s.title, "place": s.place, "start": s.start_at.isoformat(),
                      "end": s.end_at.isoformat(), "planned_minutes": s.planned_minutes,
                      "modality": s.modality} for s in claim.sessions],
        "lines": result["lines"],
        "totals": result["totals"],
    }
    return json.loads(json.dumps(snapshot))  # as read back from the database: compared with the stored one


def _amount_refusal(snapshot: dict) -> str | None:
    """Why these figures cannot be stored (French), or None: a total beyond MAX_CENTS."""
    if snapshot["totals"]["due_cents"] > MAX_CENTS:
        return _("Montant trop élevé : la demande atteindrait %(total)s, %(amount)s au plus. Vérifiez les taux et "
                 "montants des accords.", total=money(snapshot["totals"]["due_cents"]), amount=money(MAX_CENTS))
    return None


def _store_figures(claim: FundingClaim, snapshot: dict) -> None:
    refusal = _amount_refusal(snapshot)
    if refusal:
        raise ServiceError(refusal)
    claim.snapshot = snapshot
    claim.total_cents = snapshot["totals"]["due_cents"]  # reimbursement lines: the employer pays them
    claim.calculated_at = utcnow()


@dataclass
class Problem:
    """Something that stops a claim from being sent (preflight), or that looks wrong without stopping it
    (claim_doubts), and where to fix it."""
    message: str
    endpoint: str
    values: dict = field(default_factory=dict)
    anchor: str = ""


def preflight(claim: FundingClaim) -> list[Problem]:
    """Every reason the funder would send the file back, each with the page that fixes it."""
    problems = []
    missing = organisation_service.missing_for_documents()
    if missing:
        problems.append(Problem(_("Identité de l'organisme incomplète : %(fields)s.", fields=", ".join(missing)),
                                "organisation.edit"))
    for session in claim.sessions:
        problems.extend(_session_problems(claim, session))
    # the agreements are recorded on a session's funding page (the first session's, for a claim over a period)
    agreements_page = (("funding.session_funding", {"session_id": claim.sessions[0].id}) if claim.sessions
                       else ("funding.claim_detail", {"claim_id": claim.id}))
    if not claim.snapshot.get("lines"):
        problems.append(Problem(_("Aucun·e stagiaire n'a d'accord accordé par %(funder)s pour cette demande.",
                                  funder=claim.funder.name), *agreements_page))
    if claim.figures_refusal:  # bring_up_to_date() kept the figures stored before: the agreements' rates say why
        problems.append(Problem(claim.figures_refusal, *agreements_page))
    return problems


def claim_doubts(claim: FundingClaim) -> list[Problem]:
    """What looks wrong in the granted agreements the claim bills (agreements_doubts), each with its agreement's
    page: warnings shown with preflight()'s problems, which never stop the claim from being sent."""
    billed = [agreement for session in claim.sessions
              for agreement in _billed(claim, agreements_for_session(session))]
    doubts = agreements_doubts(billed)
    return [Problem(doubt, "funding.agreement_edit", {"agreement_id": agreement.id})
            for agreement in billed for doubt in doubts[agreement.id]]


def _session_problems(claim: FundingClaim, session: TrainingSession) -> list[Problem]:
    problems = []
    session_values = {"session_id": session.id}
    agreements = agreements_for_session(session)
    covering = {}
    for agreement in agreements:
        if agreement.status == AgreementStatus.REFUSED or agreement.funder_id != claim.funder_id:
            continue
        for item in agreement.trainees:
            covering[item.enrolment_id] = agreement
        link = ("funding.agreement_edit", {"agreement_id": agreement.id})
        names = ", ".join(e.trainee.full_name for e in agreement.enrolments)
        if agreement.status == AgreementStatus.REQUESTED:
            problems.append(Problem(_("Accord demandé le %(date)s pour %(names)s : la réponse du financeur n'est "
                                      "pas enregistrée.", date=agreement.requested_on.strftime("%d/%m/%Y"),
                                      names=names), *link))
        if not agreement.file_number:
            problems.append(Problem(_("Numéro de dossier manquant pour l'accord couvrant %(names)s.", names=names),
                                    *link))
    problems.extend(_twice_covered(claim, agreements))
    covered_elsewhere = {item.enrolment_id for agreement in agreements
                         if agreement.status != AgreementStatus.REFUSED and agreement.funder_id != claim.funder_id
                         for item in agreement.trainees}
    for enrolment in billable_enrolments(session):
        employer = enrolment.employer  # the employer of the course, not the trainee's record now
        if enrolment.id in covering:
            employer = covering[enrolment.id].employer or employer  # as the claim's line (_employer_of)
        elif needs_agreement(enrolment, claim.funder_id) and enrolment.id not in covered_elsewhere:
            # one whom another funder's request covers is none of this claim's business
            problems.append(Problem(_("%(name)s (%(employer)s) n'a pas d'accord de financement avec %(funder)s.",
                                      name=enrolment.trainee.full_name, employer=employer.name,
                                      funder=claim.funder.name), "funding.agreement_create", session_values))
        elif funding_unknown(enrolment, claim.funder_id) and enrolment.id not in covered_elsewhere:
            # listed on the session's funding page as without an agreement: it may be this funder's to pay
            problems.append(Problem(_("%(name)s : financement non indiqué sur son inscription ; indiquez-le avant "
                                      "la demande de paiement (une prise en charge par %(funder)s demande aussi "
                                      "son accord).", name=enrolment.trainee.full_name, funder=claim.funder.name),
                                    "enrolments.enrolment_funding", {"enrolment_id": enrolment.id}))
            continue
        else:
            continue
        if employer is None:  # the enrolment's employer (which an agreement naming none bills) is set on its form
            problems.append(Problem(_("%(name)s n'a pas de structure employeuse.", name=enrolment.trainee.full_name),
                                    "enrolments.enrolment_employer", {"enrolment_id": enrolment.id}))
        elif not employer.siret:
            problems.append(Problem(_("SIRET manquant pour %(employer)s.", employer=employer.name),
                                    "funding.employer_edit", {"employer_id": employer.id}))
        elif not is_valid_siret(employer.siret):
            problems.append(Problem(_("SIRET non valide pour %(employer)s (%(siret)s).",
                                      employer=employer.name, siret=employer.siret),
                                    "funding.employer_edit", {"employer_id": employer.id}))
    open_slots = funding_sources.open_slots(session)
    if open_slots:
        endpoint, values, anchor = funding_sources.attendance_link(session)
        problems.append(Problem(ngettext("%(num)d demi-journée de la session du %(date)s n'est pas clôturée : "
                                         "%(slots)s.",
                                         "%(num)d demi-journées de la session du %(date)s ne sont pas clôturées : "
                                         "%(slots)s.", len(open_slots), date=session.start_at.strftime("%d/%m/%Y"),
                                         slots=", ".join(f"{s.date:%d/%m} {s.start_time:%H:%M}" for s in open_slots)),
                                endpoint, values, anchor))
    problems.extend(_certificate_problems(claim, session, agreements))
    return problems


# Funding that asks no funder's agreement: the trainee pays personally, or the employer on its own funds.
SELF_FUNDED = ("personal", "employer")


def may_need_agreement(enrolment: Enrolment) -> bool:
    """Whether the office may have a funder's agreement to request for this enrolment (the session's funding page
    lists those without one): any funding but SELF_FUNDED, so an OPCO's, another funder's (France Travail, CPF)
    and a mode not recorded (a list imported without it) too. The claim's check asks for an agreement where
    needs_agreement() says, and for the mode where funding_unknown() says."""
    return enrolment.funding_mode not in SELF_FUNDED


def funding_unknown(enrolment: Enrolment, funder_id: int | None = None) -> bool:
    """No funding mode recorded (a list imported without it): nobody knows whether a funder's agreement is needed,
    so a claim's check asks for the mode before billing (the funding page lists the trainee as without an
    agreement). With `funder_id` (a claim's check): unless the employer of the course belongs to another funder,
    whose claims it concerns."""
    employer = enrolment.employer
    return not enrolment.funding_mode and (funder_id is None or employer is None
                                           or employer.funder_id in (None, funder_id))


def needs_agreement(enrolment: Enrolment, funder_id: int | None = None) -> bool:
    """Whether a funder's agreement is to pay for this enrolment: the trainee said an OPCO pays (funding_mode)
    and came through an employer — belonging to funder `funder_id` when given (a claim's check). One who pays
    personally, or whose employer pays on its own funds, needs none (nor is listed as without one)."""
    employer = enrolment.employer  # the employer of the course
    return (enrolment.funding_mode == "opco" and employer is not None
            and (funder_id is None or employer.funder_id == funder_id))


def _twice_covered(claim: FundingClaim, agreements: list[FundingAgreement]) -> list[Problem]:
    """Trainees covered by two granted agreements (one of them the claim's funder's): their hours would be
    billed twice. grant() refuses it; data recorded before that rule may still hold it."""
    granted: dict[int, list[FundingAgreement]] = {}
    enrolments = {}
    for agreement in agreements:
        if agreement.status == AgreementStatus.GRANTED:
            for item in agreement.trainees:
                granted.setdefault(item.enrolment_id, []).append(agreement)
                enrolments[item.enrolment_id] = item.enrolment
    problems = []
    for enrolment_id, covering in granted.items():
        if len(covering) > 1 and any(a.funder_id == claim.funder_id for a in covering):
            enrolment = enrolments[enrolment_id]
            problems.append(Problem(
                ngettext("%(name)s est couvert·e par %(num)d accord accordé (dossier %(numbers)s) : ses heures seraient "
                         "facturées deux fois. Enregistrez le refus de cet accord, ou retirez-le·la de cet accord.",
                         "%(name)s est couvert·e par %(num)d accords accordés (dossiers %(numbers)s) : ses heures "
                         "seraient facturées deux fois. Enregistrez le refus de l'un d'eux, ou retirez-le·la de "
                         "l'un d'eux.", len(covering), name=enrolment.trainee.full_name,
                         numbers=", ".join(a.file_number or _("sans numéro") for a in covering)),
                "funding.agreement_edit", {"agreement_id": covering[-1].id}))
    return problems


def _certificate_problems(claim: FundingClaim, session: TrainingSession,
                          agreements: list[FundingAgreement]) -> list[Problem]:
    """Each covered trainee who attended needs a certificat de réalisation stating the hours the sheets
    show now. One who attended nothing gets none (the certificates feature issues none) and bills 0 €; one
    corrected to 0 h after issuing keeps a certificate stating other hours: issued again, it is withdrawn."""
    hours = funding_sources.hours_by_enrolment(session)
    # a trainee covered whose enrolment was cancelled since is billed nothing (claim_terms): no certificate needed
    covered = [item for item in _covered(agreements, claim.funder_id) if item.enrolment.status in BILLABLE_STATUSES]
    attended = [item for item in covered
                if item.enrolment_id in hours and hours[item.enrolment_id].attended_minutes > 0]
    certificates = funding_sources.certificates_by_enrolment(session)
    outdated = funding_sources.outdated_certificates(session)
    without = [item.enrolment.trainee.full_name for item in attended
               if "realisation" not in certificates.get(item.enrolment_id, {})]
    stale = [_("%(name)s (%(reasons)s)", name=item.enrolment.trainee.full_name,
               reasons=", ".join(outdated[item.enrolment_id])) for item in covered
             if item.enrolment_id in outdated and "realisation" in certificates.get(item.enrolment_id, {})]
    endpoint, values, anchor = funding_sources.certificates_link(session)
    problems = []
    if without:
        problems.append(Problem(_("Certificat de réalisation non émis pour : %(names)s.", names=", ".join(without)),
                                endpoint, values, anchor))
    if stale:
        problems.append(Problem(_("Certificat de réalisation à réémettre, il ne correspond plus à ce qui est "
                                  "enregistré : %(names)s.", names=", ".join(stale)), endpoint, values, anchor))
    return problems


def _covered(agreements: list[FundingAgreement], funder_id: int) -> list[AgreementTrainee]:
    return [item for a in agreements if a.funder_id == funder_id and a.status == AgreementStatus.GRANTED
            for item in a.trainees]


def send(claim: FundingClaim, sent_on: date) -> None:
    """draft -> sent: figures recalculated and frozen, the invoice numbered (_number_invoice); refused while the
    pre-flight check finds problems.

    Lock order: the claim's sessions (lock_session, in id order, as create_claim takes them), then the claim's row,
    then the invoice numbering. The agreements of a session and their annex costs change under its lock
    (update_agreement, grant, set_annex_costs): a change under way is waited for, then billed as saved; one made
    after waits for the sending, then finds the agreement claimed. The dossier sent states what the agreements
    say."""
    for session_id in sorted(s.id for s in claim.sessions):
        lock_session(session_id)
    _lock(claim)  # a double click waits for the first sending, then is refused: one dossier, one audit entry
    claim_actions(claim).check("send")
    if sent_on is None:
        raise ServiceError(_("Indiquez la date d'envoi."), "sent_on")
    _not_in_future(sent_on, _("La date d'envoi ne peut pas être dans le futur."), "sent_on")
    training_end = max(s.end_at for s in claim.sessions).date()
    if sent_on < training_end:
        raise ServiceError(_("La date d'envoi ne peut pas précéder la fin de la formation (%(date)s).",
                             date=training_end.strftime("%d/%m/%Y")), "sent_on")
    created_on = to_local(claim.created_at).date()
    if sent_on < created_on:
        raise ServiceError(_("La date d'envoi ne peut pas précéder la création de la demande (%(date)s).",
                             date=created_on.strftime("%d/%m/%Y")), "sent_on")
    refresh(claim)
    problems = preflight(claim)
    if problems:
        raise ServiceError(ngettext("La demande ne peut pas partir : %(num)d point à régler (voir la liste).",
                                    "La demande ne peut pas partir : %(num)d points à régler (voir la liste).",
                                    len(problems)))
    if claim.number is None:
        claim.number = _number_invoice(sent_on)
        claim.snapshot = {**claim.snapshot, "number": claim.number}  # the workbook and the invoice state it
    claim.status = ClaimStatus.SENT
    claim.sent_on = sent_on
    _store_bundle(claim)
    audit.record(claim, "sent", from_state=ClaimStatus.DRAFT, to_state=ClaimStatus.SENT,
                 details={"total_cents": claim.total_cents, "sent_on": sent_on.isoformat(),
                          "dossier_sha256": claim.dossier_sha256})


INVOICE_NUMBERING_LOCK = 7_302_001  # the key of PostgreSQL's advisory lock serialising the invoice numbering


def _number_invoice(sent_on: date) -> str:
    """The next invoice number of the sending date's year ("2019-0001", "2019-0002"...). Invoices are numbered
    continuously and in the order of their dates (French invoicing rules): the number is taken when the claim is
    sent, under a lock that serialises numbering until the transaction ends (PostgreSQL's advisory lock; SQLite
    writes one transaction at a time), after the greatest number of the year; a sending rolled back takes none,
    so none is skipped. Refused when the sending date precedes the latest invoice's of the year: its number
    would come after an invoice dated later. The unique index on the number backs it all up."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INVOICE_NUMBERING_LOCK})
    prefix = f"{sent_on.year}-"
    of_the_year = FundingClaim.number.like(prefix + "%")
    latest = db.session.execute(
        select(FundingClaim.number, FundingClaim.sent_on).where(of_the_year, FundingClaim.sent_on.is_not(None))
        .order_by(FundingClaim.sent_on.desc(), FundingClaim.id.desc()).limit(1)).first()
    if latest is not None and sent_on < latest.sent_on:
        raise ServiceError(_("La date d'envoi ne peut pas précéder celle de la dernière facture de %(year)d "
                             "(n° %(number)s du %(date)s) : les factures se numérotent dans l'ordre de leurs dates.",
                             year=sent_on.year, number=latest.number, date=latest.sent_on.strftime("%d/%m/%Y")),
                           "sent_on")
    last = db.session.scalar(select(FundingClaim.number).where(of_the_year)
                             .order_by(func.length(FundingClaim.number).desc(), FundingClaim.number.desc()).limit(1))
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def _lock(claim: FundingClaim) -> None:
    """The claim's row, read again under a lock held until the commit: its state changes one at a time."""
    db.session.refresh(claim, with_for_update=True)


def changes_since_sent(claim: FundingClaim) -> list[dict]:
    """Trainees whose hours billed by this sent (or paid) claim are no longer those the attendance sheets or
    their current certificat de réalisation state (claim_calculation.hours_changes): the dossier sent stays
    as it was, the office must settle the difference with the funder."""
    if claim.status not in SETTLED_OR_OPEN:
        return []
    sheet_minutes, certificates = {}, {}
    for session in claim.sessions:
        sheet_minutes.update({enrolment_id: hours.attended_minutes
                              for enrolment_id, hours in funding_sources.hours_by_enrolment(session).items()})
        for enrolment_id, documents in funding_sources.certificates_by_enrolment(session).items():
            if "realisation" in documents:
                certificates[enrolment_id] = (documents["realisation"].attended_minutes,
                                              documents["realisation"].version)
    return claim_calculation.hours_changes(claim.snapshot.get("lines", []), sheet_minutes, certificates)


def record_payment(claim: FundingClaim, amount_cents: int | None, received_on: date, note: str = "",
                   payments_seen: int | None = None) -> str | None:
    """Money received. A partial payment leaves a balance; a payment above it is recorded with a
    warning (returned). A claim whose balance was refused still takes a payment (the funder paid it after all).

    Payments are recorded one at a time under the claim's row lock, so that two of them add up.
    `payments_seen` is the number of payments the office's form showed: if one has been recorded since
    (the same form sent twice by a double click, or a colleague's entry), this one is refused and the
    page shows the list; sent again from there, it is recorded."""
    _lock(claim)
    if payments_seen is not None and payments_seen != _payment_count(claim):
        raise ServiceError(_("Un paiement vient d'être enregistré sur cette demande pendant votre saisie : "
                             "vérifiez la liste des paiements. S'il s'agit bien d'un autre versement, "
                             "enregistrez-le à nouveau."))
    claim_actions(claim).check("payment")
    if amount_cents is None or amount_cents <= 0:
        raise ServiceError(_("Le montant reçu doit être positif."), "amount")
    if claim.paid_cents + amount_cents > MAX_CENTS:
        raise ServiceError(_("Montant trop élevé : les paiements de la demande atteindraient %(total)s, %(amount)s "
                             "au plus.", total=money(claim.paid_cents + amount_cents), amount=money(MAX_CENTS)),
                           "amount")
    if received_on is None:
        raise ServiceError(_("Indiquez la date de réception."), "received_on")
    if claim.sent_on and received_on < claim.sent_on:
        raise ServiceError(_("Le paiement ne peut pas précéder l'envoi de la demande (%(date)s).",
                             date=claim.sent_on.strftime("%d/%m/%Y")), "received_on")
    _not_in_future(received_on, _("La date de réception ne peut pas être dans le futur."), "received_on")
    before = claim.status
    overpayment = max(0, amount_cents - max(0, claim.balance_cents))
    claim.payments.append(ClaimPayment(amount_cents=amount_cents, received_on=received_on,
                                       overpayment_cents=overpayment, note=(note or "").strip()))
    claim.paid_cents += amount_cents
    claim.status = _status_from_payments(claim)
    warning = None
    if overpayment:
        warning = _("Paiement supérieur au montant demandé : %(amount)s de trop-perçu, à rembourser ou à "
                    "régulariser avec le financeur.", amount=money(overpayment))
    audit.record(claim, "payment", from_state=before, to_state=claim.status, reason=warning or "",
                 details={"amount_cents": amount_cents, "received_on": received_on.isoformat(),
                          "overpayment_cents": overpayment})
    return warning


def _status_from_payments(claim: FundingClaim) -> str:
    """A sent claim's state from the money it received (`paid_cents`) and whether the funder refused it
    (`rejected_on`, set by reject): paid once it received what it asks; below that, paid in part (its balance
    refused, if so); nothing received, sent (rejected, if refused)."""
    if claim.paid_cents <= 0:
        return ClaimStatus.REJECTED if claim.rejected_on else ClaimStatus.SENT
    if claim.paid_cents >= claim.total_cents:
        return ClaimStatus.PAID
    return ClaimStatus.BALANCE_REFUSED if claim.rejected_on else ClaimStatus.PARTIALLY_PAID


def cancel_payment(claim: FundingClaim, payment_id: int, reason: str) -> str:
    """An administrator cancels a payment typed by mistake (wrong amount, wrong claim), trop-perçu or not: it stays
    in the claim's list, marked cancelled with its reason, and no longer counts in the money received; the claim's
    state follows (_status_from_payments) and the trop-perçu of the payments left is worked out again, in the order
    they were recorded, as record_payment did. The audit entry says who, when, why and the amount. Under the
    claim's row lock, as record_payment: a payment recorded meanwhile counts. Returns the claim's new status."""
    _lock(claim)
    payment = db.session.scalar(select(ClaimPayment).where(ClaimPayment.id == payment_id,
                                                           ClaimPayment.claim_id == claim.id))
    if payment is None:
        raise ServiceError(_("Ce paiement n'est pas enregistré sur cette demande."))
    if payment.cancelled:
        raise ServiceError(_("Ce paiement a déjà été annulé le %(date)s.",
                             date=to_local(payment.cancelled_at).strftime("%d/%m/%Y")))
    if not (reason or "").strip():
        raise ServiceError(_("Indiquez le motif de l'annulation du paiement."), "reason")
    before = claim.status
    payment.cancelled_at = utcnow()
    payment.cancel_reason = reason.strip()
    claim.paid_cents -= payment.amount_cents
    if claim.status != ClaimStatus.REJECTED:  # rejected after a payment before revision 0030: it stays closed
        claim.status = _status_from_payments(claim)
    received = 0
    for kept in sorted((p for p in claim.payments if not p.cancelled), key=lambda p: p.id):
        kept.overpayment_cents = max(0, kept.amount_cents - max(0, claim.total_cents - received))
        received += kept.amount_cents
    audit.record(claim, "payment_cancelled", from_state=before, to_state=claim.status, reason=payment.cancel_reason,
                 details={"payment_id": payment.id, "amount_cents": payment.amount_cents,
                          "received_on": payment.received_on.isoformat()})
    return claim.status


CLAIM_ACTIONS = frozenset({"refresh", "send", "payment", "reject", "delete"})


def claim_actions(claim: FundingClaim) -> Actions:
    """What a claim takes now: a draft is recalculated (refresh), sent (send; refused while preflight() finds
    problems) and, while it has no invoice number, deleted (delete_draft); a sent one takes payments (payment: a
    paid one too, the excess a trop-perçu; one whose balance was refused too, the funder paying after all) and,
    while money is expected, a rejection (reject).

    A claim that asks the funder nothing (FundingClaim.for_information: its lines all in reimbursement of the
    employer) is sent to it for information: nothing is due, so it takes neither a payment nor a rejection. A
    claim of subrogation lines billing 0 € (0 h, corrected since) is a claim like the others: it can be rejected,
    which frees its sessions for a new claim, and money paid on it is a trop-perçu."""
    reasons = {}
    if claim.status != ClaimStatus.DRAFT:
        reasons["refresh"] = _("Cette demande a été envoyée : ses montants ne changent plus.")
        reasons["send"] = _("Cette demande a déjà été envoyée.")
        reasons["delete"] = _("Cette demande a été envoyée (n° %(number)s) : elle ne peut plus être supprimée, son "
                              "numéro de facture appartient à la suite continue des factures.", number=claim.number)
    elif claim.number is not None:
        reasons["delete"] = _("Ce brouillon porte déjà le numéro de facture %(number)s : il ne peut plus être "
                              "supprimé, ce numéro appartient à la suite continue des factures.", number=claim.number)
    if claim.status not in SETTLED_OR_OPEN:
        reasons["payment"] = _("On enregistre un paiement sur une demande envoyée.")
    if claim.status not in OPEN_CLAIM_STATUSES:
        reasons["reject"] = _("Seule une demande envoyée peut être rejetée.")
    if claim.status in SETTLED_OR_OPEN and claim.for_information:
        nothing_asked = _("Rien n'est demandé au financeur dans cette demande (%(zero)s) : elle lui est transmise pour "
                          "information, il n'y a ni paiement ni rejet à enregistrer. Une somme versée malgré tout "
                          "par le financeur est un trop-perçu, à lui rembourser.", zero=money(0))
        reasons.setdefault("payment", nothing_asked)
        reasons.setdefault("reject", nothing_asked)
    return Actions(CLAIM_ACTIONS - reasons.keys(), reasons)


def _payment_count(claim: FundingClaim) -> int:
    """The payments recorded on the claim, counted in the database (not from a collection loaded earlier)."""
    return db.session.scalar(select(func.count(ClaimPayment.id)).where(ClaimPayment.claim_id == claim.id))


def reject(claim: FundingClaim, reason: str, rejected_on: date) -> str:
    """The funder refuses the claim, or what is left of it. Once money was received (read under the claim's
    lock, so a payment recorded meanwhile counts) it refuses the balance: the claim becomes "solde refusé", what
    was paid stays paid and the sessions are not billed to this funder again. Returns the new status."""
    _lock(claim)
    claim_actions(claim).check("reject")
    if not (reason or "").strip():
        raise ServiceError(_("Indiquez le motif du rejet."), "reason")
    if rejected_on is None:
        raise ServiceError(_("Indiquez la date du rejet."), "rejected_on")
    _not_in_future(rejected_on, _("La date du rejet ne peut pas être dans le futur."), "rejected_on")
    if claim.sent_on and rejected_on < claim.sent_on:
        raise ServiceError(_("Le rejet ne peut pas précéder l'envoi de la demande (%(date)s).",
                             date=claim.sent_on.strftime("%d/%m/%Y")), "rejected_on")
    before = claim.status
    claim.status = ClaimStatus.BALANCE_REFUSED if claim.paid_cents > 0 else ClaimStatus.REJECTED
    claim.rejected_on = rejected_on
    claim.rejection_reason = reason.strip()
    audit.record(claim, "rejected" if claim.status == ClaimStatus.REJECTED else "balance_refused",
                 from_state=before, to_state=claim.status, reason=claim.rejection_reason,
                 details={"paid_cents": claim.paid_cents, "refused_cents": max(0, claim.balance_cents)})
    return claim.status


# --- dashboard --------------------------------------------------------------------------------------------

@dataclass
class Dashboard:
    expected_cents: int        # still to be received on sent claims (their subrogation lines)
    received_cents: int        # received on every claim, all years, trop-perçus included (cash, not revenue)
    overpaid_cents: int        # of which received beyond what the claims asked: to pay back to the funders
    overdue_cents: int         # balance of the overdue claims
    overdue: list[FundingClaim]
    drafts: int
    count: int                 # claims in all; the list itself is claims_query(), a page at a time


def dashboard(today: date | None = None) -> Dashboard:
    """The funding figures, summed by the database: constant queries, however many claims years bring."""
    today = today or local_now().date()
    balance = case((FundingClaim.total_cents > FundingClaim.paid_cents,
                    FundingClaim.total_cents - FundingClaim.paid_cents), else_=0)
    overpaid = case((FundingClaim.paid_cents > FundingClaim.total_cents,
                     FundingClaim.paid_cents - FundingClaim.total_cents), else_=0)
    is_open = FundingClaim.status.in_(OPEN_CLAIM_STATUSES)
    count, received, overpaid, expected, drafts = db.session.execute(select(
        func.count(FundingClaim.id), func.coalesce(func.sum(FundingClaim.paid_cents), 0),
        func.coalesce(func.sum(overpaid), 0), func.coalesce(func.sum(case((is_open, balance), else_=0)), 0),
        func.count(FundingClaim.id).filter(FundingClaim.status == ClaimStatus.DRAFT))).one()
    overdue = list(db.session.scalars(
        select(FundingClaim).options(defer(FundingClaim.snapshot))
        .where(is_open, FundingClaim.total_cents > FundingClaim.paid_cents,
               FundingClaim.sent_on < today - timedelta(days=OVERDUE_AFTER_DAYS))
        .order_by(FundingClaim.sent_on, FundingClaim.id)))
    return Dashboard(expected_cents=int(expected), received_cents=int(received), overpaid_cents=int(overpaid),
                     overdue_cents=sum(max(0, c.balance_cents) for c in overdue), overdue=overdue,
                     drafts=drafts, count=count)


def claims_query():
    """Every claim, newest first, with what the list shows (not the figures' snapshot): to paginate."""
    return (select(FundingClaim)
            .options(defer(FundingClaim.snapshot), selectinload(FundingClaim.funder),
                     selectinload(FundingClaim.sessions).selectinload(TrainingSession.programme))
            .order_by(FundingClaim.created_at.desc(), FundingClaim.id.desc()))


def load_information_snapshots(claims: list[FundingClaim]) -> None:
    """Load, in one statement, the snapshots a list of claims_query() needs after all: those of the claims sent at
    0 €, whose status shows whether they were sent for information (FundingClaim.for_information reads their
    lines). Read one by one, they made the list's statements grow with the claims shown."""
    wanted = {claim.id: claim for claim in claims
              if claim.status == ClaimStatus.SENT and not claim.total_cents and "snapshot" in inspect(claim).unloaded}
    if wanted:
        for claim_id, snapshot in db.session.execute(
                select(FundingClaim.id, FundingClaim.snapshot).where(FundingClaim.id.in_(sorted(wanted)))):
            set_committed_value(wanted[claim_id], "snapshot", snapshot)


def is_overdue(claim: FundingClaim, today: date | None = None) -> bool:
    today = today or local_now().date()
    return (claim.status in OPEN_CLAIM_STATUSES and claim.sent_on is not None and claim.balance_cents > 0
            and claim.sent_on + timedelta(days=OVERDUE_AFTER_DAYS) < today)


# --- the claim's files ----------------------------------------------------------------------------------

def workbook_bytes(claim: FundingClaim) -> bytes:
    """The claim's workbook; a draft's with today's figures (bring_up_to_date: the caller commits)."""
    bring_up_to_date(claim)
    return _workbook(claim)


def invoice_bytes(claim: FundingClaim) -> bytes:
    """The claim's invoice; a draft's with today's figures (bring_up_to_date: the caller commits)."""
    bring_up_to_date(claim)
    return _invoice(claim)


def _workbook(claim: FundingClaim) -> bytes:
    from training_app.documents import funding_claim
    return funding_claim.workbook(claim.snapshot)


def _invoice(claim: FundingClaim) -> bytes:
    from training_app.documents import funding_claim
    return funding_claim.invoice(claim.snapshot, claim.sent_on or local_now().date())


def file_stem(claim: FundingClaim) -> str:
    return f"demande-{claim.reference}"


def invoice_filename(claim: FundingClaim) -> str:
    return f"facture-{claim.reference}.docx"


def bundle_bytes(claim: FundingClaim) -> bytes:
    """The dossier (.zip) of the claim. A draft's is built from today's data (its figures brought up to date:
    the caller commits); a sent (paid, rejected) claim's
    is the one stored when it was sent, byte for byte: documents sent to a funder do not change afterwards.
    A claim sent before dossiers were stored (revision 0021) gets its dossier stored at its first download
    (the caller commits)."""
    if claim.status == ClaimStatus.DRAFT:
        bring_up_to_date(claim)
        return _build_bundle(claim)
    if not claim.dossier_path:
        _lock(claim)  # two first downloads at once: the second waits, then reads the one the first stored
        if not claim.dossier_path:
            return _store_bundle(claim)
    try:
        content = storage.read(claim.dossier_path)
    except OSError:
        raise ServiceError(_("Le dossier enregistré de la demande n° %(number)s est introuvable sur le serveur : "
                             "restaurez-le depuis la sauvegarde.", number=claim.number)) from None
    if hashlib.sha256(content).hexdigest() != claim.dossier_sha256:
        raise ServiceError(_("Le dossier enregistré de la demande n° %(number)s ne correspond plus à son empreinte "
                             "(SHA-256) : le fichier a été modifié sur le serveur.", number=claim.number))
    return content


def _store_bundle(claim: FundingClaim) -> bytes:
    """Build the dossier and store it (documents/storage) with its SHA-256: from now on it is the one sent."""
    content = _build_bundle(claim)
    claim.dossier_path = storage.save(f"funding_claims/{claim.number[:4]}", f"{file_stem(claim)}.zip", content)
    claim.dossier_sha256 = hashlib.sha256(content).hexdigest()
    return content


def _build_bundle(claim: FundingClaim) -> bytes:
    """The .zip sent to the funder: workbook, invoice, each trainee's certificat de réalisation and
    the attendance sheets of the claimed sessions."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{file_stem(claim)}.xlsx", _workbook(claim))
        archive.writestr(invoice_filename(claim), _invoice(claim))
        lines_by_session: dict[int, list[int]] = {}
        for line in claim.snapshot.get("lines", []):
            if line["attended_minutes"] > 0:  # a trainee who attended nothing bills 0 € and has no certificate
                lines_by_session.setdefault(line["session_id"], []).append(line["enrolment_id"])
        for session in claim.sessions:
            # two sessions may start the same day: the id keeps their folders apart
            prefix = f"session-{session.start_at:%Y-%m-%d}-{session.id}" if len(claim.sessions) > 1 else ""
            certificates = funding_sources.realisation_certificates(session, lines_by_session.get(session.id, []))
            for _enrolment_id, (filename, content, _certificate) in sorted(certificates.items()):
                archive.writestr("/".join(p for p in (prefix, "certificats-de-realisation", filename) if p), content)
            for filename, content in funding_sources.attendance_sheets(session):
                archive.writestr("/".join(p for p in (prefix, "emargement", filename) if p), content)
    return out.getvalue()
