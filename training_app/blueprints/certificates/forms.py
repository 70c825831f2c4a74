from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length


class EnrolmentIssueForm(FlaskForm):
    """Issue one trainee's documents; the box is shown when some of their outcomes were never recorded."""
    confirm_unrecorded = BooleanField(_l("Émettre malgré les acquis non renseignés"))
    # What the page showed of the documents (certificates.fingerprint()): issuing is refused when they changed since.
    documents_seen = HiddenField()


class IssueForm(EnrolmentIssueForm):
    reissue = BooleanField(_l("Réémettre aussi les documents déjà émis (nouvelles versions)"))


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class TemplateUploadForm(FlaskForm):
    file = FileField(_l("Nouveau modèle Word (.docx)"))


class VerifyForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form that changes nothing

    code = StringField(_l("Code de vérification"), validators=[
        DataRequired(message=_l("Indiquez le code imprimé sur le document.")), Length(max=40)])
