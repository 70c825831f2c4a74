"""The certificates section after review: no double sending, no issuing from a stale page, buttons that say what
they do."""
from tests.certificate_course import completed_course
from training_app.extensions import db
from training_app.services import certificates as certificate_service


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def _issue(course):
    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    return report


def test_a_double_click_on_send_sends_once_and_says_why_not_twice(admin_client, outbox):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    _issue(course)
    url = f"/sessions/{course.session.id}/attestations/envoyer"
    assert "Documents envoyés par e-mail à 2 stagiaires." in _text(admin_client.post(url, follow_redirects=True))
    page = _text(admin_client.post(url, follow_redirects=True))
    assert len(outbox) == 2
    assert ("Non renvoyés : les documents d'Awa Diallo, Julien Le Bihan ont déjà été envoyés il y a moins de "
            "2 minutes : ils ne sont pas renvoyés.") in page
    assert "Documents envoyés par e-mail à 0" not in page

    awa = course.enrolments[0]
    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{awa.id}/envoyer",
                                   follow_redirects=True))
    assert "Rien n'a été envoyé : les documents d'Awa Diallo ont déjà été envoyés il y a moins de 2 minutes" in page
    assert len(outbox) == 2
