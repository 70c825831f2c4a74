"""The office's enrolment pages: enrol, confirm, cancel, withdraw, move, import, convocations, outbox."""
import io
import re
from datetime import datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import ConvocationSending, Employer, Enrolment, Trainee
from training_app.services import enrolments, mail


def _page(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def _enrolment(email):
    return db.session.scalar(db.select(Enrolment).join(Enrolment.trainee).where(Trainee.email == email))


def new_trainee_form(**overrides):
    data = {"trainee_id": "0", "civility": "Mme", "first_name": "Awa", "last_name": "Diallo",
            "email": "awa@example.org", "phone": "", "job_title": "Assistante sociale", "category": "employee",
            "employer_id": "-1", "employer_name": "CCAS de Rennes", "employer_siret": "78324521000001",
            "funding_mode": "opco", "notify": "y"}
    data.update(overrides)
    return data


def test_admin_enrols_a_new_trainee_with_a_new_employer(admin_client, outbox):
    session = factories.make_session(capacity=1)
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data=new_trainee_form())
    assert response.status_code == 302
    enrolment = _enrolment("awa@example.org")
    assert enrolment.status == "confirmed" and enrolment.funding_mode == "opco"
    assert (enrolment.trainee.employer.name, enrolment.trainee.employer.siret) == ("CCAS de Rennes", "78324521000001")
    assert [m.to for m in outbox] == [["awa@example.org"]] and "/moi/" in outbox[0].body
    page = _page(admin_client.get(response.headers["Location"]))
    assert "Awa Diallo est inscrit·e : place confirmée." in page
    assert "0 place libre" in page and "DIALLO Awa" in page


def test_admin_enrols_an_existing_trainee_who_joins_the_waiting_list(admin_client):
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    employer = factories.make_employer(name="Centre social")
    trainee = factories.make_trainee("Julien", "Le Bihan", employer=employer)
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
        "trainee_id": str(trainee.id), "employer_id": "0", "category": "employee", "funding_mode": "employer"})
    assert response.status_code == 302
    page = _page(admin_client.get(response.headers["Location"]))
    assert "liste d'attente, position 1" in page
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 1


def test_bad_enrolment_input_is_explained_next_to_the_field_and_nothing_is_saved(admin_client):
    session = factories.make_session()
    existing = factories.make_trainee(email="deja@example.org")
    factories.enrol(session, existing)
    factories.make_trainee(email="jean@exämple.fr")  # as stored: the domain in Unicode
    cases = {
        "Indiquez le prénom.": {"first_name": ""},
        "Cette adresse e-mail n'est pas valide.": {"email": "awa@"},
        "Indiquez le nom de la structure.": {"employer_name": ""},
        "doit compter 14 chiffres": {"employer_siret": "1234"},
        "clé de contrôle": {"employer_siret": "78324521000002"},
        "a déjà cette adresse e-mail": {"email": "deja@example.org"},
        "a déjà cette adresse e-mail : choisissez": {"email": "Jean@XN--EXMPLE-CUA.FR"},  # jean@exämple.fr's
    }
    for message, overrides in cases.items():
        response = admin_client.post(f"/sessions/{session.id}/inscrire", data=new_trainee_form(**overrides))
        assert response.status_code == 200
        assert message in _page(response), message
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
        "trainee_id": str(existing.id), "employer_id": "0", "category": "employee", "funding_mode": "opco"})
    assert "est déjà inscrit·e à cette session" in _page(response)
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 2
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1
    past = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    response = admin_client.post(f"/sessions/{past.id}/inscrire", data=new_trainee_form())
    assert "Cette session est terminée" in _page(response)
    cancelled = factories.make_session(status="cancelled", start=datetime(2030, 6, 4, 9, 30),
                                       end=datetime(2030, 6, 4, 18))
    response = admin_client.post(f"/sessions/{cancelled.id}/inscrire", data=new_trainee_form())
    assert "Cette session est annulée" in _page(response)
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 2


