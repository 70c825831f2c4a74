from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from training_app.forms import PhoneNumber, Versioned, rules_passed
from training_app.services import organisation as organisation_service


class OrganisationForm(Versioned, FlaskForm):
    name = StringField(_l("Nom de l'organisme"), validators=[DataRequired(message=_l("Indiquez le nom.")),
                                                             Length(max=300)])
    address = TextAreaField(_l("Adresse"))
    siret = StringField(_l("SIRET (14 chiffres)"), validators=[Length(max=20)])
    declaration_number = StringField(_l("Numéro de déclaration d'activité"), validators=[Length(max=40)])
    legal_representative = StringField(_l("Représentant·e légal·e"), validators=[Length(max=200)])
    signatory_name = StringField(_l("Signataire des attestations"), validators=[Length(max=200)])
    signatory_role = StringField(_l("Fonction du ou de la signataire"), validators=[Length(max=200)])
    city = StringField(_l("Ville pour « Fait à »"), validators=[Length(max=100)])
    email = EmailField(_l("E-mail de contact"), validators=[
        Optional(), Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False)])
    phone = StringField(_l("Téléphone"), validators=[Length(max=40), PhoneNumber()])
    accessibility_contact = TextAreaField(_l("Référent·e handicap et contact"))
    vat_mention = TextAreaField(_l("Mention TVA des factures"))
    signature_image = FileField(_l("Image de la signature (PNG ou JPEG, 2 Mo et 4000 pixels de côté au plus)"))
    legal_representative_signature_image = FileField(_l(
        "Image de la signature du ou de la représentant·e légal·e, si ce n'est pas le ou la signataire des "
        "attestations (PNG ou JPEG, 2 Mo et 4000 pixels de côté au plus)"))
    stamp_image = FileField(_l("Image du cachet (PNG ou JPEG, 2 Mo et 4000 pixels de côté au plus)"))
    logo_image = FileField(_l("Logo (PNG ou JPEG, 2 Mo et 4000 pixels de côté au plus)"))
    remove_signature_image = BooleanField(_l("Retirer la signature"))
    remove_stamp_image = BooleanField(_l("Retirer le cachet"))
    remove_logo_image = BooleanField(_l("Retirer le logo"))
    remove_legal_representative_signature_image = BooleanField(_l("Retirer la signature du ou de la "
                                                                  "représentant·e légal·e"))

    def validate(self, extra_validators=None):
        """The fields, then the SIRET's check (organisation_service.checked_siret) whatever they said."""
        valid = super().validate(extra_validators)
        if self.siret.errors:
            return valid
        return rules_passed(self, lambda: organisation_service.checked_siret(self.siret.data)) and valid
