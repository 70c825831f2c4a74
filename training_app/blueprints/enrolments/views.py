"""Enrolments: the office enrols, confirms, cancels, records drop-outs, moves, imports lists and
sends convocations; the public asks for a place; a trainee sees and cancels their own enrolments."""
import io

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy.orm import joinedload

from training_app.access import (ADMIN, PUBLIC, STAFF, access, check_enrolment_access, check_session_access,
                                 sees_office_details, shown_enrolments)
from training_app.blueprints.enrolments import bp
from training_app.blueprints.personal_data.forms import EraseForm
from training_app.blueprints.enrolments.forms import (ConvocationTextForm, EnrolForm, EnrolmentEmployerForm,
                                                      EnrolmentFundingForm,
                                                      ImportConfirmForm, ImportUploadForm, MoveForm, PostForm,
                                                      PublicRegistrationForm, ReasonForm,
                                                      TraineeCancelForm, TraineeForm, WithdrawForm)
from training_app.clock import local_now
from training_app.documents import storage
from training_app.extensions import commit_keeping_loaded, count_against, db, limiter, typed_email_key
from training_app.forms import (REFUSED, attach_service_error, commit_or_flash, committed_or_flashed,
                                 committed_unless_stale, edit_committed, edit_form, edit_status, posted_state,
                                 show_stale)
from training_app.formatting import de
from training_app.models import (Employer, Enrolment, Organisation, OutgoingMail, Programme, SessionStatus, Trainee,
                                 TrainingSession)
from training_app.services import (ServiceError, audit, certificates, convocations, enrolment_import, enrolments, mail,
                                   registration_requests, registrations)
from training_app.services import sessions as session_service
from training_app.services import trainee_links
from training_app.services.trainee_links import trainee_view

DOCX = convocations.DOCX_MIMETYPE
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _load_session(session_id: int) -> TrainingSession:
    session = db.get_or_404(TrainingSession, session_id)
    check_session_access(session)
    return session


def _load_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    check_enrolment_access(enrolment)
    return enrolment


def _to_session(session_id: int, anchor: str = "inscriptions"):
    return redirect(url_for("sessions.session_detail", session_id=session_id) + f"#{anchor}")


def _to_enrolment(enrolment_id: int):
    return redirect(url_for("enrolments.enrolment_detail", enrolment_id=enrolment_id))


def _promoted_flash(promoted) -> None:
    for enrolment in promoted:
        if mail.reaches_mailboxes():
            flash(_("%(name)s quitte la liste d'attente : sa place est confirmée (e-mail envoyé).",
                    name=enrolment.trainee.full_name), "info")
        else:
            flash(_("%(name)s quitte la liste d'attente : sa place est confirmée (e-mail conservé dans « Courriels », "
                    "non envoyé : aucun serveur d'envoi n'est configuré).", name=enrolment.trainee.full_name), "info")


# --- the office -----------------------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/inscrire", methods=["GET", "POST"])
@access(ADMIN)
def enrol_create(session_id: int):
    session = _load_session(session_id)
    try:  # cancelled, over, its last sheet closed: why nobody is enrolled there, without the form
        enrolments.check_open_for_enrolment(session, lock=False)
    except ServiceError as error:
        return render_template("enrolments/enrol_form.html", form=None, session=session, closed=error.message)
    form = EnrolForm()
    form.session = session
    _enrol_choices(form)
    if form.validate_on_submit():
        try:
            trainee = _trainee_for(form)
            # The funding's rule (an employer's funding names the employer) was checked by the form's validation,
            # and is again on the enrolment written (the trainee's record may have changed since).
            enrolment = enrolments.enrol(session, trainee, funding_mode=form.funding_mode.data,
                                         confirm=not form.pending.data, notify=form.notify.data)
            registrations.check_funding_employer(enrolment.funding_mode, enrolment.employer_id is not None,
                                                 known=trainee)
        except ServiceError as error:
            db.session.rollback()
            session = _load_session(session_id)
            _enrol_choices(form)
            attach_service_error(form, error)
        else:
            db.session.commit()
            position = enrolments.waitlist_position(enrolment)
            message = _("%(name)s est inscrit·e : %(state)s.", name=trainee.full_name,
                        state=_state_text(enrolment.status, position))
            flash(message, "success")
            return _to_session(session.id)
    return render_template("enrolments/enrol_form.html", form=form, session=session,
                           seats_left=enrolments.seats_left(session))


def _enrol_choices(form: EnrolForm) -> None:
    trainees = db.session.execute(
        db.select(Trainee.id, Trainee.last_name, Trainee.first_name, Trainee.email)
        .where(Trainee.erased_at.is_(None)).order_by(Trainee.last_name, Trainee.first_name)).all()
    form.trainee_id.choices = [(0, _("— Nouveau ou nouvelle stagiaire (remplir ci-dessous) —"))] + [
        (t.id, f"{t.last_name.upper()} {t.first_name} <{t.email}>") for t in trainees]
    employers = db.session.execute(db.select(Employer.id, Employer.name, Employer.siret).order_by(Employer.name)).all()
    form.employer_id.choices = [(0, _("— Aucune (particulier) —")), (-1, _("— Nouvelle structure (ci-dessous) —"))] + [
        (e.id, f"{e.name} ({e.siret})" if e.siret else e.name) for e in employers]


