from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, EmailField, HiddenField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from training_app.extensions import db
from training_app.forms import Filled, FrenchDateField, PhoneNumber, Versioned, rules_passed
from training_app.models import Trainee
from training_app.services import ServiceError, enrolments
from training_app.services.registrations import (FUNDING_LABELS, PersonDetails, check_funding_employer,
                                                 normalise_siret, person_mistakes, public_request_mistakes)

CIVILITY_CHOICES = [("", _l("Non précisée")), ("Mme", _l("Madame")), ("M.", _l("Monsieur")), ("Mx", _l("Mx"))]
CATEGORY_CHOICES = [("employee", _l("Salarié·e")), ("job_seeker", _l("Demandeur·se d'emploi")),
                    ("individual", _l("Particulier")), ("other", _l("Autre"))]
FUNDING_CHOICES = list(FUNDING_LABELS.items())
EMAIL_VALIDATORS = [Optional(), Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False),
                    Length(max=254)]


class PersonFieldsMixin:
    civility = SelectField(_l("Civilité"), choices=CIVILITY_CHOICES, validators=[Optional()])
    first_name = StringField(_l("Prénom"), validators=[Length(max=100)])
    last_name = StringField(_l("Nom"), validators=[Length(max=100)])
    email = EmailField(_l("Adresse e-mail"), validators=EMAIL_VALIDATORS)
    phone = StringField(_l("Téléphone"), validators=[Length(max=40), PhoneNumber()])
    job_title = StringField(_l("Fonction"), validators=[Length(max=200)])
    employer_name = StringField(_l("Structure employeuse"), validators=[Length(max=300)])
    employer_siret = StringField(_l("SIRET de la structure (14 chiffres)"), validators=[Length(max=20)])

    def details(self) -> PersonDetails:
        """What the form typed, as the services take it."""
        category = getattr(self, "category", None)
        return PersonDetails(
            civility=self.civility.data or "", first_name=self.first_name.data or "",
            last_name=self.last_name.data or "", email=self.email.data or "", phone=self.phone.data or "",
            job_title=self.job_title.data or "", employer_name=self.employer_name.data or "",
            employer_siret=self.employer_siret.data or "", category=category and category.data or "")


def _require(form, *names) -> bool:
    ok = True
    messages = {"first_name": _l("Indiquez le prénom."), "last_name": _l("Indiquez le nom."),
                "email": _l("Indiquez l'adresse e-mail."), "employer_name": _l("Indiquez le nom de la structure.")}
    for name in names:
        field = getattr(form, name)
        if not (field.data or "").strip():
            field.errors = list(field.errors) + [str(messages[name])]
            ok = False
    return ok


def _first_mistakes(form, mistakes: list[tuple[str, str]]) -> bool:
    """Show each (field, message) of a service's rules next to its field, unless the form's own validators
    found a mistake there already; False when any was shown."""
    ok = True
    for name, message in mistakes:
        field = getattr(form, name)
        if not field.errors:
            field.errors = list(field.errors) + [message]
            ok = False
    return ok


NEW_PERSON_TYPED = ("first_name", "last_name", "email", "phone", "job_title", "employer_name", "employer_siret")


