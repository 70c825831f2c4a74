"""A trainee without an account opens their personal link: they see their enrolments, download the
convocation of their next course and the certificates of the completed one; a tampered or expired link
shows a clear French page, and from there a new link can be asked for."""
import base64
import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner
from playwright.sync_api import expect

from tests import factories
from tests.certificate_course import assess, completed_course, docx_text
from training_app.extensions import db
from training_app.services import certificates as certificate_service
from training_app.services import convocations

pytestmark = pytest.mark.browser

TITLE = "Du dialogue à la négociation : quels moyens pour agir localement ?"
NEXT_TITLE = "Mobiliser un collectif de quartier"


def downloaded_text(page, link) -> tuple[str, str]:
    """Click `link`, which downloads a Word file: its suggested name and its text (python-docx)."""
    with page.expect_download() as download:
        link.click()
    return download.value.suggested_filename, docx_text(Path(download.value.path()).read_bytes())


def card(page, title):
    return page.locator(".card").filter(has=page.get_by_role("heading", name=title, exact=True))


def awa_with_two_courses():
    """Awa Diallo's completed course (her results recorded, the documents issued) and her next one
    (convocation sent). Returns (course, Awa's completed enrolment, her next enrolment)."""
    course = completed_course()
    awa = course.enrolments[0]
    assess(course, awa, {1: ("acquired", ""), 2: ("partly_acquired", "À consolider"), 3: ("acquired", "")})
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    upcoming = factories.make_session(programme=factories.make_programme(title=NEXT_TITLE),
                                      start=datetime(2030, 3, 5, 14, 0), end=datetime(2030, 3, 8, 12, 30))
    following = factories.enrol(upcoming, awa.trainee)
    convocations.send(following)
    db.session.commit()
    return course, awa, following


def test_a_trainee_sees_their_courses_and_downloads_their_convocation_and_certificates(page):
    course, awa, _following = awa_with_two_courses()

    page.goto(factories.personal_path(awa.trainee))
    expect(page.get_by_role("heading", name="Bonjour Awa Diallo")).to_be_visible()
    upcoming, completed = card(page, NEXT_TITLE), card(page, TITLE)
    assert "Du 05/03/2030 à 14h00 au 08/03/2030 à 12h30" in upcoming.inner_text()
    assert upcoming.locator(".badge").inner_text() == "Confirmée"
    assert "Du 11/12/2018 à 14h00 au 14/12/2018 à 12h30" in completed.inner_text()
    assert "Heures suivies : 21 h sur 21 h prévues." in completed.inner_text()
    # Only her own: her classmates of December are not named.
    assert "Julien" not in page.content() and "Renaud" not in page.content()

    name, text = downloaded_text(page, upcoming.get_by_role("link", name="Convocation (Word)"))
    assert name == "convocation-diallo-awa.docx"
    assert "Mme Awa DIALLO" in text and f"« {NEXT_TITLE} »" in text
    assert "mardi 5 mars 2030 | 14h00 – 18h00 | 4 h" in text

    documents = certificate_service.current_documents(awa)
    attestation, realisation = documents["attestation"], documents["realisation"]
    links = completed.get_by_test_id("trainee-certificates").get_by_role("link")
    assert links.all_inner_texts() == [
        f"Attestation individuelle de fin de formation n° {attestation.number} (Word)",
        f"Certificat de réalisation n° {realisation.number} (Word)"]

    name, text = downloaded_text(page, links.nth(0))
    assert name == attestation.filename
    assert "Stagiaire | Mme Awa DIALLO" in text and f"Intitulé de la formation | {TITLE}" in text
    assert "Identifier les leviers d'une négociation | Acquis" in text  # the trainer's assessment
    assert "Préparer une négociation | Partiellement acquis" in text
    assert "Durée effectivement suivie | 21 h" in text

    name, text = downloaded_text(page, links.nth(1))
    assert name == realisation.filename
    assert "Mme Awa DIALLO, à titre individuel," in text and f"a suivi l'action : {TITLE}" in text
    assert "pour une durée de 21 heures" in text
    expect(page.get_by_role("heading", name="Bonjour Awa Diallo")).to_be_visible()  # still on her page

    # Her link does not open a classmate's certificate, even with its number in the address.
    julien_document = certificate_service.current_documents(course.enrolments[1])["attestation"]
    page.goto(factories.personal_path(awa.trainee, "certificates.trainee_download", certificate_id=julien_document.id))
    expect(page.get_by_role("heading", name="Erreur 404")).to_be_visible()
    assert "Cette page n'existe pas." in page.locator("main").inner_text()
    assert "Julien" not in page.content()