def _trainee_for(form: EnrolForm) -> Trainee:
    if form.trainee_id.data:
        trainee = form.chosen_trainee()
        if trainee is None:
            raise ServiceError(_("Ce ou cette stagiaire n'existe plus."), "trainee_id")
        return trainee
    details = form.details()
    if form.employer_id.data and form.employer_id.data > 0:
        employer = db.session.get(Employer, form.employer_id.data)
        if employer is None:
            raise ServiceError(_("Cette structure n'existe plus."), "employer_id")
        details.employer_name, details.employer_siret = employer.name, employer.siret
    elif form.employer_id.data == 0:
        details.employer_name = details.employer_siret = ""
    if registrations.find_trainee(registrations.email_to_look_up(details.email or "")) is not None:
        raise ServiceError(_("Un·e stagiaire a déjà cette adresse e-mail : choisissez-le ou la dans la liste."),
                           "email")
    trainee, _created = registrations.find_or_create_trainee(details)
    return trainee


def _state_text(status: str, position: int | None) -> str:
    if status == "waitlisted":
        return _("liste d'attente, position %(n)d", n=position or 0)
    return {"confirmed": _("place confirmée"), "requested": _("demande à confirmer")}.get(status, status)


@bp.route("/inscriptions/<int:enrolment_id>")
@access(STAFF)
def enrolment_detail(enrolment_id: int):
    """The office's page of an enrolment; a trainer of the session sees, of a trainee they teach, only what the
    sheet shows and the job title (access.sees_office_details): the office's part is not even given to them."""
    enrolment = _load_enrolment(enrolment_id)
    return render_template(
        "enrolments/detail.html", enrolment=enrolment, session=enrolment.session, trainee=enrolment.trainee,
        course_employer=enrolments.course_employer(enrolment),
        office=_office_details(enrolment) if sees_office_details() else None)


def _office_details(enrolment: Enrolment) -> dict:
    sendings = convocations.sendings(enrolment=enrolment)  # latest first
    started = enrolments.leaves_by_withdrawal(enrolment)
    return dict(
        movable=enrolment.is_live and db.session.scalar(db.select(db.exists().where(*_move_targets(enrolment)))),
        started=started, withdrawal_refusal=enrolments.withdrawal_refusal(enrolment) if started else None,
        position=enrolments.waitlist_position(enrolment), history=audit.history(enrolment),
        sendings=sendings, post_form=PostForm(), missing_identity=convocations.missing_identity(),
        convocation_outdated=bool(sendings) and convocations.is_outdated(sendings[0]),
        links_revoked=[e for e in audit.history(enrolment.trainee) if e.action == "links_revoked"][-1:],
        funding=registrations.funding_label(enrolment.funding_mode))


@bp.route("/inscriptions/<int:enrolment_id>/confirmer", methods=["POST"])
@access(ADMIN)
def enrolment_confirm(enrolment_id: int):
    enrolment = _load_enrolment(enrolment_id)
    if PostForm().validate_on_submit():
        try:
            enrolment = enrolments.confirm(enrolment)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("Inscription : %(state)s.", state=_state_text(enrolment.status,
                                                                 enrolments.waitlist_position(enrolment))),
                  "success")
    return _to_enrolment(enrolment_id)


@bp.route("/inscriptions/<int:enrolment_id>/annuler", methods=["GET", "POST"])
@access(ADMIN)
def enrolment_cancel(enrolment_id: int):
    return _closing_form(enrolment_id, ReasonForm(), lambda e, f: enrolments.cancel(e, f.reason.data),
                         done=_("Inscription annulée."), title=_("Annuler l'inscription"),
                         button=_("Annuler l'inscription"))


@bp.route("/inscriptions/<int:enrolment_id>/abandon", methods=["GET", "POST"])
@access(ADMIN)
def enrolment_withdraw(enrolment_id: int):
    form = WithdrawForm()
    return _closing_form(enrolment_id, form,
                         lambda e, f: enrolments.withdraw(e, f.withdrawn_on.data, f.reason.data),
                         done=_("Abandon enregistré."), title=_("Enregistrer un abandon"),
                         button=_("Enregistrer l'abandon"),
                         prefill=lambda e: setattr(form.withdrawn_on, "data",
                                                   min(local_now().date(), e.session.end_at.date())))


@bp.route("/inscriptions/<int:enrolment_id>/annuler-abandon", methods=["POST"])
@access(ADMIN)
def enrolment_cancel_withdrawal(enrolment_id: int):
    """A withdrawal recorded by mistake: back to confirmed (the button of the session's enrolment list)."""
    enrolment = _load_enrolment(enrolment_id)
    session_id = enrolment.session_id
    if PostForm().validate_on_submit():
        try:
            issued = enrolments.cancel_withdrawal(enrolment, actor=current_user)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("Abandon annulé : l'inscription est de nouveau confirmée."), "success")
            if issued:
                flash(_("Documents déjà émis : %(numbers)s. Ils indiquent les heures suivies jusqu'à l'abandon : "
                        "corrigez les feuilles d'émargement des demi-journées qui l'ont suivi, puis réémettez-les "
                        "(ils seront signalés comme à réémettre dans la section « Attestations » de la page de la "
                        "session).",
                        numbers=", ".join(f"{certificates.KIND_LABELS[doc.kind]} n° {doc.number}" for doc in issued)),
                      "warning")
    return _to_session(session_id)


