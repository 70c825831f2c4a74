"""Qualiopi indicators 1 and 2 on the public programme page: the access delay the office writes in the
catalogue form, and the results computed from the sessions that are over, shown to anyone signed out."""
import html
import re
from datetime import date, datetime, timedelta

from tests import factories
from tests.web.test_catalogue import FORM
from training_app import demo
from training_app.clock import frozen_at
from training_app.demo.catalogue import REFERENCE, reference_programme
from training_app.extensions import db
from training_app.models import Programme, SurveyPendingAnswers, SurveyResponse
from training_app.services import attendance
from training_app.services.surveys import QuestionData

DELAY = "Inscription jusqu'à 8 jours avant le début de la session ; réponse sous 48 h."
AFTER_2030 = datetime(2031, 2, 1, 10, 0)


def _text(response) -> str:
    """A page's visible text, tags removed and blanks folded."""
    assert response.status_code == 200
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _over_session(programme, trainer, start=datetime(2030, 3, 5, 14, 0), trainees=3, ratings=(5, 4, 2),
                  anonymous=True):
    """A session of `programme` (Tuesday 14:00 to Friday 12:30), its trainees present throughout, and a
    satisfaction questionnaire of two weeks from its last day answered with `ratings`."""
    session = factories.make_session(programme=programme, start=start, end=start + timedelta(days=3, hours=-1.5),
                                     trainers=[trainer])
    enrolments = [factories.make_enrolment(session) for _ in range(trainees)]
    for slot in session.slots:
        with frozen_at(slot.starts_at + timedelta(minutes=10)):
            for enrolment in enrolments:
                attendance.mark(slot, enrolment, "present", actor=trainer)
        db.session.commit()
    questionnaire = factories.make_questionnaire([QuestionData("rating", "Comment avez-vous trouvé la formation ?")],
                                                 anonymous=anonymous)
    survey = factories.make_survey(session, questionnaire, opens_at=session.end_at.replace(hour=9, minute=30),
                                   closes_at=session.end_at + timedelta(days=14))
    for enrolment, rating in zip(enrolments, ratings):
        factories.answer_survey(survey, enrolment.trainee, {1: rating})
    return session, enrolments


def test_the_catalogue_form_saves_the_access_delay_and_the_office_reads_it(admin_client):
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, access_delay=f"  {DELAY}\n"))
    assert response.status_code == 302
    programme = db.session.scalar(db.select(Programme))
    assert programme.access_delay == DELAY
    assert DELAY in _text(admin_client.get(f"/admin/formations/{programme.id}"))
    form = html.unescape(admin_client.get(f"/admin/formations/{programme.id}/modifier").get_data(as_text=True))
    assert re.search(r'<label [^>]*for="access_delay"[^>]*>Délais d.accès</label>', form)
    assert re.search(r'<textarea [^>]*name="access_delay"[^>]*>\s*' + re.escape(DELAY) + "</textarea>", form)

    response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                 data=dict(FORM, version=factories.version_of(programme), access_delay="Réponse sous 48 h."))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).access_delay == "Réponse sous 48 h."


def test_a_too_long_access_delay_is_refused_in_french_and_nothing_is_saved(admin_client):
    too_long = "Réponse sous 48 h. " * 60  # 1,140 characters
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, access_delay=too_long))
    assert "Les délais d'accès tiennent en 1000 caractères au plus (ici 1140)." in _text(response)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0

    programme = factories.make_programme(title="Négocier", access_delay=DELAY)
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                 data=dict(FORM, version=factories.version_of(programme), title="Autre titre", access_delay=too_long))
    assert "Les délais d'accès tiennent en 1000 caractères au plus" in _text(response)
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert (programme.title, programme.access_delay) == ("Négocier", DELAY)


def test_an_anonymous_visitor_reads_the_access_delay_and_the_results(client):
    trainer = factories.make_user("trainer")
    programme = factories.make_programme(title="Négocier localement", access_delay=DELAY)
    session, enrolments = _over_session(programme, trainer, trainees=4, ratings=(5, 4, 2))
    factories.make_enrolment(session, status="withdrawn")
    factories.make_session(programme=programme, start=datetime(2031, 3, 4, 14, 0), end=datetime(2031, 3, 7, 12, 30))
    assert db.session.scalar(db.select(db.func.count(SurveyPendingAnswers.id))) == 3  # anonymous, not released

    with frozen_at(AFTER_2030):  # the questionnaire closed on 22 March 2030
        page = _text(client.get(f"/formations/{programme.id}"))

    assert f"Délais d'accès {DELAY}" in page
    assert "Résultats de la formation Sessions terminées de 2028 à aujourd'hui" in page
    assert "Sessions réalisées 1 " in page and "Stagiaires formé·es 4 " in page
    assert "Taux d'achèvement 80 % des stagiaires sont allé·es au bout de la formation" in page  # 4 / 5
    assert ("Taux de satisfaction 67 % des notes données aux questionnaires de satisfaction sont de 4 ou 5 sur 5 "
            "(3 notes, 3 stagiaires ayant répondu)") in page
    # The view committed the release of the closed questionnaire's answers, for a visitor signed out.
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))) == 3
    assert db.session.scalar(db.select(db.func.count(SurveyPendingAnswers.id))) == 0


