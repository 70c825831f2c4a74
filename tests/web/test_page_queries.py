"""Heavy pages run a number of queries that does not grow with the number of trainees."""
from datetime import datetime

import pytest

from tests import factories
from training_app.clock import frozen_at


def _session_with(size: int, employer_each: bool = True):
    session = factories.make_session(programme=factories.make_programme(objectives=("Préparer", "Négocier")))
    enrolments = [factories.make_enrolment(session, factories.make_trainee(
        employer=factories.make_employer() if employer_each else None)) for _ in range(size)]
    return session, enrolments


def test_the_convocations_page_runs_a_constant_number_of_queries(admin_client):
    counts = []
    for size in (2, 7):
        session, enrolments = _session_with(size)
        for enrolment in enrolments:  # each sent by a different member of the office
            factories.make_convocation_sending(enrolment, actor=factories.make_user("admin"))
        page = admin_client.get(f"/sessions/{session.id}/convocations").get_data(as_text=True)
        assert all(e.trainee.full_name in page for e in enrolments)
        counts.append(factories.rendered_page_queries(admin_client, f"/sessions/{session.id}/convocations"))
    assert counts[0] == counts[1], counts


def test_the_outcomes_page_runs_a_constant_number_of_queries(admin_client):
    counts = []
    for size in (2, 7):
        session, enrolments = _session_with(size)
        with frozen_at(datetime(2030, 3, 8, 11, 0)):  # during the course: objectives can be assessed
            page = admin_client.get(f"/sessions/{session.id}/acquis").get_data(as_text=True)
            assert all(e.trainee.employer.name in page for e in enrolments)
            counts.append(factories.rendered_page_queries(admin_client, f"/sessions/{session.id}/acquis"))
    assert counts[0] == counts[1], counts


def _moved_on(enrolments) -> tuple[list[str], list[str]]:
    """Each trainee's record names a new employer now, their enrolment keeps the one of the course; the first
    one's course is covered by a funding agreement naming a third. Returns (the employers of the courses, the
    employers the records name now)."""
    named = factories.make_employer(name=f"Structure nommée par un accord {enrolments[0].id}")
    factories.make_agreement(enrolments[0].session, enrolments[:1], employer=named)
    now = []
    for enrolment in enrolments:
        enrolment.trainee.employer = factories.make_employer(name=f"Nouvelle structure {enrolment.id}")
        now.append(enrolment.trainee.employer.name)
    factories.db.session.commit()
    return [named.name] + [e.employer.name for e in enrolments[1:]], now


@pytest.mark.parametrize("page", ["/sessions/{id}", "/sessions/{id}/acquis"])
def test_the_staff_lists_name_the_employer_of_the_course_in_a_constant_number_of_queries(admin_client, page):
    """The session page's enrolments and the outcomes page: the employer the trainee follows the course for
    (enrolments.course_employers), not the one their record names now."""
    counts = []
    for size in (2, 7):
        session, enrolments = _session_with(size)
        of_the_course, now = _moved_on(enrolments)
        url = page.format(id=session.id)
        with frozen_at(datetime(2030, 3, 8, 11, 0)):  # during the course: objectives can be assessed
            shown = admin_client.get(url).get_data(as_text=True)
            assert all(name in shown for name in of_the_course) and not any(name in shown for name in now)
            counts.append(factories.rendered_page_queries(admin_client, url))
    assert counts[0] == counts[1], counts


def test_the_claim_page_runs_a_constant_number_of_queries(admin_client):
    """A draft (its pre-flight check) and a sent claim (its check of the hours since sending)."""
    from datetime import date

    from tests.web.test_funding import PAST_END, PAST_START, set_organisation
    from training_app.services import certificates
    from training_app.services import funding as funding_service

    set_organisation()
    counts = {"draft": [], "sent": []}
    for size in (2, 7):
        funder = factories.make_funder()
        employer = factories.make_employer(siret="78324521000001", funder=funder)
        trainer = factories.make_user("trainer")
        session = factories.make_session(start=PAST_START, end=PAST_END, status="completed", trainers=[trainer])
        enrolments = [factories.make_enrolment(session, factories.make_trainee(employer=employer))
                      for _ in range(size)]
        factories.make_agreement(session, enrolments, funder=funder, employer=employer)
        factories.take_attendance(session, trainer)
        with frozen_at(datetime(2019, 1, 8, 10)):
            certificates.issue_for_session(session, unrecorded_confirmed=True)
            claim = funding_service.create_claim(funder, session=session)
            factories.db.session.commit()
            url = f"/financement/demandes/{claim.id}"
            assert admin_client.get(url).get_data(as_text=True).count('data-testid="claim-line"') == size
            counts["draft"].append(factories.rendered_page_queries(admin_client, url))
            funding_service.send(claim, date(2019, 1, 8))
            factories.db.session.commit()
            counts["sent"].append(factories.rendered_page_queries(admin_client, url))
    assert counts["draft"][0] == counts["draft"][1] and counts["sent"][0] == counts["sent"][1], counts


def test_the_dashboard_s_enrolment_requests_run_a_constant_number_of_queries(admin_client):
    counts = []
    for size in (1, 6):
        for _ in range(size):  # each in a session of its own programme
            factories.make_enrolment(factories.make_session(programme=factories.make_programme()),
                                     status="requested")
        with frozen_at(datetime(2030, 1, 10, 10, 0)):
            assert "Demandes d'inscription à confirmer" in admin_client.get("/tableau-de-bord").get_data(as_text=True)
            counts.append(factories.rendered_page_queries(admin_client, "/tableau-de-bord"))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("page", ["/sessions/{id}", "/sessions/{id}/convocations"])
def test_pages_judging_the_convocations_sent_run_a_constant_number_of_queries(admin_client, admin, page):
    """Each trainee's convocation sent is checked against what it would state now (convocations.Fingerprints):
    the course's objectives are read once, not once per trainee."""
    from training_app.services import convocations
    factories.make_organisation(email="contact@example.org", phone="02 99 00 00 00")
    counts = []
    for size in (2, 7):
        session, enrolments = _session_with(size)
        with frozen_at(datetime(2030, 2, 1, 10, 0)):
            convocations.send_all(session, actor=admin)
            factories.db.session.commit()
            session.contact_person = "Paul, 02 99 00 00 01"  # every convocation sent is outdated now
            factories.db.session.commit()
            url = page.format(id=session.id)
            shown = admin_client.get(url).get_data(as_text=True)
            assert f"{size} convocations envoyées ne sont plus à jour" in shown
            counts.append(factories.rendered_page_queries(admin_client, url))
    assert counts[0] == counts[1], counts