def _closing_form(enrolment_id: int, form, perform, *, done: str, title: str, button: str, prefill=None):
    """Cancel, withdraw, correct the employer or the funding: the form, the service call (which may promote the
    waiting list), the answer."""
    enrolment = _load_enrolment(enrolment_id)
    if prefill and not form.is_submitted():
        prefill(enrolment)
    if form.validate_on_submit():
        try:
            promoted = perform(enrolment, form)
        except ServiceError as error:
            db.session.rollback()
            enrolment = _load_enrolment(enrolment_id)
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(done, "success")
            _promoted_flash(promoted)
            return _to_enrolment(enrolment_id)
    return render_template("enrolments/action_form.html", form=form, enrolment=enrolment, title=title,
                           button=button)


@bp.route("/inscriptions/<int:enrolment_id>/deplacer", methods=["GET", "POST"])
@access(ADMIN)
def enrolment_move(enrolment_id: int):
    enrolment = _load_enrolment(enrolment_id)
    form = MoveForm()
    form.target.choices = _move_choices(enrolment)
    if len(form.target.choices) == 1:  # only « — Choisir — »: nowhere to go, no form
        return render_template("enrolments/action_form.html", form=None, enrolment=enrolment,
                               title=_("Déplacer vers une autre session"), unavailable=_(
                                   "Aucune autre session de cette formation n'est à venir (programmée, ni commencée "
                                   "ni annulée) : cette inscription ne peut être déplacée nulle part. Programmez "
                                   "d'abord une autre session de « %(title)s ».", title=enrolment.session.title))
    if form.validate_on_submit():
        target = db.session.get(TrainingSession, form.target.data)
        try:
            if target is None:
                raise ServiceError(_("Cette session n'existe pas."), "target")
            new = enrolments.move(enrolment, target, reason=form.reason.data or "")
        except ServiceError as error:
            db.session.rollback()
            enrolment = _load_enrolment(enrolment_id)
            form.target.choices = _move_choices(enrolment)
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Inscription déplacée : %(state)s.", state=_state_text(new.status,
                                                                          enrolments.waitlist_position(new))),
                  "success")
            return _to_enrolment(new.id)
    return render_template("enrolments/action_form.html", form=form, enrolment=enrolment,
                           title=_("Déplacer vers une autre session"), button=_("Déplacer"))


def _move_targets(enrolment: Enrolment):
    """The sessions an enrolment may be moved to (those enrolments.move accepts): the same programme's others,
    not started nor cancelled."""
    return (TrainingSession.programme_id == enrolment.session.programme_id, TrainingSession.id != enrolment.session_id,
            TrainingSession.start_at > local_now(), TrainingSession.status != SessionStatus.CANCELLED)


def _move_choices(enrolment: Enrolment) -> list[tuple[int, str]]:
    from training_app.formatting import datetime_fr, label
    sessions = db.session.scalars(
        db.select(TrainingSession).where(*_move_targets(enrolment)).order_by(TrainingSession.start_at)).all()
    places = enrolments.places_of(sessions)  # one statement, whatever the number of sessions
    return [(0, _("— Choisir —"))] + [
        (s.id, ngettext("Du %(start)s au %(end)s — %(state)s, %(num)d place libre",
                        "Du %(start)s au %(end)s — %(state)s, %(num)d places libres", places[s.id].left,
                        start=datetime_fr(s.start_at), end=datetime_fr(s.end_at), state=label(s.status)))
        for s in sessions]


@bp.route("/inscriptions/<int:enrolment_id>/employeur", methods=["GET", "POST"])
@access(ADMIN)
def enrolment_employer(enrolment_id: int):
    """Correct the employer the trainee follows this course for (named by the certificates and claims)."""
    form = EnrolmentEmployerForm()
    form.employer_id.choices = _employer_choices()
    return _closing_form(enrolment_id, form, _set_employer,
                         done=_("Structure employeuse de l'inscription enregistrée."),
                         title=_("Structure employeuse pour cette formation"), button=_("Enregistrer"),
                         prefill=lambda e: setattr(form.employer_id, "data", e.employer_id or 0))


