"""Sessions: administrators schedule them; trainers see the ones they teach."""
from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from training_app import formatting
from training_app.access import ADMIN, STAFF, access, check_session_access
from training_app.blueprints.sessions import bp
from training_app.blueprints.sessions.forms import (CANCELLED_CHOICES, NOT_OVER_CHOICES, STATUS_CHOICES,
                                                   CancelSessionForm, FilterForm, SessionEditForm, SessionForm,
                                                   SlotForm)
from training_app.extensions import db
from training_app.forms import (REFUSED, attach_service_error, committed, committed_or_flashed, edit_committed,
                                 edit_form, edit_status, from_cents, to_cents)
from training_app.models import Programme, SessionStatus, Slot, TrainingSession, User
from training_app.page_cache import kept_page
from training_app.services import ServiceError, convocations, mail
from training_app.services import enrolments as enrolment_service
from training_app.services import programmes as programme_service
from training_app.services import sessions as session_service


def _programme_choices(include_id=None):
    rows = db.session.execute(db.select(Programme.id, Programme.title, Programme.archived).order_by(Programme.title))
    return [(p.id, p.title) for p in rows if not p.archived or p.id == include_id]


def _trainer_choices(session=None):
    """The active accounts, and the session's own trainers whose account was deactivated since (unticking
    them is a choice, not a side effect of editing the session)."""
    active = session_service.trainers()
    kept = [u for u in (session.trainers if session else []) if not u.active]
    return [(u.id, u.name) for u in active] + [(u.id, _("%(name)s (compte désactivé)", name=u.name)) for u in kept]


def _prepare(form: SessionForm, session=None) -> None:
    form.programme_id.choices = _programme_choices(session.programme_id if session else None)
    form.trainers.choices = _trainer_choices(session)
    form.session = session
    if session is not None and session.status == SessionStatus.CANCELLED:
        form.status.choices = CANCELLED_CHOICES
    elif session is not None and session_service.is_over(session):  # one over may be marked so
        form.status.choices = STATUS_CHOICES
    else:
        form.status.choices = NOT_OVER_CHOICES


def _session_data(form: SessionForm) -> session_service.SessionData:
    trainers = db.session.scalars(db.select(User).where(User.id.in_(form.trainers.data or []))).all()
    return session_service.SessionData(
        programme=db.session.get(Programme, form.programme_id.data),
        start_at=datetime.combine(form.start_date.data, form.start_time.data),
        end_at=datetime.combine(form.end_date.data, form.end_time.data),
        place=form.place.data or "", access_info=form.access_info.data or "", modality=form.modality.data,
        capacity=form.capacity.data, price_cents=to_cents(form.price.data), status=form.status.data,
        contact_person=form.contact_person.data or "", trainers=tuple(trainers),
        timetable=((form.morning_start.data, form.morning_end.data),
                   (form.afternoon_start.data, form.afternoon_end.data)),
        include_weekends=bool(form.include_weekends.data),
    )


def _load(session_id: int) -> TrainingSession:
    session = db.get_or_404(TrainingSession, session_id)
    check_session_access(session)
    return session


@bp.app_template_filter("session_state")
def session_state(session: TrainingSession) -> str:
    """{{ session|session_state }}: the state to show, moved on by the calendar (session_service.shown_status)."""
    return formatting.label(session_service.shown_status(session))


@bp.route("/sessions")
@access(STAFF)
@kept_page
def session_list():
    form = FilterForm(request.args)
    form.programme.choices = [(0, _("Toutes"))] + _programme_choices()
    form.trainer.choices = [(0, _("Tous·tes"))] + [(u.id, u.name) for u in session_service.trainers()]
    phase = form.phase.data if form.phase.data in session_service.PHASES else ""
    query = session_service.sessions_query(
        current_user, phase_filter=phase, programme_id=form.programme.data if form.validate() else None,
        trainer_id=form.trainer.data or None)
    page = db.paginate(query, per_page=current_app.config["SESSIONS_PER_PAGE"], error_out=False)
    places = enrolment_service.places_of(page.items)  # one statement for the page's sessions
    return render_template("sessions/list.html", page=page, form=form, phase=phase, places=places)


