"""A trainer opens the current half-day, two trainees sign on the pad with the mouse, one is marked
absent, the trainer signs and closes the sheet; a change made afterwards is refused."""
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.conftest import browser_context
from training_app.clock import local_now
from training_app.extensions import db
from training_app.models import AttendanceRecord, AttendanceSheet, Signature, Slot

pytestmark = pytest.mark.browser


def running_session(trainer, names):
    """A session whose only half-day is running now and ends in 20 minutes, so that the trainer may already
    close it (CLOSING_OPENS_MINUTES_BEFORE_END) (the live server runs on the real clock)."""
    now = local_now()
    start = max(now - timedelta(hours=1), datetime.combine(now.date(), time(0, 0))).replace(second=0, microsecond=0)
    end = min(now + timedelta(minutes=20), datetime.combine(now.date(), time(23, 59, 59)))
    session = factories.make_session(trainers=[trainer])
    # Test data set as it is (the slot rules refuse the past and weekends; today may be either).
    session.start_at, session.end_at = start, end
    session.slots = [Slot(date=start.date(), start_time=start.time(), end_time=end.time())]
    db.session.commit()
    enrolments = [factories.make_enrolment(session, factories.make_trainee(first_name=first, last_name=last))
                  for first, last in names]
    return session, enrolments


def draw(page, test_id):
    canvas = page.get_by_test_id(test_id)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(x + i * 25, y + (20 if i % 2 else -20), steps=4)
    page.mouse.up()


def row(page, name):
    return page.get_by_test_id("row").filter(has_text=name)


def accept_dialogs(page) -> list[str]:
    """Answer OK to the page's confirmations; returns the list of the questions asked, filled as they come."""
    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()
    page.on("dialog", accept)
    return questions


def test_trainer_takes_attendance_on_the_tablet(page):
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    _session, (awa, julien, sophie) = running_session(
        trainer, [("Awa", "Diallo"), ("Julien", "Le Bihan"), ("Sophie", "Renaud")])

    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet in portrait
    factories.sign_in_browser(page, trainer)
    page.get_by_role("link", name="Émargement", exact=True).click()
    page.get_by_role("link", name="Ouvrir la feuille d'émargement").click()
    assert page.get_by_test_id("row").count() == 3

    for name, of_name in (("Awa Diallo", "d'Awa Diallo"), ("Julien Le Bihan", "de Julien Le Bihan")):
        page.wait_for_load_state()  # the sheet's script is bound to the buttons (a click before would be lost)
        row(page, name).get_by_role("button", name="Faire signer").click()
        dialog = page.locator("#pad-dialog")
        expect(dialog.get_by_role("heading")).to_have_text(f"Signature {of_name}")
        draw(page, "pad-stagiaire")
        dialog.get_by_role("button", name="Valider la signature").click()
        assert f"Signature {of_name} enregistrée." in page.get_by_role("status").first.inner_text()
        assert row(page, name).get_by_role("img").count() == 1

    stale = page.context.new_page()  # the same sheet, left open in another tab
    stale.goto(page.url)
    page.bring_to_front()

    page.set_viewport_size({"width": 1180, "height": 820})  # turned to landscape
    row(page, "Sophie Renaud").get_by_label("Statut").select_option("absent_unjustified")
    row(page, "Sophie Renaud").get_by_role("button", name="Enregistrer le statut").click()
    assert "Statut de Sophie Renaud enregistré." in page.get_by_role("status").first.inner_text()

    page.wait_for_load_state()  # the pad's script checks the signature before the form leaves
    questions = accept_dialogs(page)
    pad_error = page.locator("#cloture").get_by_text("Signez dans le cadre avant de valider.")
    expect(pad_error).to_be_hidden()  # no reproach before anyone has tried
    page.get_by_role("button", name="Signer et clore la feuille").click()  # an empty pad is refused
    expect(pad_error).to_be_visible()
    assert questions == []  # refused before being asked
    draw(page, "pad-formateur")
    page.get_by_role("button", name="Signer et clore la feuille").click()
    assert "Feuille signée et close." in page.get_by_role("status").first.inner_text()
    assert questions == ["2 signatures, 1 absence : clore la feuille ?"]
    assert page.get_by_test_id("sheet-status").inner_text() == "Feuille close"
    assert page.get_by_role("button", name="Faire signer").count() == 0
    assert page.get_by_test_id("trainer-signature").count() == 1

    stale.bring_to_front()
    stale.set_viewport_size({"width": 1180, "height": 820})
    row(stale, "Sophie Renaud").get_by_label("Statut").select_option("present")
    row(stale, "Sophie Renaud").get_by_role("button", name="Enregistrer le statut").click()
    assert "est close" in stale.content()

    db.session.expire_all()
    assert db.session.scalar(db.select(AttendanceSheet.status)) == "closed"
    signatures = db.session.scalars(db.select(Signature).order_by(Signature.id)).all()
    assert [s.enrolment_id for s in signatures] == [awa.id, julien.id, None]
    assert all(s.method == "device" and len(s.image) > 200 for s in signatures)
    assert db.session.scalar(db.select(AttendanceRecord.status).where(AttendanceRecord.enrolment_id == sophie.id)) \
        == "absent_unjustified"