def _set_employer(enrolment: Enrolment, form: EnrolmentEmployerForm) -> list:
    employer = db.session.get(Employer, form.employer_id.data) if form.employer_id.data else None
    if form.employer_id.data and employer is None:
        raise ServiceError(_("Cette structure n'existe plus : choisissez-en une autre."), "employer_id")
    enrolments.set_employer(enrolment, employer, actor=current_user._get_current_object())
    outdated = certificates.naming_another_employer(enrolment)
    if outdated:
        numbers = ", ".join(f"{certificates.KIND_LABELS[doc.kind]} n° {doc.number}" for doc in outdated)
        if outdated[0].employer_name:
            stated = _("Les documents déjà émis nomment encore %(employer)s : %(numbers)s.",
                       employer=outdated[0].employer_name, numbers=numbers)
        else:
            stated = _("Les documents déjà émis ne nomment aucune structure employeuse (à titre individuel) : "
                       "%(numbers)s.", numbers=numbers)
        flash(stated + " " + _("Ils sont signalés comme à réémettre dans la section « Attestations » de la page "
                               "de la session."), "warning")
    return []  # nobody promoted


def _employer_choices() -> list[tuple[int, str]]:
    employers = db.session.scalars(db.select(Employer).order_by(func.lower(Employer.name), Employer.id))
    return [(0, _("Aucune (à titre individuel)"))] + [
        (e.id, f"{e.name} (SIRET {e.siret})" if e.siret else e.name) for e in employers]


@bp.route("/inscriptions/<int:enrolment_id>/financement", methods=["GET", "POST"])
@access(ADMIN)
def enrolment_funding(enrolment_id: int):
    """Record how the trainee's course is paid for (a funding claim waits for it when it is unknown)."""
    form = EnrolmentFundingForm()
    return _closing_form(enrolment_id, form,
                         _set_funding_mode,
                         done=_("Financement de l'inscription enregistré."),
                         title=_("Financement de cette formation"), button=_("Enregistrer"),
                         prefill=lambda e: setattr(form.funding_mode, "data", e.funding_mode or None))


def _set_funding_mode(enrolment: Enrolment, form: EnrolmentFundingForm) -> list:
    enrolments.set_funding_mode(enrolment, form.funding_mode.data, actor=current_user._get_current_object())
    return []  # nobody promoted


@bp.route("/inscriptions/<int:enrolment_id>/revoquer-liens", methods=["POST"])
@access(ADMIN)
def revoke_links(enrolment_id: int):
    """Every personal link of the trainee stops working; a new one goes to their address."""
    enrolment = _load_enrolment(enrolment_id)
    if PostForm().validate_on_submit():
        trainee_links.revoke_links(enrolment.trainee, actor=current_user._get_current_object(),
                                   enrolment_id=enrolment.id)
        db.session.commit()
        flash(_("Les liens personnels %(of_name)s sont révoqués ; un nouveau lien a été envoyé à %(email)s.",
                of_name=de(enrolment.trainee.full_name), email=enrolment.trainee.email), "success")
    return _to_enrolment(enrolment_id)


@bp.route("/inscriptions/<int:enrolment_id>/stagiaire", methods=["GET", "POST"])
@access(ADMIN)
def trainee_edit(enrolment_id: int):
    """Correct the trainee's details; a new e-mail address revokes the links sent to the old one."""
    enrolment = _load_enrolment(enrolment_id)
    trainee = enrolment.trainee
    form = _trainee_form(trainee)
    changes = {}
    if form.validate_on_submit() and edit_committed(form, trainee, lambda: changes.update(registrations.update_trainee(
            trainee, form.details(), actor=current_user._get_current_object())),
            lambda: _trainee_form(trainee, stored=True)) is not REFUSED:
        if not changes:
            flash(_("Aucune modification : la fiche est déjà à jour."), "info")
        elif "email" in changes:
            flash(_("Fiche %(of_name)s enregistrée. Ses liens personnels précédents sont révoqués ; un nouveau "
                    "lien a été envoyé à %(email)s.", of_name=de(trainee.full_name), email=trainee.email), "success")
        else:
            flash(_("Fiche %(of_name)s enregistrée.", of_name=de(trainee.full_name)), "success")
        return _to_enrolment(enrolment_id)
    return render_template("enrolments/trainee_form.html", form=form, enrolment=enrolment, erase_form=EraseForm(),
                           trainee=enrolment.trainee, history=[e for e in audit.history(enrolment.trainee)
                                                               if e.action == "details_changed"]), edit_status(form)


def _trainee_form(trainee, stored: bool = False) -> TraineeForm:
    def fill(form):
        if trainee.employer:
            form.employer_name.data, form.employer_siret.data = trainee.employer.name, trainee.employer.siret

    return edit_form(TraineeForm, trainee, stored, fill=fill)


# --- convocations -----------------------------------------------------------------------------------

@bp.route("/inscriptions/<int:enrolment_id>/convocation", methods=["POST"])
@access(ADMIN)
def convocation_send(enrolment_id: int):
    enrolment = _load_enrolment(enrolment_id)
    if PostForm().validate_on_submit():
        try:
            sending = convocations.send_one(enrolment, actor=current_user)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("Convocation envoyée à %(email)s.", email=sending.sent_to), "success")
    return _to_enrolment(enrolment_id)


@bp.route("/inscriptions/<int:enrolment_id>/convocation.docx")
@access(ADMIN)
def convocation_preview(enrolment_id: int):
    enrolment = _load_enrolment(enrolment_id)
    content = convocations.render(enrolment, for_office=True)
    return send_file(io.BytesIO(content), mimetype=DOCX, as_attachment=True,
                     download_name=convocations.filename(enrolment))


