from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from training_app.blueprints.sessions.forms import MultiCheckboxField
from training_app.form_input import whole_number
from training_app.forms import Filled, FrenchDateField, FrenchIntegerField, PhoneNumber, Versioned, euros_field


class FunderForm(FlaskForm):
    name = StringField(_l("Nom de l'OPCO"), validators=[DataRequired(message=_l("Indiquez le nom de l'OPCO.")),
                                                        Length(max=200)])
    address = TextAreaField(_l("Adresse"))
    contact_name = StringField(_l("Contact"), validators=[Length(max=200)])
    contact_email = EmailField(_l("E-mail du contact"), validators=[
        Optional(), Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False)])
    accepts_annex_costs = BooleanField(_l("Prend en charge les frais annexes (transport, hébergement, repas)"))


class HourlyCapForm(FlaskForm):
    year = FrenchIntegerField(_l("Année"), validators=[
        InputRequired(message=_l("Indiquez l'année.")),
        NumberRange(min=2000, max=2100, message=_l("Indiquez une année entre 2000 et 2100."))])
    cap = euros_field(_l("Plafond horaire par stagiaire (€/h)"), required=True)
    note = StringField(_l("Remarque"), validators=[Length(max=300)])


class EmployerForm(Versioned, FlaskForm):
    name = StringField(_l("Nom de la structure"), validators=[DataRequired(message=_l("Indiquez le nom.")),
                                                              Length(max=300)])
    siret = StringField(_l("SIRET (14 chiffres)"), validators=[Length(max=20)])
    address = TextAreaField(_l("Adresse"))
    contact_name = StringField(_l("Contact"), validators=[Length(max=200)])
    contact_email = EmailField(_l("E-mail du contact"), validators=[
        Optional(), Email(message=_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False)])
    phone = StringField(_l("Téléphone"), validators=[Length(max=40), PhoneNumber()])
    funder_id = SelectField(_l("OPCO de la structure"), coerce=int)


class AgreementForm(FlaskForm):
    funder_id = SelectField(_l("Financeur (OPCO)"), coerce=int,
                            validators=[DataRequired(message=_l("Choisissez le financeur."))])
    employer_id = SelectField(_l("Structure employeuse (accord collectif pour ses salarié·es)"), coerce=int)
    enrolments = MultiCheckboxField(_l("Stagiaires couvert·es"), coerce=int)
    requested_on = FrenchDateField(_l("Date de la demande"), validators=[Filled()])
    file_number = StringField(_l("Numéro de dossier"), validators=[Length(max=60)])
    mode = SelectField(_l("Paiement"), choices=[("subrogation", _l("Subrogation (le financeur paie l'organisme)")),
                                                ("reimbursement", _l("Remboursement de l'employeur"))])
    hourly_rate = euros_field(_l("Taux horaire accordé (€/h)"))
    amount = euros_field(_l("Montant accordé (€)"))
    hourly_cap = euros_field(_l("Plafond horaire (€/h) — vide : celui du financeur pour l'année"))
    notes = TextAreaField(_l("Remarques"))


class GrantForm(FlaskForm):
    decided_on = FrenchDateField(_l("Date de la réponse"), validators=[Filled()])
    file_number = StringField(_l("Numéro de dossier"), validators=[Length(max=60)])
    amount = euros_field(_l("Montant accordé (€)"), required=True)
    hourly_rate = euros_field(_l("Taux horaire accordé (€/h)"))


class RefuseForm(FlaskForm):
    decided_on = FrenchDateField(_l("Date de la réponse"), validators=[Filled()])
    reason = TextAreaField(_l("Motif du refus"), validators=[DataRequired(message=_l("Indiquez le motif du refus."))])


class AnnexCostsForm(FlaskForm):
    travel_agreed = euros_field(_l("Transport accordé (€)"))
    travel_actual = euros_field(_l("Transport réel (€)"))
    accommodation_agreed = euros_field(_l("Hébergement accordé (€)"))
    accommodation_actual = euros_field(_l("Hébergement réel (€)"))
    meals_agreed = euros_field(_l("Repas accordés (€)"))
    meals_actual = euros_field(_l("Repas réels (€)"))


class SessionClaimForm(FlaskForm):
    funder_id = SelectField(_l("Financeur"), coerce=int,
                            validators=[DataRequired(message=_l("Choisissez le financeur."))])


class PeriodClaimForm(FlaskForm):
    funder_id = SelectField(_l("Financeur"), coerce=int,
                            validators=[DataRequired(message=_l("Choisissez le financeur."))])
    period_start = FrenchDateField(_l("Du"), validators=[Filled()])
    period_end = FrenchDateField(_l("Au"), validators=[Filled()])


class SendForm(FlaskForm):
    sent_on = FrenchDateField(_l("Date d'envoi"), validators=[Filled()])


class PaymentForm(FlaskForm):
    received_on = FrenchDateField(_l("Date de réception"), validators=[Filled()])
    amount = euros_field(_l("Montant reçu (€)"), required=True)
    note = StringField(_l("Remarque (référence du virement…)"), validators=[Length(max=300)])
    payments_seen = HiddenField()  # how many payments the page showed: a second click is not a second payment

    def seen(self) -> int | None:
        return whole_number(self.payments_seen.data)


class CancelPaymentForm(FlaskForm):
    """Cancelling one payment (typed by mistake): prefixed with the payment's id, one form per payment listed."""
    reason = TextAreaField(_l("Motif de l'annulation"),
                           validators=[DataRequired(message=_l("Indiquez le motif de l'annulation du paiement.")),
                                       Length(max=300)])


class RejectForm(FlaskForm):
    rejected_on = FrenchDateField(_l("Date du rejet"), validators=[Filled()])
    reason = TextAreaField(_l("Motif du rejet"), validators=[DataRequired(message=_l("Indiquez le motif du rejet."))])


class FunderEditForm(Versioned, FunderForm):
    """The form of an existing funder, with the version it was opened at."""


class AgreementEditForm(Versioned, AgreementForm):
    """The form of an existing funding agreement, with the version it was opened at."""