def test_without_a_session_over_or_with_too_few_ratings_the_page_says_so(client):
    trainer = factories.make_user("trainer")
    programme = factories.make_programme(title="Négocier localement")
    factories.make_session(programme=programme)  # March 2030
    with frozen_at(datetime(2030, 1, 10, 10, 0)):
        page = _text(client.get(f"/formations/{programme.id}"))
    assert "Première session à venir" in page and "Sessions réalisées" not in page
    assert "Délais d'accès Contactez-nous pour connaître les délais d'accès." in page

    other = factories.make_programme(title="Mobiliser")
    _over_session(other, trainer, start=datetime(2024, 3, 5, 14, 0), ratings=(5, 5), anonymous=False)
    with frozen_at(datetime(2030, 1, 10, 10, 0)):  # nothing over since 2027: since the first session
        page = _text(client.get(f"/formations/{other.id}"))
    assert "Sessions terminées depuis 2024" in page and "Stagiaires formé·es 3 " in page
    assert "Taux de satisfaction Pas encore assez de réponses pour donner un taux de satisfaction : il faut un " \
           "questionnaire clos auquel au moins 3 stagiaires ont répondu, et au moins 3 notes." in page


def test_the_page_gives_no_completion_rate_on_a_group_of_two(client):
    """One of two trainees dropped out: a rate of 50 % would tell the other trainee, or a colleague, who did."""
    trainer = factories.make_user("trainer")
    programme = factories.make_programme(title="Négocier localement")
    _session, (stays, leaves) = _over_session(programme, trainer, trainees=2, ratings=())
    leaves.status, leaves.withdrawn_on = "withdrawn", date(2030, 3, 6)
    db.session.commit()
    with frozen_at(AFTER_2030):
        page = _text(client.get(f"/formations/{programme.id}"))
    assert "Sessions réalisées 1 " in page and "Stagiaires formé·es 2 " in page
    assert ("Taux d'achèvement Pas encore assez de stagiaires pour donner un taux d'achèvement : il faut une "
            "session terminée suivie par au moins 3 stagiaires.") in page


def test_the_public_page_runs_a_constant_number_of_statements(client):
    counts = []
    for size in (1, 5):
        trainer, programme = factories.make_user("trainer"), factories.make_programme()
        for n in range(size):
            _over_session(programme, trainer, start=datetime(2030, 1, 1, 14, 0) + timedelta(weeks=n))
            upcoming = factories.make_session(programme=programme, capacity=2, status="open",
                                              start=datetime(2031, 3, 4, 9, 30) + timedelta(weeks=n),
                                              end=datetime(2031, 3, 5, 18, 0) + timedelta(weeks=n))
            for _ in range(n % 3):  # 0, 1 or 2 of its 2 seats taken
                factories.enrol(upcoming)
        db.session.commit()
        with frozen_at(AFTER_2030):
            page = _text(client.get(f"/formations/{programme.id}"))
            assert f"Sessions réalisées {size} " in page
            counts.append(factories.rendered_page_queries(client, f"/formations/{programme.id}"))
    assert counts[0] == counts[1], counts
    # The seats counted together are each session's own: 2, 1 and 0 left.
    assert page.count("2 places disponibles") == 2 and page.count("1 place disponible ") == 2
    assert page.count("Session complète") == 1


def test_the_demo_reference_programme_shows_its_access_delay_and_its_2018_results(client):
    demo.seed()
    programme = reference_programme()
    assert programme.access_delay == REFERENCE["access_delay"]

    page = _text(client.get(f"/formations/{programme.id}"))

    assert REFERENCE["access_delay"] in page
    if date.today().year - 3 > 2018:  # the 2018 session is the only one over (2019's was cancelled)
        assert "Sessions terminées depuis 2018" in page
    assert "Sessions réalisées 1 " in page and "Stagiaires formé·es 12 " in page
    assert "Taux d'achèvement 100 %" in page
    # Ten of the twelve answered the anonymous questionnaire (closed): three ratings each, 26 of 30 are 4 or 5.
    assert "Taux de satisfaction 87 % " in page and "(30 notes, 10 stagiaires ayant répondu)" in page


def test_rates_and_prices_keep_their_sign_on_the_number_s_line(client):
    """French typography: "87 %", "840,00 €" with a narrow no-break space (formatting.NNBSP), never a plain one
    that a narrow screen could break the line at."""
    demo.seed()
    programme = reference_programme()
    factories.make_session(programme=factories.make_programme(title="Payante"), price_cents=84000)

    page = client.get(f"/formations/{programme.id}").get_data(as_text=True)
    paid = client.get(f"/formations/{db.session.scalar(db.select(Programme.id).filter_by(title='Payante'))}")

    assert "100\u202f%" in page and "87\u202f%" in page
    assert "840,00\u202f€" in paid.get_data(as_text=True)
    for shown in (page, paid.get_data(as_text=True)):
        assert not re.search(r"\d[ \u00a0](%|€)", shown)


def test_the_site_has_an_icon_where_browsers_look_for_it(client):
    page = client.get("/").get_data(as_text=True)
    linked = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    for path in ("/favicon.ico", linked):
        response = client.get(path)
        assert response.status_code == 200 and response.data.startswith(b"\x00\x00\x01\x00"), path  # an ICO file
