"""An administrator enrols trainees on a small session: seats, then the waiting list with its position;
cancelling a confirmed trainee promotes the first on the waiting list (who is e-mailed); enrolling the
same person twice is refused in French. Then a participant list is imported (preview with a rejected
row, confirmation), and the session's convocations are sent and recorded."""
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.conftest import browser_context

pytestmark = pytest.mark.browser


@pytest.fixture
def served_outbox(live_server):
    """The mail captured by the served application, emptied first (it lives as long as the test run)."""
    outbox = live_server.extensions["outbox"]
    outbox.clear()
    return outbox


def _mails_to(outbox, email):
    return [m for m in outbox if m.to == [email]]


def _flash(page):
    return page.get_by_role("status").first


def _enrol_new(page, first_name, last_name, email):
    """From the session page: enrol a person the application does not know yet."""
    page.get_by_role("link", name="Inscrire un·e stagiaire").click()
    page.get_by_label("Prénom").fill(first_name)
    page.get_by_label("Nom", exact=True).fill(last_name)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Financement", exact=True).select_option("personal")  # no employer: paid personally
    page.get_by_role("button", name="Inscrire", exact=True).click()


def _names(page, test_id):
    """The trainees named in a list of the session page ("LAST First"), in its order."""
    return page.get_by_test_id(test_id).locator("td > a:first-child").all_inner_texts()  # not "modifier la fiche"


def _ranks(page):
    return page.get_by_test_id("waitlisted-row").locator("td:first-child").all_inner_texts()


def test_admin_enrols_up_to_capacity_then_the_waiting_list_is_promoted(page, served_outbox):
    admin = factories.make_user("admin", name="Claire Bernard")
    programme = factories.make_programme(title="Du dialogue à la négociation")
    session = factories.make_session(programme=programme, capacity=2)

    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}")
    _enrol_new(page, "Awa", "Diallo", "awa.diallo@example.org")
    expect(_flash(page)).to_contain_text("Awa Diallo est inscrit·e : place confirmée.")
    _enrol_new(page, "Julien", "Le Bihan", "julien.lebihan@example.org")
    expect(_flash(page)).to_contain_text("Julien Le Bihan est inscrit·e : place confirmée.")

    # The session is full: the form says so, and the next two join the waiting list in order.
    page.get_by_role("link", name="Inscrire un·e stagiaire").click()
    expect(page.get_by_text("La session est complète : l'inscription rejoindra la liste d'attente.")).to_be_visible()
    page.get_by_role("link", name="Retour à la session").click()
    _enrol_new(page, "Sophie", "Renaud", "sophie.renaud@example.org")
    expect(_flash(page)).to_contain_text("Sophie Renaud est inscrit·e : liste d'attente, position 1.")
    _enrol_new(page, "Karim", "Benali", "karim.benali@example.org")
    expect(_flash(page)).to_contain_text("Karim Benali est inscrit·e : liste d'attente, position 2.")

    seats = page.get_by_test_id("seats").inner_text()
    assert "2 places occupées sur 2" in seats and "0 place libre" in seats
    assert "2 en liste d'attente" in seats
    assert _names(page, "confirmed-row") == ["DIALLO Awa", "LE BIHAN Julien"]
    assert _names(page, "waitlisted-row") == ["RENAUD Sophie", "BENALI Karim"] and _ranks(page) == ["1", "2"]
    waiting_mail = _mails_to(served_outbox, "sophie.renaud@example.org")
    assert [m.subject for m in waiting_mail] == ["Vous êtes sur la liste d'attente"]
    assert "en position 1" in waiting_mail[0].body

    page.get_by_role("link", name="RENAUD Sophie").click()
    assert page.get_by_test_id("enrolment-state").inner_text() == "Liste d'attente — position 1"
    page.get_by_role("link", name="Du dialogue à la négociation").click()

    # Enrolling the same person twice: chosen from the list, or typed again with the same address.
    page.get_by_role("link", name="Inscrire un·e stagiaire").click()
    page.get_by_label("Stagiaire", exact=True).select_option(label="DIALLO Awa <awa.diallo@example.org>")
    page.get_by_label("Financement", exact=True).select_option("personal")
    page.get_by_role("button", name="Inscrire", exact=True).click()
    assert "Awa Diallo est déjà inscrit·e à cette session." in page.get_by_role("alert").first.inner_text()
    page.get_by_role("link", name="Retour à la session").click()
    _enrol_new(page, "Awa", "Diallo", "Awa.Diallo@example.org")
    assert "Un·e stagiaire a déjà cette adresse e-mail : choisissez-le ou la dans la liste." \
        in page.get_by_role("alert").first.inner_text()
    page.get_by_role("link", name="Retour à la session").click()
    assert "2 en liste d'attente" in page.get_by_test_id("seats").inner_text()
    assert page.get_by_test_id("confirmed-row").count() == 2

    # The administrator cancels Awa's place before the start: Sophie, first on the waiting list, gets it.
    page.get_by_role("link", name="DIALLO Awa").click()
    page.get_by_role("link", name="Annuler", exact=True).click()
    page.get_by_role("button", name="Annuler l'inscription").click()  # without a reason: refused
    assert "Indiquez le motif." in page.get_by_role("alert").first.inner_text()
    page.get_by_label("Motif").fill("Empêchement professionnel.")
    page.get_by_role("button", name="Annuler l'inscription").click()
    statuses = page.get_by_role("status")
    expect(statuses.first).to_contain_text("Inscription annulée.")
    assert "Sophie Renaud quitte la liste d'attente : sa place est confirmée (e-mail envoyé)." \
        in statuses.all_inner_texts()
    assert page.get_by_test_id("enrolment-state").inner_text() == "Annulée"
    assert "Empêchement professionnel." in page.content()

    page.get_by_role("link", name="Du dialogue à la négociation").click()
    assert _names(page, "confirmed-row") == ["LE BIHAN Julien", "RENAUD Sophie"]
    assert _names(page, "waitlisted-row") == ["BENALI Karim"] and _ranks(page) == ["1"]
    assert "1 en liste d'attente" in page.get_by_test_id("seats").inner_text()
    page.get_by_text("Annulations et abandons (1)").click()
    assert _names(page, "closed-row") == ["DIALLO Awa"]

    promoted_mail = _mails_to(served_outbox, "sophie.renaud@example.org")[-1]
    assert promoted_mail.subject == "Une place s'est libérée : votre inscription est confirmée"
    assert "Du dialogue à la négociation" in promoted_mail.body
    assert _mails_to(served_outbox, "karim.benali@example.org")[-1].subject == "Vous êtes sur la liste d'attente"

    page.get_by_role("link", name="BENALI Karim").click()
    assert page.get_by_test_id("enrolment-state").inner_text() == "Liste d'attente — position 1"


