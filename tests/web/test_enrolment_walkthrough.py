"""What a walkthrough of the demo found: the office's « Inscrire un·e stagiaire » form gave a private person an
employer's funding, the trainee's page promised a convocation during the course, and the session page counted a
withdrawal's seat without saying so."""
import html
import io
import re
from datetime import date, datetime

from tests import factories
from tests.web.test_enrolments import new_trainee_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment, Trainee
from training_app.services import enrolments

DURING = datetime(2030, 3, 6, 12)  # factories.make_session: Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30
PRIVATE = {"employer_id": "0", "employer_name": "", "employer_siret": "", "category": ""}
NO_EMPLOYER = ("Ce financement passe par l'employeur, mais aucune structure employeuse n'est indiquée pour cette "
               "personne : indiquez la sienne, ou choisissez un autre financement (« À titre personnel » ou "
               "« Autre »).")


def no_employer_on_the_record(name: str) -> str:
    return (f"Ce financement passe par l'employeur, mais la fiche de {name} ne nomme aucune structure employeuse : "
            "indiquez-la d'abord sur sa fiche, ou choisissez un autre financement (« À titre personnel » ou "
            "« Autre »).")


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _field_error(page: str, name: str) -> str:
    found = re.search(rf'<div id="{name}-erreur"[^>]*>([^<]*)</div>', page)
    return found.group(1).strip() if found else ""


def _counts() -> tuple[int, int]:
    return (db.session.scalar(db.select(db.func.count(Trainee.id))),
            db.session.scalar(db.select(db.func.count(Enrolment.id))))


def test_an_employer_funding_is_refused_for_a_private_person_next_to_the_funding_field(admin_client, outbox):
    session = factories.make_session()
    for mode in ("opco", "employer"):
        response = admin_client.post(f"/sessions/{session.id}/inscrire",
                                     data=new_trainee_form(funding_mode=mode, **PRIVATE))
        assert response.status_code == 200
        assert _field_error(_text(response), "funding_mode") == NO_EMPLOYER, mode
        assert _counts() == (0, 0) and outbox == []  # nothing half-written, nobody told
    response = admin_client.post(f"/sessions/{session.id}/inscrire",
                                 data=new_trainee_form(funding_mode="personal", **PRIVATE))
    assert response.status_code == 302
    enrolment = db.session.scalar(db.select(Enrolment))
    assert (enrolment.funding_mode, enrolment.employer_id) == ("personal", None)
    assert enrolment.trainee.category == "individual"  # no category chosen: it follows the missing employer


def test_an_existing_trainee_without_employer_is_refused_an_employer_funding(admin_client):
    session = factories.make_session()
    trainee = factories.make_trainee("Julien", "Le Bihan")  # no employer on the record
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
        "trainee_id": str(trainee.id), "employer_id": "0", "category": "", "funding_mode": "opco"})
    assert _field_error(_text(response), "funding_mode") == no_employer_on_the_record("Julien Le Bihan")
    assert _counts() == (1, 0)


def test_the_form_offers_no_funding_nor_category_by_default(admin_client):
    session = factories.make_session()
    page = _text(admin_client.get(f"/sessions/{session.id}/inscrire"))
    for name in ("funding_mode", "category"):
        select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
        first = re.search(r'<option([^>]*)>', select).group(1)
        assert 'value=""' in first, name
        assert "selected" not in select.split("</option>", 1)[1], name  # nothing else chosen for the office
    data = new_trainee_form()
    del data["funding_mode"]
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data=data)
    assert _field_error(_text(response), "funding_mode") == "Choisissez un mode de financement."
    assert _counts() == (0, 0)


def test_a_new_trainee_with_an_employer_and_no_category_is_an_employee(admin_client):
    session = factories.make_session()
    response = admin_client.post(f"/sessions/{session.id}/inscrire", data=new_trainee_form(category=""))
    assert response.status_code == 302
    enrolment = db.session.scalar(db.select(Enrolment))
    assert (enrolment.funding_mode, enrolment.employer.name, enrolment.trainee.category) == (
        "opco", "CCAS de Rennes", "employee")