@bp.route("/sessions/<int:session_id>/convocations", methods=["GET", "POST"])
@access(ADMIN)
def session_convocations(session_id: int):
    session = _load_session(session_id)
    form = _convocation_text_form(session)
    if form.validate_on_submit() and committed_unless_stale(form, lambda: convocations.save_texts(
            session, form.what_to_bring.data, form.absence_procedure.data, form.message.data,
            opened_version=form.version.data),
            lambda _error: show_stale(form, _convocation_text_form(session, stored=True))) is not REFUSED:
        flash(_("Textes de la convocation enregistrés."), "success")
        return redirect(url_for("enrolments.session_convocations", session_id=session_id))
    return _convocations_page(session, form)


def _convocations_page(session: TrainingSession, form: ConvocationTextForm):
    """The session's convocation page, its texts as `form` holds them (typed, or as stored)."""
    confirmed = convocations.confirmed_enrolments(session)
    sent_ids = convocations.sent_enrolment_ids(session)
    return render_template("enrolments/convocations.html", session=session, form=form, confirmed=confirmed,
                           sent_ids=sent_ids, outdated_ids=convocations.outdated_enrolment_ids(session),
                           missing_identity=convocations.missing_identity(),
                           sendings=convocations.sendings(session=session),
                           defaults={"what_to_bring": convocations.default_what_to_bring(),
                                     "absence_procedure": convocations.default_absence_procedure(
                                         convocations.Organisation.get())}), edit_status(form)


def _convocation_text_form(session: TrainingSession, stored: bool = False) -> ConvocationTextForm:
    """The form of the session's convocation texts (edit_versions: a session without texts yet is at 1)."""
    return edit_form(ConvocationTextForm, convocations.texts(session), stored)


@bp.route("/sessions/<int:session_id>/convocations/envoyer", methods=["POST"])
@access(ADMIN)
def convocations_send_all(session_id: int):
    """Send the convocations. The page's send buttons belong to the texts' form: the texts as typed are saved
    first, in the same transaction (with the stale-edit check), so that what is sent is what the office sees;
    if either is refused, nothing is written and the page comes back with the texts as typed."""
    session = _load_session(session_id)
    only_new = posted_state("only_new")
    if "message" in request.form:
        form = _convocation_text_form(session)
        if not form.validate_on_submit():
            return _convocations_page(session, form)

        def save_and_send():
            convocations.save_texts(session, form.what_to_bring.data, form.absence_procedure.data,
                                    form.message.data, opened_version=form.version.data)
            return convocations.send_all(session, only_new=only_new, actor=current_user)

        done = committed_unless_stale(form, save_and_send, lambda _error: show_stale(
            form, _convocation_text_form(session, stored=True)))
        if done is REFUSED:
            return _convocations_page(session, form)
    else:  # a bare post (no texts in it): the texts as stored
        if not PostForm().validate_on_submit():
            return redirect(url_for("enrolments.session_convocations", session_id=session_id))
        done = commit_or_flash(lambda: convocations.send_all(session, only_new=only_new, actor=current_user))
        if done is REFUSED:
            return redirect(url_for("enrolments.session_convocations", session_id=session_id))
    if done.sent:
        flash(ngettext("%(num)d convocation envoyée.", "%(num)d convocations envoyées.", len(done.sent)), "success")
        if done.skipped:
            flash(ngettext("Pas renvoyée, car envoyée il y a moins de deux minutes : %(names)s.",
                           "Pas renvoyées, car envoyées il y a moins de deux minutes : %(names)s.",
                           len(done.skipped), names=", ".join(e.trainee.full_name for e in done.skipped)), "info")
    else:
        flash(_("Toutes les personnes confirmées ont déjà reçu leur convocation à jour."), "info")
    return redirect(url_for("enrolments.session_convocations", session_id=session_id))


# --- import -------------------------------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/import", methods=["GET", "POST"])
@access(ADMIN)
def import_upload(session_id: int):
    session = _load_session(session_id)
    form = ImportUploadForm()
    if form.validate_on_submit():
        try:
            content, kind = enrolment_import.read_upload(request.files.get("file"),
                                                         current_app.config["MAX_CONTENT_LENGTH"])
            rows = enrolment_import.check(session, enrolment_import.parse(content, kind))
        except ServiceError as error:
            attach_service_error(form, error)
        else:
            return _import_preview(session, rows, enrolment_import.stash(session, content, kind))
    return render_template("enrolments/import_upload.html", session=session, form=form)


def _import_preview(session, rows, token: str):
    """The preview of a checked list (enrolment_import.check), whose confirmation names the stashed file."""
    return render_template("enrolments/import_preview.html", session=session, rows=rows,
                           confirm_form=ImportConfirmForm(formdata=None, upload=token),
                           valid=[r for r in rows if r.ok and not r.doubtful],
                           doubtful=[r for r in rows if r.doubtful], seats_left=enrolments.seats_left(session))


