"""The certificates tests' course: the reference timetable's completed 21-hour session, with attendance.

`completed_course()` makes the organisation, a programme with three objectives and the session
of Tue 11 Dec 2018 14:00 to Fri 14 Dec 2018 12:30 (6 half-days: 4 + 7 + 7 + 3 h) with its
trainees. `Sources` stands in for the attendance and outcomes services (phase 1 of issue 6):
every confirmed trainee attended every half-day and acquired every objective unless a test
says otherwise, and every half-day is closed.
"""
import io
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

import pytest
from docx import Document

from tests import factories
from training_app.services import certificates as certificate_service

OBJECTIVES = ("Identifier les leviers d'une négociation", "Préparer une négociation",
              "Adopter une posture adaptée à chaque interlocuteur")
START, END = datetime(2018, 12, 11, 14, 0), datetime(2018, 12, 14, 12, 30)


@dataclass
class Totals:
    planned_minutes: int
    attended_minutes: int
    absent_justified_minutes: int = 0
    absent_unjustified_minutes: int = 0


@dataclass
class Sources:
    absences: dict = field(default_factory=dict)       # enrolment_id -> [slot, ...] missed
    no_show: set = field(default_factory=set)          # enrolment_ids who attended nothing
    results: dict = field(default_factory=dict)        # enrolment_id -> {position: (code, comment)}
    open: list = field(default_factory=list)           # slots not closed

    def totals(self, session):
        planned = session.planned_minutes
        totals = {}
        for enrolment, _documents in certificate_service.session_overview(session):
            if enrolment.id in self.no_show:
                totals[enrolment.id] = Totals(planned, 0, 0, planned)
                continue
            missed = sum(slot.minutes for slot in self.absences.get(enrolment.id, []))
            totals[enrolment.id] = Totals(planned, planned - missed, 0, missed)
        return totals

    def outcome_results(self, session):
        objectives = list(session.programme.objectives)
        results = {}
        for enrolment, _documents in certificate_service.session_overview(session):
            chosen = self.results.get(enrolment.id, {})
            results[enrolment.id] = [(o, *chosen.get(o.position, ("acquired", ""))) for o in objectives]
        return results


@pytest.fixture
def sources(monkeypatch):
    fake = Sources()
    monkeypatch.setattr(certificate_service, "attendance_totals", fake.totals)
    monkeypatch.setattr(certificate_service, "objective_results", fake.outcome_results)
    monkeypatch.setattr(certificate_service, "open_slots", lambda session: list(fake.open))
    return fake


def completed_course(trainees=("Awa Diallo", "Julien Le Bihan", "Sophie Renaud"), trainers=()):
    """Organisation, programme, the completed December 2018 session and its confirmed trainees."""
    factories.make_organisation()
    programme = factories.make_programme(
        title="Du dialogue à la négociation : quels moyens pour agir localement ?", objectives=OBJECTIVES,
        competencies="Maîtriser la négociation raisonnée\nRéaliser le suivi d'une négociation")
    session = factories.make_session(programme=programme, start=START, end=END, status="completed",
                                     trainers=trainers)
    employer = factories.make_employer(name="CCAS de Rennes")
    enrolments = []
    for index, name in enumerate(trainees):
        first, last = name.split(" ", 1)
        trainee = factories.make_trainee(first_name=first, last_name=last, employer=employer if index else None,
                                         job_title="Assistante sociale")
        enrolments.append(factories.make_enrolment(session, trainee))
    return SimpleNamespace(programme=programme, session=session, enrolments=enrolments, employer=employer)


def wednesday_afternoon(session):
    """The 4-hour half-day of Wed 12 Dec 2018, 14:00-18:00."""
    return next(s for s in session.slots if s.date.day == 12 and s.start_time.hour == 14)


def word_template(paragraphs) -> bytes:
    """A .docx whose paragraphs are these texts (docxtpl tags included)."""
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_text(content: bytes) -> str:
    """Every paragraph and table row of a .docx, one per line, cells joined by " | "."""
    document = Document(io.BytesIO(content))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)
