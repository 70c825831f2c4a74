"""Funding: funders and their caps, employers' SIRET, agreements, claims, payments (administrators)."""
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from training_app.access import ADMIN, access
from training_app.blueprints.funding import bp
from training_app.blueprints.funding.forms import (AgreementEditForm, AgreementForm, AnnexCostsForm,
                                                   CancelPaymentForm, EmployerForm, FunderEditForm, FunderForm, GrantForm,
                                                   HourlyCapForm, PaymentForm, PeriodClaimForm, RefuseForm,
                                                   RejectForm, SendForm, SessionClaimForm)
from training_app.clock import local_now
from training_app.documents.uploads import MIMETYPES
from training_app.extensions import db
from training_app.forms import (REFUSED, attach_service_error, commit_or_flash, committed_or_flashed, edit_committed,
                                edit_form, edit_status, from_cents, to_cents)
from training_app.formatting import money
from training_app.models import (AgreementTrainee, ClaimStatus, Employer, Enrolment, Funder, FunderHourlyCap,
                                 FundingAgreement, FundingClaim, TrainingSession)
from training_app.models.funding_files import ANNEX_KINDS
from training_app.page_cache import kept_page
from training_app.services import ServiceError, audit, personal_data
from training_app.services import funding as funding_service


def _funder_choices(blank: str | None = None):
    choices = [(f.id, f.name) for f in funding_service.funders()]
    return ([(0, blank)] if blank else []) + choices


def _flash_form_errors(form) -> None:
    for field in form:
        for message in field.errors:
            flash(f"{field.label.text} : {message}", "danger")


def _submit(form, call, success, target, record=None, stored_form=None):
    """Validate `form` and run `call()` (one service call). Success: commit, flash `success` (a string, or
    a function of the result; a (text, category) pair, or a list of them), redirect to `target` (a URL, or a function of the result). Refusal: roll
    back, show the message next to its field, return None so that the view shows the form again.
    An edit form of `record` is saved only if the record is still at the form's version (edit_committed)."""
    if not form.validate_on_submit():
        return None
    if record is not None:
        result = edit_committed(form, record, call, stored_form)
        if result is REFUSED:
            return None
    else:
        try:
            result = call()
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
            return None
        db.session.commit()
    message = success(result) if callable(success) else success
    messages = message if isinstance(message, list) else [message]
    for text, category in (m if isinstance(m, tuple) else (m, "success") for m in messages):
        flash(text, category)
    return redirect(target(result) if callable(target) else target)


# --- dashboard -----------------------------------------------------------------------------------------

@bp.route("/")
@access(ADMIN)
@kept_page
def dashboard():
    form = PeriodClaimForm()
    form.funder_id.choices = _funder_choices()
    page = db.paginate(funding_service.claims_query(), per_page=current_app.config["CLAIMS_PER_PAGE"],
                       error_out=False)
    funding_service.load_information_snapshots(page.items)
    return render_template("funding/dashboard.html", board=funding_service.dashboard(), page=page,
                           today=local_now().date(), is_overdue=funding_service.is_overdue, period_form=form)


# --- funders -------------------------------------------------------------------------------------------

@bp.route("/opco")
@access(ADMIN)
def funder_list():
    return render_template("funding/funders.html", funders=funding_service.funders())


@bp.route("/opco/nouveau", methods=["GET", "POST"])
@access(ADMIN)
def funder_create():
    form = FunderForm()
    if not form.is_submitted():
        form.accepts_annex_costs.data = True
    done = _submit(form, lambda: funding_service.save_funder(None, form.data),
                   lambda funder: _("Financeur « %(name)s » créé.", name=funder.name),
                   lambda funder: url_for("funding.funder_edit", funder_id=funder.id))
    return done or render_template("funding/funder_form.html", form=form, funder=None)


@bp.route("/opco/<int:funder_id>", methods=["GET", "POST"])
@access(ADMIN)
def funder_edit(funder_id: int):
    funder = db.get_or_404(Funder, funder_id)
    form = FunderEditForm(obj=funder)
    done = _submit(form, lambda: funding_service.save_funder(funder, form.data), _("Financeur enregistré."),
                   url_for("funding.funder_edit", funder_id=funder_id),
                   funder, lambda: FunderEditForm(formdata=None, obj=funder))
    return done or _funder_page(funder, form, HourlyCapForm(formdata=None, year=local_now().year))