@bp.route("/sessions/<int:session_id>/import/confirmer", methods=["POST"])
@access(ADMIN)
def import_confirm(session_id: int):
    session = _load_session(session_id)
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("enrolments.import_upload", session_id=session_id))
    try:
        content, kind, path = enrolment_import.unstash(session, form.upload.data)
        rows = enrolment_import.import_rows(session, enrolment_import.parse(content, kind), actor=current_user,
                                            notify=form.notify.data, include=form.include.data or ())
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        if error.field == "include":  # a ticked line edited by hand: nothing imported, the same file previewed again
            return _import_preview(session, enrolment_import.check(session, enrolment_import.parse(content, kind)),
                                   form.upload.data)
        return redirect(url_for("enrolments.import_upload", session_id=session_id))
    db.session.commit()
    enrolment_import.discard(path)
    imported = [r for r in rows if r.outcome in ("confirmed", "waitlisted")]
    flash(_("%(imported)s, %(rejected)s.",
            imported=ngettext("%(num)d ligne importée", "%(num)d lignes importées", len(imported)),
            rejected=ngettext("%(num)d rejetée", "%(num)d rejetées", len(rows) - len(imported))),
          "success" if imported else "warning")
    return render_template("enrolments/import_result.html", session=session, rows=rows)


@bp.route("/inscriptions/modele-import.xlsx")
@access(ADMIN)
def import_template():
    return send_file(io.BytesIO(enrolment_import.template_workbook()), mimetype=XLSX, as_attachment=True,
                     download_name="modele-liste-participants.xlsx")


# --- e-mail written by the application -------------------------------------------------------------------

@bp.route("/admin/courriels")
@access(ADMIN)
def outbox():
    return render_template("enrolments/outbox.html", attention=mail.needing_attention(),
                           attention_count=mail.count_needing_attention(), messages=mail.outbox(),
                           form=PostForm(), shown_body=mail.shown_body, password_tag=mail.PASSWORD_TAG,
                           retry_minutes=current_app.config["MAIL_RETRY_MINUTES"],
                           give_up_hours=current_app.config["MAIL_GIVE_UP_HOURS"],
                           smtp=bool(current_app.config.get("MAIL_SERVER")))


@bp.route("/admin/courriels/<int:mail_id>/renvoyer", methods=["POST"])
@access(ADMIN)
def outbox_send_again(mail_id: int):
    return _outbox_button(mail_id, mail.send_again, _("Le courriel à %(to)s est remis en file d'envoi."))


@bp.route("/admin/courriels/<int:mail_id>/classer", methods=["POST"])
@access(ADMIN)
def outbox_dismiss(mail_id: int):
    return _outbox_button(mail_id, mail.dismiss, _("Le courriel à %(to)s est classé."))


def _outbox_button(mail_id: int, operation, done: str):
    record = db.get_or_404(OutgoingMail, mail_id)
    if PostForm().validate_on_submit():
        committed_or_flashed(lambda: operation(record), done % {"to": ", ".join(record.recipients)})
    return redirect(url_for("enrolments.outbox"))


# --- the public -----------------------------------------------------------------------------------------

REGISTRATION_LIMITS = "5 per minute; 40 per day"  # per address: requests made (robots' included)
# Per address, the confirmation links opened and confirmed: a group confirming from the room's Wi-Fi passes, a
# robot trying secrets does not (they are random: 256 bits).
CONFIRMATION_LIMITS = "30 per minute; 300 per day"

@bp.route("/formations/sessions/<int:session_id>/inscription", methods=["GET", "POST"])
@access(PUBLIC)
def public_register(session_id: int):
    """A request made here holds no seat and writes no person: it e-mails a confirmation link to the address
    typed (services/registration_requests.py). Only requests (and robots' answers) count against
    REGISTRATION_LIMITS: a person correcting a mistyped form, or an office registering its staff one after
    another from one address, is not turned away for it. A request is counted once made, before its commit,
    and undone when over the limit."""
    # The programme and its cycle come with the session: the page and the price need them.
    session = db.get_or_404(TrainingSession, session_id,
                            options=[joinedload(TrainingSession.programme).joinedload(Programme.cycle)])
    programme: Programme = session.programme
    if programme.archived:
        abort(404)
    form = PublicRegistrationForm()
    status = 200
    if form.validate_on_submit():  # ask() refuses a session whose registrations are closed
        if form.website.data:  # the hidden field: a robot. Answer as if it worked; record nothing.
            if not count_against(REGISTRATION_LIMITS, "public_register"):
                abort(429)
            return _registered(session, db.session.get(Organisation, 1))
        try:
            registration_requests.ask(session, form.details(), form.funding_mode.data)
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            if not count_against(REGISTRATION_LIMITS, "public_register"):
                refusal = _("Trop de demandes d'inscription depuis votre adresse en peu de temps : celle-ci n'a "
                            "pas été enregistrée. Réessayez dans quelques minutes.")
            elif not count_against(current_app.config["REGISTRATION_REQUESTS_PER_ADDRESS"],
                                   "public_register_email", key=typed_email_key()):  # each person's mailbox
                refusal = _("Trop de demandes d'inscription pour cette adresse e-mail en peu de temps : celle-ci "
                            "n'a pas été enregistrée. Réessayez plus tard.")
            else:
                # Read before the commit, so that the answer opens no second transaction (a connection checked
                # out and pinged again: bench/README.md, thirteenth round).
                organisation = db.session.get(Organisation, 1)
                commit_keeping_loaded()  # the answer needs no row read again
                return _registered(session, organisation)
            db.session.rollback()  # nothing recorded, nobody e-mailed; what was typed stays in the form
            form.form_errors.append(refusal)
            status = 429
    state, seats_left = registrations.public_offer(session)
    return render_template("enrolments/public_register.html", session=session, programme=programme, form=form,
                           state=state, seats_left=seats_left), status


