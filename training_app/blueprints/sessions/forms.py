from datetime import datetime, time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from training_app.forms import (CAPACITY_RANGE, Filled, FrenchDateField, FrenchIntegerField, FrenchTimeField, Versioned,
                                euros_field, rules_passed)
from training_app.services import sessions as session_service

# No "full" either: a session is full when its seats are taken, open again when one frees up (counted by
# services/enrolments.py). "Inscriptions ouvertes" covers both; the session page shows which it is.
STATUS_CHOICES = [("planned", _l("Planifiée")), ("open", _l("Inscriptions ouvertes")),
                  ("running", _l("En cours")), ("completed", _l("Terminée"))]
# Before its end a session is not marked completed (services/sessions: it becomes so by itself).
NOT_OVER_CHOICES = STATUS_CHOICES[:-1]
CANCELLED_CHOICES = [("cancelled", _l("Annulée"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionForm(FlaskForm):
    programme_id = SelectField(_l("Formation"), coerce=int,
                               validators=[DataRequired(message=_l("Choisissez une formation."))])
    start_date = FrenchDateField(_l("Date de début"), validators=[Filled()])
    start_time = FrenchTimeField(_l("Heure de début"), default=time(9, 30), validators=[Filled()])
    end_date = FrenchDateField(_l("Date de fin"), validators=[Filled()])
    end_time = FrenchTimeField(_l("Heure de fin"), default=time(18, 0), validators=[Filled()])
    morning_start = FrenchTimeField(_l("Matin : début"), default=time(9, 30), validators=[Filled()])
    morning_end = FrenchTimeField(_l("Matin : fin"), default=time(12, 30), validators=[Filled()])
    afternoon_start = FrenchTimeField(_l("Après-midi : début"), default=time(14, 0), validators=[Filled()])
    afternoon_end = FrenchTimeField(_l("Après-midi : fin"), default=time(18, 0), validators=[Filled()])
    include_weekends = BooleanField(_l("Inclure le samedi et le dimanche"))
    place = TextAreaField(_l("Lieu (adresse, ou « dans les locaux de la structure »)"))
    access_info = TextAreaField(_l("Accès et conditions matérielles"))
    modality = SelectField(_l("Modalité"), choices=[("in_person", _l("Présentiel")), ("remote", _l("À distance")),
                                                    ("mixed", _l("Mixte"))])
    capacity = FrenchIntegerField(_l("Capacité (places)"), validators=[
        Optional(), *CAPACITY_RANGE])
    price = euros_field(_l("Prix par stagiaire (€) — vide : prix de la formation"))
    # No "cancelled" here: a session is cancelled with its own action (CancelSessionForm), which cancels
    # its enrolments and tells the trainees. A cancelled session's form offers only "cancelled".
    status = SelectField(_l("État"), choices=STATUS_CHOICES)
    contact_person = StringField(_l("Personne à contacter"), validators=[Length(max=200)])
    trainers = MultiCheckboxField(_l("Formateur·rices"), coerce=int)
    # A new session only (SessionEditForm has none): one that already took place, recorded from its paper sheets.
    recorded_afterwards = BooleanField(session_service.RECORDED_AFTERWARDS_BOX)

    session = None  # the session edited (views._prepare), None for a new one

    def validate(self, extra_validators=None):
        """The fields, then the services' rules on the dates and the timetable (session_service.check_dates,
        validate_timetable) whatever the fields said: every mistake at once. (« Terminée » is offered only once
        the session is over: _prepare.)"""
        valid = super().validate(extra_validators)
        checks = []
        dates = (self.start_date.data, self.start_time.data, self.end_date.data, self.end_time.data)
        if None not in dates and not any(field.errors for field in (self.start_date, self.start_time,
                                                                     self.end_date, self.end_time)):
            start_at, end_at = datetime.combine(*dates[:2]), datetime.combine(*dates[2:])
            checks.append(lambda: session_service.check_dates(start_at, end_at, self.session,
                                                              past_allowed=self.past_allowed))
        timetable = ((self.morning_start.data, self.morning_end.data),
                     (self.afternoon_start.data, self.afternoon_end.data))
        if None not in timetable[0] + timetable[1]:
            checks.append(lambda: session_service.validate_timetable(timetable))
        return rules_passed(self, *checks) and valid


    @property
    def past_allowed(self) -> bool:
        """Whether the session's dates may be past: one recorded afterwards from its paper sheets."""
        if self.session is not None:
            return self.session.recorded_afterwards
        return bool(self.recorded_afterwards.data)


class CancelSessionForm(FlaskForm):
    reason = TextAreaField(_l("Motif de l'annulation (repris dans l'e-mail aux stagiaires)"), validators=[
        DataRequired(message=_l("Indiquez le motif de l'annulation.")), Length(max=2000)])


class SlotForm(FlaskForm):
    date = FrenchDateField(_l("Date"), validators=[Filled()])
    start_time = FrenchTimeField(_l("Début"), validators=[Filled()])
    end_time = FrenchTimeField(_l("Fin"), validators=[Filled()])


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    phase = SelectField(_l("Période"), choices=[("", _l("Toutes")), ("upcoming", _l("À venir")),
                                                ("running", _l("En cours")), ("past", _l("Passées"))],
                        validators=[Optional()])
    programme = SelectField(_l("Formation"), coerce=int, validators=[Optional()])
    trainer = SelectField(_l("Formateur·rice"), coerce=int, validators=[Optional()])


class SessionEditForm(Versioned, SessionForm):
    """The form of an existing session, with the version it was opened at."""
    recorded_afterwards = None  # chosen once, at the creation
