"""Questionnaires: administrators keep them and give them to sessions; trainees answer through
their personal link; staff read the results (trainers: of their sessions)."""
import io
from datetime import date, timedelta

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from training_app.access import ADMIN, STAFF, access, check_session_access, sees_office_details
from training_app.blueprints.surveys import bp
from training_app.blueprints.surveys.forms import (AttachForm, EditWindowForm, ProgrammeResultsForm,
                                                   QuestionEditForm, QuestionForm, QuestionnaireEditForm,
                                                   QuestionnaireForm, answer_form)
from training_app.clock import local_now
from training_app.documents.uploads import MIMETYPES
from training_app.extensions import commit_keeping_loaded, db
from training_app.formatting import datetime_fr
from training_app.forms import (REFUSED, attach_service_error, committed_or_flashed, edit_committed, edit_form,
                                 edit_status, posted_state)
from training_app.models import Programme, Question, Questionnaire, SessionStatus, Survey, TrainingSession
from training_app.page_cache import kept_page
from training_app.services import ServiceError
from training_app.services import survey_results as results_service
from training_app.services import surveys as survey_service
from training_app.services.trainee_links import trainee_view

# --- questionnaires (administrators) -------------------------------------------------------------


def _questionnaire_data(form: QuestionnaireForm) -> survey_service.QuestionnaireData:
    return survey_service.QuestionnaireData(
        title=form.title.data, kind=form.kind.data, anonymous=form.anonymous.data,
        introduction=form.introduction.data or "", follow_up_days=form.follow_up_days.data)


def _question_data(form: QuestionForm) -> survey_service.QuestionData:
    return survey_service.QuestionData(
        type=form.type.data, text=form.text.data, required=form.required.data, help_text=form.help_text.data or "",
        options=(form.options.data or "").splitlines())


@bp.route("/admin/questionnaires")
@access(ADMIN)
def questionnaire_list():
    listed = survey_service.questionnaire_list()
    has_default = any(q.origin == survey_service.ORIGIN_SATISFACTION and not q.archived for q, _count in listed)
    return render_template("surveys/questionnaire_list.html", listed=listed, has_default=has_default)


@bp.route("/admin/questionnaires/satisfaction-par-defaut", methods=["POST"])
@access(ADMIN)
def questionnaire_default():
    questionnaire = survey_service.ensure_default_satisfaction()
    db.session.commit()
    return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire.id))


@bp.route("/admin/questionnaires/nouveau", methods=["GET", "POST"])
@access(ADMIN)
def questionnaire_create():
    form = QuestionnaireForm()
    if form.validate_on_submit():
        try:
            questionnaire = survey_service.create_questionnaire(_questionnaire_data(form))
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Questionnaire créé : ajoutez ses questions."), "success")
            return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire.id))
    return render_template("surveys/questionnaire_form.html", form=form, questionnaire=None)


@bp.route("/admin/questionnaires/<int:questionnaire_id>")
@access(ADMIN)
def questionnaire_detail(questionnaire_id: int):
    questionnaire = db.get_or_404(Questionnaire, questionnaire_id)
    versions = db.session.scalars(db.select(Questionnaire).where(
        Questionnaire.lineage_id == questionnaire.lineage_id).order_by(Questionnaire.version.desc())).all()
    restore_refusal = survey_service.restore_refusal(questionnaire) if questionnaire.archived else None
    return render_template("surveys/questionnaire_detail.html", questionnaire=questionnaire, versions=versions,
                           answered=survey_service.has_answers(questionnaire), question_form=QuestionForm(),
                           restore_refusal=restore_refusal)


def _editable_or_redirect(questionnaire: Questionnaire):
    """None when the questionnaire may change; otherwise a redirect that says why not."""
    try:
        survey_service.check_editable(questionnaire)
    except ServiceError as error:
        flash(error.message, "warning")
        return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire.id))
    return None


