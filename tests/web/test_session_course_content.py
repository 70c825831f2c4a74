"""A session keeps the course it was taught under: editing the catalogue entry afterwards changes neither
its documents nor its results; its programme cannot be switched once it started or holds evidence."""
import html
import re
from datetime import datetime

from tests import factories
from tests.certificate_course import OBJECTIVES, assess, completed_course
from tests.web.test_catalogue import FORM
from tests.web.test_sessions import session_form
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import Enrolment, LearningOutcome, TrainingSession
from training_app.services import certificates as certificate_service
from training_app.services import outcomes

TITLE = "Du dialogue à la négociation : quels moyens pour agir localement ?"
COMPETENCIES = ["Maîtriser la négociation raisonnée", "Réaliser le suivi d'une négociation"]


def _text(response):
    page = response.get_data(as_text=True)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _certified_course(results: dict | None = None, *, certify: bool = True):
    """The completed 2018 course with one trainee (Awa), her results by objective position, and her
    certificates issued."""
    course = completed_course(trainees=("Awa Diallo",))
    if results:
        assess(course, course.enrolments[0], results)
    if certify:
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    return course, course.enrolments[0]


def _edit_catalogue(admin_client, programme, objectives, **fields):
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier", data=dict(
        FORM, version=factories.version_of(programme), title=fields.pop("title", programme.title), objectives="\n".join(objectives), **fields))
    assert response.status_code == 302, _text(response)[-400:]
    db.session.expire_all()


def test_an_objective_added_to_the_catalogue_later_stays_off_past_attestations(admin_client):
    course, awa = _certified_course({1: ("acquired", ""), 2: ("acquired", ""), 3: ("acquired", "")})
    upcoming = factories.make_session(programme=course.programme)
    _edit_catalogue(admin_client, course.programme, OBJECTIVES + ("Conduire une négociation collective",))

    session = db.session.get(TrainingSession, course.session.id)
    row = certificate_service.session_overview(session)[0]
    assert not row.results_outdated and not row.outdated  # nothing to reissue
    assert [o.text for o, _code, _c in outcomes.results_for(row.enrolment)] == list(OBJECTIVES)
    # a reissue (e.g. after an hours correction)
    docs = certificate_service.issue_for_enrolment(row.enrolment, unrecorded_confirmed=True)
    db.session.commit()
    attestation = next(d for d in docs if d.kind == "attestation")
    assert [r["objective"] for r in attestation.results] == list(OBJECTIVES)
    assert {r["code"] for r in attestation.results} == {"acquired"}
    text = factories.docx_text(certificate_service.document_bytes(attestation))
    assert "Conduire une négociation collective" not in text and "Non évalué" not in text
    # the trainer's page offers the objectives the course had; the upcoming session follows the catalogue
    page = _text(admin_client.get(f"/sessions/{session.id}/acquis"))
    assert OBJECTIVES[2] in page and "Conduire une négociation collective" not in page
    upcoming = db.session.get(TrainingSession, upcoming.id)
    assert [o.text for o in upcoming.course.objectives][-1] == "Conduire une négociation collective"


def test_a_renamed_programme_keeps_the_old_title_on_reissued_past_documents(admin_client):
    course, awa = _certified_course()
    first = certificate_service.current_documents(awa)
    upcoming = factories.make_session(programme=course.programme)
    _edit_catalogue(admin_client, course.programme, OBJECTIVES, title="Négocier localement (nouvelle formule 2020)",
                    competencies="Négocier")

    awa = db.session.get(Enrolment, awa.id)
    again = {d.kind: d for d in certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)}
    db.session.commit()
    assert first["realisation"].course_title == again["realisation"].course_title == TITLE
    for kind in ("realisation", "attestation"):
        text = factories.docx_text(certificate_service.document_bytes(again[kind]))
        assert "Du dialogue à la négociation" in text and "nouvelle formule" not in text
    attestation = factories.docx_text(certificate_service.document_bytes(again["attestation"]))
    assert all(competency in attestation for competency in COMPETENCIES)
    session = db.session.get(TrainingSession, course.session.id)
    sheet = factories.docx_text(attendance_sheet.word_sheet(session))
    assert TITLE in sheet and "nouvelle formule" not in sheet
    detail = _text(admin_client.get(f"/sessions/{session.id}"))
    assert TITLE in detail and "Au catalogue Négocier localement (nouvelle formule 2020)" in detail
    assert db.session.get(TrainingSession, upcoming.id).title == "Négocier localement (nouvelle formule 2020)"