@bp.route("/sessions/nouvelle", methods=["GET", "POST"])
@access(ADMIN)
def session_create():
    form = SessionForm()
    _prepare(form)
    if not form.is_submitted() and request.args.get("programme", type=int):
        programme = db.session.get(Programme, request.args.get("programme", type=int))
        if programme:
            form.programme_id.data = programme.id
            form.capacity.data = programme.default_capacity
            form.price.data = from_cents(programme.price_cents)
    if form.validate_on_submit():
        data = _session_data(form)
        try:
            session = session_service.create_session(data, recorded_afterwards=form.past_allowed)
        except ServiceError as error:
            db.session.rollback()
            _prepare(form)
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(ngettext("Session créée : %(num)d demi-journée, %(hours)s prévues.",
                           "Session créée : %(num)d demi-journées, %(hours)s prévues.", len(session.slots),
                           hours=formatting.hours(session.planned_minutes)), "success")
            _flash_hours_unlike_programme(session)
            _flash_weekend_left_out(data)
            return redirect(url_for("sessions.session_detail", session_id=session.id))
    return render_template("sessions/form.html", form=form, session=None)


@bp.route("/sessions/<int:session_id>")
@access(STAFF)
@kept_page
def session_detail(session_id: int):
    return _detail_page(_load(session_id))


def _detail_page(session: TrainingSession, slot_form: SlotForm | None = None, status: int = 200):
    """The session's page; with `slot_form`, the half-day form as typed, refused (its messages on its fields)."""
    return render_template("sessions/detail.html", session=session, slot_form=slot_form or SlotForm(formdata=None),
                           phase=session_service.phase(session),
                           half_days_addable=current_user.is_admin and session_service.half_days_addable(session),
                           changeable_half_days=(session_service.changeable_half_days(session)
                                                 if current_user.is_admin else set()),
                           cancellable=session_service.cancellation_refusal(session) is None,
                           cancellation=session_service.cancellation(session)), status


def _edit_form(session: TrainingSession, stored: bool = False) -> SessionEditForm:
    def fill(form):
        form.start_date.data, form.start_time.data = session.start_at.date(), session.start_at.time()
        form.end_date.data, form.end_time.data = session.end_at.date(), session.end_at.time()
        form.price.data = from_cents(session.price_cents)
        form.trainers.data = [t.id for t in session.trainers]
        form.programme_id.data = session.programme_id
        (form.morning_start.data, form.morning_end.data), (form.afternoon_start.data, form.afternoon_end.data) = \
            session_service.session_timetable(session)
        form.include_weekends.data = session_service.has_weekend_half_days(session)
        if session.status == SessionStatus.FULL:  # not a choice: an open session whose seats are all taken
            form.status.data = SessionStatus.OPEN

    return edit_form(SessionEditForm, session, stored, lambda form: _prepare(form, session), fill)


@bp.route("/sessions/<int:session_id>/modifier", methods=["GET", "POST"])
@access(ADMIN)
def session_edit(session_id: int):
    session = _load(session_id)
    form = _edit_form(session)
    if form.validate_on_submit():
        data = _session_data(form)
        programme_changed = data.programme.id != session.programme_id
        update = edit_committed(form, session, lambda: session_service.update_session(session, data),
                                lambda: _edit_form(session, stored=True))
        if update is not REFUSED:
            flash(_("Session mise à jour."), "success")
            if update.slots_regenerated:
                flash(_half_days_message(session, update), "info")
                if not update.shifted_days:
                    _flash_weekend_left_out(data)
            if update.slots_regenerated or programme_changed:
                _flash_hours_unlike_programme(session)
            for survey in update.surveys_left:
                flash(_("Le questionnaire « %(title)s » a déjà des réponses : ses dates (du %(opens)s au %(closes)s) "
                        "n'ont pas bougé ; vérifiez-les.", title=survey.questionnaire.title,
                        opens=formatting.datetime_fr(survey.opens_at), closes=formatting.datetime_fr(survey.closes_at)), "warning")
            for survey in update.positioning_left:  # moved to another programme: told as a programme's edit tells it
                flash(programme_service.left_behind_message(survey), "warning")
            if update.preregistrations:
                statuses = [enrolment.status for enrolment in update.preregistrations]
                flash(_("Inscriptions ouvertes : %(confirmed)s, %(waiting)d en liste d'attente, dans l'ordre des "
                        "demandes.",
                        confirmed=ngettext("%(num)d pré-inscription confirmée", "%(num)d pré-inscriptions confirmées",
                                           statuses.count("confirmed")),
                        waiting=statuses.count("waitlisted")) + " " + mail.told_by_email(len(statuses)), "info")
            if update.promoted:
                flash(ngettext("%(num)d personne de la liste d'attente a obtenu une place (places ajoutées).",
                               "%(num)d personnes de la liste d'attente ont obtenu une place (places ajoutées).",
                               len(update.promoted)) + " " + mail.told_by_email(len(update.promoted)), "info")
            _flash_outdated_convocations(session)
            return redirect(url_for("sessions.session_detail", session_id=session.id))
        _prepare(form, session)
    return render_template("sessions/form.html", form=form, session=session), edit_status(form)


