"""Attendance: the trainer's day, half-day sheets, signing (device, personal link, room QR code),
closing and corrections, the session grid and the printable / spreadsheet exports."""
import base64
import io

from flask import (abort, current_app, flash, g, make_response, redirect, render_template, request, send_file,
                   url_for)
from flask import session as browser_session
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from training_app.access import ADMIN, PUBLIC, STAFF, access, check_session_access, shown_enrolments
from training_app.blueprints.attendance import bp
from training_app.blueprints.attendance.forms import (BulkAbsenceForm, CloseForm, ForgetDeviceForm, MarkForm,
                                                      ReopenForm, ScanForm, SignatureForm)
from training_app.clock import local_now
from training_app.documents import attendance_sheet, storage, uploads
from training_app.extensions import db
from training_app.forms import attach_service_error
from training_app.formatting import date_fr, de
from training_app.models import Enrolment, Modality, SignatureMethod, Slot, TrainingSession
from training_app import page_cache
from training_app.page_cache import kept_page
from training_app.services import ServiceError
from training_app.services import attendance, funding, personal_data
from training_app.services.trainee_links import LinkError, per_trainee, trainee_from_token, trainee_view

DEVICE_COOKIE = "trainee_link"        # the personal link last opened on this phone
DEVICE_COOKIE_PATH = "/emargement/salle"  # sent only to the room QR code's page
QR_PAGE_REFRESH_SECONDS = 30  # the code rotates every minute and is accepted for two: the page keeps up


def _load_session(session_id: int) -> TrainingSession:
    session = db.get_or_404(TrainingSession, session_id)
    check_session_access(session)
    return session


def _load_slot(session_id: int, slot_id: int) -> tuple[TrainingSession, Slot]:
    session = _load_session(session_id)
    slot = db.get_or_404(Slot, slot_id)
    if slot.session_id != session.id:
        abort(404)
    return session, slot


def _load_enrolment(session: TrainingSession, enrolment_id: int) -> Enrolment:
    """An enrolment of this session the user may see (access.shown_enrolments): another session's trainee, and
    for a trainer a person on the waiting list, a request or a cancelled enrolment, is not found here (nor
    named by a refusal)."""
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    if enrolment.session_id != session.id or not shown_enrolments([enrolment]):
        abort(404)
    return enrolment


def _sheet_url(session_id: int, slot_id: int, anchor: str = "") -> str:
    url = url_for("attendance.slot_sheet", session_id=session_id, slot_id=slot_id)
    return url + (f"#{anchor}" if anchor else "")


ROW_NOTICE = page_cache.message_key("attendance_row_notice")


def _notify_row(slot_id: int, enrolment_id: int, message: str, category: str = "success",
                warnings: list[dict] | None = None) -> None:
    """Say `message` in the trainee's card, where the redirect to its anchor brings the trainer's eyes (not at the
    top of the sheet too, which is for the sheet-wide messages): shown once, by the next display of that sheet
    (slot_sheet), at its top if that sheet has no row for the trainee. `warnings` follow it, each a message and
    the address of the page it names ({"message", "url", "link"}: url may be empty)."""
    browser_session[ROW_NOTICE] = {"slot": slot_id, "enrolment": enrolment_id, "message": message,
                                   "category": category, "warnings": warnings or []}


def _claim_warnings(differences: list[funding.BilledDifference], name: str) -> list[dict]:
    """The row's warnings after a correction that makes a claim sent differ from the sheets: each names the
    claim, with a link to its page (an administrator's only: the page is theirs)."""
    return [{"message": d.describe(name),
             "url": url_for("funding.claim_detail", claim_id=d.claim.claim_id) if current_user.is_admin else "",
             "link": _("Voir la demande de paiement n° %(number)s", number=d.claim.number)} for d in differences]