def test_the_session_page_lists_confirmed_and_waitlisted_with_seats_left(admin_client, trainer_client, trainer):
    session = factories.make_session(capacity=2, trainers=[trainer])
    for name in ("Awa", "Julien", "Karim", "Fatou"):
        factories.enrol(session, factories.make_trainee(name))
    page = _page(admin_client.get(f"/sessions/{session.id}"))
    assert "2 places occupées sur 2" in page and "0 place libre" in page
    assert "Confirmé·es (2)" in page and "Liste d'attente (2)" in page
    assert "Inscrire un·e stagiaire" in page
    trainer_page = _page(trainer_client.get(f"/sessions/{session.id}"))
    assert "Confirmé·es (2)" in trainer_page and "Inscrire un·e stagiaire" not in trainer_page
    # the trainer is told how many wait, not who (tests/web/test_trainer_personal_data.py)
    assert "2 en liste d'attente" in trainer_page and "Liste d'attente (2)" not in trainer_page
    enrolment = enrolments.waitlist(session)[0]
    assert trainer_client.get(f"/inscriptions/{enrolment.id}").status_code == 403
    assert trainer_client.post(f"/inscriptions/{enrolment.id}/confirmer").status_code == 403


def test_a_request_confirmed_late_is_listed_behind_those_already_waiting(admin_client):
    """The session page's waiting list is in the order of joining it, with when each one joined."""
    session = factories.make_session(capacity=1)
    with frozen_at(datetime(2030, 1, 10, 9)):
        asked = factories.enrol(session, factories.make_trainee("Awa", "Diallo"), confirm=False)
    with frozen_at(datetime(2030, 1, 11, 9)):
        factories.enrol(session)
        factories.enrol(session, factories.make_trainee("Julien", "Le Bihan"))
    with frozen_at(datetime(2030, 1, 12, 9)):
        response = admin_client.post(f"/inscriptions/{asked.id}/confirmer", follow_redirects=True)
    page = _page(response)
    assert "Inscription : liste d'attente, position 2." in page
    assert re.search(r"En attente depuis</dt><dd[^>]*>12/01/2030 à 9h00</dd>", page)
    page = _page(admin_client.get(f"/sessions/{session.id}"))
    waiting_list = page[page.index('data-testid="waitlisted"'):]
    assert "En attente depuis" in waiting_list
    assert re.findall(r"(LE BIHAN Julien|DIALLO Awa)</a>", waiting_list) == ["LE BIHAN Julien", "DIALLO Awa"]


def test_the_enrolment_page_s_button_says_a_request_joins_the_waiting_list_when_the_session_is_full(admin_client):
    """« Confirmer » gives a seat; in a full session the same button puts a request on the waiting list (behind
    those already waiting): it says so. A place on the waiting list of a full session has no seat to be given."""
    session = factories.make_session(capacity=1)
    asked = factories.enrol(session, factories.make_trainee("Awa", "Diallo"), confirm=False)
    page = _page(admin_client.get(f"/inscriptions/{asked.id}"))
    assert ">Confirmer</button>" in page and "Mettre en liste d'attente" not in page
    factories.enrol(session)
    waiting = factories.enrol(session, factories.make_trainee("Julien", "Le Bihan"))
    page = _page(admin_client.get(f"/inscriptions/{asked.id}"))
    assert ">Mettre en liste d'attente (session complète)</button>" in page and ">Confirmer</button>" not in page
    page = _page(admin_client.get(f"/inscriptions/{waiting.id}"))
    assert ">Confirmer</button>" not in page and "Mettre en liste d'attente" not in page
    assert "Session complète : aucune place à donner pour l'instant." in page
    page = _page(admin_client.post(f"/inscriptions/{asked.id}/confirmer", follow_redirects=True))
    assert "Inscription : liste d'attente, position 2." in page  # behind Julien, as the button said


