"""The figures of a funding claim: plain data in, plain data out (no database, no request).

Per trainee: pedagogical amount = hourly rate × hours attended, where
- absences are never billed (only attended minutes count, never more than the planned ones);
- the rate is the agreed hourly rate, or the agreed amount spread over the planned hours of the
  trainees the agreement covers (those whose enrolment was cancelled included: their share is not
  billed), and never more than the funder's hourly cap;
- the amount for a trainee is never more than the price of their enrolment (when it has one): a funder
  is never billed more than the training costs;
- the lines of one agreement never add up to more than its agreed amount.
The amount is computed in Decimal cents and rounded half-up to the cent once per line.
Annex costs (travel, accommodation, meals) are billed at the actual amount within the agreed
one, when the funder accepts them.

A claim may hold lines of both modes: the funder pays the training organisation the subrogation lines only
(`due_cents`); a reimbursement line is listed for information (`reimbursement_cents`), never asked of the funder:
the employer pays us its pedagogical costs, its annex costs are the employer's own expenses, and the funder
reimburses the employer both (`employer_share`).
"""
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from training_app.formatting import hours, money
from training_app.models.funding_files import ANNEX_KINDS  # the agreement's columns: one list of kinds
ANNEX_LABELS = {"travel": "Transport", "accommodation": "Hébergement", "meals": "Repas"}
RATE_PLACES = Decimal("0.0001")  # rates are kept to 1/10000 of a cent, amounts to the cent
REIMBURSEMENT = "reimbursement"


@dataclass(frozen=True)
class TraineeFigures:
    """One trainee covered by an agreement, with their hours from the attendance sheets."""
    enrolment_id: int
    trainee_name: str
    employer_name: str = ""
    employer_siret: str = ""
    job_title: str = ""
    session_id: int | None = None
    planned_minutes: int = 0
    attended_minutes: int = 0
    absent_justified_minutes: int = 0
    absent_unjustified_minutes: int = 0
    price_cents: int | None = None  # the enrolment's price (None: not set, nothing to cap)
    annex: dict = field(default_factory=dict)  # kind -> (agreed_cents, actual_cents)
    withdrawn: bool = False  # left the course before its end (hours after the withdrawal not attended)


@dataclass(frozen=True)
class AgreementTerms:
    file_number: str
    trainees: tuple[TraineeFigures, ...]
    hourly_rate_cents: int | None = None
    amount_cents: int | None = None
    hourly_cap_cents: int | None = None
    mode: str = "subrogation"
    unbilled_planned_minutes: int = 0  # planned hours of trainees covered but not billed (enrolment cancelled)