def _funder_page(funder, form, cap_form, status=None):
    caps = db.session.scalars(db.select(FunderHourlyCap).where(FunderHourlyCap.funder_id == funder.id)
                              .order_by(FunderHourlyCap.year.desc())).all()
    return render_template("funding/funder_form.html", form=form, funder=funder, caps=caps,
                           cap_form=cap_form), status or edit_status(form)


@bp.route("/opco/<int:funder_id>/plafonds", methods=["POST"])
@access(ADMIN)
def cap_set(funder_id: int):
    funder = db.get_or_404(Funder, funder_id)
    cap_form = HourlyCapForm()
    done = _submit(cap_form, lambda: funding_service.set_hourly_cap(
        funder, cap_form.year.data, to_cents(cap_form.cap.data), cap_form.note.data or ""),
        lambda cap: _("Plafond horaire %(year)d enregistré.", year=cap.year),
        url_for("funding.funder_edit", funder_id=funder_id) + "#plafonds")
    return done or _funder_page(funder, FunderEditForm(formdata=None, obj=funder), cap_form, 422)


@bp.route("/opco/<int:funder_id>/plafonds/<int:cap_id>/supprimer", methods=["POST"])
@access(ADMIN)
def cap_delete(funder_id: int, cap_id: int):
    cap = db.get_or_404(FunderHourlyCap, cap_id)
    if cap.funder_id == funder_id:
        funding_service.delete_hourly_cap(cap)
        db.session.commit()
        flash(_("Plafond supprimé."), "success")
    return redirect(url_for("funding.funder_edit", funder_id=funder_id) + "#plafonds")


# --- employers -----------------------------------------------------------------------------------------

@bp.route("/structures")
@access(ADMIN)
def employer_list():
    employers = db.session.scalars(db.select(Employer).order_by(Employer.name)).all()
    return render_template("funding/employers.html", employers=employers)


def _employer_form(employer: Employer, stored: bool = False) -> EmployerForm:
    def prepare(form):
        form.funder_id.choices = _funder_choices(_("— Aucun —"))

    def fill(form):
        form.funder_id.data = employer.funder_id or 0

    return edit_form(EmployerForm, employer, stored, prepare, fill)


@bp.route("/structures/<int:employer_id>", methods=["GET", "POST"])
@access(ADMIN)
def employer_edit(employer_id: int):
    employer = db.get_or_404(Employer, employer_id)
    form = _employer_form(employer)
    done = _submit(form, lambda: funding_service.update_employer(employer, form.data), _("Structure enregistrée."),
                   url_for("funding.employer_edit", employer_id=employer_id),
                   employer, lambda: _employer_form(employer, stored=True))
    return done or (render_template("funding/employer_form.html", form=form, employer=employer), edit_status(form))


# --- a session's funding: agreements and claims ---------------------------------------------------------

@bp.route("/sessions/<int:session_id>")
@access(ADMIN)
def session_funding(session_id: int):
    session = db.get_or_404(TrainingSession, session_id)
    agreements = funding_service.agreements_for_session(session)
    covered = {item.enrolment_id for a in agreements if a.status != "refused" for item in a.trainees}
    enrolments = funding_service.billable_enrolments(session)
    claims = db.session.scalars(db.select(FundingClaim).join(FundingClaim.sessions)
                                .where(TrainingSession.id == session.id).order_by(FundingClaim.id)).all()
    offer = funding_service.session_claim_offer(session)
    claim_form = SessionClaimForm()
    claim_form.funder_id.choices = [(f.id, f.name) for f in offer.funders]  # posted: any funder, the service says
    return render_template("funding/session.html", session=session, agreements=agreements, claims=claims,
                           uncovered=[e for e in enrolments
                                      if e.id not in covered and funding_service.may_need_agreement(e)],
                           claim_form=claim_form, claim_offer=offer)


