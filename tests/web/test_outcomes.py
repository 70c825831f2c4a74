"""Learning outcomes through the web: a trainer of the session assesses each trainee and writes the review."""
import html
import re
from datetime import datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import LearningOutcome
from training_app.services import outcomes
from training_app.services import sessions as session_service


# Objectives are assessed from the session's start: these tests run on the last half-day of the default session
# (factories.make_session: Tue 5 March 2030 14:00 to Fri 8 March 12:30).
DURING_THE_COURSE = datetime(2030, 3, 8, 11, 0)


@pytest.fixture(autouse=True)
def during_the_course():
    with frozen_at(DURING_THE_COURSE):
        yield


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def _session(trainer):
    session = factories.make_session(trainers=[trainer],
                                     programme=factories.make_programme(objectives=("Préparer", "Négocier")))
    enrolments = [factories.make_enrolment(session) for _ in range(2)]
    factories.make_enrolment(session, status="waitlisted")
    return session, enrolments


def _form(session, enrolments, results, comments=None):
    data = {}
    for e, row in zip(enrolments, results):
        for o, result in zip(session.programme.objectives, row):
            data[f"r_{e.id}_{o.id}"] = result
            data[f"c_{e.id}_{o.id}"] = (comments or {}).get((e.id, o.id), "")
    return data


def test_a_trainer_assesses_the_trainees_of_their_session(trainer_client, trainer):
    session, enrolments = _session(trainer)
    url = f"/sessions/{session.id}/acquis"
    page = _text(trainer_client.get(url))
    assert page.count('data-testid="trainee-outcomes"') == 2  # confirmed trainees only
    assert "Partiellement acquis" in page and "Préparer" in page
    second = session.programme.objectives[1]
    response = trainer_client.post(url, data=_form(
        session, enrolments, [("acquired", "partly_acquired"), ("not_acquired", "not_assessed")],
        {(enrolments[0].id, second.id): "À consolider en situation réelle"}), follow_redirects=True)
    # the explicit "non évalué" is recorded too: it is the trainer's choice, not a cell left to fill
    assert "Évaluation des acquis enregistrée (4 modifications)." in _text(response)
    rows = outcomes.results_for(enrolments[0])
    assert [(code, comment) for _o, code, comment in rows] == [
        ("acquired", ""), ("partly_acquired", "À consolider en situation réelle")]
    assert db.session.scalar(db.select(LearningOutcome.assessed_by_id).limit(1)) == trainer.id
    assert '<option selected value="partly_acquired">' in _text(trainer_client.get(url))
    session_page = _text(trainer_client.get(f"/sessions/{session.id}"))
    assert "3 objectifs évalués sur 4 (2 stagiaires, 2 objectifs chacun)" in session_page


def test_cells_nobody_filled_start_on_to_fill_and_an_explicit_not_assessed_is_kept(trainer_client, trainer):
    session, (awa, julien) = _session(trainer)
    first, second = session.programme.objectives
    url = f"/sessions/{session.id}/acquis"
    page = _text(trainer_client.get(url))
    assert page.count('<option selected value="">— à renseigner —</option>') == 4
    # the page as loaded, Awa's first objective chosen "non évalué", the rest left to fill
    data = {f"{part}_{e.id}_{o.id}": "" for e in (awa, julien) for o in (first, second)
            for part in ("r", "c", "lr", "lc")}
    data[f"r_{awa.id}_{first.id}"] = "not_assessed"
    response = trainer_client.post(url, data=data, follow_redirects=True)
    assert "Évaluation des acquis enregistrée (1 modification)." in _text(response)
    assert [(o.enrolment_id, o.objective_id, o.result) for o in db.session.scalars(db.select(LearningOutcome))] == [
        (awa.id, first.id, "not_assessed")]
    page = _text(trainer_client.get(url))
    assert page.count('<option selected value="">— à renseigner —</option>') == 3
    assert '<option selected value="not_assessed">Non évalué</option>' in page
    assert {e: [o.text for o in objectives] for e, objectives in outcomes.unrecorded_for_session(session).items()} == {
        awa.id: ["Négocier"], julien.id: ["Préparer", "Négocier"]}

    # a comment with no result is refused on its cell; what was typed stays on the page
    data[f"r_{awa.id}_{first.id}"], data[f"lr_{awa.id}_{first.id}"] = "not_assessed", "not_assessed"
    data[f"c_{julien.id}_{second.id}"] = "Absent le dernier jour"
    page = _text(trainer_client.post(url, data=data))
    assert "Choisissez un résultat pour ce commentaire (« non évalué » si l'objectif n'a pas été évalué)." in page
    assert 'value="Absent le dernier jour"' in page
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 1


