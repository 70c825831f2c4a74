from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from training_app.services.outcomes import MAX_REVIEW, NOT_RECORDED, field_name

RESULT_CHOICES = [("not_assessed", _l("Non évalué")), ("acquired", _l("Acquis")),
                  ("partly_acquired", _l("Partiellement acquis")), ("not_acquired", _l("Non acquis"))]
# A cell nobody filled in yet: left so, nothing is recorded; "Non évalué" is the trainer's explicit choice.
BLANK_CHOICE = (NOT_RECORDED, _l("— à renseigner —"))


def outcomes_form(enrolments, objectives, recorded: dict):
    """One result and one comment per trainee and objective (fields r_<enrolment>_<objective>, c_...),
    with the values as loaded (hidden lr_..., lc_...).

    `recorded` is services/outcomes.recorded_cells(): a cell without a recorded result offers "à renseigner"
    and starts on it. The service checks the codes.
    """
    class OutcomesForm(FlaskForm):
        pass

    for enrolment in enrolments:
        cells = recorded.get(enrolment.id, {})
        for objective in objectives:
            result, comment = cells.get(objective.id, (NOT_RECORDED, ""))
            choices = RESULT_CHOICES if objective.id in cells else [BLANK_CHOICE, *RESULT_CHOICES]
            setattr(OutcomesForm, field_name(enrolment.id, objective.id),
                    SelectField(objective.text, choices=choices, default=result, validate_choice=False))
            setattr(OutcomesForm, field_name(enrolment.id, objective.id, "c"),
                    StringField(_l("Commentaire"), default=comment))
            # The cell as loaded: only the cells changed on this page are written.
            setattr(OutcomesForm, field_name(enrolment.id, objective.id, "lr"), HiddenField(default=result))
            setattr(OutcomesForm, field_name(enrolment.id, objective.id, "lc"), HiddenField(default=comment))
    return OutcomesForm()


class ReviewForm(FlaskForm):
    loaded = HiddenField()  # services/outcomes.review_version() of the review the page showed
    text = TextAreaField(_l("Bilan de la session (bilan final oral)"), render_kw={"rows": 8}, validators=[
        Length(max=MAX_REVIEW, message=_l("Le bilan est trop long."))])
