from datetime import datetime, time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from training_app.blueprints.sessions.forms import MultiCheckboxField
from training_app.forms import Filled, FrenchDateField, FrenchIntegerField, FrenchTimeField, Versioned
from training_app.models import QuestionType
from training_app.services.survey_results import rating_label

KIND_CHOICES = [("satisfaction", _l("Satisfaction (à chaud, en fin de formation)")),
                ("positioning", _l("Positionnement (avant la formation)")),
                ("follow_up", _l("Suivi (à froid, quelques semaines après)"))]
TYPE_CHOICES = [("rating", _l("Note de 1 à 5")), ("single_choice", _l("Choix unique")),
                ("multiple_choice", _l("Choix multiple")), ("yes_no", _l("Oui / non")),
                ("free_text", _l("Texte libre"))]


class QuestionnaireForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(message=_l("Indiquez le titre du questionnaire.")),
                                                 Length(max=300, message=_l("300 caractères au plus."))])
    kind = SelectField(_l("Moment"), choices=KIND_CHOICES)
    anonymous = BooleanField(_l("Anonyme : les réponses ne sont reliées à personne"))
    follow_up_days = FrenchIntegerField(_l("Suivi : ouverture N jours après la fin"), validators=[
        Optional(), NumberRange(min=0, max=730, message=_l("Le délai doit être compris entre 0 et 730 jours."))])
    introduction = TextAreaField(_l("Texte d'introduction montré aux stagiaires"))


class QuestionnaireEditForm(Versioned, QuestionnaireForm):
    """The form of an existing questionnaire, with the edit version it was opened at."""


class QuestionForm(FlaskForm):
    type = SelectField(_l("Type de question"), choices=TYPE_CHOICES)
    text = TextAreaField(_l("Question"), validators=[DataRequired(message=_l("Indiquez le texte de la question."))])
    help_text = StringField(_l("Aide (facultative)"),
                            validators=[Length(max=500, message=_l("500 caractères au plus."))])
    required = BooleanField(_l("Réponse obligatoire"), default=True)
    options = TextAreaField(_l("Choix, un par ligne — ou, pour une note : les cinq libellés de 1 à 5"))


class QuestionEditForm(Versioned, QuestionForm):
    """The form of an existing question, with the version it was opened at."""


CLOSES_WITHOUT_TIME = time(23, 59)


class WindowForm(FlaskForm):
    opens_date = FrenchDateField(_l("Ouverture : date"), validators=[Optional()])
    opens_time = FrenchTimeField(_l("Ouverture : heure"), validators=[Optional()])
    closes_date = FrenchDateField(_l("Fermeture : date"), validators=[Optional()])
    closes_time = FrenchTimeField(_l("Fermeture : heure"), validators=[Optional()])

    @staticmethod
    def _moment(day, hour, without_hour: time):
        if day.data is None:
            return None
        return datetime.combine(day.data, hour.data if hour.data is not None else without_hour)

    @property
    def opens_at(self):
        """A date without a time opens at the start of the day."""
        return self._moment(self.opens_date, self.opens_time, time(0, 0))

    @property
    def closes_at(self):
        """A date without a time closes at the end of the day (23:59), not as it begins."""
        return self._moment(self.closes_date, self.closes_time, CLOSES_WITHOUT_TIME)

    def set(self, opens_at: datetime, closes_at: datetime) -> None:
        self.opens_date.data, self.opens_time.data = opens_at.date(), opens_at.time()
        self.closes_date.data, self.closes_time.data = closes_at.date(), closes_at.time()


class AttachForm(WindowForm):
    questionnaire_id = SelectField(_l("Questionnaire"), coerce=int,
                                   validators=[DataRequired(message=_l("Choisissez un questionnaire."))])


class EditWindowForm(WindowForm):
    """Changing the dates of a survey: both are needed."""
    opens_date = FrenchDateField(_l("Ouverture : date"), validators=[Filled()])
    opens_time = FrenchTimeField(_l("Ouverture : heure"), validators=[Filled()])
    closes_date = FrenchDateField(_l("Fermeture : date"), validators=[Filled()])
    closes_time = FrenchTimeField(_l("Fermeture : heure"), validators=[Filled()])


class ProgrammeResultsForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    programme = SelectField(_l("Formation"), coerce=int, validators=[Optional()], validate_choice=False)
    questionnaire = SelectField(_l("Questionnaire"), coerce=int, validators=[Optional()], validate_choice=False)
    start = FrenchDateField(_l("Sessions du"), validators=[Optional()])
    end = FrenchDateField(_l("au"), validators=[Optional()])


def answer_form(questions, shown: str):
    """A form with one field per question, named q<id>. The service checks the answers
    (in French, all at once); the fields only carry the values and their errors. It also carries what its
    page showed of the questionnaire (surveys.shown_version), which the service compares."""
    class AnswerForm(FlaskForm):
        questionnaire = HiddenField(default=shown)

    for question in questions:
        name = f"q{question.id}"
        if question.type == QuestionType.RATING:
            choices = [(str(n), rating_label(n, question.options)) for n in range(1, 6)]
            field = RadioField(question.text, choices=choices, validate_choice=False)
        elif question.type == QuestionType.SINGLE_CHOICE:
            field = RadioField(question.text, choices=list(_indexed(question.options)), validate_choice=False)
        elif question.type == QuestionType.MULTIPLE_CHOICE:
            field = MultiCheckboxField(question.text, choices=list(_indexed(question.options)), validate_choice=False)
        elif question.type == QuestionType.YES_NO:
            field = RadioField(question.text, choices=[("yes", _l("Oui")), ("no", _l("Non"))], validate_choice=False)
        else:
            field = TextAreaField(question.text, render_kw={"rows": 4})
        setattr(AnswerForm, name, field)
    return AnswerForm()


def _indexed(options):
    for index, option in enumerate(options or []):
        yield str(index), option