def test_a_tampered_result_is_refused_with_a_message_and_nothing_is_saved(trainer_client, trainer):
    session, enrolments = _session(trainer)
    page = _text(trainer_client.post(f"/sessions/{session.id}/acquis", data=_form(
        session, enrolments, [("acquired", "excellent"), ("acquired", "acquired")])))
    assert "Choisissez : acquis, partiellement acquis, non acquis ou non évalué." in page
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 0


def test_the_session_review_is_written(trainer_client, trainer):
    session, _ = _session(trainer)
    response = trainer_client.post(f"/sessions/{session.id}/bilan",
                                   data={"text": "Le groupe repart avec une grille de préparation."},
                                   follow_redirects=True)
    assert "Bilan de la session enregistré." in _text(response)
    assert outcomes.review_for(session).text == "Le groupe repart avec une grille de préparation."
    assert "Bilan de la session rédigé." in _text(trainer_client.get(f"/sessions/{session.id}"))


@pytest.mark.parametrize("role", ["admin", "trainer", "unassigned trainer", "anonymous"])
def test_the_review_is_refused_before_the_start_and_on_a_cancelled_session(app, role, trainer, admin):
    """Refused in French with the form hidden (admin, trainer of the session); 403 to another trainer; sign-in
    to the anonymous. Nothing is written."""
    client = app.test_client()
    if role != "anonymous":
        factories.login(client, {"admin": admin, "trainer": trainer}.get(role) or factories.make_user("trainer"))
    upcoming, _ = _session(trainer)
    cancelled = factories.make_session(trainers=[trainer], status="cancelled", start=datetime(2030, 3, 4, 9, 30),
                                       end=datetime(2030, 3, 4, 18))
    cases = ((upcoming, datetime(2030, 1, 10, 10), "Le bilan de la session se rédige à partir de son début"),
             (cancelled, DURING_THE_COURSE, "Cette session est annulée : elle n'a pas de bilan à rédiger."))
    for session, moment, refusal in cases:
        with frozen_at(moment):
            page = client.get(f"/sessions/{session.id}/acquis")
            response = client.post(f"/sessions/{session.id}/bilan", data={"text": "Le groupe a tout compris."})
        if role == "anonymous":
            assert response.status_code == 302 and "/connexion" in response.headers["Location"]
        elif role == "unassigned trainer":
            assert (page.status_code, response.status_code) == (403, 403)
        else:
            for shown in (_text(page), _text(response)):
                assert refusal in shown and 'data-testid="review-refused"' in shown
                assert f'action="/sessions/{session.id}/bilan"' not in shown  # no form to fill in for nothing
            assert response.status_code == 422
        assert outcomes.review_for(session) is None


def test_a_review_written_before_the_session_was_cancelled_stays_readable(trainer_client, trainer):
    session, _ = _session(trainer)
    with frozen_at(datetime(2030, 3, 5, 15, 0)):
        outcomes.save_review(session, "Premier jour : groupe très engagé.")
        db.session.commit()
    session.status = "cancelled"  # test data: as a session whose review a previous version accepted
    db.session.commit()
    page = _text(trainer_client.get(f"/sessions/{session.id}/acquis"))
    assert "Premier jour : groupe très engagé." in page and 'data-testid="review-refused"' in page