def _registered(session: TrainingSession, organisation: Organisation | None) -> str:
    """The one answer to every request accepted (a robot's included): check your mailbox. Nothing on it depends
    on the address typed, so nobody learns from it whether that address was enrolled; the confirmation link
    goes to that address. The organisation's row is read, never created, by the caller (a public page writes
    nothing for it)."""
    return render_template("enrolments/public_registered.html", session=session, organisation=organisation,
                           hours=current_app.config["REGISTRATION_CONFIRM_HOURS"])


@bp.route("/formations/inscription/confirmer/<request_token>", methods=["GET", "POST"])
@access(PUBLIC)  # the link's secret is the key
@limiter.limit(CONFIRMATION_LIMITS)
def public_confirm(request_token: str):
    """The link e-mailed for a request: GET shows it (mail scanners open links: nothing is confirmed), its
    button (POST) confirms it, once; a confirmed request shows what became of it."""
    try:
        if request.method == "POST" and PostForm().validate_on_submit():
            try:
                done = registration_requests.confirm(request_token)
            except ServiceError as error:
                db.session.rollback()
                return _confirmation_page(registration_requests.find(request_token), error=error.message), 409
            commit_keeping_loaded()  # the answer needs no row read again
            return _confirmation_page(done.asked, done=done)
        asked = registration_requests.find(request_token)
    except registration_requests.RequestLinkError as error:
        db.session.rollback()
        return render_template("enrolments/public_confirm_invalid.html", reason=error.reason, asked=error.asked,
                               hours=current_app.config["REGISTRATION_CONFIRM_HOURS"]), \
            (410 if error.reason == "expired" else 404)
    if asked.confirmed_at is not None:
        return _confirmation_page(asked, done=registration_requests.outcome(asked))
    return _confirmation_page(asked, error=registration_requests.closed_since(asked))


def _confirmation_page(asked, *, done=None, error: str = ""):
    return render_template("enrolments/public_confirm.html", asked=asked, session=asked.session, done=done,
                           error=error, form=PostForm(), funding=registrations.funding_label(asked.funding_mode),
                           next_step=enrolments.what_comes_next(asked.session))


# --- the trainee, through their personal link ---------------------------------------------------------

def _own_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.trainee_id != g.trainee.id:
        abort(404)
    return enrolment


@bp.route("/moi/<token>/convocation/<int:enrolment_id>")
@trainee_view
def trainee_convocation(enrolment_id: int):
    enrolment = _own_enrolment(enrolment_id)
    if not convocations.still_valid(enrolment):
        flash(_("Cette inscription est annulée : sa convocation n'est plus valable."), "warning")
        return redirect(url_for("trainee.home", token=g.trainee_token))
    sending = convocations.last_sent_document(enrolment)
    if sending is None or not storage.exists(sending.document_path):
        abort(404)
    if convocations.is_outdated(sending):
        flash(convocations.outdated_notice(), "warning")
        return redirect(url_for("trainee.home", token=g.trainee_token))
    return send_file(io.BytesIO(storage.read(sending.document_path)), mimetype=DOCX, as_attachment=True,
                     download_name=convocations.filename(enrolment))


@bp.route("/moi/<token>/inscriptions/<int:enrolment_id>/annuler", methods=["POST"])
@trainee_view
def trainee_cancel(enrolment_id: int):
    enrolment = _own_enrolment(enrolment_id)
    form = TraineeCancelForm()
    if form.validate_on_submit():
        trainee = g.trainee
        try:
            enrolments.cancel(enrolment, form.reason.data or _("Annulée par le ou la stagiaire."),
                              actor_label=_("%(name)s (lien personnel)", name=trainee.full_name), by_trainee=True)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("Votre inscription est annulée. Merci de nous avoir prévenus : un e-mail vous le confirme."),
                  "success")
    elif form.reason.errors:  # too long: said under the field, with what was typed, to send again
        return render_template("enrolments/trainee_cancel.html", enrolment=enrolment, form=form)
    return redirect(url_for("trainee.home", token=g.trainee_token))


# --- data for the template hooks (sessions/detail.html, public/programme.html, trainee/home.html) ----

@bp.app_template_global()
def enrolment_action_label(action: str) -> str:
    """For enrolments/_office_details.html: the history's words for an action."""
    return enrolments.action_label(action)