@bp.route("/sessions/<int:session_id>/annuler", methods=["GET", "POST"])
@access(ADMIN)
def session_cancel(session_id: int):
    """Cancel the whole session: a page with what will happen, the reason, and a last confirm()."""
    session = _load(session_id)
    refusal = session_service.cancellation_refusal(session)
    if refusal:
        flash(refusal, "danger")
        return redirect(url_for("sessions.session_detail", session_id=session_id))
    form = CancelSessionForm()
    if form.validate_on_submit():
        try:
            cancelled = session_service.cancel_session(session, form.reason.data,
                                                         actor=current_user._get_current_object())
        except ServiceError as error:
            db.session.rollback()
            if error.field is None:  # refused (e.g. ended or cancelled meanwhile): back to the session
                flash(error.message, "danger")
                return redirect(url_for("sessions.session_detail", session_id=session_id))
            session = _load(session_id)
            attach_service_error(form, error)
        else:
            db.session.commit()
            if cancelled:
                flash(ngettext("Session annulée. %(num)d inscription annulée.",
                               "Session annulée. %(num)d inscriptions annulées.", len(cancelled))
                      + " " + mail.told_by_email(len(cancelled)), "success")
            else:
                flash(_("Session annulée. Elle n'avait aucune inscription en cours : personne n'est à prévenir."),
                      "success")
            return redirect(url_for("sessions.session_detail", session_id=session_id))
    counts = session_service.live_enrolment_counts(session)
    return render_template("sessions/cancel.html", session=session, form=form, counts=counts,
                           affected=sum(counts.values()))


# A refused half-day serves the session's page at the address the form was posted to (status 422): reloading it
# (Enter in the address bar, a tab restored) GETs that address. It brings the office back to the form instead of
# « Erreur 405 », as the attendance sheet's actions do (attendance.back_to_sheet); a GET changes nothing.
@bp.get("/sessions/<int:session_id>/creneaux", endpoint="slot_add_reloaded")
@access(ADMIN)
def back_to_slot_form(session_id: int):
    _load(session_id)
    return redirect(url_for("sessions.session_detail", session_id=session_id) + "#ajout-demi-journee")


@bp.route("/sessions/<int:session_id>/creneaux", methods=["POST"])
@access(ADMIN)
def slot_add(session_id: int):
    session = _load(session_id)
    form = SlotForm()
    added = []  # the half-day, once added
    if not form.validate_on_submit() or not committed(form, lambda: added.append(session_service.add_slot(
            session, form.date.data, form.start_time.data, form.end_time.data))):
        # the page as it was, with the form as typed and its messages (the top of the page says where)
        flash(_("La demi-journée n'a pas été ajoutée : voyez le formulaire « Ajouter une demi-journée » plus bas."),
              "danger")
        return _detail_page(_load(session_id), form, 422)
    flash(_("Demi-journée ajoutée."), "success")
    _flash_half_day_warnings(added[0])
    _flash_outdated_convocations(session)
    return redirect(url_for("sessions.session_detail", session_id=session_id) + "#creneaux")


@bp.route("/sessions/<int:session_id>/creneaux/<int:slot_id>", methods=["GET", "POST"])
@access(ADMIN)
def slot_edit(session_id: int, slot_id: int):
    session = _load(session_id)
    slot = db.get_or_404(Slot, slot_id)
    if slot.session_id != session.id:
        return redirect(url_for("sessions.session_detail", session_id=session_id))
    form = SlotForm(obj=slot)
    if form.validate_on_submit():
        try:
            session_service.update_slot(slot, form.date.data, form.start_time.data, form.end_time.data)
        except ServiceError as error:
            db.session.rollback()
            slot = db.session.get(Slot, slot_id)
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Demi-journée modifiée."), "success")
            _flash_half_day_warnings(slot)
            _flash_outdated_convocations(session)
            return redirect(url_for("sessions.session_detail", session_id=session_id) + "#creneaux")
    return render_template("sessions/slot_form.html", form=form, session=session, slot=slot)