@bp.route("/admin/questionnaires/<int:questionnaire_id>/modifier", methods=["GET", "POST"])
@access(ADMIN)
def questionnaire_edit(questionnaire_id: int):
    questionnaire = db.get_or_404(Questionnaire, questionnaire_id)
    refused = _editable_or_redirect(questionnaire)
    if refused:
        return refused
    form = edit_form(QuestionnaireEditForm, questionnaire)
    if form.validate_on_submit() and edit_committed(
            form, questionnaire, lambda: survey_service.update_questionnaire(questionnaire, _questionnaire_data(form)),
            lambda: edit_form(QuestionnaireEditForm, questionnaire, stored=True)) is not REFUSED:
        flash(_("Questionnaire mis à jour."), "success")
        return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire_id))
    return render_template("surveys/questionnaire_form.html", form=form, questionnaire=questionnaire), \
        edit_status(form)


@bp.route("/admin/questionnaires/<int:questionnaire_id>/questions/nouvelle", methods=["GET", "POST"])
@access(ADMIN)
def question_add(questionnaire_id: int):
    questionnaire = db.get_or_404(Questionnaire, questionnaire_id)
    refused = _editable_or_redirect(questionnaire)
    if refused:
        return refused
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            survey_service.add_question(questionnaire, _question_data(form))
        except ServiceError as error:
            db.session.rollback()
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Question ajoutée."), "success")
            return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire_id) + "#questions")
    return render_template("surveys/question_form.html", form=form, questionnaire=questionnaire, question=None)


def _load_question(questionnaire_id: int, question_id: int) -> Question:
    question = db.get_or_404(Question, question_id)
    if question.questionnaire_id != questionnaire_id:
        abort(404)
    return question


@bp.route("/admin/questionnaires/<int:questionnaire_id>/questions/<int:question_id>", methods=["GET", "POST"])
@access(ADMIN)
def question_edit(questionnaire_id: int, question_id: int):
    question = _load_question(questionnaire_id, question_id)
    refused = _editable_or_redirect(question.questionnaire)
    if refused:
        return refused
    form = _question_form(question)
    # The questionnaire and its surveys are locked (_editable_or_redirect) before the question's row
    # (edit_versions.save), in the order every change of a questionnaire takes them.
    if form.validate_on_submit() and edit_committed(
            form, question, lambda: survey_service.update_question(question, _question_data(form)),
            lambda: _question_form(question, stored=True)) is not REFUSED:
        flash(_("Question modifiée."), "success")
        return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire_id) + "#questions")
    return render_template("surveys/question_form.html", form=form, questionnaire=question.questionnaire,
                           question=question), edit_status(form)


def _question_form(question: Question, stored: bool = False) -> QuestionEditForm:
    def prepare(form):
        if isinstance(form.options.data, list):  # the question's own choices (a GET, or a POST without them)
            # not the accessibility flag (update_question keeps it)
            form.options.data = "\n".join(o for o in form.options.data if o != survey_service.ACCESSIBILITY_FLAG)

    return edit_form(QuestionEditForm, question, stored, prepare)


def _change_question(questionnaire_id: int, question_id: int, change, done: str):
    question = _load_question(questionnaire_id, question_id)
    try:
        change(question)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        if done:
            flash(done, "success")
    return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire_id) + "#questions")


@bp.route("/admin/questionnaires/<int:questionnaire_id>/questions/<int:question_id>/supprimer", methods=["POST"])
@access(ADMIN)
def question_delete(questionnaire_id: int, question_id: int):
    return _change_question(questionnaire_id, question_id, survey_service.delete_question, _("Question supprimée."))


@bp.route("/admin/questionnaires/<int:questionnaire_id>/questions/<int:question_id>/deplacer", methods=["POST"])
@access(ADMIN)
def question_move(questionnaire_id: int, question_id: int):
    direction = -1 if request.form.get("direction") == "up" else 1
    return _change_question(questionnaire_id, question_id,
                            lambda question: survey_service.move_question(question, direction), "")


@bp.route("/admin/questionnaires/<int:questionnaire_id>/nouvelle-version", methods=["POST"])
@access(ADMIN)
def questionnaire_new_version(questionnaire_id: int):
    questionnaire = db.get_or_404(Questionnaire, questionnaire_id)
    try:
        copy = survey_service.new_version(questionnaire)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire_id))
    db.session.commit()
    flash(_("Version %(n)d créée : modifiez-la. La version %(old)d reste telle que les stagiaires y ont répondu.",
            n=copy.version, old=questionnaire.version), "success")
    return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=copy.id))


