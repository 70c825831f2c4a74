"""A trainer signs in, finds only the sessions they teach, assesses each trainee's learning objectives and
finds the results saved; a session review saved meanwhile by the co-trainer is not overwritten, and
what the trainer typed is kept for them to merge."""
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.conftest import browser_context

pytestmark = pytest.mark.browser

TITLE = "Du dialogue à la négociation : quels moyens pour agir localement ?"
OBJECTIVES = ("Identifier les leviers d'une négociation", "Préparer une négociation")
LEVELS = ["Non évalué", "Acquis", "Partiellement acquis", "Non acquis"]
TO_FILL = "— à renseigner —"  # a cell nobody filled in yet: "Non évalué" is the trainer's explicit choice


def december_course():
    """The completed December 2018 session taught by Camille and Inès (two confirmed trainees, one on the
    waiting list), and another trainer's session. Returns (Camille, Inès, session, other session)."""
    camille = factories.make_user("trainer", name="Camille Le Gall")
    ines = factories.make_user("trainer", name="Inès Moreau")
    programme = factories.make_programme(title=TITLE, objectives=OBJECTIVES)
    session = factories.make_session(programme=programme, start=datetime(2018, 12, 11, 14, 0),
                                     end=datetime(2018, 12, 14, 12, 30), status="completed", trainers=[camille, ines])
    for first, last in (("Awa", "Diallo"), ("Julien", "Le Bihan")):
        factories.make_enrolment(session, factories.make_trainee(first, last))
    factories.make_enrolment(session, factories.make_trainee("Sophie", "Renaud"), status="waitlisted")
    other = factories.make_session(
        programme=factories.make_programme(title="Animer une réunion publique"), status="completed",
        start=datetime(2018, 11, 6, 14, 0), end=datetime(2018, 11, 9, 12, 30),
        trainers=[factories.make_user("trainer", name="Yann Kerleau")])
    factories.make_enrolment(other, factories.make_trainee("Karim", "Benali"))
    return camille, ines, session, other


def result(page, trainee, position):
    """The result list of one trainee's objective (1, 2, ...) on the assessment page."""
    section = page.get_by_test_id("trainee-outcomes").filter(has_text=trainee)
    return section.get_by_label(f"{position}. {OBJECTIVES[position - 1]}", exact=True)


def comment(page, trainee, position):
    return page.get_by_label(f"Commentaire — {trainee}, objectif {position}", exact=True)


def shown(select) -> str:
    return select.locator("option:checked").inner_text()


def listed_titles(page) -> list[str]:
    return page.locator("tbody tr td:first-child").all_inner_texts()


def test_a_trainer_assesses_the_objectives_of_the_trainees_of_their_own_session(page):
    camille, _ines, session, other = december_course()

    factories.sign_in_browser(page, camille)
    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.get_by_role("link", name="Sessions", exact=True).click()
    expect(page.get_by_role("heading", name="Mes sessions")).to_be_visible()
    assert listed_titles(page) == [TITLE]
    assert page.get_by_label("Formateur·rice").count() == 0  # no choosing another trainer's sessions
    page.goto(f"/sessions?trainer={other.trainers[0].id}")  # nor by typing it in the address
    assert listed_titles(page) == [TITLE]

    page.get_by_role("link", name=TITLE).click()
    assert "0 objectif évalué sur 4 (2 stagiaires, 2 objectifs chacun)." in \
        page.get_by_test_id("outcomes-progress").inner_text()
    page.get_by_role("link", name="Évaluer les acquis et rédiger le bilan").click()
    expect(page.get_by_role("heading", name="Évaluation des acquis", exact=True)).to_be_visible()
    # The confirmed trainees only, by name; every objective starts "to fill in".
    assert [h.strip() for h in page.get_by_test_id("trainee-outcomes").get_by_role("heading").all_inner_texts()] \
        == ["Awa Diallo", "Julien Le Bihan"]
    assert "Sophie Renaud" not in page.content()
    assert result(page, "Awa Diallo", 1).locator("option").all_inner_texts() == [TO_FILL, *LEVELS]
    assert shown(result(page, "Julien Le Bihan", 2)) == TO_FILL

    result(page, "Awa Diallo", 1).select_option(label="Acquis")
    result(page, "Awa Diallo", 2).select_option(label="Partiellement acquis")
    comment(page, "Awa Diallo", 2).fill("À consolider en situation réelle")
    result(page, "Julien Le Bihan", 1).select_option(label="Non acquis")
    comment(page, "Julien Le Bihan", 2).fill("Absent au jeu de rôle : à évaluer plus tard")
    page.get_by_role("button", name="Enregistrer l'évaluation").click()
    # a comment needs a result: refused on its cell, nothing saved, what was typed kept
    assert "Choisissez un résultat pour ce commentaire" in page.get_by_role("alert").first.inner_text()
    assert shown(result(page, "Awa Diallo", 2)) == "Partiellement acquis"
    assert comment(page, "Julien Le Bihan", 2).input_value() == "Absent au jeu de rôle : à évaluer plus tard"
    result(page, "Julien Le Bihan", 2).select_option(label="Non évalué")  # left not assessed, on purpose
    page.get_by_role("button", name="Enregistrer l'évaluation").click()
    assert "Évaluation des acquis enregistrée (4 modifications)." in page.get_by_role("status").first.inner_text()

    page.reload()
    assert [shown(result(page, "Awa Diallo", n)) for n in (1, 2)] == ["Acquis", "Partiellement acquis"]
    assert [shown(result(page, "Julien Le Bihan", n)) for n in (1, 2)] == ["Non acquis", "Non évalué"]
    assert result(page, "Awa Diallo", 1).locator("option").all_inner_texts() == LEVELS  # recorded: no way back
    assert comment(page, "Awa Diallo", 2).input_value() == "À consolider en situation réelle"
    assert comment(page, "Julien Le Bihan", 2).input_value() == "Absent au jeu de rôle : à évaluer plus tard"
    assert comment(page, "Awa Diallo", 1).input_value() == ""

    # Julien is assessed later on his second objective: only that change is saved.
    result(page, "Julien Le Bihan", 2).select_option(label="Partiellement acquis")
    page.get_by_role("button", name="Enregistrer l'évaluation").click()
    assert "Évaluation des acquis enregistrée (1 modification)." in page.get_by_role("status").first.inner_text()
    assert shown(result(page, "Julien Le Bihan", 2)) == "Partiellement acquis"
    assert shown(result(page, "Awa Diallo", 1)) == "Acquis"

    page.get_by_role("link", name=f"← {TITLE}").click()
    assert "4 objectifs évalués sur 4 (2 stagiaires, 2 objectifs chacun)." in \
        page.get_by_test_id("outcomes-progress").inner_text()

    # Another trainer's session: neither its page nor its assessment opens, and nobody of it is named.
    for path in (f"/sessions/{other.id}/acquis", f"/sessions/{other.id}"):
        page.goto(path)
        expect(page.get_by_role("heading", name="Erreur 403")).to_be_visible()
        assert "Vous n'avez pas accès à cette page." in page.locator("main").inner_text()
        assert "Karim" not in page.content() and "Animer une réunion publique" not in page.content()


