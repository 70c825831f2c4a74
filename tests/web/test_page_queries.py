"""Heavy pages run a number of queries that does not grow with the number of trainees."""
from datetime import datetime

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
