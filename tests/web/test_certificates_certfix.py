"""The certificates section after review: no double sending, no issuing from a stale page, buttons that say what
they do."""
import re

from tests.certificate_course import completed_course, corrected_to_no_attendance
from tests.web.test_certificates import _issue, _text
from training_app.extensions import db
from training_app.models import IssuedCertificate
from training_app.services import certificates as certificate_service




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


def _seen(page: str, action: str) -> str:
    """The documents_seen of the form posting to `action` on the page."""
    form = page[page.index(f'action="{action}"'):]
    return re.search(r'name="documents_seen" value="([^"]*)"', form[:form.index("</form>")]).group(1)


def test_issuing_from_a_stale_page_is_refused_with_a_french_message_and_nothing_issued(admin_client):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa = course.enrolments[0]
    base = f"/sessions/{course.session.id}/attestations"
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    seen_session = _seen(page, f"{base}/emettre")
    seen_awa = _seen(page, f"{base}/inscription/{awa.id}/emettre")
    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)  # another tab, meanwhile
    db.session.commit()

    for url, seen in ((f"{base}/emettre", seen_session), (f"{base}/inscription/{awa.id}/emettre", seen_awa)):
        page = _text(admin_client.post(url, data={"confirm_unrecorded": "y", "documents_seen": seen},
                                       follow_redirects=True))
        assert "Les documents ont changé depuis l'affichage de la page" in page and "Rechargez la page" in page
        assert db.session.scalar(db.select(db.func.count()).select_from(IssuedCertificate)) == 2

    page = _text(admin_client.get(f"/sessions/{course.session.id}"))  # reloaded: issuing works
    response = admin_client.post(f"{base}/emettre", follow_redirects=True,
                                 data={"confirm_unrecorded": "y", "documents_seen": _seen(page, f"{base}/emettre")})
    assert "2 documents émis." in _text(response)


def _rows(page: str) -> dict[str, str]:
    """trainee name -> the HTML of their row in the certificates section."""
    rows = {}
    for chunk in page.split('data-testid="certificate-row"')[1:]:
        chunk = chunk[:chunk.index("</tr>")]
        name = re.search(r'<th scope="row" class="fw-normal">([^<]+)', chunk).group(1).strip()
        rows[name] = chunk
    return rows


def test_no_issue_button_for_a_trainee_without_attendance_and_the_refusal_stays(admin_client):
    course = completed_course(trainees=("Awa Diallo", "Sophie Renaud"), no_show=[1])
    sophie = course.enrolments[1]
    rows = _rows(_text(admin_client.get(f"/sessions/{course.session.id}")))
    assert "Émettre" in rows["Awa Diallo"]
    assert "/emettre" not in rows["Sophie Renaud"] and "Émettre" not in rows["Sophie Renaud"]
    assert "aucune présence : rien à émettre" in rows["Sophie Renaud"]
    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{sophie.id}/emettre",
                                   data={"confirm_unrecorded": "y"}, follow_redirects=True))
    assert "Sophie Renaud n'a assisté à aucune demi-journée : pas d'attestation possible." in page
    assert db.session.scalar(db.select(db.func.count()).select_from(IssuedCertificate)) == 0


def test_the_reissue_buttons_say_what_they_do(admin_client):
    course, sophie, _slot, _admin, _issued = corrected_to_no_attendance()
    julien = course.enrolments[1]
    julien.status, julien.withdrawn_on = "withdrawn", julien.session.end_at.date()
    db.session.commit()
    rows = _rows(_text(admin_client.get(f"/sessions/{course.session.id}")))
    # Sophie has documents but no attendance left: « Réémettre » withdraws them, the button says so
    assert "Retirer ses documents" in rows["Sophie Renaud"] and "Réémettre" not in rows["Sophie Renaud"]
    assert "sans nouvelle version. Continuer ?" in rows["Sophie Renaud"]  # the confirmation says so too
    # Julien dropped out: his documents state the hours he attended before
    assert "Réémettre (heures suivies avant l'abandon)" in rows["Julien Le Bihan"]
    assert ">Réémettre<" in rows["Awa Diallo"]

    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{sophie.id}/emettre",
                                   data={"confirm_unrecorded": "y"}, follow_redirects=True))
    assert "Documents de Sophie Renaud retirés" in page
