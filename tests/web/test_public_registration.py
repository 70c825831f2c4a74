"""Public registration on a session's page, and the trainee's personal page reached by their link."""
import html
import re
import time
from datetime import datetime

import pytest
from itsdangerous import TimestampSigner

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Employer, Enrolment, OutgoingMail, RegistrationRequest, Trainee
from training_app.services import convocations, trainee_links


def _page(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def registration(**overrides):
    data = {"civility": "Mme", "first_name": "Awa", "last_name": "Diallo", "email": "Awa.Diallo@Example.org",
            "phone": "06 00 00 00 00", "job_title": "Assistante sociale", "employer_name": "CCAS de Rennes",
            "employer_siret": "783 245 210 00001", "funding_mode": "opco", "consent": "y", "website": ""}
    data.update(overrides)
    return data


def _url(session):
    return f"/formations/sessions/{session.id}/inscription"


# The one answer to every request accepted: nothing on it depends on the address typed nor on its enrolment.
ANSWER = ("Consultez votre messagerie : nous avons envoyé un e-mail à l'adresse indiquée. Ouvrez le lien qu'il "
          "contient dans les 48 heures et cliquez sur « Confirmer ma demande ». Votre place n'est pas réservée tant "
          "que votre demande n'est pas confirmée.")


def _confirmed(client, session, **overrides):
    """The form posted with registration(**overrides), then the request confirmed through its link."""
    return factories.register_and_confirm(client, session, registration(**overrides))


def _outcome(response) -> str:
    """What the confirmation's page says became of the request."""
    return _page(response).split('data-testid="confirmation-result">')[1].split("</div>")[0]


def _told(outbox, email: str):
    """The last e-mail sent to `email`: where the person learns their state."""
    return [m for m in outbox if m.to == [email]][-1]


def test_the_programme_page_offers_a_place_a_waiting_list_or_a_pre_registration(client):
    programme = factories.make_programme()
    open_session = factories.make_session(programme=programme, capacity=2)
    full = factories.make_session(programme=programme, capacity=1, start=datetime(2030, 4, 2, 9, 30),
                                  end=datetime(2030, 4, 3, 18))
    factories.enrol(full)
    factories.make_session(programme=programme, status="planned", start=datetime(2030, 5, 7, 9, 30),
                           end=datetime(2030, 5, 7, 18))
    page = _page(client.get(f"/formations/{programme.id}"))
    assert "2 places disponibles" in page and f'href="{_url(open_session)}"' in page
    assert "S'inscrire sur la liste d'attente" in page and f'href="{_url(full)}"' in page
    assert "Se pré-inscrire" in page


def test_registering_with_seats_left_confirms_and_tells_the_person_and_the_office(client, app, outbox):
    session = factories.make_session(capacity=2)
    response = client.post(_url(session), data=registration())
    assert response.status_code == 200
    assert _result(response) == ANSWER and "Votre place est confirmée" not in _page(response)
    [asking] = outbox  # the request: its link only, nothing recorded for the person, the office not told
    assert asking.to == ["awa.diallo@example.org"] and asking.subject == "Confirmez votre demande d'inscription"
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 0
    assert "2 places disponibles" in _page(client.get(f"/formations/{session.programme_id}"))
    confirmed = client.post(factories.confirmation_path("awa.diallo@example.org"))
    assert "Votre place est confirmée." in _outcome(confirmed)
    trainee = db.session.scalar(db.select(Trainee))
    assert (trainee.email, trainee.employer.name, trainee.employer.siret, trainee.category) == (
        "awa.diallo@example.org", "CCAS de Rennes", "78324521000001", "employee")
    enrolment = db.session.scalar(db.select(Enrolment))
    assert (enrolment.status, enrolment.funding_mode, enrolment.price_cents) == ("confirmed", "opco", 84000)
    _asking, to_person, to_office = outbox
    assert to_person.to == ["awa.diallo@example.org"] and "est confirmée" in to_person.body
    assert "Pour annuler, ouvrez votre espace personnel" in to_person.body  # as the page says
    path = to_person.body.split("http://127.0.0.1:5000")[1].split()[0]
    assert "Awa Diallo" in _page(client.get(path))  # the personal link works
    assert to_office.to == [app.config["MAIL_OFFICE"]] and "Awa Diallo" in to_office.subject
    assert f"/inscriptions/{enrolment.id}" in to_office.body and "Places restantes : 1" in to_office.body


def test_registering_for_a_full_session_gives_the_waiting_list_position(client, outbox):
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    factories.enrol(session)
    response = client.post(_url(session), data=registration())
    assert ANSWER in _page(response) and "en position" not in _page(response)
    confirmed = client.post(factories.confirmation_path("awa.diallo@example.org"))
    assert "vous êtes sur la liste d'attente, en position 2." in _outcome(confirmed)
    told = _told(outbox, "awa.diallo@example.org")
    assert "en position 2" in told.body and told.subject == "Vous êtes sur la liste d'attente"


def test_a_registration_runs_the_same_statements_however_long_the_waiting_list(client, outbox):
    counts = []
    for waiting in (1, 8):
        session = factories.make_session(capacity=1)
        for _ in range(1 + waiting):
            factories.enrol(session)
        url, data = _url(session), registration(email=f"file-{waiting}@example.org", employer_name="",
                                                employer_siret="", funding_mode="personal")
        assert ANSWER in _page(client.post(url, data=data))
        link = factories.confirmation_path(data["email"])
        with factories.count_queries() as statements:  # the confirmation enrols
            client.post(link)
        assert f"en position {waiting + 1}" in _told(outbox, data["email"]).body
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_an_accepted_request_opens_one_transaction(client, outbox):
    """The answer page's organisation row is read before the commit: one connection checked out (and pinged on
    PostgreSQL) per request, not two (bench/README.md, thirteenth round)."""
    from sqlalchemy import event
    url = _url(factories.make_session(capacity=1))
    began = []
    record = lambda conn: began.append(conn)  # noqa: E731
    event.listen(db.engine, "begin", record)
    try:
        response = client.post(url, data=registration(email="une-transaction@example.org"))
    finally:
        event.remove(db.engine, "begin", record)
    assert ANSWER in _page(response)
    assert len(began) == 1, began


def test_the_confirmation_reads_the_programme_once(client, outbox):
    """Locking the session reads its row again, which unloads its programme: the lock's statement brings it,
    so that the work under the lock does not read it a second time."""
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    assert ANSWER in _page(client.post(_url(session), data=registration(email="programme@example.org")))
    link = factories.confirmation_path("programme@example.org")
    db.session.expunge_all()  # as in a new request: nothing of the page above is kept
    with factories.count_queries() as statements:
        client.post(link)
    assert "en position 1" in _told(outbox, "programme@example.org").body
    programmes = [s for s in statements if s.lstrip().startswith("SELECT programmes.id")]
    assert programmes == [], programmes


def test_checking_the_person_under_lock_reads_only_what_an_erasure_changes(client, outbox):
    """The registration of a known person locks their row (an erasure may not happen in between) without
    reloading the rest: the employer looked up before is not read again for the office's notification."""
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    factories.make_trainee(email="verrou@example.org")
    response = client.post(_url(session), data=registration(email="verrou@example.org"))
    assert ANSWER in _page(response)
    link = factories.confirmation_path("verrou@example.org")
    with factories.count_queries() as statements:  # the confirmation enrols
        client.post(link)
    assert "en position 1" in _told(outbox, "verrou@example.org").body
    locked = [s for s in statements if s.startswith("SELECT trainees.email, trainees.phone")]
    assert len(locked) == 1, statements


def test_a_person_created_by_the_confirmation_is_not_locked_again(client, outbox):
    """No other transaction sees a person the confirmation creates: their row is not locked while the session's
    lock is held (bench/README.md, fourteenth round), and the employer looked up before is not read again."""
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    response = client.post(_url(session), data=registration(email="nouvelle@example.org"))
    assert ANSWER in _page(response)
    link = factories.confirmation_path("nouvelle@example.org")
    with factories.count_queries() as statements:
        client.post(link)
    assert "en position 1" in _told(outbox, "nouvelle@example.org").body
    employers = [s for s in statements if s.startswith("SELECT employers.")]
    assert len(employers) == 2, employers  # by SIRET, then by name; not a third time after the lock
    locked = [s for s in statements if s.startswith("SELECT trainees.email, trainees.phone")]
    assert locked == [], locked


def test_a_planned_session_takes_pre_registrations_that_the_office_confirms(client, admin_client, outbox):
    session = factories.make_session(status="planned")
    response = _confirmed(client, session)
    assert "nous vous confirmerons votre place dès l'ouverture des inscriptions" in _outcome(response)
    assert "dès l'ouverture des inscriptions" in _told(outbox, "awa.diallo@example.org").body
    enrolment = db.session.scalar(db.select(Enrolment))
    assert enrolment.status == "requested"
    assert "Demandes d'inscription à confirmer" in _page(admin_client.get("/tableau-de-bord"))
    admin_client.post(f"/inscriptions/{enrolment.id}/confirmer")
    db.session.expire_all()
    assert enrolment.status == "confirmed"


def test_an_internal_course_for_members_takes_requests_that_the_office_confirms(client, admin_client, outbox):
    """An internal course is free and for the association's members: the public asks for a place, the office
    confirms it (a visitor is never given a free seat by the form alone)."""
    session = factories.make_session(programme=factories.make_programme(kind="internal"), capacity=5,
                                     price_cents=0)
    page = _page(client.get(f"/formations/{session.programme_id}"))
    assert "Formation réservée aux adhérent·es" in page and "Demander une place" in page
    assert "place disponible" not in page and "places disponibles" not in page
    assert "votre demande sera confirmée par l'équipe" in _page(client.get(_url(session)))
    response = _confirmed(client, session)
    assert "l'équipe vous confirmera votre place" in _outcome(response)
    mail = next(m for m in outbox if m.subject == "Votre demande d'inscription est enregistrée")
    assert "L'équipe vous confirmera votre place." in mail.body and "ouverture des inscriptions" not in mail.body
    enrolment = db.session.scalar(db.select(Enrolment))
    assert enrolment.status == "requested" and enrolment.price_cents == 0
    assert "Demandes d'inscription à confirmer" in _page(admin_client.get("/tableau-de-bord"))
    admin_client.post(f"/inscriptions/{enrolment.id}/confirmer")
    db.session.expire_all()
    assert enrolment.status == "confirmed"


def _result(response) -> str:
    """The registration page's answer (its result box)."""
    return _page(response).split('data-testid="registration-result">')[1].split("</div>")[0].strip()


def test_a_duplicate_registration_creates_nothing_and_its_e_mail_says_so(client, outbox):
    """The request's page does not tell whether an address was already enrolled (anyone may type anyone's
    address); once confirmed through the link sent to that address, the page and the e-mail say that the
    enrolment existed, and its state."""
    session = factories.make_session()
    first = client.post(_url(session), data=registration())
    client.post(factories.confirmation_path("awa.diallo@example.org"))
    outbox.clear()
    response = client.post(_url(session), data=registration(first_name="Autre", email="awa.diallo@example.org"))
    assert response.status_code == 200 and _result(response) == _result(first) == ANSWER
    assert "existe" not in _page(response)
    confirmed = client.post(factories.confirmation_path("awa.diallo@example.org"))
    assert "Vous étiez déjà inscrit·e à cette session : rien n'a été modifié." in _outcome(confirmed)
    assert "Votre place est confirmée." in _outcome(confirmed)
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1
    assert db.session.scalar(db.select(Trainee.first_name)) == "Awa"  # a public form never rewrites a record
    _asking, to_person = outbox  # the office is not told again
    assert to_person.to == ["awa.diallo@example.org"] and to_person.subject.startswith("Nouvelle demande reçue")
    assert "nouvelle demande d'inscription à cette session" in to_person.body and "est confirmée" in to_person.body


def _answer_page(response) -> str:
    """The whole answer page less its CSRF tokens (the one thing a page of this site varies per request)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', _page(response))


def test_every_accepted_request_gets_the_same_page_whatever_the_address_and_its_enrolment(client, outbox):
    """Anyone may type anyone's address: the answer is the same for a new address and for one already confirmed,
    waitlisted or awaiting the office, on an open, a full, a planned or an internal session, and for a robot.
    Before, on a full session, an enrolled address got "confirmée" and any other the waiting list. Only the
    link e-mailed to that address confirms the request, and then tells the state and the position (and that
    the enrolment existed)."""
    factories.make_organisation(email="contact@si-on-s-alliait.example", phone="02 99 00 00 00")
    programme = factories.make_programme()
    open_ = factories.make_session(programme=programme, capacity=2)
    full = factories.make_session(programme=programme, capacity=1)
    seated = factories.enrol(full).trainee.email  # confirmed, on the session now full
    planned = factories.make_session(programme=programme, status="planned")
    internal = factories.make_session(programme=factories.make_programme(kind="internal"), price_cents=0)
    confirmed, requested = "est confirmée", "L'équipe vous confirmera votre place"
    cases = [  # (session, address, enrolled before, what the e-mail to that address says)
        (open_, "nouvelle@example.org", False, confirmed),
        (open_, "nouvelle@example.org", True, confirmed),
        (full, "attente@example.org", False, "en position 1"),
        (full, "apres@example.org", False, "en position 2"),
        (full, "attente@example.org", True, "en position 1"),
        (full, seated, True, confirmed),  # the review's probe: an address confirmed on a full session
        (planned, "tot@example.org", False, "dès l'ouverture des inscriptions"),
        (planned, "tot@example.org", True, "dès l'ouverture des inscriptions"),
        (internal, "membre@example.org", False, requested),
        (internal, "membre@example.org", True, requested),
    ]
    pages = {}
    for session, address, again, state in cases:
        response = client.post(_url(session), data=registration(email=address))
        assert response.status_code == 200
        pages.setdefault(session.id, set()).add(_answer_page(response))
        client.post(factories.confirmation_path(address))
        mail = _told(outbox, address)
        assert state in mail.body and mail.subject.startswith("Nouvelle demande reçue") == again, (address, mail)
        assert "Pour annuler, ouvrez votre espace personnel" in mail.body
    robot = client.post(_url(open_), data=registration(email="robot@example.org", website="http://spam.example"))
    pages[open_.id].add(_answer_page(robot))
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == len(cases)  # none for the robot
    assert [len(answers) for answers in pages.values()] == [1, 1, 1, 1]  # byte for byte, per session
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 6  # one each, none again
    by_session = {session_id: answers.pop() for session_id, answers in pages.items()}
    for page in by_session.values():
        assert _result_of(page) == ANSWER and "Une question ? Contactez-nous :" in page
        assert 'href="mailto:contact@si-on-s-alliait.example"' in page and "</a> · 02 99 00 00 00</p>" in page
    # Across sessions, only what names the session differs: its title and dates, the link to its programme.
    assert len({re.sub(r'<p class="lead">.*?</p>|/formations/\d+"', "", page) for page in by_session.values()}) == 1


def _result_of(page: str) -> str:
    return page.split('data-testid="registration-result">')[1].split("</div>")[0].strip()


def test_the_load_benchmark_counts_an_accepted_registration_by_its_answer(client):
    """bench/load.py posts registrations on a full session and counts those whose answer has its marker; it
    confirms requests through their links and counts those its post confirmed."""
    from bench import load

    session = factories.make_session(capacity=1)
    factories.enrol(session)
    posted = [page for page in load.pages(dict.fromkeys(["past_session", "survey", "lineage", "busiest_programme",
                                                         "full_session", "slot"], session.id)) if page.post]
    registering = [page for page in posted if not page.confirms]
    accepted = client.post(_url(session), data=registration()).data
    again = client.post(_url(session), data=registration()).data
    refused = client.post(_url(session), data=registration(email="awa@")).data
    assert len(registering) == 2 and all(page.marker in accepted and page.marker in again for page in registering)
    assert not any(page.marker in refused for page in registering)
    [confirming] = [page for page in posted if page.confirms]
    token = factories.confirmation_path("awa.diallo@example.org").rsplit("/", 1)[1]
    assert confirming.form == _url(session) and confirming.path + token == factories.confirmation_path(
        "awa.diallo@example.org")
    confirmed, shown_again = (client.post(confirming.path + token).data for _ in range(2))
    assert confirming.marker in confirmed and confirming.marker not in shown_again


def test_bad_input_is_explained_and_nothing_is_saved(client, outbox):
    session = factories.make_session()
    cases = {
        "Indiquez le prénom.": {"first_name": " "},
        "Indiquez l'adresse e-mail.": {"email": ""},
        "Cette adresse e-mail n'est pas valide.": {"email": "awa@"},
        "Choisissez un mode de financement.": {"funding_mode": ""},
        "Cochez cette case": {"consent": ""},
        "doit compter 14 chiffres": {"employer_siret": "123"},
        "Indiquez le nom de la structure employeuse qui a ce SIRET.": {"employer_name": "", "funding_mode": "personal"},
        "Indiquez le nom de votre structure employeuse : c'est elle qui finance": {
            "employer_name": "", "employer_siret": "", "funding_mode": "employer"},
        # a name is printed at the head of the organisation's e-mails: no link may be written there
        "Le prénom ne peut contenir ni adresse web": {"first_name": "URGENT : réglez sur https://evil.example"},
        "Le nom ne peut contenir ni adresse web": {"last_name": "www.evil.example"},
    }
    for message, overrides in cases.items():
        response = client.post(_url(session), data=registration(**overrides))
        assert response.status_code == 200
        assert message in _page(response), message
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 0
    assert outbox == []


def test_one_submit_shows_every_field_s_mistake_the_siret_s_included(client, outbox):
    """The SIRET is checked by the form too (the service's function): its mistake is shown with the others, not
    on a later submit once they are corrected."""
    session = factories.make_session()
    for siret, said in (("1234", "Le SIRET « 1234 » doit compter 14 chiffres."),
                        ("783 245 210 00002", "Le SIRET « 783 245 210 00002 » n'est pas valide (clé de contrôle)")):
        response = client.post(_url(session), data=registration(
            email="jean.dupont@exemple", employer_siret=siret, funding_mode=""))
        page = _page(response)
        assert response.status_code == 200
        assert "Cette adresse e-mail n'est pas valide." in page
        assert "Choisissez un mode de financement." in page
        assert said in page and page.count(said) == 1, said
    # Alone, the SIRET's mistake is still told once (the form's; the service is not asked).
    alone = _page(client.post(_url(session), data=registration(employer_siret="1234")))
    assert alone.count("doit compter 14 chiffres") == 1
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 0 and outbox == []


def _field_error(page: str, name: str) -> str:
    """The mistake shown under a field ("" when none)."""
    found = re.search(rf'<div id="{name}-erreur" class="invalid-feedback d-block" role="alert">(.*?)</div>', page)
    return html.unescape(found.group(1)) if found else ""


def test_one_submit_shows_the_service_s_mistakes_with_the_form_s(client, outbox):
    """The service's rules the form's validators lacked (the employer's name when the employer pays or has a
    SIRET, no link in a name) are checked by the form too, with the service's functions: one submit lists every
    field's mistake next to its field, rather than one more on each later submit."""
    session = factories.make_session()
    links = {"first_name": "URGENT : réglez sur https://evil.example", "last_name": "www.evil.example"}
    response = client.post(_url(session), data=registration(
        email="awa@", employer_name=" ", employer_siret="783 245 210 00001", funding_mode="opco", **links))
    page = _page(response)
    assert response.status_code == 200
    assert {name: _field_error(page, name) for name in ("first_name", "last_name", "email", "employer_name",
                                                        "employer_siret", "funding_mode")} == {
        "first_name": "Le prénom ne peut contenir ni adresse web ni les signes « : », « / », « @ », « < », « > ».",
        "last_name": "Le nom ne peut contenir ni adresse web ni les signes « : », « / », « @ », « < », « > ».",
        "email": "Cette adresse e-mail n'est pas valide.",
        # the first of the employer's name's two mistakes (it pays, and has a SIRET): one message a field
        "employer_name": "Indiquez le nom de votre structure employeuse : c'est elle qui finance la formation "
                         "(ou choisissez « À titre personnel »).",
        "employer_siret": "", "funding_mode": ""}
    # Paid personally, a SIRET still needs its structure's name: said with the other fields' mistakes.
    page = _page(client.post(_url(session), data=registration(
        employer_name="", funding_mode="personal", consent="", **links)))
    assert _field_error(page, "employer_name") == "Indiquez le nom de la structure employeuse qui a ce SIRET."
    assert _field_error(page, "first_name").startswith("Le prénom ne peut contenir ni adresse web")
    assert _field_error(page, "last_name").startswith("Le nom ne peut contenir ni adresse web")
    assert _field_error(page, "consent") == "Cochez cette case pour envoyer votre demande."
    # A SIRET the form refuses asks for no structure name: typed by mistake, it is to be cleared.
    page = _page(client.post(_url(session), data=registration(employer_name="", employer_siret="abc",
                                                               funding_mode="personal")))
    assert _field_error(page, "employer_siret") == "Le SIRET « abc » doit compter 14 chiffres."
    assert _field_error(page, "employer_name") == ""
    # No funding mode chosen: said under the choice.
    page = _page(client.post(_url(session), data=registration(funding_mode="")))
    assert _field_error(page, "funding_mode") == "Choisissez un mode de financement."
    # A name left blank is told once (the form's own check and the service's say the same).
    page = _page(client.post(_url(session), data=registration(first_name=" ")))
    assert _field_error(page, "first_name") == "Indiquez le prénom." and page.count("Indiquez le prénom.") == 1
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 0 and outbox == []


def test_the_required_fields_are_marked(client):
    page = _page(client.get(_url(factories.make_session())))
    marked = set(re.findall(r'<label class="form-label" for="(\w+)">[^<]*</label> <span aria-hidden="true">\*</span>',
                            page))
    assert marked == {"first_name", "last_name", "email"}
    assert re.search(r'<legend[^>]*>Comment la formation sera-t-elle financée \? <span aria-hidden="true">\*</span>',
                     page)


def test_the_consent_box_is_marked_required(client):
    """The consent is required (DataRequired): its box is marked « * » as the other required fields are."""
    page = _page(client.get(_url(factories.make_session())))
    assert re.search(r'<label class="form-check-label" for="consent">J\'accepte que mes données servent à gérer mon '
                     r'inscription et le suivi de la formation.</label> <span aria-hidden="true">\*</span>', page)


def test_a_robot_filling_the_hidden_field_records_nothing(client, outbox):
    session = factories.make_session()
    response = client.post(_url(session), data=registration(website="http://spam.example"))
    assert response.status_code == 200 and ANSWER in _page(response)
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 0 and outbox == []


def test_past_or_cancelled_sessions_are_closed_to_registration(client):
    past = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    cancelled = factories.make_session(status="cancelled")
    for session, told in ((past, "Les inscriptions à cette session sont closes."),
                          (cancelled, "Cette session (du mardi 5 mars 2030 au vendredi 8 mars 2030) a été annulée.")):
        for page in (_page(client.get(_url(session))), _page(client.post(_url(session), data=registration()))):
            assert told in page and 'name="email"' not in page
    cancelled_page = _page(client.get(_url(cancelled)))
    assert "Voir les autres dates de la formation" in cancelled_page and "840,00" not in cancelled_page
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 0
    assert client.get("/formations/sessions/999/inscription").status_code == 404


def test_registrations_are_rate_limited_per_address(rate_limited_app):
    session = factories.make_session()
    client = rate_limited_app.test_client()
    codes = [client.post(_url(session), data=registration(email=f"p{i}@example.org")).status_code
             for i in range(6)]
    assert codes == [200] * 5 + [429]
    assert "Trop de demandes" in _page(client.post(_url(session), data=registration(email="p9@example.org")))
    assert client.get(_url(session)).status_code == 200  # reading the page is not limited
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 5


def test_one_mailbox_is_not_flooded_from_many_networks(rate_limited_app):
    """Each request mails a link to the address typed: from any number of networks, an address gets at most
    REGISTRATION_REQUESTS_PER_ADDRESS requests (5 an hour), then a French refusal, nothing written nor mailed."""
    session = factories.make_session()
    codes = [rate_limited_app.test_client().post(_url(session), data=registration(email="cible@example.org"),
                                                 environ_base={"REMOTE_ADDR": f"203.0.113.{i}"}).status_code
             for i in range(7)]
    assert codes == [200] * 5 + [429] * 2
    refused = _page(rate_limited_app.test_client().post(
        _url(session), data=registration(email="Cible@Example.org"), environ_base={"REMOTE_ADDR": "198.51.100.1"}))
    assert "Trop de demandes d'inscription pour cette adresse e-mail" in refused
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 5
    mailed = db.session.scalars(db.select(OutgoingMail.recipients)).all()
    assert mailed.count(["cible@example.org"]) == 5
    other = rate_limited_app.test_client().post(_url(session), data=registration(email="autre@example.org"),
                                                environ_base={"REMOTE_ADDR": "203.0.113.1"})
    assert other.status_code == 200  # another address from the same network still passes


def test_registrations_sent_at_the_same_moment_cannot_pass_the_limit_together(app, rate_limited_app):
    """Counted where each registration is made, atomically: a check before the request and a count after it
    (Flask-Limiter's deduct_when) let every request arriving together through."""
    import threading
    import urllib.error
    import urllib.parse
    import urllib.request

    from werkzeug.serving import make_server

    session = factories.make_session(capacity=100)
    server = make_server("127.0.0.1", 0, rate_limited_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{_url(session)}"
    barrier, codes = threading.Barrier(9, timeout=30), []

    def post(i):
        body = urllib.parse.urlencode(registration(email=f"ensemble{i}@example.org"), doseq=True).encode()
        barrier.wait()
        try:
            codes.append(urllib.request.urlopen(url, data=body, timeout=60).status)
        except urllib.error.HTTPError as error:
            codes.append(error.code)

    try:
        threads = [threading.Thread(target=post, args=(i,)) for i in range(9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
    db.session.expire_all()
    assert sorted(codes) == [200] * 5 + [429] * 4
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 5


def test_a_mistyped_form_does_not_count_against_the_limit(rate_limited_app):
    session = factories.make_session()
    client = rate_limited_app.test_client()
    for _ in range(6):  # six corrections of a mistyped address
        assert "n'est pas valide" in _page(client.post(_url(session), data=registration(email="awa@")))
    codes = [client.post(_url(session), data=registration(email=f"p{i}@example.org")).status_code
             for i in range(5)]
    assert codes == [200] * 5
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 5
    assert client.post(_url(session), data=registration(email="p9@example.org")).status_code == 429


# --- the trainee's personal page -------------------------------------------------------------------------

def test_the_personal_page_shows_states_waiting_position_and_documents(client):
    factories.make_organisation()
    trainee = factories.make_trainee("Awa", "Diallo")
    full = factories.make_session(capacity=1)
    factories.enrol(full)
    factories.enrol(full, trainee)
    seated_in = factories.make_session(start=datetime(2030, 4, 2, 9, 30), end=datetime(2030, 4, 3, 18))
    seated = factories.enrol(seated_in, trainee)
    page = _page(client.get(factories.personal_path(trainee)))
    assert "Vous êtes en position 1 sur la liste d'attente" in page
    assert "Votre convocation vous sera envoyée avant la formation." in page
    convocations.send(seated)
    db.session.commit()
    page = _page(client.get(factories.personal_path(trainee)))
    assert "Convocation (Word)" in page
    document = client.get(factories.personal_path(trainee, "enrolments.trainee_convocation", enrolment_id=seated.id))
    assert document.status_code == 200 and document.data.startswith(b"PK")


def test_a_trainee_cannot_reach_someone_elses_documents(client):
    factories.make_organisation()
    trainee, other = factories.make_trainee(), factories.make_trainee()
    session = factories.make_session()
    theirs = factories.enrol(session, other)
    convocations.send(theirs)
    db.session.commit()
    path = factories.personal_path(trainee, "enrolments.trainee_convocation", enrolment_id=theirs.id)
    assert client.get(path).status_code == 404
    response = client.post(factories.personal_path(trainee, "enrolments.trainee_cancel", enrolment_id=theirs.id))
    assert response.status_code == 404
    db.session.expire_all()
    assert theirs.status == "confirmed"


def test_a_trainee_cancels_and_the_first_waitlisted_is_promoted(client, app, outbox):
    session = factories.make_session(capacity=1)
    trainee = factories.make_trainee("Awa", "Diallo")
    mine = factories.enrol(session, trainee)
    waiting = factories.enrol(session)
    response = client.post(factories.personal_path(trainee, "enrolments.trainee_cancel", enrolment_id=mine.id),
                           data={"reason": "Je ne suis plus disponible"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (mine.status, waiting.status) == ("cancelled", "confirmed")
    promoted, acknowledgement, to_office = outbox
    assert promoted.to == [waiting.trainee.email] and "Une place s'est libérée" in promoted.subject
    # The trainee gets an acknowledgement, the office is told (as of a request made on the public page).
    assert acknowledgement.to == [trainee.email] and acknowledgement.subject == f"Annulation enregistrée : {session.title}"
    assert "Nous avons bien enregistré l'annulation de votre inscription à la formation" in acknowledgement.body
    assert "du 05/03/2030 à 14h00 au 08/03/2030 à 12h30" in acknowledgement.body
    assert "La convocation que vous avez pu recevoir n'est plus valable." in acknowledgement.body
    assert to_office.to == [app.config["MAIL_OFFICE"]]
    assert to_office.subject == f"Annulation : Awa Diallo — {session.title}"
    for line in ("Stagiaire : Mme Awa DIALLO", "État avant l'annulation : Confirmée",
                 "Motif : Je ne suis plus disponible", f"/inscriptions/{mine.id}",
                 f"Place redonnée à : {waiting.trainee.formal_name}"):
        assert line in to_office.body, line
    page = _page(client.get(response.headers["Location"]))
    assert "Votre inscription est annulée." in page
    # her name is on her own enrolment's history only, never on the one she freed a seat for
    from training_app.models import AuditEntry
    entries = db.session.execute(db.select(AuditEntry.entity_id, AuditEntry.action, AuditEntry.actor_label)
                                 .where(AuditEntry.entity_type == "enrolments")).all()
    assert (mine.id, "cancelled", "Awa Diallo (lien personnel)") in entries
    assert (waiting.id, "promoted", "système") in entries
    assert not [e for e in entries if e.entity_id != mine.id and "Awa" in e.actor_label]


def test_a_trainee_cancelling_too_late_or_with_too_long_a_reason_is_told_in_their_words(client, outbox):
    session = factories.make_session()  # Tue 5 Mar 2030 14:00
    trainee = factories.make_trainee("Awa", "Diallo")
    mine = factories.enrol(session, trainee)
    outbox.clear()
    path = factories.personal_path(trainee, "enrolments.trainee_cancel", enrolment_id=mine.id)
    home = _page(client.get(factories.personal_path(trainee)))
    assert re.search(r'<textarea[^>]*name="reason"[^>]*maxlength="2000"', home)

    typed = "Je ne pourrai pas venir. " * 100  # 2 500 characters: more than the 2 000 kept
    response = client.post(path, data={"reason": typed})
    page = _page(response)
    assert response.status_code == 200
    assert "Le motif dépasse 2000 caractères" in page and typed.strip() in page
    assert "Votre inscription n'est pas encore annulée" in page

    with frozen_at(datetime(2030, 3, 5, 15)):  # the page was opened before the start, sent after it
        response = client.post(path, data={"reason": "Empêchée"}, follow_redirects=True)
    page = _page(response)
    assert "La formation a commencé : votre inscription ne peut plus être annulée ici. Prévenez l'équipe de " \
           "formation." in page
    assert "abandon" not in page
    db.session.expire_all()
    assert mine.status == "confirmed" and outbox == []


@pytest.mark.parametrize("kind", ["expired", "tampered", "replaced"])
def test_an_expired_tampered_or_replaced_link_shows_no_data_and_offers_a_new_link(client, monkeypatch, kind):
    trainee = factories.make_trainee("Awa", "Diallo")
    factories.enrol(factories.make_session(), trainee)
    if kind == "expired":
        long_ago = time.time() - 200 * 86400
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(long_ago))
        path = factories.personal_path(trainee)
        monkeypatch.undo()
    elif kind == "tampered":
        path = factories.personal_path(trainee)[:-3] + "abc"
    else:
        path = factories.personal_path(trainee)
        trainee_links.revoke_links(trainee, actor=factories.make_user("admin"))
        db.session.commit()
    response = client.get(path)
    page = _page(response)
    assert response.status_code == 403
    assert "Ce lien personnel n'est plus valable" in page and "Recevoir un nouveau lien" in page
    assert "Diallo" not in page and "Formation" not in page.split("<main", 1)[1]
    # Each case says what happened, and only that: asking for a new link replaces no link.
    why = {"expired": "Votre lien a expiré", "tampered": "il est incomplet ou a été modifié",
           "replaced": "a été désactivé par l'équipe de formation"}
    assert [words for words in why.values() if words in page] == [why[kind]]
    assert "remplacé par un lien plus récent" not in page


def test_a_new_link_is_sent_by_e_mail_and_opens_the_page(client, outbox):
    factories.make_trainee("Awa", "Diallo", email="awa@example.org")
    response = client.post("/moi/nouveau-lien", data={"email": "AWA@example.org"})
    assert "un nouveau lien vient d'y être envoyé" in _page(response)
    link = outbox[0].body.split("http://127.0.0.1:5000")[1].split()[0]
    assert "Bonjour Awa Diallo" in _page(client.get(link))
    client.post("/moi/nouveau-lien", data={"email": "inconnu@example.org"})
    assert len(outbox) == 1  # an unknown address gets the same answer and no e-mail


def test_asking_for_a_new_link_revokes_nothing(client, outbox):
    trainee = factories.make_trainee("Awa", "Diallo", email="awa@example.org")
    factories.enrol(factories.make_session(), trainee)
    link_in_use = factories.personal_path(trainee)
    for _ in range(3):  # anyone who knows the address may ask, as often as the rate limit allows
        client.post("/moi/nouveau-lien", data={"email": "awa@example.org"})
    assert client.get(link_in_use).status_code == 200
    fresh = outbox[-1].body.split("http://127.0.0.1:5000")[1].split()[0]
    assert client.get(fresh).status_code == 200
    db.session.expire_all()
    assert trainee.link_version == 1 and "ne fonctionnent plus" not in outbox[-1].body


def test_an_administrator_revokes_the_links_and_the_trainee_gets_a_new_one(app, admin_client, outbox):
    trainee = factories.make_trainee("Awa", "Diallo", email="awa@example.org")
    enrolment = factories.enrol(factories.make_session(), trainee)
    old_link = factories.personal_path(trainee)
    phone = app.test_client()
    assert phone.get(old_link).status_code == 200
    response = admin_client.post(f"/inscriptions/{enrolment.id}/revoquer-liens", follow_redirects=True)
    page = _page(response)
    assert "Les liens personnels d'Awa Diallo sont révoqués" in page and "Derniers liens révoqués le" in page
    assert phone.get(old_link).status_code == 403
    assert "ne fonctionnent plus" in outbox[-1].body and outbox[-1].to == ["awa@example.org"]
    new_link = outbox[-1].body.split("http://127.0.0.1:5000")[1].split()[0]
    assert phone.get(new_link).status_code == 200
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "links_revoked"))
    assert (entry.entity_type, entry.entity_id, entry.details["enrolment_id"]) == ("trainees", trainee.id,
                                                                                   enrolment.id)
    assert entry.actor_label == "Alice Admin"


def test_a_trainer_cannot_revoke_links(app, trainer_client):
    enrolment = factories.enrol(factories.make_session())
    assert trainer_client.post(f"/inscriptions/{enrolment.id}/revoquer-liens").status_code == 403