def _prepare_agreement_form(form: AgreementForm, session: TrainingSession) -> list[Enrolment]:
    enrolments = funding_service.billable_enrolments(session)
    form.funder_id.choices = _funder_choices()
    employers = sorted({e.employer for e in enrolments if e.employer}, key=lambda m: m.name)  # of the course
    form.employer_id.choices = [(0, _("— Accord individuel —"))] + [(m.id, m.name) for m in employers]
    form.enrolments.choices = [(e.id, f"{e.trainee.full_name}" + (f" ({e.employer.name})" if e.employer else ""))
                               for e in enrolments]
    return enrolments


def _agreement_data(form: AgreementForm, enrolments: list[Enrolment]) -> funding_service.AgreementData:
    chosen = set(form.enrolments.data or [])
    return funding_service.AgreementData(
        funder=db.session.get(Funder, form.funder_id.data), enrolments=[e for e in enrolments if e.id in chosen],
        requested_on=form.requested_on.data, employer=db.session.get(Employer, form.employer_id.data or 0),
        file_number=form.file_number.data or "", mode=form.mode.data,
        hourly_rate_cents=to_cents(form.hourly_rate.data), amount_cents=to_cents(form.amount.data),
        hourly_cap_cents=to_cents(form.hourly_cap.data), notes=form.notes.data or "")


@bp.route("/sessions/<int:session_id>/accords/nouveau", methods=["GET", "POST"])
@access(ADMIN)
def agreement_create(session_id: int):
    session = db.get_or_404(TrainingSession, session_id)
    form = AgreementForm()
    enrolments = _prepare_agreement_form(form, session)
    if not form.is_submitted():
        form.requested_on.data = local_now().date()
        if request.args.get("stagiaire", type=int):
            form.enrolments.data = [request.args.get("stagiaire", type=int)]
    done = _submit(form, lambda: funding_service.create_agreement(session, _agreement_data(form, enrolments)),
                   _saved_with_doubts(_("Demande de prise en charge enregistrée.")),
                   lambda agreement: url_for("funding.agreement_edit", agreement_id=agreement.id))
    return done or render_template("funding/agreement_form.html", form=form, session=session, agreement=None)


def _saved_with_doubts(saved: str):
    """The success message of an agreement saved, then what looks wrong in what it covers (agreement_doubts), as
    warnings: the agreement is saved all the same."""
    return lambda agreement: [saved] + [(doubt, "warning") for doubt in funding_service.agreement_doubts(agreement)]


def _agreement_form(agreement: FundingAgreement, stored: bool = False):
    """(the edit form, the billable enrolments)."""
    enrolments = []

    def prepare(form):
        enrolments.extend(_prepare_agreement_form(form, agreement.session))

    def fill(form):
        form.employer_id.data = agreement.employer_id or 0
        form.enrolments.data = [t.enrolment_id for t in agreement.trainees]
        form.hourly_rate.data = from_cents(agreement.hourly_rate_cents)
        form.amount.data = from_cents(agreement.amount_cents)
        form.hourly_cap.data = from_cents(agreement.hourly_cap_cents)

    return edit_form(AgreementEditForm, agreement, stored, prepare, fill), enrolments


@bp.route("/accords/<int:agreement_id>", methods=["GET", "POST"])
@access(ADMIN)
def agreement_edit(agreement_id: int):
    agreement = db.get_or_404(FundingAgreement, agreement_id)
    form, enrolments = _agreement_form(agreement)
    done = _submit(form, lambda: funding_service.update_agreement(agreement, _agreement_data(form, enrolments)),
                   _saved_with_doubts(_("Accord enregistré.")), url_for("funding.agreement_edit", agreement_id=agreement_id),
                   agreement, lambda: _agreement_form(agreement, stored=True)[0])
    return done or _agreement_page(agreement, form, status=edit_status(form))


