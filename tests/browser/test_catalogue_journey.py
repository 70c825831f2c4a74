"""An administrator writes a programme with its objectives and access delay and schedules a session of it; a
visitor, signed out, reads it in the public catalogue with its objectives, access delay and the session's dates.
Once archived, the programme leaves the public catalogue. A programme with a session over shows its results."""
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import attendance
from training_app.services.surveys import QuestionData

pytestmark = pytest.mark.browser

TITLE = "Organiser une mobilisation locale"
DELAY = "Inscription jusqu'à 8 jours avant le début de la session ; réponse sous 48 h."
OBJECTIVES = ["Identifier les personnes concernées et leurs intérêts",
              "Construire un rapport de force",
              "Mener une action collective et en tirer le bilan"]


@pytest.fixture
def visitor(second_page):
    """A second browser, never signed in: the public."""
    return second_page


def _public_titles(page):
    return page.locator("article h2").all_inner_texts()


def test_admin_publishes_a_programme_and_its_session_then_archives_it(page, visitor):
    admin = factories.make_user("admin", name="Claire Bernard")
    factories.make_programme(title="Du dialogue à la négociation")  # already in the catalogue

    factories.sign_in_browser(page, admin)
    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_role("link", name="Nouvelle formation").click()
    page.get_by_label("Intitulé").fill(TITLE)
    page.get_by_label("Public visé").fill("Salarié·es et bénévoles d'associations de quartier")
    page.get_by_label("Prérequis").fill("Aucun")
    page.get_by_label("Délais d'accès").fill(DELAY)
    page.get_by_role("button", name="Enregistrer").click()  # no objective: refused, in French
    assert "Indiquez au moins un objectif." in page.get_by_role("alert").first.inner_text()

    page.get_by_label("Objectifs pédagogiques").fill("\n".join(["- " + OBJECTIVES[0], *OBJECTIVES[1:]]))
    page.get_by_label("Durée par défaut (heures)").fill("14")
    page.get_by_label("Capacité par défaut (places)").fill("12")
    page.get_by_label("Prix par stagiaire (€)").fill("560")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text(f"La formation « {TITLE} » a été créée.")
    assert page.locator(".programme-fields ol li").all_inner_texts() == OBJECTIVES

    page.get_by_role("link", name="Programmer une session").click()
    assert page.get_by_label("Formation", exact=True).locator("option:checked").inner_text() == TITLE
    assert page.get_by_label("Capacité (places)").input_value() == "12"
    factories.fill_session_form(page, "2030-06-11 09:30", "2030-06-12 18:00")
    page.get_by_label("Lieu (adresse").fill("Maison de quartier de Villejean, Rennes")
    page.get_by_label("État").select_option(label="Inscriptions ouvertes")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text("Session créée : 4 demi-journées, 14 h prévues.")

    # The public, signed out: the catalogue lists the programme; its page gives the objectives and the session.
    visitor.goto("/")
    assert _public_titles(visitor) == ["Du dialogue à la négociation", TITLE]
    card = visitor.locator("article").filter(has_text=TITLE)
    assert "14 h" in card.inner_text() and "560,00\u202f€" in card.inner_text()
    card.get_by_role("link", name=TITLE).click()
    assert visitor.get_by_role("heading", level=1).inner_text() == TITLE
    assert visitor.locator(".programme-fields ol li").all_inner_texts() == OBJECTIVES
    assert "Salarié·es et bénévoles d'associations de quartier" in visitor.content()
    expect(visitor.get_by_text(DELAY)).to_be_visible()
    results = visitor.get_by_role("region", name="Résultats de la formation")
    assert "Première session à venir" in results.inner_text()
    expect(visitor.get_by_text("Du 11/06/2030 à 9h30 au 12/06/2030 à 18h00")).to_be_visible()
    expect(visitor.get_by_text("Maison de quartier de Villejean, Rennes")).to_be_visible()
    expect(visitor.get_by_text("12 places disponibles")).to_be_visible()
    expect(visitor.get_by_role("link", name="S'inscrire", exact=True)).to_be_visible()

    # The administrator archives the programme: the catalogue the visitor reloads no longer shows it.
    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Archiver").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "La formation est archivée : elle n'apparaît plus dans le catalogue public.")

    visitor.goto("/")
    assert _public_titles(visitor) == ["Du dialogue à la négociation"]
    visitor.go_back()  # the programme's page, from the browser's history
    visitor.reload()
    assert visitor.get_by_role("heading", level=1).inner_text() == "Erreur 404"
    assert TITLE not in visitor.content()


def _tuesday_before(day: date, days: int) -> date:
    day = day - timedelta(days=days)
    return day - timedelta(days=(day.weekday() - 1) % 7)


def test_a_visitor_reads_the_results_of_a_programme_s_sessions_over(visitor):
    """A session over some 400 days ago (in the period of the last three years and this one): its people,
    completion, and satisfaction from its anonymous questionnaire, closed since, whose answers the visitor's
    reading releases."""
    trainer = factories.make_user("trainer")
    programme = factories.make_programme(title=TITLE, access_delay=DELAY)
    start = datetime.combine(_tuesday_before(date.today(), 400), datetime.min.time()).replace(hour=14)
    session = factories.make_session(programme=programme, start=start, end=start + timedelta(days=3, hours=-1.5),
                                     trainers=[trainer])
    enrolments = [factories.make_enrolment(session) for _ in range(4)]
    for slot in session.slots:
        with frozen_at(slot.starts_at + timedelta(minutes=10)):
            for enrolment in enrolments:
                attendance.mark(slot, enrolment, "present", actor=trainer)
        db.session.commit()
    enrolments[3].status, enrolments[3].withdrawn_on = "withdrawn", session.end_at.date()
    db.session.commit()
    survey = factories.make_survey(
        session, factories.make_questionnaire([QuestionData("rating", "Comment avez-vous trouvé la formation ?")]),
        opens_at=session.end_at.replace(hour=9, minute=30), closes_at=session.end_at + timedelta(days=14))
    for enrolment, rating in zip(enrolments, (5, 4, 3, 5)):
        factories.answer_survey(survey, enrolment.trainee, {1: rating})

    visitor.goto("/")
    visitor.get_by_role("link", name=TITLE).click()
    expect(visitor.get_by_text(DELAY)).to_be_visible()
    results = visitor.get_by_role("region", name="Résultats de la formation")
    text = results.inner_text()
    assert f"Sessions terminées de {date.today().year - 3} à aujourd'hui" in text
    terms = results.locator("dt").all_inner_texts()
    figures = results.locator("dd").all_inner_texts()
    assert terms == ["Sessions réalisées", "Stagiaires formé·es", "Taux d'achèvement", "Taux de satisfaction"]
    assert figures[:2] == ["1", "4"]
    assert figures[2].startswith("75\u202f%")  # 3 went to the end, 1 withdrew
    assert figures[3].startswith("75\u202f%") and "(4 notes, 4 stagiaires ayant répondu)" in figures[3]