def test_a_cancelled_session_shows_no_outcomes_form_and_refuses_a_posted_one(trainer_client, trainer):
    """Its withdrawn trainees stay listed as the session's, but a cancelled session has no outcomes to assess: the
    page says so without a form, and a posted grid is refused in French, nothing written."""
    session = factories.make_session(trainers=[trainer])
    withdrawn = factories.make_enrolment(session, status="withdrawn")
    session_service.cancel_session(session, "Formatrice malade")
    db.session.commit()
    objective = session.programme.objectives[0]
    response = trainer_client.post(f"/sessions/{session.id}/acquis", data={
        f"r_{withdrawn.id}_{objective.id}": "acquired", f"c_{withdrawn.id}_{objective.id}": ""})
    page = _text(trainer_client.get(f"/sessions/{session.id}/acquis"))
    for shown in (_text(response), page):
        assert "Cette session est annulée : pas d'acquis à évaluer." in shown
        assert f'action="/sessions/{session.id}/acquis"' not in shown and "Enregistrer l'évaluation" not in shown
    assert response.status_code == 200  # the page again, as for the grid's other refusals: not saved
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 0


def test_other_trainers_cannot_assess(trainer_client):
    other_session, _ = _session(factories.make_user("trainer"))
    assert trainer_client.get(f"/sessions/{other_session.id}/acquis").status_code == 403
    assert trainer_client.post(f"/sessions/{other_session.id}/bilan", data={"text": "x"}).status_code == 403


def _loaded_form(page: str, action: str) -> dict:
    """The values a browser would post from the form of `page` whose action ends with `action`."""
    form = re.search(r'<form method="post" action="[^"]*' + re.escape(action) + r'"[^>]*>(.*?)</form>', page,
                     re.DOTALL).group(1)
    data = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.DOTALL):
        data[name] = re.search(r'<option selected value="([^"]*)"', options).group(1)
    for name, text in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.DOTALL):
        data[name] = html.unescape(text).removeprefix("\r\n").removeprefix("\n")
    return data


def _two_trainers(app, trainer_client, trainer):
    session, enrolments = _session(trainer)
    colleague = factories.make_user("trainer", name="Inès Colleague")
    session.trainers.append(colleague)
    db.session.commit()
    other_client = app.test_client()
    factories.login(other_client, colleague)
    return session, enrolments, other_client, f"/sessions/{session.id}/acquis"


def test_two_trainers_saving_pages_loaded_at_different_times_keep_each_others_changes(app, trainer_client, trainer):
    session, (awa, julien), other_client, url = _two_trainers(app, trainer_client, trainer)
    first, second = session.programme.objectives
    mine = _loaded_form(_text(trainer_client.get(url)), "/acquis")  # loaded before the colleague saves
    theirs = _loaded_form(_text(other_client.get(url)), "/acquis")
    theirs[f"r_{awa.id}_{first.id}"] = "acquired"
    assert other_client.post(url, data=theirs).status_code == 302
    mine[f"r_{julien.id}_{second.id}"] = "not_acquired"
    mine[f"c_{julien.id}_{second.id}"] = "Absent au jeu de rôle"
    response = trainer_client.post(url, data=mine, follow_redirects=True)
    assert "Évaluation des acquis enregistrée (1 modification)." in _text(response)
    assert [code for _o, code, _c in outcomes.results_for(awa)] == ["acquired", "not_assessed"]
    assert [(code, c) for _o, code, c in outcomes.results_for(julien)] == [
        ("not_assessed", ""), ("not_acquired", "Absent au jeu de rôle")]


def test_a_review_saved_by_someone_else_since_the_page_was_loaded_is_not_overwritten(app, trainer_client,
                                                                                      trainer):
    session, _, other_client, url = _two_trainers(app, trainer_client, trainer)
    mine = _loaded_form(_text(trainer_client.get(url)), "/acquis")
    theirs = _loaded_form(_text(other_client.get(url)), "/acquis")
    theirs["text"] = "Le groupe veut une suite en juin."
    assert other_client.post(url, data=theirs).status_code == 302
    mine["text"] = "Groupe très engagé."
    response = trainer_client.post(url, data=mine)
    page = _text(response)
    assert response.status_code == 409
    assert "Inès Colleague a enregistré le bilan" in page and "Le groupe veut une suite en juin." in page
    assert outcomes.review_for(session).text == "Le groupe veut une suite en juin."
    # Having read the colleague's version, the trainer merges it and saves again.
    again = _loaded_form(page, "/acquis")
    assert again["text"] == "Groupe très engagé."
    again["text"] = "Groupe très engagé. Le groupe veut une suite en juin."
    assert trainer_client.post(url, data=again).status_code == 302
    db.session.expire_all()
    assert outcomes.review_for(session).text == "Groupe très engagé. Le groupe veut une suite en juin."


