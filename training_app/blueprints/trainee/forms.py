from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Email


class RequestLinkForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail de votre inscription"), validators=[
        DataRequired(message=_l("Indiquez votre adresse e-mail.")),
        Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False)])