def _agreement_page(agreement, form=None, grant_form=None, refuse_form=None, annex_forms=None, status=200):
    if form is None:
        form = _agreement_form(agreement, stored=True)[0]
    today = local_now().date()
    grant_form = grant_form or GrantForm(formdata=None, prefix="accord", decided_on=agreement.decided_on or today,
                                         file_number=agreement.file_number,
                                         amount=from_cents(agreement.amount_cents),
                                         hourly_rate=from_cents(agreement.hourly_rate_cents))
    refuse_form = refuse_form or RefuseForm(formdata=None, prefix="refus", decided_on=agreement.decided_on or today)
    annex_forms = dict(annex_forms or {})
    for item in agreement.trainees:
        if item.enrolment_id not in annex_forms:
            annex_forms[item.enrolment_id] = AnnexCostsForm(formdata=None, prefix=f"frais{item.enrolment_id}", **{
                f"{kind}_{which}": from_cents(getattr(item, f"{kind}_{which}_cents"))
                for kind in ANNEX_KINDS for which in ("agreed", "actual")})
    return render_template("funding/agreement.html", agreement=agreement, form=form, grant_form=grant_form,
                           refuse_form=refuse_form, annex_forms=annex_forms, history=audit.history(agreement),
                           session=agreement.session, actions=funding_service.agreement_actions(agreement),
                           unbillable=funding_service.unbillable_covered(agreement),
                           doubts=funding_service.agreement_doubts(agreement)), status


@bp.route("/accords/<int:agreement_id>/accorder", methods=["POST"])
@access(ADMIN)
def agreement_grant(agreement_id: int):
    agreement = db.get_or_404(FundingAgreement, agreement_id)
    grant_form = GrantForm(prefix="accord")
    done = _submit(grant_form, lambda: funding_service.grant(
        agreement, to_cents(grant_form.amount.data), grant_form.decided_on.data, grant_form.file_number.data or "",
        to_cents(grant_form.hourly_rate.data)),
        _("Accord de prise en charge enregistré."), url_for("funding.agreement_edit", agreement_id=agreement_id))
    return done or _agreement_page(agreement, grant_form=grant_form, status=422)


@bp.route("/accords/<int:agreement_id>/refuser", methods=["POST"])
@access(ADMIN)
def agreement_refuse(agreement_id: int):
    agreement = db.get_or_404(FundingAgreement, agreement_id)
    refuse_form = RefuseForm(prefix="refus")
    done = _submit(refuse_form, lambda: funding_service.refuse(agreement, refuse_form.reason.data,
                                                               refuse_form.decided_on.data),
                   _("Refus enregistré."), url_for("funding.agreement_edit", agreement_id=agreement_id))
    return done or _agreement_page(agreement, refuse_form=refuse_form, status=422)


@bp.route("/accords/<int:agreement_id>/frais/<int:enrolment_id>", methods=["POST"])
@access(ADMIN)
def agreement_annex(agreement_id: int, enrolment_id: int):
    agreement = db.get_or_404(FundingAgreement, agreement_id)
    item = db.session.scalar(db.select(AgreementTrainee).where(AgreementTrainee.agreement_id == agreement.id,
                                                               AgreementTrainee.enrolment_id == enrolment_id))
    if item is None:
        flash(_("Ce·tte stagiaire n'est pas couvert·e par cet accord."), "danger")
        return redirect(url_for("funding.agreement_edit", agreement_id=agreement_id))
    annex_form = AnnexCostsForm(prefix=f"frais{enrolment_id}")
    done = _submit(annex_form, lambda: funding_service.set_annex_costs(item, _annex_amounts(annex_form)),
                   _("Frais annexes enregistrés."),
                   url_for("funding.agreement_edit", agreement_id=agreement_id) + "#frais")
    return done or _agreement_page(agreement, annex_forms={enrolment_id: annex_form}, status=422)


def _annex_amounts(annex_form: AnnexCostsForm) -> dict:
    """The validated form's amounts in cents (read only once the form is valid: a refused entry is no amount)."""
    return {f"{kind}_{which}_cents": to_cents(getattr(annex_form, f"{kind}_{which}").data)
            for kind in ANNEX_KINDS for which in ("agreed", "actual")}


# --- claims --------------------------------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/demandes", methods=["POST"])
@access(ADMIN)
def claim_create_for_session(session_id: int):
    session = db.get_or_404(TrainingSession, session_id)
    form = SessionClaimForm()
    form.funder_id.choices = _funder_choices()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("funding.session_funding", session_id=session.id))
    try:
        claim = funding_service.create_claim(db.session.get(Funder, form.funder_id.data), session=session)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("funding.session_funding", session_id=session_id))
    db.session.commit()
    flash(_claim_created(claim), "success")
    return redirect(url_for("funding.claim_detail", claim_id=claim.id))