@bp.route("/admin/questionnaires/<int:questionnaire_id>/archiver", methods=["POST"])
@access(ADMIN)
def questionnaire_archive(questionnaire_id: int):
    questionnaire = db.get_or_404(Questionnaire, questionnaire_id)
    try:
        survey_service.set_archived(questionnaire, posted_state("archived"))
    except ServiceError as error:  # a version that another one replaced is not offered again
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire_id))
    db.session.commit()
    flash(_("Questionnaire archivé.") if questionnaire.archived else _("Questionnaire de nouveau proposé."), "info")
    return redirect(url_for("surveys.questionnaire_detail", questionnaire_id=questionnaire_id))


# --- questionnaires of a session -----------------------------------------------------------------

def _load_session(session_id: int) -> TrainingSession:
    session = db.get_or_404(TrainingSession, session_id)
    check_session_access(session)
    return session


def _load_survey(session_id: int, survey_id: int) -> Survey:
    session = _load_session(session_id)
    survey = db.get_or_404(Survey, survey_id)
    if survey.session_id != session.id:
        abort(404)
    return survey


def _back_to_session(session_id: int):
    return redirect(url_for("sessions.session_detail", session_id=session_id) + "#questionnaires")


@bp.route("/sessions/<int:session_id>/questionnaires/ajouter", methods=["GET", "POST"])
@access(ADMIN)
def survey_attach(session_id: int):
    session = _load_session(session_id)
    form = AttachForm()
    form.questionnaire_id.choices = [(q.id, f"{q.title} (v{q.version})")
                                     for q in survey_service.live_questionnaires()]
    if form.validate_on_submit():
        questionnaire = db.session.get(Questionnaire, form.questionnaire_id.data)
        try:
            if questionnaire is None:
                raise ServiceError(_("Choisissez un questionnaire."), "questionnaire_id")
            survey = survey_service.attach(session, questionnaire, form.opens_at, form.closes_at)
        except ServiceError as error:
            db.session.rollback()
            session = _load_session(session_id)
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Questionnaire ajouté à la session."), "success")
            _flash_window(survey)
            return _back_to_session(session_id)
    return render_template("surveys/survey_form.html", form=form, session=session, survey=None)


@bp.route("/sessions/<int:session_id>/questionnaires/positionnement", methods=["POST"])
@access(ADMIN)
def survey_positioning(session_id: int):
    session = _load_session(session_id)
    try:
        survey_service.attach_positioning(session)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("Questionnaire de positionnement ajouté, construit à partir des objectifs de la formation."),
              "success")
    return _back_to_session(session_id)


@bp.route("/sessions/<int:session_id>/questionnaires/<int:survey_id>/dates", methods=["GET", "POST"])
@access(ADMIN)
def survey_edit(session_id: int, survey_id: int):
    survey = _load_survey(session_id, survey_id)
    form = EditWindowForm()
    if not form.is_submitted():
        form.set(survey.opens_at, survey.closes_at)
    if form.validate_on_submit():
        try:
            survey_service.update_window(survey, form.opens_at, form.closes_at)
        except ServiceError as error:
            db.session.rollback()
            survey = _load_survey(session_id, survey_id)
            attach_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Dates du questionnaire modifiées."), "success")
            _flash_window(survey)
            return _back_to_session(session_id)
    return render_template("surveys/survey_form.html", form=form, session=survey.session, survey=survey)


def _flash_window(survey) -> None:
    """Say the window saved (dates left empty took their default) and what is unusual in it for its kind."""
    flash(_("Ouvert aux réponses du %(opens)s au %(closes)s.", opens=datetime_fr(survey.opens_at),
            closes=datetime_fr(survey.closes_at)), "info")
    warning = survey_service.window_warning(survey)
    if warning:
        flash(warning, "warning")


@bp.route("/sessions/<int:session_id>/questionnaires/<int:survey_id>/retirer", methods=["POST"])
@access(ADMIN)
def survey_detach(session_id: int, survey_id: int):
    survey = _load_survey(session_id, survey_id)
    committed_or_flashed(lambda: survey_service.detach(survey), _("Questionnaire retiré de la session."))
    return _back_to_session(session_id)