def test_before_the_start_the_page_says_when_objectives_can_be_assessed(trainer_client, trainer):
    session, enrolments = _session(trainer)
    objective = session.programme.objectives[0]
    with frozen_at(datetime(2030, 3, 1, 10, 0)):
        page = _text(trainer_client.get(f"/sessions/{session.id}/acquis"))
        assert "Les acquis s'évaluent à partir du début de la session (05/03/2030" in page
        assert 'data-testid="trainee-outcomes"' not in page
        response = trainer_client.post(f"/sessions/{session.id}/acquis", data={
            f"r_{enrolments[0].id}_{objective.id}": "acquired", f"lr_{enrolments[0].id}_{objective.id}": "not_assessed"})
        assert response.status_code == 200 and "à partir du début de la session" in _text(response)
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 0


STALE_GRID = "Des évaluations de cette grille ont été enregistrées par quelqu'un d'autre"


def _differences(page: str) -> list[str]:
    listed = page.split('class="mb-0 stale-differences"')[1].split("</ul>")[0]
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in listed.split("<li>")[1:]]


def _the_colleague_saves_first(app, trainer_client, trainer, changes):
    """Both trainers open the grid; the colleague then saves `changes(awa, julien, first, second)` ({field: value}).
    Returns the two enrolments, the two objectives, the page's address and my form as I loaded it."""
    session, enrolments, other_client, url = _two_trainers(app, trainer_client, trainer)
    objectives = session.programme.objectives
    mine = _loaded_form(_text(trainer_client.get(url)), "/acquis")
    theirs = _loaded_form(_text(other_client.get(url)), "/acquis")
    assert other_client.post(url, data=dict(theirs, **changes(*enrolments, *objectives))).status_code == 302
    return enrolments, objectives, url, mine


def test_a_cell_both_trainers_changed_is_refused_keeping_what_was_typed_then_saved_again_on_purpose(
        app, trainer_client, trainer):
    (awa, julien), (first, second), url, mine = _the_colleague_saves_first(
        app, trainer_client, trainer, lambda awa, julien, first, second: {
            f"r_{awa.id}_{first.id}": "acquired", f"c_{awa.id}_{first.id}": "Très à l'aise",  # both change it
            f"r_{julien.id}_{second.id}": "not_acquired"})  # a cell only the colleague changes
    mine[f"r_{awa.id}_{first.id}"] = "partly_acquired"
    mine[f"r_{julien.id}_{first.id}"] = "not_assessed"  # a cell only I change (explicitly not assessed)
    mine[f"c_{julien.id}_{first.id}"] = "Absent le matin"
    response = trainer_client.post(url, data=mine)
    assert response.status_code == 409
    page = _text(response)
    assert STALE_GRID in page
    # Nothing of mine written; the colleague's values stay.
    assert [(code, c) for _o, code, c in outcomes.results_for(awa)] == [("acquired", "Très à l'aise"),
                                                                       ("not_assessed", "")]
    assert [(code, c) for _o, code, c in outcomes.results_for(julien)] == [("not_assessed", ""), ("not_acquired", "")]
    # Only the result both changed is listed, with the stored value (the comment was mine to leave alone).
    assert _differences(page) == [f"{awa.trainee.full_name}, objectif 1 (Préparer) : Acquis"]
    assert "Enregistré entre-temps : Acquis" in page  # and marked on the grid
    again = _loaded_form(page, "/acquis")
    assert again[f"r_{awa.id}_{first.id}"] == "partly_acquired"  # what I typed is kept
    assert again[f"c_{julien.id}_{first.id}"] == "Absent le matin"
    assert again[f"r_{julien.id}_{first.id}"] == "not_assessed"
    assert again[f"c_{awa.id}_{first.id}"] == "Très à l'aise"  # cells I left alone show what is stored
    assert again[f"r_{julien.id}_{second.id}"] == "not_acquired"
    assert again[f"lr_{awa.id}_{first.id}"] == "acquired"  # as loaded: the stored values

    response = trainer_client.post(url, data=again, follow_redirects=True)
    assert "Évaluation des acquis enregistrée (2 modifications)." in _text(response)
    db.session.expire_all()
    assert [(code, c) for _o, code, c in outcomes.results_for(awa)] == [("partly_acquired", "Très à l'aise"),
                                                                       ("not_assessed", "")]
    assert [(code, c) for _o, code, c in outcomes.results_for(julien)] == [
        ("not_assessed", "Absent le matin"), ("not_acquired", "")]


