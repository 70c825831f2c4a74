"""Certificates: issue, download (one, or a session's .zip), e-mail, trainees' downloads, templates,
and the public verification page."""
from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from training_app.access import ADMIN, PUBLIC, STAFF, access, check_session_access
from training_app.blueprints.certificates import bp
from training_app.blueprints.certificates.forms import (ActionForm, EnrolmentIssueForm, IssueForm, TemplateUploadForm,
                                                        VerifyForm)
from training_app.extensions import db, limiter
from training_app.forms import REFUSED, attach_service_error, commit_or_flash
from training_app.models import Enrolment, IssuedCertificate, Organisation, TrainingSession
from training_app.formatting import date_fr, de
from training_app.services import ServiceError
from training_app.services import certificates as certificate_service
from training_app.services import organisation as organisation_service
from training_app.services import outcomes as outcome_service
from training_app.services import session_zip as session_zip_service
from training_app.services.trainee_links import per_trainee, trainee_view

VERIFY_LIMIT = "20 per minute; 200 per hour"


@bp.app_template_global()
def certificates_overview(session: TrainingSession):
    """For certificates/_session_section.html: eligible enrolments with their current documents."""
    return certificate_service.session_overview(session)


@bp.app_template_global()
def unrecorded_outcomes(session: TrainingSession) -> dict[int, int]:
    """For certificates/_session_section.html: enrolment id -> how many objectives of the course nothing was
    recorded for (only the enrolments that have some)."""
    return {enrolment_id: len(objectives)
            for enrolment_id, objectives in outcome_service.unrecorded_for_session(session).items()}


@bp.app_template_global()
def trainee_certificates(enrolment: Enrolment) -> list[IssuedCertificate]:
    """For certificates/_trainee_enrolment.html: the trainee's current documents, in order (those of all their
    enrolments read at once)."""
    documents = per_trainee("certificates", enrolment.trainee_id,
                            certificate_service.current_documents_for_trainee).get(enrolment.id, {})
    return [documents[kind] for kind in certificate_service.KINDS if kind in documents]


@bp.app_template_global()
def certificate_documents_seen(session: TrainingSession) -> str:
    """For certificates/_session_section.html: what the session's issue form carries of the documents shown."""
    return certificate_service.documents_fingerprint(session)


@bp.app_template_global()
def sessions_awaiting_certificates():
    """For certificates/_dashboard.html (administrators)."""
    return certificate_service.sessions_awaiting_certificates()


@bp.app_template_global()
def certificate_signature_missing() -> str | None:
    """For certificates/_signature_missing.html: the signature image the certificat de réalisation lacks."""
    return organisation_service.missing_signature_image()


@bp.app_template_global()
def certificate_kind_label(kind: str) -> str:
    return str(certificate_service.KIND_LABELS.get(kind, kind))


def _load_session(session_id: int) -> TrainingSession:
    session = db.get_or_404(TrainingSession, session_id)
    check_session_access(session)
    return session


def _load_enrolment(session_id: int, enrolment_id: int) -> Enrolment:
    """An enrolment of a session the user may see, for a posted action button (CSRF checked)."""
    session = _load_session(session_id)
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    if enrolment.session_id != session.id or not ActionForm().validate_on_submit():
        abort(404)
    return enrolment


def _back(session_id: int):
    return redirect(url_for("sessions.session_detail", session_id=session_id) + "#attestations")


def _expired_message(trainee) -> str:
    return _("Les fichiers des documents de cette personne ont été supprimés le %(date)s, au terme de la durée de "
             "conservation : seuls leurs numéros, codes de vérification et dates restent.",
             date=date_fr(trainee.records_expired_at, "d MMMM y"))


def _send_file(content: bytes, filename: str, mimetype: str) -> Response:
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


# --- staff -------------------------------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/attestations", methods=["GET"])
@access(STAFF)
def session_documents(session_id: int):
    """Every document issued for the session, replaced versions included."""
    session = _load_session(session_id)
    documents = db.session.scalars(
        db.select(IssuedCertificate).join(IssuedCertificate.enrolment)
        .where(Enrolment.session_id == session.id)
        .order_by(IssuedCertificate.year.desc(), IssuedCertificate.sequence.desc())).all()
    return render_template("certificates/session_documents.html", session=session, documents=documents)


