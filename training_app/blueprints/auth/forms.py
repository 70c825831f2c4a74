from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(message=_l("Indiquez votre adresse e-mail."))],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(message=_l("Indiquez votre mot de passe."))],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Rester connecté·e sur cet appareil"))


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("Nouveau mot de passe (10 caractères au moins)"),
                             validators=[DataRequired(message=_l("Choisissez un nouveau mot de passe."))],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Confirmez le nouveau mot de passe"),
                            validators=[EqualTo("password", message=_l("Les deux mots de passe diffèrent."))])


class PasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Mot de passe actuel"),
                                     validators=[DataRequired(message=_l("Indiquez votre mot de passe actuel."))])


class ForgottenPasswordForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail de votre compte"), validators=[
        DataRequired(message=_l("Indiquez votre adresse e-mail.")),
        Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False)],
        render_kw={"autocomplete": "username"})
