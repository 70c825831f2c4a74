from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from training_app.forms import Versioned

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


def temporary_password_field():
    return PasswordField(_l("Mot de passe provisoire (10 caractères au moins)"),
                         validators=[DataRequired(message=_l("Choisissez un mot de passe."))],
                         description=_l("À transmettre à la personne : elle devra le changer à sa prochaine "
                                        "connexion."),
                         render_kw={"autocomplete": "new-password"})


class UserForm(AccountForm):
    password = temporary_password_field()


class TemporaryPasswordForm(FlaskForm):
    password = temporary_password_field()


class AccountEditForm(Versioned, AccountForm):
    """The form of an existing staff account, with the version it was opened at."""