@bp.route("/demandes/nouvelle", methods=["GET", "POST"])
@access(ADMIN)
def claim_create_period():
    form = PeriodClaimForm()
    form.funder_id.choices = _funder_choices()
    done = _submit(form, lambda: funding_service.create_claim(
        db.session.get(Funder, form.funder_id.data), period_start=form.period_start.data,
        period_end=form.period_end.data), _claim_created, lambda claim: url_for("funding.claim_detail",
                                                                                claim_id=claim.id))
    return done or render_template("funding/claim_period.html", form=form)


def _claim_created(claim) -> str:
    return _("Demande de paiement créée (brouillon) : son numéro de facture lui sera donné à l'envoi.")


@bp.route("/demandes/<int:claim_id>")
@access(ADMIN)
def claim_detail(claim_id: int):
    return _claim_page(db.get_or_404(FundingClaim, claim_id))


def _claim_page(claim, send_form=None, payment_form=None, reject_form=None, cancel=None, status=200):
    """`cancel`: (payment id, its cancellation form as sent) when that was refused."""
    cancelled_id, cancel_form = cancel or (None, None)
    if funding_service.bring_up_to_date(claim):  # a draft shows today's figures, as sending would make them
        db.session.commit()
    today = local_now().date()
    actions = funding_service.claim_actions(claim)
    return render_template(
        "funding/claim.html", claim=claim, snapshot=claim.snapshot, actions=actions,
        problems=funding_service.preflight(claim) if "send" in actions else [],
        doubts=funding_service.claim_doubts(claim) if "send" in actions else [],
        changes=funding_service.changes_since_sent(claim),
        send_form=send_form or SendForm(formdata=None, sent_on=today),
        payment_form=_payment_form(claim, payment_form, today),
        reject_form=reject_form or RejectForm(formdata=None, rejected_on=today),
        cancel_forms={payment.id: (cancel_form if payment.id == cancelled_id
                                   else CancelPaymentForm(formdata=None, prefix=_cancel_prefix(payment.id)))
                      for payment in claim.payments if not payment.cancelled},
        cancel_form=cancel_form, history=audit.history(claim), overdue=funding_service.is_overdue(claim)), status


