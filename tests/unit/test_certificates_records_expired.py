"""A trainee whose kept records were made anonymous at the end of the retention period
(personal_data.expire_records) gets no new version of their documents: it would print « [effacé] »."""
from datetime import datetime

import pytest
from click.testing import CliRunner

from tests import factories
from tests.certificate_course import completed_course
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment, IssuedCertificate, Trainee
from training_app.services import ServiceError, personal_data
from training_app.services import certificates as certificate_service

REFUSED = "ont été rendues anonymes au terme de la durée de conservation"


def _expired_course(issued=True, trainees=("Awa Diallo", "Julien Le Bihan")):
    """The December 2018 course with its documents issued (or not); Awa's records expired in 2025."""
    course = completed_course(trainees=trainees)
    if issued:
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
        db.session.commit()
    awa = course.enrolments[0]
    admin = factories.make_user("admin")
    with frozen_at(datetime(2019, 6, 1, 10, 0)):
        personal_data.erase(awa.trainee, "Demande de la personne", admin)
        db.session.commit()
    with frozen_at(datetime(2025, 1, 15, 10, 0)):
        personal_data.expire_records(awa.trainee)
        db.session.commit()
    return course, awa


def _versions(enrolment) -> list[int]:
    return sorted(db.session.scalars(db.select(IssuedCertificate.version)
                                     .where(IssuedCertificate.enrolment_id == enrolment.id)))


def test_reissuing_for_a_trainee_whose_records_expired_is_refused_in_french():
    course, awa = _expired_course()
    with pytest.raises(ServiceError, match=REFUSED) as refused:
        certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    assert "[effacé]" in refused.value.message
    db.session.rollback()
    assert _versions(awa) == [1, 1]


def test_reissuing_a_session_skips_them_and_says_so_and_issues_the_others():
    course, awa = _expired_course()
    julien = course.enrolments[1]
    report = certificate_service.issue_for_session(course.session, reissue=True, unrecorded_confirmed=True)
    db.session.commit()
    assert report.records_expired == [awa]
    assert {doc.enrolment_id for doc in report.issued} == {julien.id}
    assert _versions(awa) == [1, 1] and _versions(julien) == [1, 1, 2, 2]


def test_issuing_a_session_where_only_they_are_left_is_refused():
    course, awa = _expired_course(issued=False, trainees=("Awa Diallo",))
    with pytest.raises(ServiceError, match=REFUSED):
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.rollback()
    assert _versions(awa) == []


def test_the_session_page_offers_no_reissue_for_them_and_the_button_is_refused(admin_client):
    course, awa = _expired_course()
    julien = course.enrolments[1]
    page = admin_client.get(f"/sessions/{course.session.id}").get_data(as_text=True)
    assert page.count('data-testid="records-expired"') == 1
    assert f"/inscription/{awa.id}/emettre" not in page and f"/inscription/{julien.id}/emettre" in page

    response = admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{awa.id}/emettre",
                                 follow_redirects=True)
    assert response.status_code == 200 and REFUSED in response.get_data(as_text=True)
    assert _versions(awa) == [1, 1]


def test_the_command_line_says_whose_documents_were_not_reissued(app):
    course, awa = _expired_course()
    result = CliRunner().invoke(app.cli, ["certificates", "issue", str(course.session.id), "--reissue",
                                          "--allow-unrecorded"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2 documents émis" in result.output and REFUSED in result.output
    assert _versions(awa) == [1, 1]


def _erased_course():
    """The December 2018 course, its documents issued; Awa's data erased in 2019 (her records kept until now)."""
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    awa = course.enrolments[0]
    with frozen_at(datetime(2019, 6, 1, 10, 0)):
        personal_data.erase(awa.trainee, "Demande de la personne", factories.make_user("admin"))
    db.session.commit()
    ids = (awa.id, awa.trainee_id)
    db.session.remove()
    return ids


def _expire(trainee_id):
    def run():
        with frozen_at(datetime(2025, 1, 15, 10, 0)):
            personal_data.expire_records(db.session.get(Trainee, trainee_id))
    return run


def _reissue(enrolment_id):
    return lambda: certificate_service.issue_for_enrolment(db.session.get(Enrolment, enrolment_id),
                                                           unrecorded_confirmed=True)


def test_a_reissue_waiting_for_the_expiry_under_way_is_refused(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: the row lock between two requests is what is tested here")
    from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
    enrolment_id, trainee_id = _erased_course()
    outcome = _first_holds_second_waits(app, _expire(trainee_id), _reissue(enrolment_id))
    assert outcome["first"] == "committed" and REFUSED in outcome["second"] and outcome["waited"]
    assert _versions(db.session.get(Enrolment, enrolment_id)) == [1, 1]


def test_an_expiry_waiting_for_a_reissue_under_way_makes_the_new_version_anonymous_too(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: the row lock between two requests is what is tested here")
    from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
    enrolment_id, trainee_id = _erased_course()
    outcome = _first_holds_second_waits(app, _reissue(enrolment_id), _expire(trainee_id))
    assert outcome == {"first": "committed", "second": "committed", "waited": True}
    documents = db.session.scalars(db.select(IssuedCertificate).where(IssuedCertificate.enrolment_id == enrolment_id))
    assert sorted((doc.version, doc.trainee_name) for doc in documents) == [
        (1, "[effacé]"), (1, "[effacé]"), (2, "[effacé]"), (2, "[effacé]")]