def open_todays_sheet(page, trainer, viewport) -> list[str]:
    """The trainer signs in and opens the running half-day's sheet from their day; returns the confirmations
    asked (accept_dialogs)."""
    page.set_viewport_size(viewport)
    factories.sign_in_browser(page, trainer)
    page.get_by_role("link", name="Émargement", exact=True).click()
    page.get_by_role("link", name="Ouvrir la feuille d'émargement").click()
    page.wait_for_load_state()
    return accept_dialogs(page)


INKED_PIXELS = """(canvas) => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { inked += 1; } }
    return inked;
}"""


def test_a_refused_closing_keeps_the_trainer_signature_on_the_pad(page):
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    running_session(trainer, [("Sophie", "Renaud")])
    questions = open_todays_sheet(page, trainer, {"width": 1180, "height": 820})
    draw(page, "pad-formateur")
    page.get_by_role("button", name="Signer et clore la feuille").click()  # Sophie is neither signed nor marked
    expect(page.get_by_role("alert").first).to_have_text(
        "Avant de clore, faites signer ou marquez absent·e : Sophie Renaud.")
    pad = page.get_by_test_id("pad-formateur")
    pad.scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({INKED_PIXELS})(document.querySelector('[data-testid=pad-formateur]')) > 100")

    other = page.context.new_page()  # Sophie is marked meanwhile (in another tab)
    other.goto(page.url.removesuffix("/clore"))  # the refused page was the answer to the closing
    row(other, "Sophie Renaud").get_by_label("Statut").select_option("absent_unjustified")
    row(other, "Sophie Renaud").get_by_role("button", name="Enregistrer le statut").click()
    expect(row(other, "Sophie Renaud").get_by_test_id("row-notice")).to_have_text("Statut de Sophie Renaud enregistré.")
    other.close()

    page.bring_to_front()
    page.get_by_role("button", name="Signer et clore la feuille").click()  # not drawn again
    expect(page.get_by_test_id("sheet-status")).to_have_text("Feuille close")
    assert questions == []
    db.session.expire_all()
    signatures = db.session.scalars(db.select(Signature)).all()
    assert [s.trainer_id for s in signatures] == [trainer.id] and len(signatures[0].image) > 200


def kept_signatures(page) -> dict:
    """What the tab keeps of a drawing in its sessionStorage (attendance.js)."""
    return page.evaluate("() => Object.fromEntries(Object.entries(window.sessionStorage)"
                         ".filter(([key]) => key.startsWith('emargement-signature-')))")


def wait_for_ink(page):
    pad = page.get_by_test_id("pad-formateur")
    pad.scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({INKED_PIXELS})(document.querySelector('[data-testid=pad-formateur]')) > 100")


def test_the_drawing_of_a_refused_closing_stays_on_the_pad_while_a_status_is_fixed(page):
    """A status fixed from the refused page (a POST, then a redirect) keeps the trainer's drawing, kept by the tab
    for this half-day and sent by the closing only; once the sheet is closed the tab forgets it."""
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    session, _enrolments = running_session(trainer, [("Sophie", "Renaud")])
    key = f"emargement-signature-{trainer.id}-{session.slots[0].id}"
    questions = open_todays_sheet(page, trainer, {"width": 1180, "height": 820})
    draw(page, "pad-formateur")
    assert kept_signatures(page) == {}  # a drawing is kept after a refused closing only
    page.get_by_role("button", name="Signer et clore la feuille").click()
    expect(page.get_by_role("alert").first).to_have_text(
        "Avant de clore, faites signer ou marquez absent·e : Sophie Renaud.")
    wait_for_ink(page)
    assert list(kept_signatures(page)) == [key]

    posted = []
    page.on("request", lambda request: posted.append(request.post_data or "") if request.method == "POST" else None)
    row(page, "Sophie Renaud").get_by_label("Statut").select_option("absent_unjustified")
    row(page, "Sophie Renaud").get_by_role("button", name="Enregistrer le statut").click()
    expect(row(page, "Sophie Renaud").get_by_test_id("row-notice")).to_have_text("Statut de Sophie Renaud enregistré.")
    assert len(posted) == 1 and "data:image" not in posted[0] and "signature" not in posted[0]
    wait_for_ink(page)  # drawn again from the tab, not by hand

    page.get_by_role("button", name="Signer et clore la feuille").click()
    expect(page.get_by_test_id("sheet-status")).to_have_text("Feuille close")
    assert questions == ["0 signature, 1 absence : clore la feuille ?"]
    page.wait_for_load_state()  # the closed sheet's script has run: the tab forgot the drawing
    assert kept_signatures(page) == {}
    db.session.expire_all()
    signatures = db.session.scalars(db.select(Signature)).all()
    assert [s.trainer_id for s in signatures] == [trainer.id] and len(signatures[0].image) > 200


