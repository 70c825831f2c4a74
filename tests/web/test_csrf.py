"""With CSRF on (as in production), every form that changes something refuses a post without token."""
from tests import factories
from tests.web.url_values import build_world
from training_app import create_app


def test_every_post_route_requires_a_csrf_token(app):
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "WTF_CSRF_ENABLED": True})
    admin = factories.make_user("admin")
    values = build_world(factories.make_user("trainer"))
    client = protected.test_client()
    with client.session_transaction() as session:  # signed in without going through the form
        session["_user_id"] = admin.get_id()
        session["_fresh"] = True
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