def test_a_review_saved_by_the_co_trainer_meanwhile_is_not_overwritten_and_the_typed_text_is_kept(
        browser, live_server, page):
    camille, ines, session, _other = december_course()
    factories.sign_in_browser(page, camille)
    page.goto(f"/sessions/{session.id}/acquis")
    review = page.get_by_label("Bilan de la session (bilan final oral)")
    assert review.input_value() == ""

    # Meanwhile Inès, on her own computer, writes the review and saves it.
    with browser_context(browser, live_server) as other:
        hers = other.new_page()
        factories.sign_in_browser(hers, ines)
        hers.goto(f"/sessions/{session.id}/acquis")
        hers.get_by_label("Bilan de la session (bilan final oral)").fill("Le groupe veut une suite en juin.")
        hers.get_by_role("button", name="Enregistrer le bilan").click()
        assert "Bilan de la session enregistré." in hers.get_by_role("status").first.inner_text()

    review.fill("Groupe très engagé ; la grille de préparation a servi.")
    page.get_by_role("button", name="Enregistrer le bilan").click()
    message = page.get_by_role("alert").first.inner_text()
    assert "Inès Moreau a enregistré le bilan" in message
    assert "depuis que vous avez ouvert cette page : sa version est affichée ci-dessous." in message
    assert "Le groupe veut une suite en juin." in page.get_by_test_id("saved-review").inner_text()
    assert review.input_value() == "Groupe très engagé ; la grille de préparation a servi."

    # Having read her version, Camille merges both and saves.
    review.fill("Groupe très engagé ; la grille de préparation a servi.\nLe groupe veut une suite en juin.")
    page.get_by_role("button", name="Enregistrer le bilan").click()
    assert "Bilan de la session enregistré." in page.get_by_role("status").first.inner_text()
    page.reload()
    assert review.input_value() == \
        "Groupe très engagé ; la grille de préparation a servi.\nLe groupe veut une suite en juin."
    assert "Rédigé par Camille Le Gall" in page.locator("main").inner_text()
    page.get_by_role("link", name=f"← {TITLE}").click()
    assert "Bilan de la session rédigé." in page.get_by_test_id("outcomes-progress").inner_text()


def test_a_review_as_long_as_the_box_allows_is_saved(page):
    camille, _ines, session, _other = december_course()
    factories.sign_in_browser(page, camille)
    page.goto(f"/sessions/{session.id}/acquis")
    review = page.get_by_label("Bilan de la session (bilan final oral)")
    review.fill("Ce que le groupe retient de la journée.\n" * 500 + "Fin du bilan, qui dépasse la limite.")
    typed = review.input_value()  # what the box let the trainer type
    page.get_by_role("button", name="Enregistrer le bilan").click()
    assert "Le bilan est trop long." not in page.locator("main").inner_text()
    assert "Bilan de la session enregistré." in page.get_by_role("status").first.inner_text()
    page.reload()
    assert review.input_value() == typed.strip()  # saved whole (the surrounding blanks are not kept)