def refused_closing_with_a_drawing(page) -> None:
    """Camille's sheet on a tablet, Sophie not marked: the trainer signs and closes, refused, the drawing back."""
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    running_session(trainer, [("Sophie", "Renaud")])
    open_todays_sheet(page, trainer, {"width": 1180, "height": 820})
    draw(page, "pad-formateur")
    page.get_by_role("button", name="Signer et clore la feuille").click()
    wait_for_ink(page)


def test_a_cleared_pad_is_not_drawn_again_after_a_status_is_fixed(page):
    refused_closing_with_a_drawing(page)
    page.locator("#cloture").get_by_role("button", name="Effacer").click()
    assert kept_signatures(page) == {}
    row(page, "Sophie Renaud").get_by_label("Statut").select_option("absent_unjustified")
    row(page, "Sophie Renaud").get_by_role("button", name="Enregistrer le statut").click()
    expect(row(page, "Sophie Renaud").get_by_test_id("row-notice")).to_have_text("Statut de Sophie Renaud enregistré.")
    page.wait_for_load_state()
    assert page.get_by_test_id("pad-formateur").evaluate(INKED_PIXELS) == 0
    page.get_by_role("button", name="Signer et clore la feuille").click()
    expect(page.locator("#cloture").get_by_text("Signez dans le cadre avant de valider.")).to_be_visible()


def test_a_refused_status_then_the_unmarked_marked_absent_at_once_then_closing(page):
    """The time fields follow the status; a refused status is named at the top and its field comes into view
    on a long sheet; the trainees nobody marked are marked absent in one go, after a question that counts them;
    closing asks with the counts."""
    trainer = factories.make_user("trainer", name="Camille Le Gall")
    names = [("Awa", "Diallo"), ("Nolwenn", "Guégan"), ("Julien", "Le Bihan"), ("Sophie", "Renaud")]
    names += [(f"Stagiaire{i}", f"Zz{i:02d}") for i in range(8)]  # a sheet longer than the screen
    _session, (awa, nolwenn, *others) = running_session(trainer, names)
    questions = open_todays_sheet(page, trainer, {"width": 820, "height": 1180})

    row(page, "Awa Diallo").get_by_role("button", name="Faire signer").click()
    draw(page, "pad-stagiaire")
    page.locator("#pad-dialog").get_by_role("button", name="Valider la signature").click()
    notice = row(page, "Awa Diallo").get_by_test_id("row-notice")  # where the trainer looks, after the jump
    expect(notice).to_have_text("Signature d'Awa Diallo enregistrée.")
    expect(notice).to_be_in_viewport()

    nolwenn_row = row(page, "Nolwenn Guégan")
    arrival, departure = nolwenn_row.get_by_label("Heure d'arrivée"), nolwenn_row.get_by_label("Heure de départ")
    expect(arrival).to_be_hidden()
    nolwenn_row.get_by_label("Statut").select_option("late")
    expect(arrival).to_be_visible()
    expect(departure).to_be_hidden()
    nolwenn_row.get_by_label("Statut").select_option("left_early")
    expect(arrival).to_be_hidden()
    expect(departure).to_be_visible()
    nolwenn_row.get_by_label("Statut").select_option("late")
    nolwenn_row.get_by_role("button", name="Enregistrer le statut").click()  # no arrival time
    expect(page.get_by_role("alert").first).to_have_text(
        "Statut non enregistré pour Nolwenn Guégan : indiquez l'heure d'arrivée.")
    expect(arrival).to_be_focused()
    expect(arrival).to_be_in_viewport()

    page.wait_for_load_state()
    left = page.get_by_test_id("to-settle")
    expect(left.get_by_role("listitem")).to_have_count(11)
    left.get_by_role("button", name="Marquer absent·es (sans justificatif) les 11 personnes non émargées").click()
    expect(page.get_by_role("status").first).to_have_text("11 personnes marquées absentes (sans justificatif).")
    assert questions == ["Marquer absent·es, sans justificatif, les 11 personnes non émargées ?"]
    expect(page.get_by_test_id("to-settle")).to_have_count(0)

    page.wait_for_load_state()
    draw(page, "pad-formateur")
    page.get_by_role("button", name="Signer et clore la feuille").click()
    expect(page.get_by_test_id("sheet-status")).to_have_text("Feuille close")
    assert questions[1:] == ["1 signature, 11 absences : clore la feuille ?"]
    db.session.expire_all()
    assert sorted(db.session.execute(db.select(AttendanceRecord.enrolment_id, AttendanceRecord.status)).all()) == \
        sorted([(awa.id, "present")] + [(e.id, "absent_unjustified") for e in (nolwenn, *others)])