@bp.route("/demandes/<int:claim_id>/recalculer", methods=["POST"])
@access(ADMIN)
def claim_refresh(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    committed_or_flashed(lambda: funding_service.refresh(claim),
                         _("Montants recalculés à partir des accords et des feuilles d'émargement."))
    return redirect(url_for("funding.claim_detail", claim_id=claim_id))


@bp.route("/demandes/<int:claim_id>/supprimer", methods=["POST"])
@access(ADMIN)
def claim_delete(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    if committed_or_flashed(lambda: funding_service.delete_draft(claim), _("Demande de paiement en brouillon "
                                                                           "supprimée.")):
        return redirect(url_for("funding.dashboard"))
    return redirect(url_for("funding.claim_detail", claim_id=claim_id))


def _payment_form(claim, form, today):
    """The payment form as typed (after a refusal) or filled with the balance money is still expected of (an open
    claim: not the balance the funder refused, one click from being recorded as received); either way it carries
    the number of payments the page now lists."""
    expected = claim.balance_cents if claim.status in funding_service.OPEN_CLAIM_STATUSES else 0
    form = form or PaymentForm(formdata=None, received_on=today, amount=from_cents(max(0, expected)) or None)
    form.payments_seen.data = str(len(claim.payments))
    return form


@bp.route("/demandes/<int:claim_id>/envoyer", methods=["POST"])
@access(ADMIN)
def claim_send(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    form = SendForm()
    done = _submit(form, lambda: funding_service.send(claim, form.sent_on.data),
                   lambda _r: _("Demande marquée comme envoyée le %(date)s.",
                                date=form.sent_on.data.strftime("%d/%m/%Y")),
                   url_for("funding.claim_detail", claim_id=claim_id))
    return done or _claim_page(claim, send_form=form, status=422)


@bp.route("/demandes/<int:claim_id>/paiements", methods=["POST"])
@access(ADMIN)
def claim_payment(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    form = PaymentForm()
    done = _submit(form, lambda: funding_service.record_payment(claim, to_cents(form.amount.data),
                                                                form.received_on.data, form.note.data or "",
                                                                form.seen()),
                   lambda warning: (warning, "warning") if warning else _("Paiement enregistré."),
                   url_for("funding.claim_detail", claim_id=claim_id))
    return done or _claim_page(claim, payment_form=form, status=422)


def _cancel_prefix(payment_id: int) -> str:
    return f"annulation-{payment_id}-"


def _cancelled_payment_message(status: str):
    message = _("Paiement annulé : il reste dans la liste, il ne compte plus dans les sommes reçues.")
    if status == ClaimStatus.REJECTED:  # its balance refused and nothing paid any more: the claim is closed
        return message + " " + _("La demande est maintenant rejetée (le financeur a refusé le solde et plus rien "
                                 "n'y est payé) : ses sessions peuvent faire l'objet d'une nouvelle demande."), \
            "warning"
    return message


@bp.route("/demandes/<int:claim_id>/paiements/<int:payment_id>/annulation", methods=["POST"])
@access(ADMIN)
def claim_payment_cancel(claim_id: int, payment_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    form = CancelPaymentForm(prefix=_cancel_prefix(payment_id))
    done = _submit(form, lambda: funding_service.cancel_payment(claim, payment_id, form.reason.data),
                   _cancelled_payment_message, url_for("funding.claim_detail", claim_id=claim_id))
    return done or _claim_page(claim, cancel=(payment_id, form), status=422)


@bp.route("/demandes/<int:claim_id>/rejet", methods=["POST"])
@access(ADMIN)
def claim_reject(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    form = RejectForm()
    done = _submit(form, lambda: funding_service.reject(claim, form.reason.data, form.rejected_on.data),
                   lambda status: _("Rejet enregistré.") if status == ClaimStatus.REJECTED else _(
                       "Solde refusé enregistré : les %(amount)s reçus restent acquis, la demande est close.",
                       amount=money(claim.paid_cents)),
                   url_for("funding.claim_detail", claim_id=claim_id))
    return done or _claim_page(claim, reject_form=form, status=422)


def _download(content: bytes, filename: str, mimetype: str) -> Response:
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@bp.route("/demandes/<int:claim_id>/classeur.xlsx")
@access(ADMIN)
def claim_workbook(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    content = funding_service.workbook_bytes(claim)
    db.session.commit()  # a draft's figures brought up to date
    return _download(content, f"{funding_service.file_stem(claim)}.xlsx", MIMETYPES["xlsx"])


@bp.route("/demandes/<int:claim_id>/facture.docx")
@access(ADMIN)
def claim_invoice(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    content = funding_service.invoice_bytes(claim)
    db.session.commit()  # a draft's figures brought up to date
    return _download(content, funding_service.invoice_filename(claim), MIMETYPES["docx"])


@bp.route("/demandes/<int:claim_id>/dossier.zip")
@access(ADMIN)
def claim_bundle(claim_id: int):
    claim = db.get_or_404(FundingClaim, claim_id)
    if personal_data.is_expired_file(claim.dossier_path):
        flash(_("Le dossier envoyé a été supprimé au terme de la durée de conservation des pièces des stagiaires "
                "qu'il imprime : restent les chiffres de la demande et ses paiements."), "warning")
        return redirect(url_for("funding.claim_detail", claim_id=claim_id))
    # Committed: a draft's figures brought up to date; a claim sent before dossiers were stored keeps, from now
    # on, the one built here.
    content = commit_or_flash(lambda: funding_service.bundle_bytes(claim))
    if content is REFUSED:
        return redirect(url_for("funding.claim_detail", claim_id=claim_id))
    return _download(content, f"{funding_service.file_stem(claim)}.zip", "application/zip")


@bp.app_template_global("funding_dashboard")
def funding_dashboard():
    """The funding figures for the dashboard panel (funding/_dashboard.html)."""
    return funding_service.dashboard()