@bp.app_template_global()
def enrolment_section(session: TrainingSession) -> dict:
    """The session page's lists: confirmed, waiting list (in promotion order), requests, closed; with the
    employer of each one's course (enrolments.course_employers, as the sheets and certificates name it). A
    trainer gets only the trainees they teach (access.shown_enrolments), and the others as numbers."""
    every = db.session.scalars(
        db.select(Enrolment).where(Enrolment.session_id == session.id)
        .options(db.joinedload(Enrolment.trainee), db.joinedload(Enrolment.employer))
        .order_by(Enrolment.requested_at, Enrolment.id)).all()
    rows = shown_enrolments(every)
    by_name = sorted(rows, key=lambda e: (e.trainee.last_name.lower(), e.trainee.first_name.lower()))
    places = enrolments.count_places(session)
    employers = enrolments.course_employers(every)
    return {
        "office": sees_office_details(),
        "confirmed": [e for e in by_name if e.status == "confirmed"],
        "waitlisted": sorted((e for e in rows if e.status == "waitlisted"), key=enrolments.waitlist_key),
        "requested": [e for e in rows if e.status == "requested"],
        "closed": [e for e in by_name if e.status in ("cancelled", "withdrawn")],
        "waitlisted_count": places.waiting,
        "requested_count": sum(e.status == "requested" for e in every),
        "employers": employers,
        "seats_taken": places.taken,
        "withdrawn_seats": sum(enrolments.keeps_seat(e) for e in every),  # counted in seats_taken
        "seats_left": places.left,
        "cancellable_withdrawals": enrolments.cancellable_withdrawals(session, every, places),
        "started": session.start_at <= local_now(),
        # takes no enrolment any more; one recorded afterwards from its paper sheets takes the office's
        "over": session_service.is_over(session) and not session.recorded_afterwards,
        "convoked": convocations.sent_enrolment_ids(session),
        "outdated": convocations.outdated_enrolment_ids(session, employers),
    }


@bp.app_template_global()
def unconfirmed_requests(session: TrainingSession) -> registration_requests.Waiting:
    """The newest of the session's requests of the public page waiting for their confirmation, and their number
    (administrators only: the template asks for them on their page alone; all of them: unconfirmed_list)."""
    return registration_requests.newest_unconfirmed(session, current_app.config["WAITING_REQUESTS_PER_PAGE"])


@bp.route("/sessions/<int:session_id>/demandes-en-attente")
@access(ADMIN)
def unconfirmed_list(session_id: int):
    """Every request of the public page waiting for its confirmation, newest first, a page at a time."""
    session = db.get_or_404(TrainingSession, session_id)
    page = db.paginate(registration_requests.unconfirmed_query(session),
                       per_page=current_app.config["WAITING_REQUESTS_PER_PAGE"], error_out=False)
    return render_template("enrolments/unconfirmed_requests.html", session=session, page=page)


@bp.app_template_global()
def public_session_offer(session: TrainingSession, seats_left: int | None = None) -> dict:
    """What the public page offers for a session: its state and the seats left (counted here unless given)."""
    state, seats_left = registrations.public_offer(session, seats_left)
    return {"state": state, "seats_left": seats_left}


@bp.app_template_global()
def trainee_enrolment_info(enrolment: Enrolment) -> dict:
    """For enrolments/_trainee_enrolment.html (the convocations of all the trainee's enrolments read at once)."""
    still_valid = convocations.still_valid(enrolment)
    sent = (trainee_links.per_trainee("convocations", enrolment.trainee_id,
                                      convocations.last_sent_documents).get(enrolment.id)
            if still_valid else None)
    convocation, outdated = sent or (None, False)
    over = session_service.is_over(enrolment.session)  # nobody waits for a place in a session over
    return {
        "over": over,
        "position": None if over else enrolments.waitlist_position(enrolment),
        "convocation": convocation,
        "convocation_outdated": convocations.outdated_notice() if outdated else "",  # instead of the link
        # A cancelled enrolment, or one of a cancelled session, gets no document: its « Documents » part is left out
        # (« Aucun document pour l'instant » would promise some).
        "documents_expected": still_valid,
        # Promised only before the course: once it has begun, a convocation still sent is not « avant la formation ».
        "convocation_to_come": (convocation is None and enrolment.session.start_at > local_now()
                                and convocations.may_be_convoked(enrolment)),
        "can_cancel": (enrolment.is_live and enrolment.session.start_at > local_now()
                       and enrolment.id not in trainee_links.per_trainee(  # all the trainee's at once
                           "attendance_begun", enrolment.trainee_id, enrolments.attendance_begun_of_trainee)),
        "cancel_form": TraineeCancelForm(),
    }


@bp.app_template_global()
def enrolment_requests() -> list[Enrolment]:
    """Requests waiting for the office (dashboard), oldest first."""
    return list(db.session.scalars(
        db.select(Enrolment).join(Enrolment.session)
        .where(Enrolment.status == "requested", TrainingSession.end_at >= local_now())
        .options(db.joinedload(Enrolment.trainee),
                 db.joinedload(Enrolment.session).joinedload(TrainingSession.programme))  # its title
        .order_by(Enrolment.requested_at).limit(10)))


@bp.app_template_global()
def failed_mail_count() -> int:
    """E-mail the SMTP server refused, or has not taken for a while (dashboard: the office must know)."""
    return mail.count_needing_attention()