PARTICIPANTS_CSV = "\n".join([
    "Civilité;Nom;Prénom;E-mail;Fonction;Structure employeuse;SIRET",
    "Mme;Diallo;Awa;awa.diallo@example.org;Assistante sociale;CCAS de Rennes;78324521000001",
    "M.;Le Bihan;Julien;julien.lebihan.example.org;Animateur;Centre social de Cleunay;",
    "M.;Benali;Karim;karim.benali@example.org;Éducateur;CCAS de Rennes;78324521000001",
    "Mme;Renaud;Sophie;sophie.renaud@example.org;Coordinatrice;;",
]) + "\n"


def _upload_participants(page, session):
    """From the session page: send the participant list to the import's check."""
    page.goto(f"/sessions/{session.id}")
    page.get_by_role("link", name="Importer une liste").click()
    page.get_by_label("Liste des participant·es (.xlsx ou .csv)").set_input_files(files=[{
        "name": "participants.csv", "mimeType": "text/csv", "buffer": PARTICIPANTS_CSV.encode("utf-8-sig")}])
    page.get_by_role("button", name="Vérifier le fichier").click()


def test_admin_imports_a_participant_list_with_one_invalid_row(page, served_outbox):
    admin = factories.make_user("admin", name="Claire Bernard")
    programme = factories.make_programme(title="Du dialogue à la négociation")
    session = factories.make_session(programme=programme, capacity=2)

    factories.sign_in_browser(page, admin)
    _upload_participants(page, session)

    summary = page.get_by_test_id("import-summary").inner_text()
    assert "3 lignes valides sur 4, 1 rejetée." in summary and "Places libres : 2" in summary
    rows = page.get_by_test_id("import-row")
    assert rows.count() == 4
    rejected = rows.filter(has_text="Le Bihan")
    assert "Rejetée" in rejected.inner_text()
    assert "L'adresse e-mail « julien.lebihan.example.org » n'est pas valide." in rejected.inner_text()
    for name in ("Diallo", "Benali", "Renaud"):
        assert "Valide" in rows.filter(has_text=name).inner_text()

    # Nothing is enrolled before the confirmation (the session page, in another tab, says so).
    other = page.context.new_page()
    other.goto(f"/sessions/{session.id}")
    assert "0 place occupée sur 2" in other.get_by_test_id("seats").inner_text()
    other.close()

    page.get_by_label("Prévenir chaque stagiaire par e-mail (état et lien personnel)").check()
    page.get_by_role("button", name="Importer les 3 lignes valides").click()
    expect(_flash(page)).to_contain_text("3 lignes importées, 1 rejetée.")
    rows = page.get_by_test_id("import-row")
    assert "Confirmée" in rows.filter(has_text="Diallo").inner_text()
    assert "Confirmée" in rows.filter(has_text="Benali").inner_text()
    assert "Liste d'attente" in rows.filter(has_text="Renaud").inner_text()  # in file order, once full
    assert "Rejetée" in rows.filter(has_text="Le Bihan").inner_text()

    page.get_by_role("link", name="Voir les inscriptions de la session").click()
    assert _names(page, "confirmed-row") == ["BENALI Karim", "DIALLO Awa"]
    assert _names(page, "waitlisted-row") == ["RENAUD Sophie"]
    assert "LE BIHAN" not in page.get_by_test_id("enrolment-section").inner_text()
    page.get_by_role("link", name="DIALLO Awa").click()
    assert "CCAS de Rennes (SIRET 78324521000001)" in page.content()
    assert sorted(m.to[0] for m in served_outbox) == [
        "awa.diallo@example.org", "karim.benali@example.org", "sophie.renaud@example.org"]