def test_a_high_density_screen_signs_within_the_image_limits(browser, live_server):
    """On a 3x screen the trainer's closing pad, which fills the page width, would be a canvas of some
    3,900 pixels: the pads draw at a capped resolution, so the PNG they send is accepted and bounded."""
    import io

    from PIL import Image

    from training_app.services import attendance

    trainer = factories.make_user("trainer", name="Camille Le Gall")
    _session, (awa,) = running_session(trainer, [("Awa", "Diallo")])
    with browser_context(browser, live_server, viewport={"width": 1400, "height": 900},
                         device_scale_factor=3) as context:
        page = context.new_page()
        factories.sign_in_browser(page, trainer)
        page.get_by_role("link", name="Émargement", exact=True).click()
        page.get_by_role("link", name="Ouvrir la feuille d'émargement").click()
        page.wait_for_load_state()
        row(page, "Awa Diallo").get_by_role("button", name="Faire signer").click()
        draw(page, "pad-stagiaire")
        page.locator("#pad-dialog").get_by_role("button", name="Valider la signature").click()
        assert "Signature d'Awa Diallo enregistrée." in page.get_by_role("status").first.inner_text()
        page.wait_for_load_state()
        accept_dialogs(page)
        draw(page, "pad-formateur")
        page.get_by_role("button", name="Signer et clore la feuille").click()
        assert "Feuille signée et close." in page.get_by_role("status").first.inner_text()
    db.session.expire_all()
    signatures = db.session.scalars(db.select(Signature).order_by(Signature.id)).all()
    assert [s.enrolment_id for s in signatures] == [awa.id, None]
    sizes = [Image.open(io.BytesIO(s.image)).size for s in signatures]
    assert all(max(size) <= attendance.PAD_EXPORT_MAX_SIDE for size in sizes), sizes
    assert sizes[1][0] > 1000  # still sharp: the wide pad is drawn at more than one pixel per CSS pixel


def test_a_trainee_scans_the_room_qr_code_on_her_phone_and_signs(page):
    """Her phone opened her personal link (the e-mail's): the room's QR code knows her and leads to her pad.
    Her pages are not kept by the phone, and only the pages on the way to the room set the device cookie."""
    from training_app.blueprints.attendance.views import DEVICE_COOKIE, DEVICE_COOKIE_PATH
    from training_app.services import attendance

    trainer = factories.make_user("trainer", name="Camille Le Gall")
    session, (awa,) = running_session(trainer, [("Awa", "Diallo")])
    certificate = factories.make_issued_certificate(awa)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone

    download = page.request.get(factories.personal_path(  # the phone's cookies, without leaving the page
        awa.trainee, "certificates.trainee_download", certificate_id=certificate.id))
    assert download.ok and download.body().startswith(b"PK")
    assert [c for c in page.context.cookies() if c["name"] == DEVICE_COOKIE] == []  # a document alone: not known

    home = page.goto(factories.personal_path(awa.trainee))
    assert home.headers["cache-control"] == "private, no-store"
    assert [c["path"] for c in page.context.cookies() if c["name"] == DEVICE_COOKIE] == [DEVICE_COOKIE_PATH]

    page.goto(f"/emargement/salle/{attendance.qr_token(session.slots[0])}")  # the QR code scanned
    expect(page.get_by_test_id("remembered")).to_have_text("Awa Diallo")
    page.get_by_role("link", name="C'est moi : signer ma présence").click()
    expect(page.get_by_test_id("signer")).to_have_text("Awa Diallo")
    assert page.get_by_test_id("signing-window").inner_text().startswith("La signature est ouverte jusqu'à ")
    page.wait_for_load_state()
    draw(page, "pad-stagiaire")
    page.get_by_role("button", name="Valider ma signature").click()
    expect(page.get_by_test_id("signed")).to_contain_text("Votre signature est enregistrée")

    db.session.expire_all()
    signature = db.session.scalar(db.select(Signature))
    assert (signature.enrolment_id, signature.method) == (awa.id, "qr")


def test_signing_out_forgets_the_drawing_the_tab_kept(page):
    """A shared tablet: once its trainer has signed out, the tab keeps no image of their signature."""
    refused_closing_with_a_drawing(page)
    assert len(kept_signatures(page)) == 1
    page.get_by_test_id("account-menu").locator("summary").click()
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    page.wait_for_load_state()
    assert kept_signatures(page) == {}
