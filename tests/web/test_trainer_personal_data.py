"""What a trainer sees of the people enrolled in a session they teach (personal data minimisation, GDPR): the
trainees they teach (confirmed, or withdrawn during the course), with name, job title and employer; not the
waiting list, the requests nor the cancellations, and never the contact details, category, funding, price,
reasons or history of an enrolment, which are the training office's (training_app/access.py)."""
import re
from datetime import date, datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import enrolments

DURING = datetime(2030, 3, 6, 10)  # the reference session runs Tue 5 Mar 14:00 - Fri 8 Mar 12:30
SICK_LEAVE = "Arrêt maladie (dépression), prévenu par son employeur"
MOVED_AWAY = "Déménagement à Lyon"


@pytest.fixture
def people(trainer, admin):
    """A session of `trainer` with one enrolment in each state, each person with a phone and a job."""
    session = factories.make_session(trainers=[trainer], capacity=2)
    employer = factories.make_employer(name="CCAS de Rennes")

    def person(first_name, phone, status="confirmed"):
        trainee = factories.make_trainee(first_name, phone=phone, job_title=f"Éducatrice {first_name}",
                                         employer=employer, category="job_seeker")
        return factories.make_enrolment(session, trainee, status=status)

    found = {"session": session,
             "confirmed": person("Awa", "06 00 00 00 01"),
             "withdrawn": person("Karim", "06 00 00 00 02"),
             "waitlisted": person("Wanda", "06 00 00 00 03", "waitlisted"),
             "requested": person("Rita", "06 00 00 00 04", "requested"),
             "cancelled": person("Gaston", "06 00 00 00 05", "waitlisted")}
    enrolments.cancel(found["cancelled"], SICK_LEAVE, actor=admin)
    with frozen_at(DURING):
        enrolments.withdraw(found["withdrawn"], date(2030, 3, 6), MOVED_AWAY, actor=admin)
    db.session.commit()
    return found


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def _client(app, role, trainer, admin):
    client = app.test_client()
    if role == "admin":
        factories.login(client, admin)
    elif role == "trainer":
        factories.login(client, trainer)
    elif role == "unassigned trainer":
        factories.login(client, factories.make_user("trainer", name="Ivan Intrus"))
    return client


TAUGHT, NOT_TAUGHT = ("confirmed", "withdrawn"), ("waitlisted", "requested", "cancelled")
OFFICE_ONLY = ("Adresse e-mail", "Téléphone", "06 00 00 00", "@example.org", "Catégorie", "Demandeur",
               "Financement", "Tarif appliqué", "840,00", "Historique", "Convocations envoyées", SICK_LEAVE,
               MOVED_AWAY)


@pytest.mark.parametrize("role", ["admin", "trainer", "unassigned trainer", "anonymous"])
def test_enrolment_pages_per_role(app, people, role, trainer, admin):
    client = _client(app, role, trainer, admin)
    for state in TAUGHT + NOT_TAUGHT:
        enrolment = people[state]
        response = client.get(f"/inscriptions/{enrolment.id}")
        if role == "anonymous":
            assert response.status_code == 302 and "/connexion" in response.headers["Location"], state
        elif role == "unassigned trainer" or (role == "trainer" and state in NOT_TAUGHT):
            assert response.status_code == 403, (role, state)
        else:
            assert response.status_code == 200, (role, state)
            page = _text(response)
            trainee = enrolment.trainee
            assert trainee.formal_name in page and trainee.job_title in page and "CCAS de Rennes" in page
            shown = [word for word in OFFICE_ONLY if word in page]
            if role == "trainer":
                assert shown == [], state
            else:
                assert trainee.email in page and trainee.phone in page and "Historique" in page
                assert "Tarif appliqué" in page and "Demandeur" in page


def test_a_trainer_sees_the_withdrawal_date_not_its_reason(trainer_client, admin_client, people):
    withdrawn = people["withdrawn"]
    page = _text(trainer_client.get(f"/inscriptions/{withdrawn.id}"))
    assert "Date de l'abandon" in page and "6 mars 2030" in page and MOVED_AWAY not in page
    assert MOVED_AWAY in _text(admin_client.get(f"/inscriptions/{withdrawn.id}"))
    page = _text(admin_client.get(f"/inscriptions/{people['cancelled'].id}"))
    assert SICK_LEAVE in page and page.count(SICK_LEAVE) == 2  # the state's reason and the history's


def _links(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/inscriptions/(\d+)"', page)}


@pytest.mark.parametrize("role", ["admin", "trainer", "unassigned trainer", "anonymous"])
def test_the_session_page_lists_the_trainees_a_trainer_teaches(app, people, role, trainer, admin):
    client = _client(app, role, trainer, admin)
    response = client.get(f"/sessions/{people['session'].id}")
    if role == "anonymous":
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
        return
    if role == "unassigned trainer":
        assert response.status_code == 403
        return
    page = _text(response)
    every = {people[state].id for state in TAUGHT + NOT_TAUGHT}
    taught = {people[state].id for state in TAUGHT}
    if role == "admin":
        assert _links(page) == every
        assert "Liste d'attente (1)" in page and "Annulations et abandons (2)" in page
        assert all(people[state].trainee.first_name in page for state in NOT_TAUGHT)
        return
    assert _links(page) == taught
    assert all(people[state].trainee.first_name not in page for state in NOT_TAUGHT)
    # the others as numbers only
    assert "1 en liste d'attente" in page and "1 demande à confirmer" in page and "Abandons (1)" in page
    assert "Liste d'attente (" not in page and "Demandes à confirmer" not in page
    assert 'data-testid="taught-only"' in page


LEAKS = ("Wanda", "Rita", "Gaston", "06 00 00 00", "@example.org", SICK_LEAVE, MOVED_AWAY, "Demandeur")


def _readable(response) -> str:
    """A page, a Word document or a workbook, as text."""
    kind = response.headers.get("Content-Type", "")
    if "wordprocessingml" in kind:
        return factories.docx_text(response.data)
    if "spreadsheetml" in kind:
        import io

        import openpyxl
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        return "\n".join(str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row
                         if cell.value is not None)
    return _text(response)


def test_no_page_nor_export_of_the_session_tells_a_trainer_about_others(app, people, trainer_client):
    """Every page and file a trainer opens about their session (sheets, overview, outcomes, questionnaires,
    certificates, Word and Excel exports): the trainees they teach, nobody else, nothing of the office's."""
    from training_app.access import STAFF, access_level_of
    session = people["session"]
    survey = factories.make_survey(session, factories.make_questionnaire(anonymous=False))
    values = {"session_id": session.id, "slot_id": session.slots[2].id, "survey_id": survey.id,
              "enrolment_id": people["confirmed"].id}
    opened, leaks = [], []
    with frozen_at(DURING):
        for rule in app.url_map.iter_rules():
            if (access_level_of(rule.endpoint) != STAFF or "GET" not in rule.methods
                    or not rule.arguments or not rule.arguments <= set(values)):
                continue
            url = rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]
            response = trainer_client.get(url)
            if response.status_code != 200:
                continue
            opened.append(url)
            text = _readable(response)
            leaks += [(url, word) for word in LEAKS if word in text]
    assert len(opened) >= 10 and f"/sessions/{session.id}/emargement/grille.xlsx" in opened
    assert leaks == []