def test_a_likely_duplicate_is_imported_only_once_the_office_ticks_it(page, served_outbox):
    """Karim Benali is already confirmed under his work address: the list's Karim Benali (another address) is
    « À vérifier »; ticked, the office says it is someone else and he is enrolled."""
    admin = factories.make_user("admin", name="Claire Bernard")
    session = factories.make_session(capacity=3)
    ccas = factories.make_employer(name="CCAS de Rennes", siret="78324521000001")
    factories.enrol(session, factories.make_trainee("Karim", "Bénali", email="k.benali@ccas-rennes.fr", employer=ccas))

    factories.sign_in_browser(page, admin)
    _upload_participants(page, session)
    summary = page.get_by_test_id("import-summary").inner_text()
    assert "2 lignes valides sur 4, 1 rejetée." in summary and "1 ligne à vérifier (doublon probable)" in summary
    benali = page.get_by_test_id("import-row").filter(has_text="karim.benali@example.org")
    assert "À vérifier" in benali.inner_text() and "Même nom que Karim Bénali" in benali.inner_text()
    benali.get_by_label("C'est une autre personne : l'inscrire quand même").check()  # outside the <form>: form=
    page.get_by_role("button", name="Importer les lignes valides et les lignes cochées").click()
    expect(_flash(page)).to_contain_text("3 lignes importées, 1 rejetée.")
    rows = page.get_by_test_id("import-row")
    assert "Confirmée" in rows.filter(has_text="karim.benali@example.org").inner_text()
    assert "Liste d'attente" in rows.filter(has_text="Renaud").inner_text()


def test_the_import_preview_offers_to_tell_each_trainee_by_default(page):
    admin = factories.make_user("admin", name="Claire Bernard")
    session = factories.make_session(capacity=2)

    factories.sign_in_browser(page, admin)
    _upload_participants(page, session)
    expect(page.get_by_test_id("import-summary")).to_be_visible()
    assert page.get_by_label("Prévenir chaque stagiaire par e-mail (état et lien personnel)").is_checked()