@bp.route("/sessions/<int:session_id>/creneaux/<int:slot_id>/supprimer", methods=["POST"])
@access(ADMIN)
def slot_delete(session_id: int, slot_id: int):
    session = _load(session_id)
    slot = db.get_or_404(Slot, slot_id)
    if slot.session_id == session.id and committed_or_flashed(lambda: session_service.delete_slot(slot),
                                                               _("Demi-journée supprimée.")):
        _flash_hours_unlike_programme(session)
        _flash_outdated_convocations(session)
    return redirect(url_for("sessions.session_detail", session_id=session_id) + "#creneaux")


def _half_days_message(session: TrainingSession, update: session_service.SessionUpdate) -> str:
    """What became of the half-days when the dates or the timetable changed: how many, how many hours, before."""
    count, minutes = len(session.slots), session.planned_minutes
    before_count, before_minutes = update.half_days_before
    if update.shifted_days:
        moved = (ngettext("avancées de %(num)d jour", "avancées de %(num)d jours", -update.shifted_days)
                 if update.shifted_days < 0 else
                 ngettext("repoussées de %(num)d jour", "repoussées de %(num)d jours", update.shifted_days))
        done = ngettext("La demi-journée de la session a été %(moved)s, telle quelle (%(hours)s prévues).",
                        "Les %(num)d demi-journées de la session ont été %(moved)s, telles quelles (%(hours)s "
                        "prévues).", count, moved=moved, hours=formatting.hours(minutes))
    else:
        done = ngettext("Les demi-journées ont été recalculées selon l'emploi du temps : %(num)d demi-journée, "
                        "%(hours)s prévues", "Les demi-journées ont été recalculées selon l'emploi du temps : "
                        "%(num)d demi-journées, %(hours)s prévues", count, hours=formatting.hours(minutes))
        done += " " + ngettext("(avant : %(num)d demi-journée, %(hours)s).", "(avant : %(num)d demi-journées, "
                               "%(hours)s).", before_count, hours=formatting.hours(before_minutes))
    return done + " " + _("Les dates des questionnaires sans réponse ont suivi.")


def _flash_hours_unlike_programme(session: TrainingSession) -> None:
    """A warning, not a refusal (a shorter session may be meant): the half-days planned do not add up to the
    programme's duration (its certificates and claims count the hours attended against the session's)."""
    planned, duration = session.planned_minutes, session.programme.default_duration_minutes
    if duration and planned != duration:
        flash(_("Les demi-journées prévues font %(planned)s, alors que la formation « %(title)s » dure %(duration)s : "
                "vérifiez les dates et l'emploi du temps.", planned=formatting.hours(planned),
                title=session.programme.title, duration=formatting.hours(duration)), "warning")


def _flash_half_day_warnings(slot: Slot) -> None:
    """After a half-day was added or moved: what looks odd about it, and the session's planned hours unlike its
    programme's duration (warnings: a follow-up, a shorter session may be meant)."""
    for warning in session_service.half_day_warnings(slot):
        flash(warning, "warning")
    _flash_hours_unlike_programme(slot.session)


def _flash_weekend_left_out(data: session_service.SessionData) -> None:
    left_out = session_service.weekend_half_days_left_out(data)
    if left_out:
        flash(ngettext("%(num)d demi-journée tombant un samedi ou un dimanche n'a pas été prévue : cochez « Inclure "
                       "le samedi et le dimanche » si la session a lieu le week-end.",
                       "%(num)d demi-journées tombant un samedi ou un dimanche n'ont pas été prévues : cochez "
                       "« Inclure le samedi et le dimanche » si la session a lieu le week-end.", left_out), "warning")


def _flash_outdated_convocations(session: TrainingSession) -> None:
    """After a change of the session or its half-days: the convocations that now state wrong ones."""
    outdated = convocations.outdated_enrolment_ids(session)
    if outdated:
        flash(ngettext("%(num)d convocation déjà envoyée n'est plus à jour : envoyez à nouveau les convocations "
                       "(page « Convocations »).",
                       "%(num)d convocations déjà envoyées ne sont plus à jour : envoyez à nouveau les convocations "
                       "(page « Convocations »).", len(outdated)), "warning")


