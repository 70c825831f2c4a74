"""A trainee fills in the satisfaction questionnaire on a phone; the administrator sees the response
rate move but, the questionnaire being anonymous, its answers only once it is closed: then the
results and chart."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.conftest import browser_context
from training_app.clock import local_now
from training_app.extensions import db
from training_app.services import surveys as survey_service

pytestmark = pytest.mark.browser


def _group(page, question_text):
    return page.get_by_role("group", name=question_text)


def test_trainee_answers_on_a_phone_and_the_admin_sees_the_chart(browser, live_server, page):
    admin = factories.make_user("admin", name="Claire Bernard")
    session = factories.make_session(programme=factories.make_programme(title="Du dialogue à la négociation"))
    questionnaire = survey_service.ensure_default_satisfaction()
    now = local_now()  # the served app runs on the real clock
    survey = survey_service.attach(session, questionnaire, now - timedelta(days=1), now + timedelta(days=7))
    db.session.commit()
    trainees = [factories.make_enrolment(session).trainee for _ in range(4)]
    earlier = {1: "4", 4: "1", 5: "1", 6: "4", 7: "3", 9: "yes"}  # two earlier answers, "Bien" overall
    for trainee in trainees[:2]:
        factories.answer_survey(survey, trainee, earlier)

    # The administrator looks first: the questionnaire is open, its anonymous answers are not shown yet.
    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}")
    page.get_by_role("link", name="Résultats").click()
    assert "2 réponses sur 4 stagiaires (50\u202f%)" in page.get_by_test_id("response-rate").inner_text()
    assert page.locator("svg.survey-chart").count() == 0
    assert "seront visibles après sa clôture" in page.get_by_test_id("results-withheld").inner_text()

    # The trainee, on a phone, through the personal link of the convocation.
    with browser_context(browser, live_server, viewport={"width": 390, "height": 844}, is_mobile=True,
                         has_touch=True) as phone:
        mobile = phone.new_page()
        mobile.goto(factories.personal_path(trainees[2]))
        mobile.get_by_role("link", name="Répondre : Questionnaire de satisfaction (à chaud)").click()
        expect(mobile.get_by_text("Vos réponses ne sont pas reliées à votre nom.")).to_be_visible()

        # Sent too early: every required question says so, nothing is saved.
        mobile.get_by_role("button", name="Envoyer mes réponses").click()
        assert mobile.get_by_text("Cette question demande une réponse.").count() == 6

        overall = _group(mobile, "1. Globalement, comment avez-vous vécu cette formation ?")
        overall.get_by_label("5 – Très bien").check()
        mobile.get_by_label("Quel est votre ressenti sur ces journées ?").fill(
            "Des journées denses et bienveillantes ; les jeux de rôle m'ont bousculée.")
        mobile.get_by_label("Qu'est-ce que cette formation vous a apporté").fill(
            "Une méthode pour préparer mes rendez-vous avec les élu·es.")
        _group(mobile, "4. Les objectifs de la formation ont-ils été atteints ?").get_by_label("Oui, tous").check()
        _group(mobile, "5. Le rythme de la formation était…").get_by_label("Adapté").check()
        _group(mobile, "6. Les formatrices et formateurs ont-ils été clairs ?").get_by_label("5 – Très clairs").check()
        _group(mobile, "7. L'organisation pratique").get_by_label("4 – Bien").check()
        _group(mobile, "8. Qu'avez-vous le plus apprécié ?").get_by_label(
            "Les jeux de rôle et mises en situation").check()
        _group(mobile, "9. Recommanderiez-vous cette formation").get_by_label("Oui", exact=True).check()
        # Nothing overflows sideways on a phone.
        assert mobile.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        mobile.get_by_role("button", name="Envoyer mes réponses").click()
        assert "Merci ! Vos réponses sont enregistrées." in mobile.get_by_role("status").first.inner_text()
        expect(mobile.get_by_test_id("answered")).to_be_visible()
        mobile.get_by_role("link", name="Mon espace").click()
        assert "merci, vous avez répondu" in mobile.content()

    # The administrator reloads: three answers, but still open, so still no answers shown (the new one
    # would be the trainee's who just answered).
    page.reload()
    assert "3 réponses sur 4 stagiaires (75\u202f%)" in page.get_by_test_id("response-rate").inner_text()
    assert page.locator("svg.survey-chart").count() == 0
    assert "Des journées denses et bienveillantes" not in page.content()

    # The administrator closes the questionnaire (its closing time moved to a minute ago), then looks again:
    # the chart of the first question shows the new answer.
    closes = local_now() - timedelta(minutes=1)
    page.goto(f"/sessions/{session.id}")
    page.get_by_role("link", name="Dates").click()
    page.get_by_label("Fermeture : date").fill(f"{closes:%Y-%m-%d}")
    page.get_by_label("Fermeture : heure").fill(f"{closes:%H:%M}")
    page.get_by_role("button", name="Enregistrer").click()
    assert "Dates du questionnaire modifiées." in page.get_by_role("status").first.inner_text()
    page.get_by_role("link", name="Résultats").click()
    assert "3 réponses sur 4 stagiaires (75\u202f%)" in page.get_by_test_id("response-rate").inner_text()
    first = page.get_by_test_id("question-result").first
    assert "moyenne 4,3 / 5" in first.inner_text()  # (4 + 4 + 5) / 3
    chart = first.locator("svg.survey-chart")
    expect(chart).to_be_visible()
    description = chart.locator("desc").text_content()
    assert "4 – Bien : 2 (67\u202f%)" in description and "5 – Très bien : 1 (33\u202f%)" in description
    bars = chart.get_by_test_id("chart-bar")
    assert bars.count() == 5 and "1 (33\u202f%)" in bars.nth(4).text_content()
    assert "Des journées denses et bienveillantes" in page.content()
    assert trainees[2].last_name not in page.content()  # anonymous: nobody is named
