from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from training_app.forms import Versioned, rules_passed
from training_app.services import users as user_service

ROLE_CHOICES = [("trainer", _l("Formateur·rice")), ("admin", _l("Administrateur·rice"))]


class AccountForm(FlaskForm):
    """Name, e-mail and role: the fields an administrator edits."""
    name = StringField(_l("Nom"), validators=[
        DataRequired(message=_l("Indiquez le nom.")),
        Length(max=200, message=_l("Le nom ne peut pas dépasser 200 caractères."))])
    email = EmailField(_l("Adresse e-mail"), validators=[
        DataRequired(message=_l("Indiquez l'adresse e-mail.")),
        Length(max=254, message=_l("Cette adresse e-mail n'est pas valide.")),
        Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False)])
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES)

    account = None  # the account edited (views.user_edit), None for a new one

    def validate(self, extra_validators=None):
        """The fields, then the services' checks (user_service) whatever they said: every mistake at once."""
        valid = super().validate(extra_validators)
        return rules_passed(self, *self.service_checks()) and valid

    def service_checks(self) -> list:
        if self.email.errors:
            return []
        return [lambda: user_service.check_email_free(self.email.data, but=self.account)]


def temporary_password_field():
    return PasswordField(_l("Mot de passe provisoire (10 caractères au moins)"),
                         validators=[DataRequired(message=_l("Choisissez un mot de passe."))],
                         description=_l("À transmettre à la personne : elle devra le changer à sa prochaine "
                                        "connexion."),
                         render_kw={"autocomplete": "new-password"})


def _password_checks(form) -> list:
    return [] if form.password.errors else [lambda: user_service.check_password_strength(form.password.data)]


class UserForm(AccountForm):
    password = temporary_password_field()

    def service_checks(self) -> list:
        return super().service_checks() + _password_checks(self)


class TemporaryPasswordForm(FlaskForm):
    password = temporary_password_field()

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        return rules_passed(self, *_password_checks(self)) and valid


class AccountEditForm(Versioned, AccountForm):
    """The form of an existing staff account, with the version it was opened at."""
