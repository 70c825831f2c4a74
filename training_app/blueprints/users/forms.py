from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length


class UserForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(message=_l("Indiquez le nom.")), Length(max=200)])
    email = EmailField(_l("Adresse e-mail"), validators=[
        DataRequired(message=_l("Indiquez l'adresse e-mail.")),
        Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False)])
    role = SelectField(_l("Rôle"), choices=[("trainer", _l("Formateur·rice")), ("admin", _l("Administrateur·rice"))])
    password = PasswordField(_l("Mot de passe provisoire (10 caractères au moins)"),
                             validators=[DataRequired(message=_l("Choisissez un mot de passe."))])