def _row_notice_at_the_top(notice: dict, slot: Slot) -> str | None:
    """A row notice (_notify_row) shown at the top of `slot`'s sheet, which has no row for it: as it is when it is
    about this half-day; naming the half-day (and the session) it is about when it was left for another one (the
    trainer opened another sheet before that one came back); None when that half-day is gone (its statuses and
    signatures with it) or is not the signed-in user's to see."""
    if notice["slot"] == slot.id:
        return notice["message"]
    other = db.session.get(Slot, notice["slot"])
    if other is None or not (current_user.is_admin or other.session.has_trainer(current_user)):
        return None
    half_day = {"day": date_fr(other.date), "part": _("matin") if other.is_morning else _("après-midi"),
                "message": notice["message"]}
    if other.session_id == slot.session_id:
        return _("Feuille du %(day)s, %(part)s — %(message)s", **half_day)
    return _("Session « %(title)s », feuille du %(day)s, %(part)s — %(message)s", title=other.session.title,
             **half_day)


def _client() -> dict:
    return {"ip_address": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")}


def _flash_form_errors(form) -> None:
    for messages in form.errors.values():
        for message in messages:
            flash(message, "danger")


# --- staff pages ----------------------------------------------------------------------------------

@bp.route("/emargement")
@access(STAFF)
@kept_page
def today():
    return render_template("attendance/today.html", days=attendance.todays_sessions(current_user))


@bp.route("/sessions/<int:session_id>/emargement")
@access(STAFF)
@kept_page
def overview(session_id: int):
    session = _load_session(session_id)
    return render_template("attendance/overview.html", session=session, grid=attendance.session_grid(session),
                           voided_trainers=attendance_sheet.voided_trainers_text,
                           expected_statuses=attendance.EXPECTED_STATUSES)


@bp.app_template_global()
def paper_only_note(session: TrainingSession) -> str:
    """What the sheets of a session recorded afterwards from its paper sheets say (attendance.signs_in_app), ""
    for any other session."""
    return "" if attendance.signs_in_app(session) else attendance.recorded_afterwards_note()


def _render_sheet(session: TrainingSession, slot: Slot, failed: tuple[int, MarkForm] | None = None,
                  close_form: CloseForm | None = None, reopen_form: ReopenForm | None = None,
                  scan_form: ScanForm | None = None, status: int = 200, row_notice: dict | None = None):
    data = attendance.slot_sheet(slot)
    if row_notice and (row_notice.get("slot") != slot.id
                       or not any(r.enrolment.id == row_notice.get("enrolment") for r in data.rows)):
        message = _row_notice_at_the_top(row_notice, slot)  # no row of this sheet to say it in
        if message:
            flash(message, row_notice["category"])
            for warning in row_notice.get("warnings") or []:
                flash(warning["message"], "warning")
        row_notice = None
    # A closed sheet is read far more often than corrected: its correction form is built for the
    # row an administrator asked to correct (?corriger=<enrolment id>) only.
    correcting = request.args.get("corriger", type=int)
    # After the half-day's day, its sheet is the office's (services/attendance.mark, close_slot).
    marking_over = not current_user.is_admin and attendance.trainer_signing_over(slot)
    forms = {}
    for row in data.rows:
        if failed and failed[0] == row.enrolment.id:
            forms[row.enrolment.id] = form = failed[1]
            # The browser brings the first field in error (or the status) into view, with or without the script.
            invalid = next((f for f in form if f.errors and f.type not in ("CSRFTokenField", "HiddenField")),
                           form.status)
            invalid.render_kw = {**(invalid.render_kw or {}), "autofocus": True}
        elif row.withdrawn_on is not None or marking_over or (data.is_closed and row.enrolment.id != correcting):
            continue  # a half-day after the trainee's withdrawal is neither signed nor marked
        else:
            form = MarkForm(prefix=f"r{row.enrolment.id}", formdata=None)
            if row.record is not None:
                form.status.data = row.record.status
                form.arrival_time.data, form.departure_time.data = row.record.arrival_time, row.record.departure_time
                if data.is_closed:  # an open sheet is handed round for signing: absence reasons stay off it
                    form.justification.data = row.record.justification
            forms[row.enrolment.id] = form
        if row.signature is not None and not data.is_closed:  # an absence would void the signature
            form.reason.label.text = _("Motif de l'annulation de la signature")
    expected = attendance.expects_attendance(session)  # a cancelled session's sheet is neither signed nor closed
    # What the office is told before correcting: the claims sent to a funder that bill the sheet's trainees.
    billing = (funding.claims_billing_sheet(session, [r.enrolment.id for r in data.rows]) if current_user.is_admin
               else funding.SheetClaims())
    return render_template(
        "attendance/sheet.html", session=session, slot=slot, data=data, forms=forms,
        failed_id=failed[0] if failed else None, row_notice=row_notice, billing=billing,
        employers=attendance_sheet.employer_names(data),
        sign_form=SignatureForm(formdata=None), close_form=close_form or CloseForm(formdata=None),
        reopen_form=reopen_form or ReopenForm(formdata=None), scan_form=scan_form or ScanForm(formdata=None),
        bulk_form=BulkAbsenceForm(formdata=None, enrolments=",".join(str(r.enrolment.id) for r in data.unmarked)),
        expected=expected, signing_open=expected and attendance.is_signing_open(slot),
        window=attendance.signing_window(slot),
        signing_ahead=local_now() < attendance.signing_window(slot)[0], closing_opens=attendance.closing_opens(slot),
        closing_too_early=attendance.closing_too_early(slot, local_now()),
        trainer_signed=any(s.trainer_id == current_user.id for s in data.trainer_signatures),
        is_trainer=session.has_trainer(current_user), paper_only=paper_only_note(session),
        marking_over=attendance.day_over_message() if marking_over else "", reopened=attendance.was_reopened(data.sheet),
        office_closing=(current_user.is_admin and not data.is_closed and not data.trainer_signatures
                        and not attendance.scan_stands_for_trainer(data.sheet)
                        and (attendance.signs_in_app(session) or data.has_scan)  # paper only: its scan first
                        and attendance.trainer_signing_over(slot))), status


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>")
@access(STAFF)
@kept_page
def slot_sheet(session_id: int, slot_id: int):
    session, slot = _load_slot(session_id, slot_id)
    return _render_sheet(session, slot, row_notice=page_cache.pop_message(ROW_NOTICE))


# A refused status or closing serves the sheet at the URL it was posted to (status 422): a refresh, a tab restored or
# "back" on the tablet then GETs that URL. It brings the trainer back to the sheet (which checks who may see it)
# instead of « Erreur 405 »; a GET changes nothing.
@bp.get("/sessions/<int:session_id>/emargement/<int:slot_id>/signer/<int:enrolment_id>", endpoint="sign_reloaded")
@bp.get("/sessions/<int:session_id>/emargement/<int:slot_id>/statut/<int:enrolment_id>", endpoint="mark_reloaded")
@bp.get("/sessions/<int:session_id>/emargement/<int:slot_id>/absents", endpoint="absents_reloaded")
@bp.get("/sessions/<int:session_id>/emargement/<int:slot_id>/clore", endpoint="close_reloaded")
@bp.get("/sessions/<int:session_id>/emargement/<int:slot_id>/rouvrir", endpoint="reopen_reloaded")
@access(STAFF)
def back_to_sheet(session_id: int, slot_id: int, enrolment_id: int | None = None):
    _load_slot(session_id, slot_id)
    return redirect(_sheet_url(session_id, slot_id, f"stagiaire-{enrolment_id}" if enrolment_id else "cloture"))


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/signer/<int:enrolment_id>", methods=["POST"])
@access(STAFF)
def sign_on_device(session_id: int, slot_id: int, enrolment_id: int):
    """A trainee signs on the trainer's tablet."""
    session, slot = _load_slot(session_id, slot_id)
    enrolment = _load_enrolment(session, enrolment_id)
    form = SignatureForm()
    try:
        if not form.validate_on_submit():
            raise ServiceError(_("Le formulaire n'est pas valide : rechargez la page."))
        attendance.sign(slot, enrolment, form.signature.data, method=SignatureMethod.DEVICE,
                        actor=current_user, **_client())
    except ServiceError as error:
        db.session.rollback()
        _notify_row(slot_id, enrolment_id, error.message, "danger")
    else:
        db.session.commit()
        _notify_row(slot_id, enrolment_id,
                    _("Signature %(of_name)s enregistrée.", of_name=de(enrolment.trainee.full_name)))
    return redirect(_sheet_url(session_id, slot_id, f"stagiaire-{enrolment_id}"))


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/statut/<int:enrolment_id>", methods=["POST"])
@access(STAFF)
def mark(session_id: int, slot_id: int, enrolment_id: int):
    session, slot = _load_slot(session_id, slot_id)
    enrolment = _load_enrolment(session, enrolment_id)
    form = MarkForm(prefix=f"r{enrolment_id}")
    if form.validate_on_submit():
        try:
            attendance.mark(slot, enrolment, form.status.data, actor=current_user, arrival=form.arrival_time.data,
                            departure=form.departure_time.data, justification=form.justification.data or "",
                            document=form.document.data, reason=form.reason.data or "")
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            name = enrolment.trainee.full_name
            # The office's business (the claim's page is theirs): a trainer correcting a reopened sheet is not told.
            differences = funding.billed_differences(session, enrolment) if current_user.is_admin else []
            db.session.commit()
            _notify_row(slot_id, enrolment_id, _("Statut %(of_name)s enregistré.", of_name=de(name)),
                        warnings=_claim_warnings(differences, name))
            return redirect(_sheet_url(session_id, slot_id, f"stagiaire-{enrolment_id}"))
    # The sheet is long: the page names the trainee at its top and its script-free autofocus (on the first field
    # in error, or the status) brings their card into view (sheet.html).
    flash(_("Statut non enregistré pour %(name)s : %(errors)s", name=enrolment.trainee.full_name,
            errors=_errors_text(form, enrolment.trainee.full_name)), "danger")
    return _render_sheet(session, slot, failed=(enrolment_id, form), status=422)


def _errors_text(form, name: str) -> str:
    """A form's messages as the end of a sentence: « Indiquez l'heure d'arrivée. » becomes « indiquez l'heure
    d'arrivée. » (a message that begins with the trainee's name keeps it as it is)."""
    messages = list(form.form_errors) + [m for f in form for m in f.errors]
    text = " ".join(str(m) for m in messages) or _("le formulaire n'est pas valide.")
    return text if text.startswith(name) or text[1:2].isupper() else text[:1].lower() + text[1:]


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/absents", methods=["POST"])
@access(STAFF)
def mark_unmarked_absent(session_id: int, slot_id: int):
    """Mark absent (without justification) everyone the sheet listed as neither signed nor marked."""
    session, slot = _load_slot(session_id, slot_id)
    form = BulkAbsenceForm()
    try:
        if not form.validate_on_submit():
            raise ServiceError(_("Le formulaire n'est pas valide : rechargez la page."))
        ids = [int(i) for i in (form.enrolments.data or "").split(",") if i.strip().isdigit()]
        records = attendance.mark_unmarked_absent(slot, current_user, ids)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(ngettext("%(num)d personne marquée absente (sans justificatif).",
                       "%(num)d personnes marquées absentes (sans justificatif).", len(records)), "success")
    return redirect(_sheet_url(session_id, slot_id, "cloture"))


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/clore", methods=["POST"])
@access(STAFF)
def close(session_id: int, slot_id: int):
    session, slot = _load_slot(session_id, slot_id)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            sheet = attendance.close_slot(slot, current_user, form.signature.data or None,
                                          reason=form.reason.data or "", **_client())
        except ServiceError as error:
            db.session.rollback()
            if error.field == "reason":
                attach_service_error(form, error)
            else:
                flash(error.message, "danger")
            form.signature.data = attendance.signature_to_redraw(form.signature.data)  # not drawn again by hand
            return _render_sheet(session, slot, close_form=form, status=422)
        db.session.commit()
        if sheet.office_closing_reason:
            flash(_("Feuille close par l'administration, sans signature du / de la formateur·rice."), "success")
        elif attendance.trainer_signed(slot):
            flash(_("Feuille signée et close."), "success")
        else:  # the paper sheet's scan stands for the trainer's signature (attendance.scan_stands_for_trainer)
            flash(_("Feuille close (feuille papier jointe)."), "success")
    else:
        _flash_form_errors(form)
    return redirect(_sheet_url(session_id, slot_id))


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/rouvrir", methods=["POST"])
@access(ADMIN)
def reopen(session_id: int, slot_id: int):
    session, slot = _load_slot(session_id, slot_id)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            attendance.reopen_slot(slot, current_user, form.reason.data)
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Feuille rouverte. La version close reste dans l'historique."), "success")
            return redirect(_sheet_url(session_id, slot_id))
    return _render_sheet(session, slot, reopen_form=form, status=422)


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/scan", methods=["POST"])
@access(ADMIN)
def scan_upload(session_id: int, slot_id: int):
    session, slot = _load_slot(session_id, slot_id)
    form = ScanForm()
    try:
        if not form.validate_on_submit():
            raise ServiceError(_("Le formulaire n'est pas valide : rechargez la page."))
        attendance.attach_scan(slot, form.file.data, current_user, form.reason.data or "")
    except ServiceError as error:
        db.session.rollback()
        attach_service_error(form, error)
        return _render_sheet(session, slot, scan_form=form, status=422)
    db.session.commit()
    flash(_("Scan de la feuille papier joint."), "success")
    return redirect(_sheet_url(session_id, slot_id, "scan"))


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/scan")
@access(STAFF)
def scan_download(session_id: int, slot_id: int):
    slot = _load_slot(session_id, slot_id)[1]
    data = attendance.slot_sheet(slot)
    if data.has_scan and personal_data.is_expired_file(data.sheet.scan_path):
        flash(_("Le scan de cette feuille a été supprimé au terme de la durée de conservation des pièces des "
                "stagiaires qu'elle imprime."), "warning")
        return redirect(_sheet_url(session_id, slot_id, "scan"))
    if not data.has_scan or not storage.exists(data.sheet.scan_path):
        abort(404)
    return _send_stored(data.sheet.scan_path, data.sheet.scan_kind, f"feuille-papier-{slot.date:%Y-%m-%d}")


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/justificatif/<int:enrolment_id>")
@access(STAFF)
def justification_download(session_id: int, slot_id: int, enrolment_id: int):
    _session, slot = _load_slot(session_id, slot_id)
    row = next((r for r in attendance.slot_sheet(slot).rows if r.enrolment.id == enrolment_id), None)
    if row is None or row.record is None or not storage.exists(row.record.justification_path):
        abort(404)
    return _send_stored(row.record.justification_path, row.record.justification_kind,
                        f"justificatif-{slot.date:%Y-%m-%d}")


def _send_stored(path: str, kind: str, name: str):
    return send_file(io.BytesIO(storage.read(path)), mimetype=uploads.MIMETYPES[kind], as_attachment=True,
                     download_name=f"{name}.{'jpg' if kind == 'jpeg' else kind}")


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/historique")
@access(STAFF)
def history(session_id: int, slot_id: int):
    session, slot = _load_slot(session_id, slot_id)
    return render_template("attendance/history.html", session=session, slot=slot,
                           versions=attendance.versions(slot))


@bp.route("/sessions/<int:session_id>/emargement/<int:slot_id>/qr")
@access(STAFF)
def qr(session_id: int, slot_id: int):
    session, slot = _load_slot(session_id, slot_id)
    if not attendance.signs_in_app(session):  # recorded afterwards from its paper sheets: nobody signs it here
        abort(404)
    png = base64.b64encode(attendance.qr_png(_public_qr_url(slot))).decode()
    response = make_response(render_template(
        "attendance/qr.html", session=session, slot=slot, png=png, signing_open=attendance.is_signing_open(slot),
        refresh_seconds=QR_PAGE_REFRESH_SECONDS))
    response.headers["Cache-Control"] = "no-store"
    return response


def _public_qr_url(slot: Slot) -> str:
    from training_app.urls import public_url
    return public_url("attendance.room", qr_token=attendance.qr_token(slot))


@bp.route("/sessions/<int:session_id>/emargement/signatures/<int:signature_id>.png")
@access(STAFF)
def signature_png(session_id: int, signature_id: int):
    signature = attendance.signature_image(_load_session(session_id), signature_id)
    if signature is None or not signature.image:  # deleted at the end of the retention period
        abort(404)
    response = send_file(io.BytesIO(signature.image), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/sessions/<int:session_id>/emargement/feuille.docx")
@access(STAFF)
def word_sheet(session_id: int):
    session = _load_session(session_id)
    return _docx(attendance_sheet.word_sheet(session), f"feuille-emargement-{session.start_at:%Y-%m-%d}.docx")


@bp.route("/sessions/<int:session_id>/emargement/feuille-vierge.docx")
@access(STAFF)
def blank_word_sheet(session_id: int):
    session = _load_session(session_id)
    return _docx(attendance_sheet.word_sheet(session, blank=True),
                 f"feuille-emargement-vierge-{session.start_at:%Y-%m-%d}.docx")


def _docx(content: bytes, name: str):
    return send_file(io.BytesIO(content), mimetype=uploads.MIMETYPES["docx"], as_attachment=True,
                     download_name=name)


@bp.route("/sessions/<int:session_id>/emargement/grille.xlsx")
@access(STAFF)
def excel_grid(session_id: int):
    session = _load_session(session_id)
    return send_file(io.BytesIO(attendance_sheet.excel_grid(session)), mimetype=uploads.MIMETYPES["xlsx"],
                     as_attachment=True, download_name=f"emargement-{session.start_at:%Y-%m-%d}.xlsx")


# --- trainees -------------------------------------------------------------------------------------

@bp.route("/moi/<token>/emargement/<int:slot_id>", methods=["GET", "POST"])
@trainee_view
def trainee_sign(slot_id: int):
    """A trainee signs for themself: who signs comes from their personal link, never from the QR code.

    Outside their own sessions the page names nothing (neither the session nor the date) and is the same
    whether the half-day exists or not: a personal link walking slot ids learns nothing of other sessions."""
    slot = db.session.get(Slot, slot_id)
    enrolment = attendance.trainee_enrolment(slot, g.trainee) if slot is not None else None
    if enrolment is None:
        return render_template("attendance/trainee_sign.html", slot=None, enrolment=None, form=None,
                               trainee=g.trainee), 403
    form = SignatureForm(qr=request.args.get("qr", ""))
    # Opened from the room's QR code (room(): the phone may be shared) rather than from the trainee's own link.
    from_room = bool(form.qr.data)
    scanned = attendance.scanned_in_room(slot, g.trainee, form.qr.data or "")
    needs_qr = slot.session.modality == Modality.IN_PERSON and not scanned
    qr_expired = bool(form.qr.data) and not scanned
    if qr_expired and not needs_qr:  # remote or mixed: the personal link is enough, an expired pass is dropped
        form.qr.data = ""
    if form.validate_on_submit():
        try:
            attendance.sign_as_trainee(slot, g.trainee, form.signature.data, qr=form.qr.data or "", **_client())
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Merci, votre signature est enregistrée."), "success")
            return redirect(url_for("attendance.trainee_sign", token=g.trainee_token, slot_id=slot.id,
                                    qr=form.qr.data or None))
    data = attendance.slot_sheet(slot)
    row = next((r for r in data.rows if r.enrolment.id == enrolment.id), None)
    return render_template("attendance/trainee_sign.html", slot=slot, enrolment=enrolment, form=form,
                           trainee=g.trainee, row=row, closed=data.is_closed, needs_qr=needs_qr,
                           qr_expired=qr_expired, from_room=from_room,
                           signing_phase=attendance.signing_phase(slot), window=attendance.signing_window(slot),
                           forget_form=ForgetDeviceForm(formdata=None)), 200 if not form.errors else 422


@bp.route("/emargement/salle/<qr_token>")
@access(PUBLIC)
def room(qr_token: str):
    """What the room's QR code opens: whose personal link this phone remembers, and the way to sign as them.

    The phone may be shared: the page names the trainee and offers to forget them ("ce n'est pas
    moi"). Signing always goes through that trainee's own link, with a short-lived pass of the scan.
    """
    slot = attendance.slot_from_qr(qr_token)
    if slot is None:
        return render_template("attendance/room.html", slot=None), 404
    remembered, trainee, link_problem = request.cookies.get(DEVICE_COOKIE, ""), None, None
    if remembered:
        try:
            trainee = trainee_from_token(remembered)
        except LinkError as error:  # expired, revoked...: the page says so, not "who are you?"
            link_problem = error.reason
    sign_url = None
    if trainee is not None:
        sign_url = url_for("attendance.trainee_sign", token=remembered, slot_id=slot.id,
                           qr=attendance.qr_pass(slot, trainee))
    response = make_response(render_template("attendance/room.html", slot=slot, trainee=trainee, sign_url=sign_url,
                                             link_problem=link_problem, forget_form=ForgetDeviceForm(formdata=None)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/emargement/salle/oublier", methods=["POST"])
@access(PUBLIC)
def forget_device():
    form = ForgetDeviceForm()
    response = redirect(url_for("trainee.request_link"))
    if form.validate_on_submit():
        response.delete_cookie(DEVICE_COOKIE, path=DEVICE_COOKIE_PATH)
        flash(_("Ce téléphone ne vous reconnaît plus. Ouvrez votre propre lien personnel pour signer."), "info")
    return response


# The pages that teach a phone whose it is, for the room's QR code: the personal home page (the link of every
# e-mail, which the room page asks to open) and the signing page (where the room page leads). Not the other
# personal pages nor the downloads. The browser sends the cookie to the room page only, so these pages cannot
# see whether it is already there: each of them sets it again.
REMEMBERING_PAGES = {"trainee.home", "attendance.trainee_sign"}


@bp.after_app_request
def remember_trainee_device(response):
    """A phone that opened a personal link remembers it for the room QR code (that page only)."""
    token = g.get("trainee_token")
    if token and response.status_code == 200 and request.endpoint in REMEMBERING_PAGES:
        response.set_cookie(DEVICE_COOKIE, token, path=DEVICE_COOKIE_PATH, httponly=True, samesite="Lax",
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
                            max_age=current_app.config["TRAINEE_LINK_MAX_AGE_DAYS"] * 86400)
    return response


# --- helpers for the other features' pages (template hooks) --------------------------------------

bp.add_app_template_global(attendance.PAD_EXPORT_MAX_SIDE, "signature_pad_max_side")  # read by the pad macro


@bp.app_context_processor
def template_helpers():
    return {"attendance_today": _today, "attendance_section": _section, "attendance_trainee": _trainee_info,
            "attendance_labels": attendance.STATUS_LABELS, "attendance_method_labels": attendance.METHOD_LABELS,
            "sheet_action_labels": attendance.SHEET_ACTION_LABELS}


def _today():
    if not current_user.is_authenticated:
        return []
    return attendance.todays_sessions(current_user)


def _section(session: TrainingSession) -> dict:
    open_slots = attendance.open_slots(session)
    return {"open": len(open_slots), "total": len(session.slots), "current": attendance.signable_slot(session),
            "expected": attendance.expects_attendance(session)}


def _trainee_info(enrolment: Enrolment) -> dict | None:
    if enrolment.status not in ("confirmed", "withdrawn"):
        return None
    totals = per_trainee("attendance", enrolment.trainee_id, attendance.totals_for_trainee)[enrolment.id]
    marked = totals.attended_minutes + totals.absent_justified_minutes + totals.absent_unjustified_minutes
    current = attendance.signable_slot(enrolment.session) if enrolment.status == "confirmed" else None
    return {"totals": totals, "marked": marked, "current": current,
            "in_person": enrolment.session.modality == "in_person"}