@bp.route("/sessions/<int:session_id>/attestations/emettre", methods=["POST"])
@access(ADMIN)
def issue_session(session_id: int):
    session = _load_session(session_id)
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    report = commit_or_flash(lambda: certificate_service.issue_for_session(
        session, reissue=form.reissue.data, unrecorded_confirmed=form.confirm_unrecorded.data,
        documents_seen=form.documents_seen.data or None))
    if report is not REFUSED:
        if report.issued:
            flash(ngettext("%(num)d document émis.", "%(num)d documents émis.", len(report.issued)), "success")
        elif report.already_issued:
            flash(ngettext("Rien à émettre : %(num)d stagiaire a déjà ses documents.",
                           "Rien à émettre : %(num)d stagiaires ont déjà leurs documents.", report.already_issued),
                  "info")
        elif not report.withdrawn:
            flash(_("Rien à émettre."), "info")
        for message in certificate_service.kept_outdated_messages(report.outdated):
            flash(message, "warning")
        if report.without_attendance:
            flash(_("Sans présence, donc sans attestation : %(names)s.",
                    names=", ".join(e.trainee.full_name for e in report.without_attendance)), "warning")
        if report.withdrawn:
            flash(_("Documents retirés (plus aucune présence après correction des feuilles) : %(numbers)s.",
                    numbers=", ".join(doc.number for doc in report.withdrawn)), "warning")
        if report.records_expired:
            flash(certificate_service.records_expired_refusal(len(report.records_expired)), "warning")
    return _back(session_id)


@bp.route("/sessions/<int:session_id>/attestations/inscription/<int:enrolment_id>/emettre", methods=["POST"])
@access(ADMIN)
def issue_enrolment(session_id: int, enrolment_id: int):
    enrolment = _load_enrolment(session_id, enrolment_id)
    form = EnrolmentIssueForm()
    documents = commit_or_flash(lambda: certificate_service.issue_for_enrolment(
        enrolment, unrecorded_confirmed=form.confirm_unrecorded.data, documents_seen=form.documents_seen.data or None))
    if documents is REFUSED:
        return _back(session_id)
    if documents:
        flash(_("Documents émis pour %(name)s : %(numbers)s.", name=enrolment.trainee.full_name,
                numbers=", ".join(doc.number for doc in documents)), "success")
    else:
        flash(_("Documents %(of_name)s retirés : plus aucune présence après correction des feuilles.",
                of_name=de(enrolment.trainee.full_name)), "warning")
    return _back(session_id)


@bp.route("/sessions/<int:session_id>/attestations/<int:certificate_id>/telecharger")
@access(STAFF)
def download(session_id: int, certificate_id: int):
    session = _load_session(session_id)
    doc = db.get_or_404(IssuedCertificate, certificate_id)
    if doc.enrolment.session_id != session.id:
        abort(404)
    if doc.enrolment.trainee.records_expired:
        flash(_expired_message(doc.enrolment.trainee), "warning")
        return _back(session_id)
    try:
        return _send_file(certificate_service.document_bytes(doc), doc.filename, doc.mimetype)
    except ServiceError as error:
        flash(error.message, "danger")
        return _back(session_id)


@bp.route("/sessions/<int:session_id>/attestations.zip")
@access(STAFF)
def download_zip(session_id: int):
    session = _load_session(session_id)
    try:
        content = session_zip_service.session_zip(session)
    except ServiceError as error:
        flash(error.message, "warning")
        return _back(session_id)
    return _send_file(content, certificate_service.zip_filename(session), "application/zip")