def test_an_imported_row_with_an_employer_funding_and_no_employer_is_rejected_in_the_preview(admin_client):
    session = factories.make_session(capacity=10)
    employer = factories.make_employer(name="Centre social")
    factories.make_trainee("Karim", "Benali", email="karim@example.org", employer=employer)
    factories.make_trainee("Julien", "Le Bihan", email="julien@example.org")
    content = factories.xlsx_bytes([
        ["Nom", "Prénom", "E-mail", "Employeur", "Financement"],
        ["Diallo", "Awa", "awa@example.org", "", "OPCO"],  # new, no employer: refused
        ["Benali", "Karim", "karim@example.org", "", "OPCO"],  # known, their record names their employer
        ["Le Bihan", "Julien", "julien@example.org", "", "Employeur"],  # known, no employer anywhere: refused
        ["Ndiaye", "Fatou", "fatou@example.org", "", "À titre personnel"],
    ])
    response = admin_client.post(f"/sessions/{session.id}/import", data={"file": (io.BytesIO(content), "l.xlsx")},
                                 content_type="multipart/form-data")
    page = _text(response)
    assert "2 lignes valides sur 4, 2 rejetées." in page
    assert page.count(NO_EMPLOYER) == 1  # Awa, new
    assert page.count(no_employer_on_the_record("Julien Le Bihan")) == 1


def test_the_trainee_page_promises_a_convocation_only_before_the_course(client):
    factories.make_organisation()
    trainee = factories.make_trainee("Awa", "Diallo")
    factories.enrol(factories.make_session(), trainee)
    promise = "Votre convocation vous sera envoyée avant la formation."
    with frozen_at(datetime(2030, 3, 5, 13, 59)):
        assert promise in _text(client.get(factories.personal_path(trainee)))
    for moment in (datetime(2030, 3, 5, 14), DURING, datetime(2030, 3, 9, 9)):  # started, under way, over
        with frozen_at(moment):
            page = _text(client.get(factories.personal_path(trainee)))
        assert promise not in page, moment
        assert "Aucun document pour l'instant." in page or moment > DURING, moment


def test_an_enrolment_the_trainee_cancelled_promises_no_document(client):
    factories.make_organisation()
    trainee = factories.make_trainee("Awa", "Diallo")
    enrolment = factories.enrol(factories.make_session(), trainee)
    with frozen_at(datetime(2030, 3, 1, 10)):
        response = client.post(factories.personal_path(trainee, "enrolments.trainee_cancel",
                                                       enrolment_id=enrolment.id), data={"reason": ""})
        assert response.status_code == 302
        page = _text(client.get(factories.personal_path(trainee)))
    assert "Votre inscription est annulée." in page and 'data-testid="enrolment-state">Annulée' in page
    assert "Aucun document pour l'instant." not in page and "Documents" not in page


def test_the_seat_count_says_which_seats_withdrawals_hold(admin_client):
    session = factories.make_session(capacity=5)
    first, second, third = (factories.enrol(session) for _ in range(3))
    seats = r'data-testid="seats">\s*{}'
    with frozen_at(DURING):
        enrolments.withdraw(first, date(2030, 3, 6), "Malade")
        db.session.commit()
        page = _text(admin_client.get(f"/sessions/{session.id}"))
        assert re.search(seats.format(re.escape("3 places occupées sur 5, ")), page)
        assert re.search(r'data-testid="withdrawn-seats">dont 1 abandon \(la place reste occupée\)</span>', page)
        assert "Confirmé·es (2)" in page
        enrolments.withdraw(second, date(2030, 3, 6), "Empêchement")
        db.session.commit()
        page = _text(admin_client.get(f"/sessions/{session.id}"))
        assert "dont 2 abandons (les places restent occupées)" in page
    with frozen_at(datetime(2030, 3, 9, 9)):  # over: the same count, the same explanation
        page = " ".join(re.sub(r"<[^>]+>", "", _text(admin_client.get(f"/sessions/{session.id}"))).split())
        assert ("Session terminée : elle ne prend plus d'inscription. 3 places occupées sur 5, dont 2 abandons (les "
                "places restent occupées)") in page
    assert third.status == "confirmed"


def test_the_seat_count_says_nothing_of_withdrawals_when_none_holds_a_seat(admin_client):
    session = factories.make_session(capacity=5)
    factories.enrol(session)
    enrolment = factories.enrol(session)
    enrolments.cancel(enrolment, "Ne viendra pas")
    db.session.commit()
    page = _text(admin_client.get(f"/sessions/{session.id}"))
    assert re.search(r'data-testid="seats">\s*1 place occupée sur 5 ·', page)
    assert "withdrawn-seats" not in page and "abandon (la place" not in page
