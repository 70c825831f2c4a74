"""The certificates tests' course: the reference timetable's completed 21-hour session, attendance taken.

`completed_course()` makes the organisation, a programme with three objectives and the session
of Tue 11 Dec 2018 14:00 to Fri 14 Dec 2018 12:30 (6 half-days: 4 + 7 + 7 + 3 h) with its
confirmed trainees, then takes attendance through the attendance service, half-day by half-day
at the time it happens: everybody signs, but the absences asked for, and the trainer signs and
closes each sheet, but those left open. Half-days are named by (day of December, start hour):
(12, 14) is Wednesday afternoon, 14:00-18:00.
"""
import io
from datetime import datetime, timedelta
from types import SimpleNamespace

from docx import Document

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import SignatureMethod
from training_app.services import attendance, outcomes
from training_app.services import certificates as certificate_service

OBJECTIVES = ("Identifier les leviers d'une négociation", "Préparer une négociation",
              "Adopter une posture adaptée à chaque interlocuteur")
START, END = datetime(2018, 12, 11, 14, 0), datetime(2018, 12, 14, 12, 30)
WEDNESDAY_AFTERNOON = (12, 14)


def completed_course(trainees=("Awa Diallo", "Julien Le Bihan", "Sophie Renaud"), *, absences=None,
                     no_show=(), leave_open=(), trainers=()):
    """The completed December 2018 session, its confirmed trainees and their attendance.

    `absences`: {trainee index: [(day, hour), ...]} half-days missed (absent without justification);
    `no_show`: indexes of trainees absent from every half-day; `leave_open`: half-days not closed.
    """
    factories.make_organisation()
    trainer = trainers[0] if trainers else factories.make_user("trainer", name="Camille Le Gall")
    programme = factories.make_programme(
        title="Du dialogue à la négociation : quels moyens pour agir localement ?", objectives=OBJECTIVES,
        competencies="Maîtriser la négociation raisonnée\nRéaliser le suivi d'une négociation")
    session = factories.make_session(programme=programme, start=START, end=END, status="completed",
                                     trainers=list(trainers) or [trainer])
    employer = factories.make_employer(name="CCAS de Rennes")
    enrolments = []
    for index, name in enumerate(trainees):
        first, last = name.split(" ", 1)
        trainee = factories.make_trainee(first_name=first, last_name=last, employer=employer if index else None,
                                         job_title="Assistante sociale")
        trainee.civility = "M." if first in ("Julien", "Karim") else "Mme"
        enrolments.append(factories.make_enrolment(session, trainee))
    absences = absences or {}
    for slot in session.slots:
        name = (slot.date.day, slot.start_time.hour)
        missing = {i for i, slots in absences.items() if name in slots} | set(no_show)
        take_attendance(slot, enrolments, trainer, absent=[enrolments[i] for i in missing],
                        close=name not in leave_open)
    return SimpleNamespace(programme=programme, session=session, enrolments=enrolments, employer=employer,
                           trainer=trainer)


def take_attendance(slot, enrolments, trainer, absent=(), close=True) -> None:
    """During the half-day: each trainee signs or is marked absent; the trainer signs and closes the sheet."""
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        for index, enrolment in enumerate(enrolments):
            if enrolment in absent:
                attendance.mark(slot, enrolment, "absent_unjustified", actor=trainer)
            else:
                attendance.sign(slot, enrolment, factories.signature_data_url(index), method=SignatureMethod.DEVICE,
                                actor=trainer)
    if close:
        with frozen_at(slot.ends_at - timedelta(minutes=5)):  # a trainer closes near the end
            attendance.close_slot(slot, trainer, factories.signature_data_url(99))
    db.session.commit()


def assess(course, enrolment, results: dict) -> None:
    """The trainer records results by objective position: {2: ("partly_acquired", "À consolider")}."""
    objectives = {o.position: o for o in course.programme.objectives}
    for position, (code, comment) in results.items():
        outcomes.record_outcome(enrolment, objectives[position], code, comment, actor=course.trainer)
    db.session.commit()


def corrected_to_no_attendance():
    """Sophie (absent throughout) is marked present on Wednesday afternoon by mistake, her documents are
    issued (4 h), then the mistake is corrected: she attended nothing. Returns (course, sophie, that
    half-day, the administrator who corrected, her documents as issued {kind: document})."""
    course = completed_course(no_show=(2,))
    sophie = course.enrolments[2]
    admin = factories.make_user("admin")
    slot = slot_named(course.session, WEDNESDAY_AFTERNOON)
    attendance.mark(slot, sophie, "present", actor=admin, reason="Oubli : elle était là")
    db.session.commit()
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    issued = certificate_service.current_documents(sophie)
    assert issued["realisation"].attended_minutes == 240
    attendance.mark(slot, sophie, "absent_unjustified", actor=admin, reason="Erreur : c'était sa collègue")
    db.session.commit()
    return course, sophie, slot, admin, issued


def slot_named(session, name):
    """The half-day (day of December, start hour), e.g. (12, 14)."""
    return next(s for s in session.slots if (s.date.day, s.start_time.hour) == name)


def word_template(paragraphs) -> bytes:
    """A .docx whose paragraphs are these texts (docxtpl tags included)."""
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()



docx_text = factories.docx_text