def test_reworded_and_reordered_objectives_keep_the_past_sessions_wording_and_results(admin_client):
    course, awa = _certified_course({1: ("acquired", ""), 2: ("not_acquired", "B"), 3: ("partly_acquired", "C")})
    before = [(o.text, code, comment) for o, code, comment in outcomes.results_for(awa)]
    _edit_catalogue(admin_client, course.programme, (OBJECTIVES[2], OBJECTIVES[1] + " (reformulé)", OBJECTIVES[0]))
    awa = db.session.get(Enrolment, awa.id)
    assert [(o.text, code, comment) for o, code, comment in outcomes.results_for(awa)] == before
    assert not certificate_service.session_overview(awa.session)[0].outdated
    # a second edit keeps what the session kept the first time
    _edit_catalogue(admin_client, course.programme,
                    (OBJECTIVES[1] + " (reformulé)", OBJECTIVES[0], OBJECTIVES[2], "Tout autre chose"),
                    title="Autre titre")
    awa = db.session.get(Enrolment, awa.id)
    assert [(o.text, code, comment) for o, code, comment in outcomes.results_for(awa)] == before
    assert awa.session.title == TITLE


def test_an_objective_removed_from_the_catalogue_stays_on_the_past_course_but_cannot_be_assessed(admin_client):
    course, awa = _certified_course({2: ("acquired", ""), 3: ("acquired", "")}, certify=False)
    removed_id = course.programme.objectives[0].id
    _edit_catalogue(admin_client, course.programme, OBJECTIVES[1:])
    awa = db.session.get(Enrolment, awa.id)
    assert [(o.text, code) for o, code, _c in outcomes.results_for(awa)] == [
        (OBJECTIVES[0], "not_assessed"), (OBJECTIVES[1], "acquired"), (OBJECTIVES[2], "acquired")]
    assert [o.text for o in outcomes.assessable_objectives(awa.session)] == list(OBJECTIVES[1:])
    response = admin_client.post(f"/sessions/{awa.session.id}/acquis",
                                 data={f"r_{awa.id}_{removed_id}": "acquired"})
    assert response.status_code == 302  # the field is not on the page: nothing recorded for it
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 2


def test_the_programme_of_a_started_or_assessed_session_cannot_be_switched(admin_client):
    course, awa = _certified_course({1: ("acquired", ""), 2: ("acquired", ""), 3: ("partly_acquired", "")})
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    data = session_form(other, start_date="2018-12-11", start_time="14:00", end_date="2018-12-14",
                        end_time="12:30", status="completed", trainers=[course.trainer.id],
                        version=factories.version_of(course.session))
    response = admin_client.post(f"/sessions/{course.session.id}/modifier", data=data)
    assert response.status_code == 200
    assert "La formation d'une session ne peut plus être changée" in _text(response)
    db.session.expire_all()
    awa = db.session.get(Enrolment, awa.id)
    assert awa.session.programme_id == course.programme.id and awa.session.title == TITLE
    assert [code for _o, code, _c in outcomes.results_for(awa)] == ["acquired", "acquired", "partly_acquired"]
    assert not certificate_service.session_overview(awa.session)[0].outdated


def test_an_upcoming_session_without_records_can_change_programme(admin_client):
    session = factories.make_session(start=datetime(2030, 3, 5, 14), end=datetime(2030, 3, 8, 12, 30))
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=session_form(version=factories.version_of(session), programme=other))
    assert response.status_code == 302
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert session.title == "Mobiliser les habitant·es"
    assert [o.text for o in session.course.objectives] == ["Aller vers"]


def test_an_upcoming_session_with_trainees_keeps_its_programme(admin_client):
    """Its trainees were told the course's title and price, and may hold its convocation."""
    session = factories.make_session(start=datetime(2030, 3, 5, 14), end=datetime(2030, 3, 8, 12, 30))
    factories.enrol(session)
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=session_form(version=factories.version_of(session), programme=other))
    assert response.status_code == 200 and "ni quand des stagiaires y sont inscrit·es" in _text(response)
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).programme_id != other.id


def test_saving_the_catalogue_entry_unchanged_keeps_nothing_on_past_sessions(admin_client):
    """Competencies stored with CR LF line breaks (before forms sent one character per line break) are the
    same course when saved again unchanged: past sessions keep following the catalogue."""
    course, _awa = _certified_course(certify=False)
    programme = course.programme
    programme.competencies = "\r\n".join(COMPETENCIES)
    db.session.commit()
    _edit_catalogue(admin_client, programme, [o.text for o in programme.objectives],
                    competencies="\r\n".join(COMPETENCIES))
    assert not db.session.get(TrainingSession, course.session.id).course.kept
