from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from training_app.services.outcomes import MAX_REVIEW, NOT_RECORDED, field_name

RESULT_CHOICES = [("not_assessed", _l("Non évalué")), ("acquired", _l("Acquis")),
                  ("partly_acquired", _l("Partiellement acquis")), ("not_acquired", _l("Non acquis"))]
# A cell nobody filled in yet: left so, nothing is recorded; "Non évalué" is the trainer's explicit choice.
BLANK_CHOICE = (NOT_RECORDED, _l("— à renseigner —"))


class ReviewForm(FlaskForm):
    loaded = HiddenField()  # services/outcomes.review_version() of the review the page showed
    text = TextAreaField(_l("Bilan de la session (bilan final oral)"), render_kw={"rows": 8}, validators=[
        Length(max=MAX_REVIEW, message=_l("Le bilan est trop long."))])


def outcomes_form(enrolments, objectives, recorded: dict, stored: bool = False, review_text: str | None = None):
    """One result and one comment per trainee and objective (fields r_<enrolment>_<objective>, c_...),
    with the values as loaded (hidden lr_..., lc_...): as posted, or with `stored` as `recorded` says only.

    `recorded` is services/outcomes.recorded_cells(): a cell without a recorded result offers "à renseigner"
    and starts on it. The service checks the codes. The fields' labels name the trainee and the objective (the
    list of values saved meanwhile shows them: forms.show_stale).
    With `review_text` (the review as stored), the form also holds the session's review (ReviewForm's fields),
    so that each save button of the page saves both, as the trainer sees them.
    """
    class OutcomesForm(FlaskForm if review_text is None else ReviewForm):
        pass

    for enrolment in enrolments:
        cells = recorded.get(enrolment.id, {})
        for number, objective in enumerate(objectives, start=1):
            result, comment = cells.get(objective.id, (NOT_RECORDED, ""))
            choices = RESULT_CHOICES if objective.id in cells else [BLANK_CHOICE, *RESULT_CHOICES]
            cell = _l("%(name)s, objectif %(n)d (%(objective)s)", name=enrolment.trainee.full_name, n=number,
                      objective=objective.text)
            setattr(OutcomesForm, field_name(enrolment.id, objective.id),
                    SelectField(cell, choices=choices, default=result, validate_choice=False))
            setattr(OutcomesForm, field_name(enrolment.id, objective.id, "c"),
                    StringField(_l("%(cell)s : commentaire", cell=cell), default=comment))
            # The cell as loaded: only the cells changed on this page are written.
            setattr(OutcomesForm, field_name(enrolment.id, objective.id, "lr"), HiddenField(default=result))
            setattr(OutcomesForm, field_name(enrolment.id, objective.id, "lc"), HiddenField(default=comment))
    review = {} if review_text is None else {"text": review_text}
    return OutcomesForm(formdata=None, **review) if stored else OutcomesForm(**review)


def show_stored_cells(form, stored) -> None:
    """After a save refused because cells changed meanwhile (`stored`: outcomes_form(stored=True) as they are
    now): each result or comment changed on the page keeps what was typed, the others show the stored value,
    and all are 'as loaded' at the stored value, so that saving again writes exactly the changes typed."""
    for name, stored_field in stored._fields.items():
        if name[:2] in ("r_", "c_") and name in form._fields:
            typed, loaded = form[name], form["l" + name]
            if (typed.data or "").strip() == (loaded.data or "").strip():
                typed.data = stored_field.data
            loaded.data = stored_field.data
