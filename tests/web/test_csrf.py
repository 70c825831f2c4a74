"""With CSRF on (as in production), every form that changes something refuses a post without token."""
import re
from datetime import datetime

from itsdangerous import TimestampSigner

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import SurveyParticipation
from tests.web.url_values import build_world
from training_app import create_app


def test_every_post_route_requires_a_csrf_token(app):
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "WTF_CSRF_ENABLED": True})
    admin = factories.make_user("admin")
    values = build_world(factories.make_user("trainer"))
    client = protected.test_client()
    factories.sign_in_session(client, admin)  # signed in without going through the form
    checked = []
    for rule in protected.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]
        response = client.post(url, data={})
        assert response.status_code == 400, url
        assert "Le formulaire a expiré" in response.get_data(as_text=True)
        checked.append(url)
    assert "/sessions/nouvelle" in checked
    assert f"/stagiaires/{values['trainee_id']}/effacer" in checked  # a trainee's personal data erased
    user_id = values["user_id"]  # staff accounts: edit, temporary password, activation
    assert {f"/admin/comptes/{user_id}/modifier", f"/admin/comptes/{user_id}/mot-de-passe",
            f"/admin/comptes/{user_id}/activation"} <= set(checked)


def test_a_form_sent_hours_after_it_was_opened_is_accepted(app, monkeypatch):
    """The token is bound to the browser's session, not to the hour: a trainee who comes back to the
    questionnaire in the evening is not told that it expired (and does not lose their answers)."""
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "WTF_CSRF_ENABLED": True})
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    path = factories.personal_path(trainee, "surveys.answer", survey_id=survey.id)
    client = protected.test_client()
    with frozen_at(datetime(2030, 3, 10, 9)):
        page = client.get(path).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        later = TimestampSigner.get_timestamp
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later(self) + 9 * 3600)
        answers = {f"q{q.id}": value for q, value in zip(survey.questionnaire.questions, ("4", "yes", "Utile"))}
        response = client.post(path, data={"csrf_token": token, **answers})
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 1