@bp.route("/sessions/<int:session_id>/questionnaires/<int:survey_id>")
@access(STAFF)
@kept_page
def survey_results(session_id: int, survey_id: int):
    survey = _load_survey(session_id, survey_id)
    office = sees_office_details()  # trainers are not shown the answers to the accessibility question
    results = results_service.survey_results(survey, office=office)
    named = None if survey.questionnaire.anonymous else results_service.named_responses(survey, office=office)
    accessibility_hidden = not office and any(survey_service.is_accessibility_question(question)
                                              for question in survey.questionnaire.questions)
    waiting = survey_service.non_respondents(survey)
    # Anonymous: who has not answered is not shown either (it would tell who has).
    waiting_names = [] if survey.questionnaire.anonymous else [t.full_name for t in waiting]
    withheld = results_service.withheld_message(results.withheld, survey) if results.withheld else None
    commit_keeping_loaded()  # the anonymous answers released now that the survey is closed, if any
    return render_template("surveys/results.html", survey=survey, session=survey.session, results=results,
                           named=named, waiting=len(waiting), waiting_names=waiting_names,
                           state=survey_service.window_state(survey), withheld=withheld,
                           min_anonymous=results_service.MIN_ANONYMOUS_RESPONSES,
                           accessibility_hidden=accessibility_hidden)


@bp.route("/sessions/<int:session_id>/questionnaires/<int:survey_id>/resultats.xlsx")
@access(STAFF)
def survey_export(session_id: int, survey_id: int):
    survey = _load_survey(session_id, survey_id)
    try:
        content = results_service.survey_export(survey, office=sees_office_details())
    except ServiceError as error:
        db.session.commit()  # the anonymous answers released, if any (the export was refused, not the release)
        flash(error.message, "warning")
        return redirect(url_for("surveys.survey_results", session_id=session_id, survey_id=survey_id))
    name = f"questionnaire-{survey.id}-session-{survey.session.start_at:%Y-%m-%d}.xlsx"
    db.session.commit()  # the anonymous answers released now that the survey is closed, if any
    return _xlsx(content, name)


def _xlsx(content: bytes, name: str):
    return send_file(io.BytesIO(content), mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=name)


@bp.route("/sessions/<int:session_id>/questionnaires/<int:survey_id>/relancer", methods=["POST"])
@access(STAFF)
def survey_remind(session_id: int, survey_id: int):
    survey = _load_survey(session_id, survey_id)
    try:
        count = survey_service.send_reminders(survey)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "warning")
    else:
        db.session.commit()
        flash(ngettext("Relance envoyée à %(num)d stagiaire qui n'a pas répondu.",
                       "Relance envoyée à %(num)d stagiaires qui n'ont pas répondu.", count), "success")
    return redirect(url_for("surveys.survey_results", session_id=session_id, survey_id=survey_id))


# --- results per programme over a period (administrators) ----------------------------------------

def _programme_query(form: ProgrammeResultsForm) -> results_service.ProgrammeQuery | None:
    programmes = db.session.execute(db.select(Programme.id, Programme.title).order_by(Programme.title)).all()
    form.programme.choices = [(0, _("— Choisissez —"))] + [(p.id, p.title) for p in programmes]
    programme = db.session.get(Programme, form.programme.data) if form.programme.data else None
    lineages = results_service.lineages(programme) if programme else []
    form.questionnaire.choices = [(q.lineage_id, q.title) for q in lineages] or [
        (0, _("— Aucun —") if programme else _("— Choisissez d'abord une formation —"))]
    form.validate()
    today = local_now().date()
    # Default: since the programme's first session. Left empty until a programme is chosen: a date shown with the
    # empty form would be sent with the programme chosen, and hide its earlier sessions.
    if form.start.data is None and not form.start.errors and programme is not None:
        form.start.data, form.start.raw_data = results_service.first_session_date(programme) or \
            date(today.year - 1, 1, 1), None  # shown as set here, not as sent (empty)
    if form.end.data is None and not form.end.errors:
        form.end.data, form.end.raw_data = today, None
    if form.start.errors or form.end.errors:
        return None
    if form.start.data is not None and form.start.data > form.end.data:
        form.end.errors = [_("La fin de la période doit suivre son début.")]
        return None
    if programme is None or not lineages:
        return None
    lineage = form.questionnaire.data if form.questionnaire.data in {q.lineage_id for q in lineages} \
        else lineages[0].lineage_id
    form.questionnaire.data = lineage
    return results_service.ProgrammeQuery(programme, lineage, form.start.data, form.end.data)


