"""Learning outcomes through the web: a trainer of the session assesses each trainee and writes the review."""
from tests import factories
from training_app.extensions import db
from training_app.models import LearningOutcome
from training_app.services import outcomes


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
    assert "Évaluation des acquis enregistrée (3 modification(s))." in _text(response)
    rows = outcomes.results_for(enrolments[0])
    assert [(code, comment) for _o, code, comment in rows] == [
        ("acquired", ""), ("partly_acquired", "À consolider en situation réelle")]
    assert db.session.scalar(db.select(LearningOutcome.assessed_by_id).limit(1)) == trainer.id
    assert '<option selected value="partly_acquired">' in _text(trainer_client.get(url))
    session_page = _text(trainer_client.get(f"/sessions/{session.id}"))
    assert "3 objectifs évalués sur 4 (2 stagiaires, 2 objectifs chacun)" in session_page


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


def test_other_trainers_cannot_assess(trainer_client):
    other_session, _ = _session(factories.make_user("trainer"))
    assert trainer_client.get(f"/sessions/{other_session.id}/acquis").status_code == 403
    assert trainer_client.post(f"/sessions/{other_session.id}/bilan", data={"text": "x"}).status_code == 403
