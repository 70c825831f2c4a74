from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from training_app.services.personal_data import REASON_MAX


class EraseForm(FlaskForm):
    reason = TextAreaField(_l("Motif de l'effacement"), validators=[
        DataRequired(message=_l("Indiquez le motif de l'effacement (par exemple : demande de la personne du …).")),
        Length(max=REASON_MAX, message=_l("Le motif dépasse %(max)d caractères."))])
    confirm = BooleanField(_l("Je confirme l'effacement : il ne peut pas être annulé."), validators=[
        DataRequired(message=_l("Cochez la case pour confirmer l'effacement."))])
