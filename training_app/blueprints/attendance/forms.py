from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from training_app.forms import FrenchTimeField
from training_app.services.attendance import STATUS_LABELS


class SignatureForm(FlaskForm):
    """A signature drawn on the pad, posted as a PNG data URL (checked by the service)."""
    signature = HiddenField(_l("Signature"))
    qr = HiddenField()


class MarkForm(FlaskForm):
    """One trainee's status on a half-day; each row of the sheet uses its own prefix."""
    status = SelectField(_l("Statut"), choices=list(STATUS_LABELS.items()),
                         validators=[DataRequired(message=_l("Choisissez un statut."))])
    arrival_time = FrenchTimeField(_l("Heure d'arrivée"), validators=[Optional()])
    departure_time = FrenchTimeField(_l("Heure de départ"), validators=[Optional()])
    justification = StringField(_l("Motif de l'absence"))
    document = FileField(_l("Justificatif (PDF, JPEG ou PNG)"))
    reason = StringField(_l("Motif de la correction (obligatoire sur une feuille close)"))


class CloseForm(FlaskForm):
    signature = HiddenField(_l("Signature du / de la formateur·rice"))
    # Only when an administrator closes a sheet no trainer signed on its day (services/attendance.close_slot).
    reason = StringField(_l("Motif de la clôture sans signature du / de la formateur·rice"))


class BulkAbsenceForm(FlaskForm):
    """Mark absent without justification the trainees listed as unmarked: `enrolments` holds the ids the page
    listed (services/attendance.mark_unmarked_absent marks no one else)."""
    enrolments = HiddenField()


class ReopenForm(FlaskForm):
    reason = StringField(_l("Motif de la réouverture"),
                         validators=[DataRequired(message=_l("Indiquez le motif de la réouverture."))])


class ScanForm(FlaskForm):
    file = FileField(_l("Scan de la feuille papier (PDF, JPEG ou PNG)"))
    reason = StringField(_l("Motif du remplacement (obligatoire pour remplacer le scan d'une feuille close)"))


class ForgetDeviceForm(FlaskForm):
    """Forget the trainee remembered on this phone."""