def test_admin_sends_the_convocations_and_each_trainee_receives_theirs(browser, live_server, page, served_outbox):
    admin = factories.make_user("admin", name="Claire Bernard")
    factories.make_organisation()
    programme = factories.make_programme(title="Du dialogue à la négociation")
    session = factories.make_session(programme=programme, capacity=2)
    factories.enrol(session, factories.make_trainee("Awa", "Diallo", email="awa.diallo@example.org"))
    factories.enrol(session, factories.make_trainee("Julien", "Le Bihan", email="julien.lebihan@example.org"))
    factories.enrol(session, factories.make_trainee("Sophie", "Renaud"))  # waiting list: no convocation

    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}")
    page.get_by_role("link", name="Convocations", exact=True).click()
    expect(page.get_by_text("2 personnes confirmées, dont 0 déjà convoquée.")).to_be_visible()
    expect(page.get_by_text("Aucune convocation envoyée pour cette session.")).to_be_visible()

    page.get_by_label("Mot d'accompagnement en tête de l'e-mail (facultatif)").fill(
        "Nous avons hâte de vous accueillir à Rennes.")
    page.get_by_role("button", name="Enregistrer les textes").click()
    expect(_flash(page)).to_contain_text("Textes de la convocation enregistrés.")

    page.get_by_role("button", name="Envoyer à celles et ceux qui ne l'ont pas reçue").click()
    expect(_flash(page)).to_contain_text("2 convocations envoyées.")
    expect(page.get_by_text("2 personnes confirmées, dont 2 déjà convoquées.")).to_be_visible()
    sendings = page.get_by_test_id("sendings").locator("tbody tr")
    assert sendings.count() == 2
    for row_text in sendings.all_inner_texts():
        assert "Claire Bernard" in row_text
    assert any("Awa Diallo" in t and "awa.diallo@example.org" in t for t in sendings.all_inner_texts())

    # Sending again to "those who have not received it" sends nothing twice.
    page.get_by_role("button", name="Envoyer à celles et ceux qui ne l'ont pas reçue").click()
    expect(_flash(page)).to_contain_text("Toutes les personnes confirmées ont déjà reçu leur convocation à jour.")
    assert page.get_by_test_id("sendings").locator("tbody tr").count() == 2

    assert sorted(m.to[0] for m in served_outbox) == ["awa.diallo@example.org", "julien.lebihan@example.org"]
    (mail,) = _mails_to(served_outbox, "awa.diallo@example.org")
    assert mail.subject == "Convocation : Du dialogue à la négociation"
    assert "Nous avons hâte de vous accueillir à Rennes." in mail.body
    assert "du 05/03/2030 à 14h00 au 08/03/2030 à 12h30" in mail.body
    (attachment,) = mail.attachments
    assert attachment.filename == "convocation-diallo-awa.docx"
    document = factories.docx_text(attachment.content)
    assert "Bonjour Mme Awa DIALLO," in document and "« Du dialogue à la négociation »" in document
    assert "Préparer une négociation" in document and "Lieu : 4 rue du Bourbonnais, Rennes" in document
    assert "mardi 5 mars 2030 | 14h00 – 18h00 | 4 h" in document
    assert "vendredi 8 mars 2030 | 9h30 – 12h30 | 3 h" in document

    # The session page marks the convoked trainees; the enrolment page records the sending.
    page.get_by_role("link", name="Du dialogue à la négociation").click()
    assert page.get_by_test_id("confirmed-row").filter(has_text="convoqué·e").count() == 2
    assert "convoqué·e" not in page.get_by_test_id("waitlisted").inner_text()
    page.get_by_role("link", name="DIALLO Awa").click()
    assert "par e-mail à awa.diallo@example.org (Claire Bernard)" in page.get_by_test_id("sendings").inner_text()

    # The trainee's personal link, from the e-mail, gives the same convocation.
    link = mail.body.split(live_server.config["PUBLIC_URL"])[1].split()[0]
    with browser_context(browser, live_server) as trainee:
        space = trainee.new_page()
        space.goto(link)
        with space.expect_download() as download:
            space.get_by_role("link", name="Convocation (Word)").click()
        assert download.value.suggested_filename == "convocation-diallo-awa.docx"
        with open(download.value.path(), "rb") as handle:
            assert handle.read() == attachment.content