def test_the_enrolment_page_shows_the_audit_trail(admin_client, admin):
    session = factories.make_session(capacity=1)
    seated = factories.enrol(session, factories.make_trainee("Awa", "Diallo"))
    waiting = factories.enrol(session, factories.make_trainee("Julien", "Le Bihan"))
    response = admin_client.post(f"/inscriptions/{seated.id}/annuler", data={"reason": "Arrêt maladie"})
    assert response.status_code == 302
    page = _page(admin_client.get(f"/inscriptions/{waiting.id}"))
    assert "Sortie de la liste d'attente" in page and "Liste d'attente → Confirmée" in page
    assert "Alice Admin" in page and "Une place s'est libérée." in page
    page = _page(admin_client.get(f"/inscriptions/{seated.id}"))
    assert "Annulation" in page and "Confirmée → Annulée" in page and "Arrêt maladie" in page


def test_cancel_and_withdraw_forms_refuse_bad_input_and_save_nothing(admin_client):
    session = factories.make_session()
    enrolment = factories.enrol(session)
    response = admin_client.post(f"/inscriptions/{enrolment.id}/annuler", data={"reason": ""})
    assert "Indiquez le motif." in _page(response)
    with frozen_at(datetime(2030, 3, 6, 11)):
        response = admin_client.post(f"/inscriptions/{enrolment.id}/abandon",
                                     data={"withdrawn_on": "2030-03-09", "reason": "Malade"})
        assert "ne peut pas être dans le futur" in _page(response)
        response = admin_client.post(f"/inscriptions/{enrolment.id}/abandon",
                                     data={"withdrawn_on": "31/02/2030", "reason": "Malade"})
        assert "Date de l'abandon : saisissez une date au format JJ/MM/AAAA." in _page(response)
        db.session.expire_all()
        assert enrolment.status == "confirmed"
        response = admin_client.post(f"/inscriptions/{enrolment.id}/abandon",
                                     data={"withdrawn_on": "2030-03-06", "reason": "Malade"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (enrolment.status, enrolment.status_reason) == ("withdrawn", "Malade")


def test_withdrawal_is_offered_from_the_start_on_and_a_date_before_it_is_refused_on_the_field(admin_client):
    session = factories.make_session(capacity=1)  # Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30
    enrolment = factories.enrol(session)
    waiting = factories.enrol(session)
    withdraw_url = f"/inscriptions/{enrolment.id}/abandon"
    with frozen_at(datetime(2030, 3, 4, 10)):  # before the start: a cancellation, not a withdrawal
        page = _page(admin_client.get(f"/inscriptions/{enrolment.id}"))
        assert withdraw_url not in page and "Enregistrer un abandon" not in page
        assert f"/inscriptions/{enrolment.id}/annuler" in page
    with frozen_at(datetime(2030, 3, 6, 11)):
        page = _page(admin_client.get(f"/inscriptions/{enrolment.id}"))
        assert f'href="{withdraw_url}"' in page and f"/inscriptions/{enrolment.id}/annuler" not in page
        response = admin_client.post(withdraw_url, data={"withdrawn_on": "2030-03-04", "reason": "Jamais venue"})
        assert response.status_code == 200
        assert re.search(r'id="withdrawn_on-erreur"[^>]*>Un abandon se date à partir du premier jour de la '
                         r'session \(05/03/2030\)', _page(response))
        db.session.expire_all()
        assert (enrolment.status, waiting.status) == ("confirmed", "waitlisted")
        # A seat freed during the course (capacity raised) stays free: the page says so, the office decides.
        session.capacity = 2
        db.session.commit()
        page = _page(admin_client.get(f"/sessions/{session.id}"))
        assert "1 place libre" in page and 'data-testid="free-seat-started"' in page
        assert waiting.status == "waitlisted"


def test_admin_moves_an_enrolment_and_confirms_a_request(admin_client):
    programme = factories.make_programme()
    source = factories.make_session(programme=programme)
    target = factories.make_session(programme=programme, start=datetime(2030, 4, 2, 9, 30),
                                    end=datetime(2030, 4, 3, 18))
    enrolment = factories.enrol(source, confirm=False)
    page = _page(admin_client.get(f"/inscriptions/{enrolment.id}/deplacer"))
    assert "places libres" in page
    response = admin_client.post(f"/inscriptions/{enrolment.id}/deplacer", data={"target": str(target.id)})
    assert response.status_code == 302
    new = db.session.scalar(db.select(Enrolment).where(Enrolment.session_id == target.id))
    # A request (« à confirmer plus tard ») stays one in the target session: no seat until the office confirms.
    assert new.status == "requested" and response.headers["Location"].endswith(f"/inscriptions/{new.id}")
    response = admin_client.post(f"/inscriptions/{enrolment.id}/deplacer", data={"target": "0"})
    assert "Choisissez une session." in _page(response)

    request = factories.enrol(source, confirm=False)
    admin_client.post(f"/inscriptions/{request.id}/confirmer")
    db.session.expire_all()
    assert request.status == "confirmed"


def test_the_move_page_counts_the_seats_of_every_session_offered_in_one_statement(admin_client):
    programme = factories.make_programme()
    enrolment = factories.enrol(factories.make_session(programme=programme))

    def later_session(month):
        session = factories.make_session(programme=programme, capacity=3, start=datetime(2030, month, 2, 9, 30),
                                         end=datetime(2030, month, 3, 18))
        factories.enrol(session)
        return session

    later_session(4)
    one = factories.rendered_page_queries(admin_client, f"/inscriptions/{enrolment.id}/deplacer")
    for month in range(5, 10):
        later_session(month)
    six = factories.rendered_page_queries(admin_client, f"/inscriptions/{enrolment.id}/deplacer")
    assert _page(admin_client.get(f"/inscriptions/{enrolment.id}/deplacer")).count("2 places libres") == 6
    assert six == one


def test_lowering_capacity_below_the_confirmed_count_is_refused_with_the_count(admin_client):
    from tests.web.test_sessions import session_form
    session = factories.make_session(capacity=3)
    for _ in range(3):
        factories.enrol(session)
    response = admin_client.post(f"/sessions/{session.id}/modifier",
                                 data=session_form(version=factories.version_of(session), programme=session.programme, capacity="2"))
    assert "sous le nombre de places occupées (3)" in _page(response)
    db.session.expire_all()
    assert session.capacity == 3


def test_import_preview_then_confirmation(admin_client, outbox):
    session = factories.make_session(capacity=1)
    content = factories.xlsx_bytes([
        ["Civilité", "Nom", "Prénom", "E-mail", "Fonction", "Employeur", "SIRET"],
        ["Mme", "Diallo", "Awa", "awa@example.org", "AS", "CCAS", ""],
        ["M.", "", "Julien", "julien@example.org", "", "", ""],
        ["M.", "Benali", "Karim", "karim@example.org", "", "", ""],
    ])
    response = admin_client.post(f"/sessions/{session.id}/import",
                                 data={"file": (io.BytesIO(content), "liste.xlsx")},
                                 content_type="multipart/form-data")
    page = _page(response)
    assert "2 lignes valides sur 3, 1 rejetée." in page and "Le nom manque." in page
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 0  # nothing before confirming
    token = page.split('name="upload" type="hidden" value="')[1].split('"')[0]
    assert re.search(r'<input checked[^>]*name="notify"', page)  # told by e-mail unless the office unticks it
    response = admin_client.post(f"/sessions/{session.id}/import/confirmer", data={"upload": token})
    page = _page(response)
    assert "2 lignes importées, 1 rejetée." in page
    assert [e.status for e in db.session.scalars(db.select(Enrolment).order_by(Enrolment.id))] == [
        "confirmed", "waitlisted"]
    assert outbox == []  # the notify box was left unticked
    response = admin_client.post(f"/sessions/{session.id}/import/confirmer", data={"upload": token})
    assert "n'est plus disponible" in _page(admin_client.get(response.headers["Location"]))

    response = admin_client.post(f"/sessions/{session.id}/import", data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n"), "x.csv")},
                                 content_type="multipart/form-data")
    assert "pas d'un type accepté (XLSX, CSV)" in _page(response)
    response = admin_client.post(f"/sessions/{session.id}/import", data={"file": (io.BytesIO(content[:-30]), "x.xlsx")},
                                 content_type="multipart/form-data")
    assert response.status_code == 200 and "Ce classeur Excel est illisible" in _page(response)
    huge_cell = ("Nom;Prénom;E-mail\nDiallo;Awa;" + "x" * 200_000 + "\n").encode()
    response = admin_client.post(f"/sessions/{session.id}/import", data={"file": (io.BytesIO(huge_cell), "x.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 200 and "Ce fichier CSV est illisible" in _page(response)
    assert admin_client.get("/inscriptions/modele-import.xlsx").data.startswith(b"PK")


def test_convocations_are_sent_from_the_session_and_recorded(admin_client, outbox):
    factories.make_organisation()
    session = factories.make_session(capacity=2)
    seated = [factories.enrol(session) for _ in range(2)]
    response = admin_client.post(f"/sessions/{session.id}/convocations",
                                 data={"message": "Bienvenue !", "what_to_bring": "", "absence_procedure": "",
                                       "version": "1"})
    assert response.status_code == 302
    with frozen_at(datetime(2030, 2, 19, 10)):
        response = admin_client.post(f"/sessions/{session.id}/convocations/envoyer", data={"only_new": "1"})
        page = _page(admin_client.get(response.headers["Location"]))
        assert "2 convocations envoyées." in page and seated[0].trainee.email in page
        assert len(outbox) == 2 and outbox[0].body.startswith("Bonjour") and "Bienvenue !" in outbox[0].body
        again = _page(admin_client.post(f"/inscriptions/{seated[0].id}/convocation", follow_redirects=True))
        assert "vient de lui être envoyée (à 10h00)" in again and len(outbox) == 2  # a double click
    with frozen_at(datetime(2030, 2, 19, 10, 5)):  # sent again on purpose, a few minutes later
        admin_client.post(f"/inscriptions/{seated[0].id}/convocation")
    assert db.session.scalar(db.select(db.func.count(ConvocationSending.id))) == 3
    page = _page(admin_client.get(f"/inscriptions/{seated[0].id}"))
    assert page.count("par e-mail à " + seated[0].trainee.email) == 2
    preview = admin_client.get(f"/inscriptions/{seated[0].id}/convocation.docx")
    assert preview.status_code == 200 and preview.data.startswith(b"PK")


def test_the_send_buttons_send_the_texts_as_typed_and_save_them(admin_client, outbox):
    factories.make_organisation()
    session = factories.make_session(capacity=2)
    factories.enrol(session)
    page = _page(admin_client.get(f"/sessions/{session.id}/convocations"))
    form = re.search(r'<form method="post" novalidate.*?</form>', page, re.S).group(0)
    assert 'name="only_new" value="1"' in form and f'formaction="/sessions/{session.id}/convocations/envoyer"' in form
    typed = {"message": "Bonjour, pensez à apporter vos questions !", "what_to_bring": "", "absence_procedure": ""}
    with frozen_at(datetime(2030, 2, 19, 10)):
        response = admin_client.post(f"/sessions/{session.id}/convocations/envoyer",
                                     data={**typed, "version": "1", "only_new": "1"})
        assert response.status_code == 302
        page = _page(admin_client.get(response.headers["Location"]))
    assert "1 convocation envoyée." in page and "Bonjour, pensez à apporter vos questions !</textarea>" in page
    assert len(outbox) == 1 and "Bonjour, pensez à apporter vos questions !" in outbox[0].body

    # Texts saved by a colleague meanwhile: nothing sent, nothing overwritten, the typed texts kept.
    with frozen_at(datetime(2030, 2, 19, 11)):
        response = admin_client.post(f"/sessions/{session.id}/convocations/envoyer",
                                     data={**typed, "message": "Autre mot", "version": "1", "only_new": "0"})
    page = _page(response)
    assert response.status_code == 409 and "Autre mot</textarea>" in page and len(outbox) == 1
    assert db.session.scalar(db.select(db.func.count(ConvocationSending.id))) == 1


def test_the_outbox_page_shows_captured_mail(admin_client, app):
    with frozen_at(datetime(2030, 2, 19, 10)):
        mail.queue("awa@example.org", "Votre inscription est confirmée", "Bonjour Awa",
                   [mail.Attachment("convocation.docx", b"PK...")])
    db.session.commit()
    page = _page(admin_client.get("/admin/courriels"))
    assert "Votre inscription est confirmée" in page and "awa@example.org" in page and "convocation.docx" in page
    assert "19/02/2030 à 10h00" in page  # written at 09:00 UTC, shown in French local time
    assert "Conservé, non envoyé" in page and "Aucun serveur SMTP n'est configuré" in page
    assert "Renvoyer" not in page  # nothing to send it with


CHANGES_NAMED = "l'intitulé, les objectifs, la personne à contacter ou les formateur·rices de la session"


def test_a_convocation_outdated_by_a_changed_half_day_is_flagged_withheld_and_sent_again(admin_client, app, outbox):
    factories.make_organisation()
    session = factories.make_session()
    enrolment = factories.enrol(session)
    trainee = enrolment.trainee
    admin_client.post(f"/sessions/{session.id}/convocations/envoyer", data={"only_new": "1"})
    last = session.slots[-1]  # Friday 8 March, 9h30 - 12h30: now ends at 12h00
    response = admin_client.post(f"/sessions/{session.id}/creneaux/{last.id}",
                                 data={"date": "2030-03-08", "start_time": "09:30", "end_time": "12:00"})
    page = _page(admin_client.get(response.headers["Location"]))
    assert "1 convocation déjà envoyée n'est plus à jour : envoyez à nouveau les convocations" in page
    assert "1 convocation envoyée n'est plus à jour" in page and "convocation à renvoyer" in page
    assert CHANGES_NAMED in page  # all the fingerprint covers
    page = _page(admin_client.get(f"/sessions/{session.id}/convocations"))
    assert "1 convocation envoyée n'est plus à jour" in page and CHANGES_NAMED in page
    page = _page(admin_client.get(f"/inscriptions/{enrolment.id}"))  # the badge of the last sending
    assert ("plus à jour : dates, horaires, lieu, accès, modalités, intitulé, objectifs, personne à contacter, "
            "formateur·rices ou structure employeuse modifiés depuis") in page

    trainee_client = app.test_client()
    page = _page(trainee_client.get(factories.personal_path(trainee)))
    assert "Une nouvelle convocation vous sera envoyée par e-mail." in page and "Convocation (Word)" not in page
    assert "l'intitulé, les objectifs, la personne à contacter ou les formateur·rices de la formation" in page
    download = trainee_client.get(factories.personal_path(trainee, "enrolments.trainee_convocation",
                                                          enrolment_id=enrolment.id), follow_redirects=True)
    assert not download.data.startswith(b"PK") and "n'est plus valable" in _page(download)

    outbox.clear()
    response = admin_client.post(f"/sessions/{session.id}/convocations/envoyer", data={"only_new": "1"})
    assert "1 convocation envoyée." in _page(admin_client.get(response.headers["Location"]))
    assert [m.to for m in outbox] == [[trainee.email]]
    download = trainee_client.get(factories.personal_path(trainee, "enrolments.trainee_convocation",
                                                          enrolment_id=enrolment.id))
    assert "vendredi 8 mars 2030 | 9h30 – 12h00 | 2 h 30" in factories.docx_text(download.data)


def test_no_convocation_is_sent_while_the_organisation_identity_is_incomplete(admin_client, outbox):
    factories.make_organisation(siret="", declaration_number="")
    session = factories.make_session()
    enrolment = factories.enrol(session)
    page = _page(admin_client.get(f"/sessions/{session.id}/convocations"))
    assert "tant que l'identité de l'organisme est incomplète : SIRET, numéro de déclaration d'activité." in page
    assert 'href="/admin/organisme/"' in page and "Envoyer à toutes les personnes confirmées" not in page
    response = admin_client.post(f"/sessions/{session.id}/convocations/envoyer", data={"only_new": "0"},
                                 follow_redirects=True)
    assert "Complétez d'abord les informations de l'organisme" in _page(response)
    response = admin_client.post(f"/inscriptions/{enrolment.id}/convocation", follow_redirects=True)
    page = _page(response)
    assert "Complétez d'abord les informations de l'organisme" in page and 'href="/admin/organisme/"' in page
    assert outbox == [] and db.session.scalar(db.select(db.func.count(ConvocationSending.id))) == 0


def test_enrolling_someone_deleted_by_another_request_meanwhile_is_refused_in_french(admin_client, outbox,
                                                                                     monkeypatch):
    session = factories.make_session(capacity=5)
    trainee = factories.make_trainee("Awa", "Diallo")
    trainee_id = trainee.id
    real_price_for = enrolments.price_for

    def deleted_meanwhile(training_session, someone):  # after the view found them, before the enrolment
        with db.engine.begin() as other_request:
            other_request.execute(db.delete(Trainee).where(Trainee.id == trainee_id))
        return real_price_for(training_session, someone)

    monkeypatch.setattr(enrolments, "price_for", deleted_meanwhile)
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
        "trainee_id": str(trainee_id), "employer_id": "0", "category": "employee", "funding_mode": "personal"})
    assert response.status_code == 200
    assert "viennent d'être effacées : l'inscription n'a pas été enregistrée" in _page(response)
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 0 and outbox == []


def test_the_import_preview_says_the_session_takes_nobody_once_its_last_sheet_is_closed(admin_client, trainer):
    session, _enrolments = factories.make_attendance_session(trainees=1, trainers=[trainer])
    factories.take_attendance(session, trainer)
    content = factories.xlsx_bytes([["Nom", "Prénom", "E-mail"], ["Diallo", "Awa", "awa@example.org"]])
    with frozen_at(datetime(2030, 3, 8, 12, 28)):  # the last half-day ends at 12:30: its sheet is closed
        response = admin_client.post(f"/sessions/{session.id}/import", data={"file": (io.BytesIO(content), "l.xlsx")},
                                     content_type="multipart/form-data")
    page = _page(response)
    assert "0 ligne valide sur 1, 1 rejetée." in page
    assert ("La feuille d'émargement de la dernière demi-journée (08/03/2030) est close : on ne peut plus "
            "s'inscrire à cette session.") in page
    assert "Importer les" not in page and _enrolment("awa@example.org") is None


def test_enrolling_after_the_last_sheet_is_closed_is_refused_in_french(admin_client, trainer):
    session, _enrolments = factories.make_attendance_session(trainees=1, trainers=[trainer])
    factories.take_attendance(session, trainer)
    with frozen_at(datetime(2030, 3, 8, 12, 28)):  # the last half-day ends at 12:30: its sheet is closed
        response = admin_client.post(f"/sessions/{session.id}/inscrire", data=new_trainee_form())
    assert response.status_code == 200
    assert ("La feuille d'émargement de la dernière demi-journée (08/03/2030) est close : on ne peut plus "
            "s'inscrire à cette session.") in _page(response)
    assert _enrolment("awa@example.org") is None