class EnrolForm(PersonFieldsMixin, FlaskForm):
    """The office enrols an existing trainee, or a new one (with their employer)."""
    trainee_id = SelectField(_l("Stagiaire"), coerce=int, validators=[Optional()])
    # No default for a new trainee's category nor for the funding: none follows from a form left as it is (the
    # category then follows the employer, PersonDetails.cleaned; an employer funding names one, validate checks).
    category = SelectField(_l("Catégorie (bilan pédagogique et financier)"),
                           choices=[("", _l("— Selon la structure : salarié·e, sinon particulier —"))]
                           + CATEGORY_CHOICES)
    employer_id = SelectField(_l("Structure employeuse existante"), coerce=int, validators=[Optional()])
    funding_mode = SelectField(_l("Financement"), choices=[("", _l("— Choisissez —"))] + FUNDING_CHOICES,
                               validators=[InputRequired(message=_l("Choisissez un mode de financement."))])
    pending = BooleanField(_l("Demande à confirmer plus tard (elle ne prend pas encore de place)"))
    notify = BooleanField(_l("Prévenir le ou la stagiaire par e-mail (état et lien personnel)"), default=True)

    session = None  # the session enrolled in (views.enrol_create)

    def validate(self, extra_validators=None):
        """The fields, a new person's details, then the services' rules whatever they said (the session takes
        them, the funding's employer): every mistake at once."""
        ok = super().validate(extra_validators)
        if not self.trainee_id.data:
            needed = ["first_name", "last_name", "email"]
            if self.employer_id.data == -1:
                needed.append("employer_name")
            ok = _require(self, *needed) and ok
            # The rules the service applies when it creates the person (the SIRET's, a name's, the lengths'):
            # shown with the form's own on one submit, each field's first mistake.
            details = self.details()
            if self.employer_id.data is not None and self.employer_id.data >= 0:  # none, or one of the list
                details.employer_name = details.employer_siret = ""  # what is typed there is not used
            ok = _first_mistakes(self, person_mistakes(details)) and ok
        known = self.chosen_trainee()
        if known is not None and self.typed_new_person():
            self.trainee_id.errors = list(self.trainee_id.errors) + [str(_l(
                "Vous avez choisi %(name)s dans la liste et rempli aussi la fiche d'une nouvelle personne : on ne "
                "sait pas qui inscrire. Pour inscrire la personne choisie, videz la fiche ; pour inscrire la "
                "personne saisie, choisissez « Nouveau ou nouvelle stagiaire ».", name=known.full_name))]
            ok = False
        return rules_passed(self, lambda: enrolments.check_enrolment_possible(self.session, known),
                            *self._funding_checks(known)) and ok

    def typed_new_person(self) -> bool:
        """Whether something is typed in the new person's fields (the choices of its lists have defaults)."""
        return any((getattr(self, name).data or "").strip() for name in NEW_PERSON_TYPED)

    def chosen_trainee(self) -> Trainee | None:
        """The known trainee chosen; None for a new person, or for one no longer there (erased meanwhile)."""
        trainee = db.session.get(Trainee, self.trainee_id.data) if self.trainee_id.data else None
        return trainee if trainee is not None and trainee.erased_at is None else None

    def _funding_checks(self, known: Trainee | None) -> list:
        """registrations.check_funding_employer on the employer the enrolment will name (views.enrol_create): a
        known trainee's record's (the form names none for them), a new person's chosen or typed one."""
        mode = self.funding_mode.data
        if self.trainee_id.data:
            if known is None:
                return []  # the view says so (_trainee_for)
            return [lambda: check_funding_employer(mode, known.employer_id is not None, known=known)]
        # An existing structure, or « Nouvelle structure » (whose name is required above), or, with no choice
        # posted, the name typed (_trainee_for); « Aucune (particulier) » names none.
        chosen = self.employer_id.data
        named = chosen != 0 and (chosen is not None or bool((self.employer_name.data or "").strip()))
        return [lambda: check_funding_employer(mode, named)]


class TraineeForm(Versioned, PersonFieldsMixin, FlaskForm):
    """The office corrects a trainee's details (e-mail included)."""
    category = SelectField(_l("Catégorie (bilan pédagogique et financier)"), choices=CATEGORY_CHOICES)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        return _require(self, "first_name", "last_name", "email") and ok


class EnrolmentEmployerForm(FlaskForm):
    """The office corrects the employer a trainee follows one course for (certificates and claims name it)."""
    employer_id = SelectField(_l("Structure employeuse pour cette formation"), coerce=int, validate_choice=False)