def round_cents(value: Decimal) -> int:
    """Half-up to the cent (0.5 cent goes up), the one rounding of a line."""
    return int(Decimal(value).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def agreement_rate(terms: AgreementTerms) -> tuple[Decimal, bool]:
    """The hourly rate in cents applied to every trainee of an agreement, and whether the cap cut it."""
    if terms.hourly_rate_cents is not None:
        rate = Decimal(terms.hourly_rate_cents)
    elif terms.amount_cents is not None:
        planned = sum(t.planned_minutes for t in terms.trainees) + terms.unbilled_planned_minutes
        rate = Decimal(terms.amount_cents) * 60 / planned if planned else Decimal(0)
    else:
        rate = Decimal(0)
    rate = rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    if terms.hourly_cap_cents is not None and rate > terms.hourly_cap_cents:
        return Decimal(terms.hourly_cap_cents).quantize(RATE_PLACES), True
    return rate, False


def calculate(agreements: list[AgreementTerms] | tuple[AgreementTerms, ...],
              accepts_annex_costs: bool = True) -> dict:
    """The claim's lines (one per trainee) and totals, as plain JSON-ready data."""
    lines = []
    for terms in agreements:
        rate, capped = agreement_rate(terms)
        billed_so_far = 0
        for trainee in terms.trainees:
            billable_minutes = max(0, min(trainee.attended_minutes, trainee.planned_minutes))
            amount = round_cents(rate * billable_minutes / 60)
            notes = []
            if capped:
                notes.append(f"taux limité au plafond horaire ({money(terms.hourly_cap_cents)}/h)")
            if trainee.price_cents is not None and amount > trainee.price_cents:
                amount = trainee.price_cents
                notes.append(f"montant limité au prix de l'inscription ({money(trainee.price_cents)})")
            if terms.amount_cents is not None and billed_so_far + amount > terms.amount_cents:
                amount = max(0, terms.amount_cents - billed_so_far)
                notes.append(f"montant limité à l'accord ({money(terms.amount_cents)})")
            billed_so_far += amount
            annex = {}
            for kind in ANNEX_KINDS:
                agreed, actual = trainee.annex.get(kind, (0, 0))
                annex[kind] = {"agreed_cents": agreed, "actual_cents": actual,
                               "billed_cents": min(agreed, actual) if accepts_annex_costs else 0}
                if accepts_annex_costs and actual > agreed:
                    notes.append(f"{ANNEX_LABELS[kind].lower()} : dépense au-delà de l'accord non facturée")
            annex_cents = sum(a["billed_cents"] for a in annex.values())
            lines.append({
                "enrolment_id": trainee.enrolment_id, "session_id": trainee.session_id,
                "employer_name": trainee.employer_name, "employer_siret": trainee.employer_siret,
                "trainee_name": trainee.trainee_name, "job_title": trainee.job_title,
                "file_number": terms.file_number, "mode": terms.mode,
                "planned_minutes": trainee.planned_minutes, "attended_minutes": billable_minutes,
                "absent_justified_minutes": trainee.absent_justified_minutes,
                "absent_unjustified_minutes": trainee.absent_unjustified_minutes,
                "hourly_rate_cents": str(rate), "pedagogical_cents": amount,
                "annex": annex, "annex_cents": annex_cents, "total_cents": amount + annex_cents,
                "notes": notes, "withdrawn": trainee.withdrawn,
            })
    return {"lines": lines, "totals": totals(lines)}


def observations(line: dict) -> str:
    """Why the line's hours or amount differ from the planned ones, in words (workbook, invoice): the withdrawal,
    the absences, then the line's notes (a cap applied). A line stored before `withdrawn` was kept reads without."""
    parts = ["abandon en cours de formation"] if line.get("withdrawn") else []
    if line["absent_justified_minutes"]:
        parts.append(f"absence justifiée : {hours(line['absent_justified_minutes'])}")
    if line["absent_unjustified_minutes"]:
        parts.append(f"absence non justifiée : {hours(line['absent_unjustified_minutes'])}")
    return " ; ".join([*parts, *line.get("notes", [])])


def totals(lines: list[dict]) -> dict:
    def total(key):
        return sum(line[key] for line in lines)
    return {
        "trainees": len(lines),
        "planned_minutes": total("planned_minutes"), "attended_minutes": total("attended_minutes"),
        "absent_justified_minutes": total("absent_justified_minutes"),
        "absent_unjustified_minutes": total("absent_unjustified_minutes"),
        "pedagogical_cents": total("pedagogical_cents"),
        "annex": {kind: sum(line["annex"][kind]["billed_cents"] for line in lines) for kind in ANNEX_KINDS},
        "annex_cents": total("annex_cents"), "total_cents": total("total_cents"),
        "due_cents": due_cents(lines), "reimbursement_cents": total("total_cents") - due_cents(lines),
    }


def is_reimbursement(line: dict) -> bool:
    """A line the employer pays us (the funder reimburses the employer): not asked of the funder."""
    return line.get("mode") == REIMBURSEMENT


def due_cents(lines: list[dict]) -> int:
    """What the funder owes the training organisation: the subrogation lines."""
    return sum(line["total_cents"] for line in lines if not is_reimbursement(line))


@dataclass(frozen=True)
class EmployerShare:
    """The reimbursement lines of a claim, never asked of the funder, split as the annual report counts them."""
    trainees: int
    pays_us_cents: int    # their pedagogical costs: what the employer pays the training organisation
    own_annex_cents: int  # their annex costs (travel, meals): the employer's own expenses, which the funder
    #                       reimburses to the employer; never paid to the training organisation

    @property
    def not_asked_cents(self) -> int:
        return self.pays_us_cents + self.own_annex_cents


def employer_share(lines: list[dict]) -> EmployerShare:
    """The one computation of what the reimbursement lines are (claim page, workbook, invoice), read from the lines
    so that a claim stored before the totals said it reads the same."""
    reimbursed = [line for line in lines if is_reimbursement(line)]
    return EmployerShare(trainees=len(reimbursed),
                         pays_us_cents=sum(line["pedagogical_cents"] for line in reimbursed),
                         own_annex_cents=sum(line["annex_cents"] for line in reimbursed))


def received_by_line(lines: list[dict], received_cents: int) -> list[int]:
    """The money a funder paid on a claim, spread over its subrogation lines in proportion to their totals (to
    the cent, the remainders to the largest fractions, then the first lines): what each line was paid when the
    funder refused the balance. Reimbursement lines get nothing; no line more than its total."""
    due = due_cents(lines)
    received = max(0, min(received_cents, due))
    if not due:
        return [0] * len(lines)
    exact = [Decimal(0) if is_reimbursement(line) else Decimal(line["total_cents"]) * received / due
             for line in lines]
    shares = [int(value) for value in exact]  # floored: never above the line's total
    order = sorted(range(len(lines)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:received - sum(shares)]:
        shares[i] += 1
    return shares


def billable_minutes(line: dict, sheet_minutes: int) -> int:
    """The minutes a claim's line would bill for `sheet_minutes` attended on the sheets: never beyond the
    planned ones."""
    return max(0, min(sheet_minutes, line["planned_minutes"]))


def hours_changes(lines: list[dict], sheet_minutes: dict[int, int],
                  certificates: dict[int, tuple[int, int]]) -> list[dict]:
    """The lines of a sent claim whose billed hours differ from what the attendance sheets, or the current
    certificats de réalisation, state now (a sheet corrected, a certificate issued again after sending).

    sheet_minutes: {enrolment_id: minutes attended now}; certificates: {enrolment_id: (minutes attended,
    version)} of the current certificat de réalisation (none: withdrawn, or never issued). Minutes beyond
    the planned ones are never billed, so they change nothing."""
    changes = []
    for line in lines:
        enrolment_id, billed, planned = line["enrolment_id"], line["attended_minutes"], line["planned_minutes"]
        on_sheets = billable_minutes(line, sheet_minutes.get(enrolment_id, 0))
        certificate = certificates.get(enrolment_id)
        certified = max(0, min(certificate[0], planned)) if certificate else None
        if on_sheets != billed or certified != billed and (certificate is not None or billed > 0):
            changes.append({"enrolment_id": enrolment_id, "trainee_name": line["trainee_name"],
                            "billed_minutes": billed, "sheet_minutes": on_sheets, "certificate_minutes": certified,
                            "certificate_version": certificate[1] if certificate else None})
    return changes
