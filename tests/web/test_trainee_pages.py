"""Every page and download reached through a trainee's personal link (`trainee_view`): phones are shared in the
room, so none of them is kept (`Cache-Control: private, no-store`); and only the pages on the way to the room's QR
code teach the phone whose it is (the device cookie, sent to the room page only)."""
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from tests import factories
from training_app.access import TRAINEE, access_level_of
from training_app.blueprints.attendance.views import DEVICE_COOKIE, DEVICE_COOKIE_PATH
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import attendance, convocations

SURVEY_OPEN = datetime(2030, 3, 10, 12, 0)  # inside the factory survey's window (8 to 22 March 2030)


@pytest.fixture
def world(app):
    """A trainee of a mixed session (the personal link alone signs) with a convocation sent, a questionnaire
    and a certificate: something behind each of their links."""
    factories.make_organisation()
    session, (enrolment,) = factories.make_attendance_session(trainees=1, modality="mixed")
    with frozen_at(datetime(2030, 2, 1, 9)):
        convocations.send_one(enrolment)
    db.session.commit()
    survey = factories.make_survey(session)
    certificate = factories.make_issued_certificate(enrolment)
    return SimpleNamespace(trainee=enrolment.trainee, enrolment=enrolment, slot=session.slots[0], survey=survey,
                           certificate=certificate)


def _path(world, endpoint="trainee.home", **values):
    return factories.personal_path(world.trainee, endpoint, **values)


def _during(slot):
    return frozen_at(slot.starts_at + timedelta(minutes=5))


def _home(client, world):
    return client.get(_path(world))


def _sign_page(client, world):
    with _during(world.slot):
        return client.get(_path(world, "attendance.trainee_sign", slot_id=world.slot.id))


def _sign(client, world):
    with _during(world.slot):
        return client.post(_path(world, "attendance.trainee_sign", slot_id=world.slot.id),
                           data={"signature": factories.signature_data_url(), "qr": ""})


def _survey(client, world):
    with frozen_at(SURVEY_OPEN):
        return client.get(_path(world, "surveys.answer", survey_id=world.survey.id))


def _convocation(client, world):
    return client.get(_path(world, "enrolments.trainee_convocation", enrolment_id=world.enrolment.id))


def _certificate(client, world):
    return client.get(_path(world, "certificates.trainee_download", certificate_id=world.certificate.id))


def _cancel(client, world):
    return client.post(_path(world, "enrolments.trainee_cancel", enrolment_id=world.enrolment.id),
                       data={"reason": "Un empêchement"})


def _not_theirs(client, world):
    return client.get(_path(world, "certificates.trainee_download", certificate_id=world.certificate.id + 1000))


def _bad_link(client, world):
    return client.get(_path(world).rstrip("/") + "x")


# name: (endpoint, request, expected status, sets the device cookie)
CASES = {
    "home": ("trainee.home", _home, 200, True),
    "signing page": ("attendance.trainee_sign", _sign_page, 200, True),
    "signature": ("attendance.trainee_sign", _sign, 302, False),
    "questionnaire": ("surveys.answer", _survey, 200, False),
    "convocation download": ("enrolments.trainee_convocation", _convocation, 200, False),
    "certificate download": ("certificates.trainee_download", _certificate, 200, False),
    "cancellation": ("enrolments.trainee_cancel", _cancel, 302, False),
    "another's document": ("certificates.trainee_download", _not_theirs, 404, False),
    "altered link": ("trainee.home", _bad_link, 403, False),
}


def test_every_view_of_a_personal_link_is_checked_here(app):
    reached = {rule.endpoint for rule in app.url_map.iter_rules() if access_level_of(rule.endpoint) == TRAINEE}
    assert reached == {endpoint for endpoint, *_rest in CASES.values()}


def _device_cookies(response) -> list[str]:
    return [header for header in response.headers.getlist("Set-Cookie") if header.startswith(f"{DEVICE_COOKIE}=")]


@pytest.mark.parametrize("case", list(CASES))
def test_no_personal_page_is_kept_and_only_the_way_to_the_room_remembers_the_phone(app, world, case):
    _endpoint, send, status, remembers = CASES[case]
    response = send(app.test_client(), world)
    assert response.status_code == status
    if case.endswith("download") and status == 200:
        assert response.data.startswith(b"PK")  # the document itself
    assert response.headers["Cache-Control"] == "private, no-store"
    cookies = _device_cookies(response)
    if remembers:
        assert len(cookies) == 1 and f"Path={DEVICE_COOKIE_PATH}" in cookies[0]
    else:
        assert cookies == []


def test_a_phone_that_only_downloaded_a_document_is_not_remembered_and_the_home_page_teaches_it(app, world):
    phone = app.test_client()
    with _during(world.slot):
        room = f"/emargement/salle/{attendance.qr_token(world.slot)}"
        assert _certificate(phone, world).status_code == 200
        assert "ne sait pas encore qui vous êtes" in phone.get(room).get_data(as_text=True)
        assert _home(phone, world).status_code == 200
        assert world.trainee.full_name in phone.get(room).get_data(as_text=True)


def test_the_home_page_runs_as_many_statements_for_five_enrolments_as_for_one(client, world):
    """Each feature's part of the page (convocation, attendance, questionnaires, certificates) reads what it shows
    of every enrolment of the trainee at once."""
    with frozen_at(SURVEY_OPEN):
        one, page = factories.page_statements(client, _path(world))
    assert page.count('data-testid="trainee-certificates"') == 1 and "Répondre" in page
    for index in range(4):
        session = factories.make_session(start=datetime(2030, 3, 5 + index, 9, 0),
                                         end=datetime(2030, 3, 5 + index, 17, 0))
        enrolment = factories.make_enrolment(session, world.trainee)
        with frozen_at(datetime(2030, 2, 1, 9)):
            convocations.send_one(enrolment)
        db.session.commit()
        factories.make_survey(session)
        factories.make_issued_certificate(enrolment, "realisation")
    with frozen_at(SURVEY_OPEN):
        five, page = factories.page_statements(client, _path(world))
    assert page.count('data-testid="trainee-certificates"') == 5 and page.count("Répondre") == 5
    assert page.count("Convocation (Word)") == 5 and five == one
