from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from training_app.formatting import money
from training_app.forms import CAPACITY_RANGE, FrenchDecimalField, FrenchIntegerField, Versioned, euros_field
from training_app.models import BpfObjective
from training_app.services.programmes import BPF_OBJECTIVE_LABELS, NSF_CODE_PATTERN

ACCESS_DELAY_MAX_LENGTH = 1000  # a sentence or two, shown on the public page


class ProgrammeForm(FlaskForm):
    title = StringField(_l("Intitulé"), validators=[DataRequired(message=_l("Indiquez l'intitulé.")),
                                                    Length(max=300)])
    kind = SelectField(_l("Type"), choices=[("external", _l("Externe (professionnel·les, payante)")),
                                            ("internal", _l("Interne (adhérent·es, gratuite)"))])
    cycle_id = SelectField(_l("Cycle"), coerce=int, validators=[Optional()])
    rationale = TextAreaField(_l("Pourquoi cette formation ?"))
    audience = TextAreaField(_l("Public visé"))
    prerequisites = TextAreaField(_l("Prérequis"))
    objectives = TextAreaField(_l("Objectifs pédagogiques (un par ligne, dans l'ordre)"),
                               validators=[DataRequired(message=_l("Indiquez au moins un objectif."))])
    content = TextAreaField(_l("Contenus"))
    competencies = TextAreaField(_l("Compétences visées (une par ligne)"))
    teaching_methods = TextAreaField(_l("Moyens pédagogiques"))
    evaluation_methods = TextAreaField(_l("Modalités d'évaluation"))
    duration_hours = FrenchDecimalField(_l("Durée par défaut (heures)"), places=None, validators=[
        InputRequired(message=_l("Indiquez une durée.")),
        NumberRange(max=1000, message=_l("La durée ne peut pas dépasser 1000 heures."))],
        render_kw={"inputmode": "decimal", "step": "any", "min": "0"})
    default_capacity = FrenchIntegerField(_l("Capacité par défaut (places)"), default=15, validators=[
        InputRequired(message=_l("Indiquez une capacité.")),
        *CAPACITY_RANGE])
    price_on_request = BooleanField(_l("Tarif sur demande"))
    price = euros_field(_l("Prix par stagiaire (€)"))
    accessibility_contact = TextAreaField(_l("Accessibilité : référent·e handicap et contact"))
    access_delay = TextAreaField(_l("Délais d'accès"), validators=[Length(
        max=ACCESS_DELAY_MAX_LENGTH,
        message=_l("Les délais d'accès tiennent en %(max)d caractères au plus (ici %(length)d)."))])
    bpf_objective = SelectField(_l("Objectif général (bilan pédagogique et financier, F-3)"),
                                choices=list(BPF_OBJECTIVE_LABELS.items()), default=BpfObjective.OTHER)
    nsf_code = StringField(_l("Code NSF (spécialité de formation, F-4)"), filters=[
        lambda value: (value or "").strip().lower()], validators=[Optional(), Regexp(
            NSF_CODE_PATTERN, message=_l("Le code NSF s'écrit avec trois chiffres, suivis éventuellement "
                                         "d'une lettre : par exemple 332 ou 332t."))],
        render_kw={"maxlength": 4})
    nsf_label = StringField(_l("Libellé de la spécialité"), filters=[lambda value: (value or "").strip()],
                            validators=[Length(max=200, message=_l(
                                "Le libellé de la spécialité tient en %(max)d caractères au plus."))])

    def validate_duration_hours(self, field):
        if field.data is not None and round(field.data * 60) < 1:
            raise ValidationError(_l("La durée doit être supérieure à 0 heure (par exemple 21 ou 10,5)."))

    def validate_nsf_label(self, field):
        if self.nsf_code.data and not field.data:  # the F-4 table prints a label for each code
            raise ValidationError(_l("Indiquez le libellé de la spécialité du code NSF %(code)s "
                                     "(par exemple : Travail social).", code=self.nsf_code.data))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if (self.kind.data == "external" and not self.price_on_request.data and not self.price.data
                and not self.price.errors):  # checked with the other fields: every mistake at once
            # None or 0: an external course is paid (internal ones are the free ones)
            self.price.errors = [str(_l("Indiquez un prix supérieur à %(zero)s, ou cochez « Tarif sur demande » : "
                                        "une formation externe est payante.", zero=money(0)))]
            return False
        return ok


class ProgrammeEditForm(Versioned, ProgrammeForm):
    """The catalogue form of an existing programme, with the version it was opened at."""


class CycleForm(FlaskForm):
    """A cycle of programmes (services/cycles.py checks the rules again)."""

    name = StringField(_l("Nom du cycle"), filters=[lambda value: " ".join((value or "").split())], validators=[
        DataRequired(message=_l("Indiquez le nom du cycle.")),
        Length(max=200, message=_l("Le nom du cycle tient en %(max)d caractères au plus."))])
    description = TextAreaField(_l("Description"))
    special_price = euros_field(_l("Tarif spécifique par formation, à partir de la troisième (€)"))


class CycleEditForm(Versioned, CycleForm):
    """The form of an existing cycle, with the version it was opened at."""