def test_the_same_change_or_the_two_halves_of_a_cell_changed_by_two_trainers_are_no_conflict(
        app, trainer_client, trainer):
    (awa, julien), (first, _second), url, mine = _the_colleague_saves_first(
        app, trainer_client, trainer, lambda awa, julien, first, _second: {
            f"r_{awa.id}_{first.id}": "acquired", f"r_{julien.id}_{first.id}": "not_acquired"})
    mine[f"r_{awa.id}_{first.id}"] = "acquired"  # the same result
    mine[f"c_{julien.id}_{first.id}"] = "Absent le matin"  # the comment of the cell whose result they set
    response = trainer_client.post(url, data=mine, follow_redirects=True)
    assert "Évaluation des acquis enregistrée (1 modification)." in _text(response)
    assert [code for _o, code, _c in outcomes.results_for(awa)] == ["acquired", "not_assessed"]
    assert [(code, c) for _o, code, c in outcomes.results_for(julien)][0] == ("not_acquired", "Absent le matin")


def test_the_review_typed_is_saved_by_the_evaluation_button_and_the_grid_by_the_review_button(trainer_client,
                                                                                               trainer):
    """The grid and the review are one form: whichever « Enregistrer » is clicked, nothing typed is lost."""
    session, (awa, _julien) = _session(trainer)
    first = session.programme.objectives[0]
    url = f"/sessions/{session.id}/acquis"
    page = _text(trainer_client.get(url))
    assert f'action="/sessions/{session.id}/bilan"' not in page  # the review is in the grid's form
    typed = _loaded_form(page, "/acquis")
    typed["text"] = "Le groupe retient la méthode."
    response = trainer_client.post(url, data=typed, follow_redirects=True)  # « Enregistrer l'évaluation »
    assert "Bilan de la session enregistré." in _text(response)
    assert "Le groupe retient la méthode.</textarea>" in _text(response)
    assert outcomes.review_for(session).text == "Le groupe retient la méthode."

    again = _loaded_form(_text(response), "/acquis")
    again[f"r_{awa.id}_{first.id}"] = "acquired"  # then « Enregistrer le bilan », the review unchanged
    response = trainer_client.post(url, data=again, follow_redirects=True)
    assert "Évaluation des acquis enregistrée (1 modification)." in _text(response)
    assert "Bilan de la session enregistré." not in _text(response)  # not rewritten for nothing


def test_a_refused_grid_does_not_mark_the_review_as_changed(app, trainer_client, trainer):
    """The review form below the grid keeps its own state when the grid is refused."""
    (awa, _julien), (first, _second), url, mine = _the_colleague_saves_first(
        app, trainer_client, trainer, lambda awa, _julien, first, _second: {f"r_{awa.id}_{first.id}": "acquired"})
    outcomes.save_review(awa.session, "Groupe engagé.")
    db.session.commit()
    mine[f"r_{awa.id}_{first.id}"] = "not_acquired"
    response = trainer_client.post(url, data=mine)
    assert response.status_code == 409 and 'data-testid="saved-review"' not in _text(response)