class EnrolmentFundingForm(FlaskForm):
    """The office records how a trainee's course is paid for (a list imported without it, a mistake)."""
    funding_mode = SelectField(_l("Financement de cette formation"),
                               choices=[("", _l("— Choisissez —"))] + FUNDING_CHOICES, validate_choice=False,
                               validators=[InputRequired(message=_l("Choisissez un mode de financement."))])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Motif"), validators=[DataRequired(message=_l("Indiquez le motif.")),
                                                    Length(max=2000)])


class WithdrawForm(FlaskForm):
    withdrawn_on = FrenchDateField(_l("Date de l'abandon"),
                             validators=[Filled()])
    reason = TextAreaField(_l("Motif"), validators=[DataRequired(message=_l("Indiquez le motif de l'abandon.")),
                                                    Length(max=2000)])


class MoveForm(FlaskForm):
    target = SelectField(_l("Nouvelle session"), coerce=int,
                         validators=[DataRequired(message=_l("Choisissez une session."))])
    reason = TextAreaField(_l("Motif (facultatif)"), validators=[Length(max=2000)])


class ImportUploadForm(FlaskForm):
    file = FileField(_l("Liste des participant·es (.xlsx ou .csv)"))


class ImportConfirmForm(FlaskForm):
    upload = HiddenField()
    notify = BooleanField(_l("Prévenir chaque stagiaire par e-mail (état et lien personnel)"), default=True)
    # The lines of the likely duplicates the office confirms (a checkbox per such row of the preview's table).
    # Read as typed: enrolment_import.included_lines refuses, in French, what is not a line of the file.
    include = SelectMultipleField(validate_choice=False)


class ConvocationTextForm(Versioned, FlaskForm):
    message = TextAreaField(_l("Mot d'accompagnement en tête de l'e-mail (facultatif)"),
                            validators=[Length(max=4000)])
    what_to_bring = TextAreaField(_l("À apporter (vide : texte par défaut)"), validators=[Length(max=4000)])
    absence_procedure = TextAreaField(_l("En cas d'absence (vide : texte par défaut)"),
                                      validators=[Length(max=4000)])


class PostForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


PUBLIC_REQUIRED = ("first_name", "last_name", "email")  # what a public request cannot do without (_require)


class PublicRegistrationForm(PersonFieldsMixin, FlaskForm):
    funding_mode = RadioField(_l("Comment la formation sera-t-elle financée ?"), choices=FUNDING_CHOICES,
                              validators=[InputRequired(message=_l("Choisissez un mode de financement."))])
    # A field people never see: robots that fill every field give themselves away.
    website = StringField(_l("Ne pas remplir ce champ"), validators=[Optional()])
    consent = BooleanField(_l("J'accepte que mes données servent à gérer mon inscription et le suivi de la "
                              "formation."), validators=[DataRequired(message=_l("Cochez cette case pour "
                                                                                   "envoyer votre demande."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in PUBLIC_REQUIRED:  # marked « * » as fields with DataRequired are (_macros.field)
            getattr(self, name).flags.required = True

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        ok = _require(self, *PUBLIC_REQUIRED) and ok
        # The SIRET checked here too, by the service's own function (which checks it again for every caller):
        # one submit shows every field's mistake, the SIRET's with the e-mail's and the funding's.
        if not self.employer_siret.errors:
            try:
                normalise_siret(self.employer_siret.data)
            except ServiceError as error:
                self.employer_siret.errors = list(self.employer_siret.errors) + [error.message]
                ok = False
        # So are the service's other rules (the employer's name when it pays or has a SIRET, no link in a name):
        # each field's first mistake, unless the form's own validators found one there.
        return _first_mistakes(self, public_request_mistakes(self.details(), self.funding_mode.data)) and ok


class TraineeCancelForm(FlaskForm):
    reason = TextAreaField(_l("Motif (facultatif)"), validators=[Length(
        max=2000, message=_l("Le motif dépasse %(max)d caractères : raccourcissez-le, s'il vous plaît."))])