def _tampered(path: str, other_trainee) -> str:
    """The personal page's link with its data changed to point at another trainee, its signature kept."""
    token = path.rsplit("/", 1)[1]
    _payload, timestamp, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"t": other_trainee.id, "v": 1}, separators=(",", ":")).encode())
    return path.replace(token, ".".join([forged.decode().rstrip("="), timestamp, signature]))


def _invalid_link_page(page, expected):
    main = page.locator("main").inner_text()
    expect(page.get_by_role("heading", name="Ce lien personnel n'est plus valable")).to_be_visible()
    assert expected in main
    expect(page.get_by_role("link", name="Recevoir un nouveau lien")).to_be_visible()
    return main


def test_a_tampered_or_expired_link_shows_a_clear_page_and_a_new_link_can_be_asked_for(page, live_server,
                                                                                     monkeypatch):
    course, awa, following = awa_with_two_courses()
    julien = course.enrolments[1].trainee
    home = factories.personal_path(awa.trainee)

    # Awa changes her link to reach Julien's page: refused, and nobody is named.
    page.goto(_tampered(home, julien))
    main = _invalid_link_page(page, "Ce lien n'est pas reconnu : il est incomplet ou a été modifié")
    assert "Julien" not in main and "Awa" not in main and TITLE not in main

    # A link cut short when copied, here the convocation's.
    convocation = factories.personal_path(awa.trainee, "enrolments.trainee_convocation", enrolment_id=following.id)
    token = convocation.split("/")[2]  # /moi/<token>/convocation/<id>
    page.goto(convocation.replace(token, token[:-4]))
    _invalid_link_page(page, "Ce lien n'est pas reconnu")

    # A link sent long ago (200 days: links last 120) has expired.
    with monkeypatch.context() as clock:
        clock.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() - 200 * 86400))
        old = factories.personal_path(awa.trainee)
    page.goto(old)
    main = _invalid_link_page(page, "Votre lien a expiré : pour protéger vos données")
    assert "Diallo" not in main and NEXT_TITLE not in main

    # From there she asks for a new link; a mistyped address is pointed out and kept.
    page.get_by_role("link", name="Recevoir un nouveau lien").click()
    address = page.get_by_label("Adresse e-mail de votre inscription")
    address.fill("awa.diallo@example")
    page.get_by_role("button", name="Envoyer le lien").click()
    assert "Cette adresse e-mail n'est pas valide." in page.get_by_role("alert").first.inner_text()
    assert address.input_value() == "awa.diallo@example"
    address.fill(awa.trainee.email.upper())
    page.get_by_role("button", name="Envoyer le lien").click()
    assert "un nouveau lien vient d'y être envoyé" in page.get_by_role("status").first.inner_text()

    mails = [m for m in live_server.extensions["outbox"] if m.to == [awa.trainee.email]]
    link = mails[-1].body.split(live_server.config["PUBLIC_URL"])[1].split()[0]
    page.goto(link)
    expect(page.get_by_role("heading", name="Bonjour Awa Diallo")).to_be_visible()
    expect(card(page, NEXT_TITLE).get_by_role("link", name="Convocation (Word)")).to_be_visible()


def test_a_completed_course_never_convoked_does_not_promise_a_convocation(page):
    _course, awa, _following = awa_with_two_courses()
    page.goto(factories.personal_path(awa.trainee))
    completed = card(page, TITLE)
    expect(completed.get_by_test_id("trainee-certificates")).to_be_visible()
    assert "Votre convocation vous sera envoyée avant la formation." not in completed.inner_text()


def test_a_trainee_cancels_their_enrolment_after_a_question_whose_ok_cancels_it(page):
    """The browser's dialog answers « OK » / « Annuler »: its question asks to confirm the cancellation, so
    « Annuler » (dismissed) keeps the enrolment and OK cancels it."""
    session = factories.make_session(programme=factories.make_programme(title=NEXT_TITLE),
                                     start=datetime(2030, 3, 5, 14, 0), end=datetime(2030, 3, 8, 12, 30))
    awa = factories.enrol(session, factories.make_trainee("Awa", "Diallo"))
    dialogs, answers = [], [False, True]  # first dismissed, then accepted

    def answer(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    page.goto(factories.personal_path(awa.trainee))
    page.get_by_text("Annuler mon inscription").first.click()  # opens the <details>
    page.get_by_role("button", name="Annuler mon inscription").click()
    assert dialogs == ["Votre place sera proposée à une autre personne. "
                       "Confirmer l'annulation de votre inscription ?"]
    db.session.expire_all()
    assert db.session.get(type(awa), awa.id).status == "confirmed"  # dismissed: nothing sent

    page.get_by_role("button", name="Annuler mon inscription").click()
    expect(page.get_by_text("Votre inscription est annulée.")).to_be_visible()
    assert len(dialogs) == 2
    db.session.expire_all()
    assert db.session.get(type(awa), awa.id).status == "cancelled"