@bp.route("/questionnaires/resultats")
@access(ADMIN)
@kept_page
def programme_results():
    form = ProgrammeResultsForm(request.args)
    query = _programme_query(form)
    results, split = results_service.programme_results(query) if query else (None, None)
    surveys, left_out = (split.counted, split.left_out) if split else ([], [])
    commit_keeping_loaded()  # the anonymous answers of closed surveys released, if any
    return render_template("surveys/programme_results.html", form=form, query=query, results=results,
                           surveys=surveys, left_out=left_out, export_args=request.args.to_dict(),
                           left_out_sentence=results_service.left_out_sentence(len(left_out)) if left_out else None,
                           min_anonymous=results_service.MIN_ANONYMOUS_RESPONSES)


@bp.route("/questionnaires/resultats.xlsx")
@access(ADMIN)
def programme_export():
    form = ProgrammeResultsForm(request.args)
    query = _programme_query(form)
    if query is None:
        flash(_("Choisissez une formation, un questionnaire et une période."), "warning")
        return redirect(url_for("surveys.programme_results", **request.args.to_dict()))
    try:
        content = results_service.programme_export(query)
    except ServiceError as error:
        db.session.commit()  # the anonymous answers released, if any (the export was refused, not the release)
        flash(error.message, "warning")
        return redirect(url_for("surveys.programme_results", **request.args.to_dict()))
    name = f"questionnaires-formation-{query.programme.id}-{query.start}-{query.end}.xlsx"
    db.session.commit()  # the anonymous answers of closed surveys released, if any
    return _xlsx(content, name)


# --- trainees answer through their personal link -------------------------------------------------

@bp.route("/moi/<token>/questionnaires/<int:survey_id>", methods=["GET", "POST"])
@trainee_view
def answer(survey_id: int):
    survey = db.session.get(Survey, survey_id)
    if survey is None or survey_service.enrolment_for(survey, g.trainee) is None:
        abort(404)  # the same answer for a survey that does not exist and one that is not theirs
    questions = list(survey.questionnaire.questions)
    form = answer_form(questions, survey_service.shown_version(survey.questionnaire_id))
    if form.validate_on_submit():
        raw = {q.id: form[f"q{q.id}"].data for q in questions}
        try:
            survey_service.submit(survey, g.trainee, raw, shown=form.questionnaire.data or None)
        except survey_service.InvalidAnswers as error:
            db.session.rollback()
            for question_id, message in error.errors.items():
                form[f"q{question_id}"].errors = [message]
            form.form_errors.append(error.message)
        except survey_service.QuestionnaireChanged as error:
            db.session.rollback()
            flash(error.message, "warning")  # the answers were to questions no longer asked: show the new ones
            return redirect(url_for("surveys.answer", token=g.trainee_token, survey_id=survey_id))
        except ServiceError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Merci ! Vos réponses sont enregistrées."), "success")
            return redirect(url_for("surveys.answer", token=g.trainee_token, survey_id=survey_id))
        survey = db.session.get(Survey, survey_id)
        if survey is None:  # removed from the session while the answers were sent (nobody had answered it yet)
            flash(_("Ce questionnaire n'est plus proposé : vos réponses n'ont pas été enregistrées."), "warning")
            return redirect(url_for("trainee.home", token=g.trainee_token))
    return render_template(
        "surveys/answer.html", survey=survey, questions=questions, form=form, trainee=g.trainee,
        token=g.trainee_token, answered=survey_service.has_answered(survey, g.trainee),
        cancelled=survey.session.status == SessionStatus.CANCELLED, state=survey_service.window_state(survey),
        closes_soon=survey.closes_at - local_now() < timedelta(days=1))