@bp.route("/sessions/<int:session_id>/attestations/envoyer", methods=["POST"])
@access(ADMIN)
def send_session(session_id: int):
    session = _load_session(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    report = commit_or_flash(lambda: certificate_service.send_for_session(session))
    if report is not REFUSED:
        if report.sent:
            flash(ngettext("Documents envoyés par e-mail à %(num)d stagiaire.",
                           "Documents envoyés par e-mail à %(num)d stagiaires.", report.sent), "success")
        if report.skipped:
            flash(_("Non renvoyés : %(refusal)s", refusal=certificate_service.skipped_message(report.skipped)),
                  "info")
        if report.left_out:
            flash(_("Non envoyés : %(refusal)s", refusal=certificate_service.left_out_message(report.left_out)),
                  "warning")
    return _back(session_id)


@bp.route("/sessions/<int:session_id>/attestations/inscription/<int:enrolment_id>/envoyer", methods=["POST"])
@access(ADMIN)
def send_enrolment(session_id: int, enrolment_id: int):
    enrolment = _load_enrolment(session_id, enrolment_id)
    if commit_or_flash(lambda: certificate_service.send_to_trainee(enrolment)) is not REFUSED:
        flash(_("Documents envoyés à %(email)s.", email=enrolment.trainee.email), "success")
    return _back(session_id)


# --- templates ---------------------------------------------------------------------------------------

def _templates_page(forms: dict | None = None, status: int = 200):
    forms = forms or {}
    kinds = [(kind, certificate_service.KIND_LABELS[kind], certificate_service.template_in_use(kind),
              forms.get(kind) or TemplateUploadForm(prefix=kind)) for kind in certificate_service.KINDS]
    return render_template("certificates/templates.html", kinds=kinds, output=certificate_service.output_format()), status


@bp.route("/admin/attestations/modeles")
@access(ADMIN)
def templates():
    return _templates_page()


@bp.route("/admin/attestations/modeles/<kind>", methods=["POST"])
@access(ADMIN)
def template_upload(kind: str):
    if kind not in certificate_service.KINDS:
        abort(404)
    form = TemplateUploadForm(prefix=kind)
    if form.validate_on_submit():
        try:
            certificate_service.upload_template(kind, form.file.data)
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Nouveau modèle « %(kind)s » en service : il a été testé avec des données d'exemple.",
                    kind=certificate_service.KIND_LABELS[kind]), "success")
            return redirect(url_for("certificates.templates"))
    return _templates_page({kind: form}, 400 if form.errors or form.form_errors else 200)


@bp.route("/admin/attestations/modeles/<kind>/retablir", methods=["POST"])
@access(ADMIN)
def template_restore(kind: str):
    if kind not in certificate_service.KINDS or not ActionForm().validate_on_submit():
        abort(404)
    certificate_service.restore_shipped_template(kind)
    db.session.commit()
    flash(_("Le modèle d'origine est de nouveau en service."), "success")
    return redirect(url_for("certificates.templates"))


@bp.route("/admin/attestations/modeles/<kind>/telecharger")
@access(ADMIN)
def template_download(kind: str):
    if kind not in certificate_service.KINDS:
        abort(404)
    try:
        content = certificate_service.template_bytes(kind)
    except ServiceError as error:
        flash(error.message, "danger")
        return redirect(url_for("certificates.templates"))
    return _send_file(content, certificate_service.TEMPLATE_FILES[kind],
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


# --- trainees ----------------------------------------------------------------------------------------

@bp.route("/moi/<token>/attestations/<int:certificate_id>")
@trainee_view
def trainee_download(certificate_id: int):
    doc = certificate_service.trainee_document(g.trainee, certificate_id)
    if doc is None:
        abort(404)
    if not doc.is_current:  # an old link (an e-mail of the first version): which one is valid now
        flash(certificate_service.replaced_notice(doc), "warning")
        return redirect(url_for("trainee.home", token=g.trainee_token))
    try:
        return _send_file(certificate_service.document_bytes(doc), doc.filename, doc.mimetype)
    except ServiceError:
        flash(_("Ce document est momentanément indisponible : signalez-le à l'équipe de formation."), "warning")
        current_app.logger.error("certificate %s: stored file missing or altered", doc.number)
        return redirect(url_for("trainee.home", token=g.trainee_token))


# --- public verification -----------------------------------------------------------------------------
# "/verifier" is the address printed on certificates; "/verify" stays for those issued before it (url_for builds
# the first rule registered, i.e. the decorator nearest the function).

@bp.route("/verify")
@bp.route("/verifier")
@access(PUBLIC)
@limiter.limit(VERIFY_LIMIT)
def verify_form():
    form = VerifyForm(request.args)
    if request.args and form.validate():
        code = certificate_service.normalise_code(form.code.data)
        if code:
            return redirect(url_for("certificates.verify", code=code))
        form.code.errors.append(_("Ce code ne contient ni lettre ni chiffre : recopiez-le depuis le document."))
    return render_template("certificates/verify_form.html", form=form)


@bp.route("/verify/<code>")
@bp.route("/verifier/<code>")
@access(PUBLIC)
@limiter.limit(VERIFY_LIMIT)
def verify(code: str):
    doc = certificate_service.find_by_code(code)
    if doc is None:
        return render_template("certificates/verify.html", doc=None, code=code[:40], form=VerifyForm()), 404
    return render_template("certificates/verify.html", doc=doc, code=doc.verification_code,
                           kind_label=certificate_service.KIND_LABELS[doc.kind],
                           issuer=Organisation.get().name or _("l'organisme de formation"),
                           current=None if doc.is_current else certificate_service.current_version(doc),
                           expired_at=doc.enrolment.trainee.records_expired_at)
