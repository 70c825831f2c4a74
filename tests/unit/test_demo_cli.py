"""`flask seed-demo`, as `make run` calls it: the demo accounts are printed, in French."""
from training_app import demo
from training_app.demo import ACCOUNTS
from training_app.extensions import db
from training_app.models import Programme
from training_app.services import programmes as programme_service


def test_seed_demo_prints_the_demo_accounts_in_french(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Comptes de démonstration" in result.output
    for email, name, _role, password in ACCOUNTS:
        line = next(line for line in result.output.splitlines() if email in line)
        assert password in line and name in line
    assert "Administrateur·rice" in result.output and "Formateur·rice" in result.output
    assert "admin " not in result.output and "trainer " not in result.output


def test_seed_demo_runs_again_after_the_office_renamed_the_reference_course(app):
    """`make run` loads the demo on every start: renaming a demo course in the app must not break it."""
    demo.seed()
    reference = demo.catalogue.reference_programme()
    programme_service.save_programme(reference, {"title": reference.title + " (édition 2026)"},
                                     [o.text for o in reference.objectives])
    db.session.commit()
    count = db.session.scalar(db.select(db.func.count(Programme.id)))
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == count  # nothing made twice
    assert demo.catalogue.reference_programme().id == reference.id


def test_the_demo_waiting_list_is_in_the_order_its_people_joined_it(app):
    """The upcoming session is full with three people waiting, each told their place as they joined."""
    from training_app.services import enrolments
    demo.seed()
    upcoming = demo.sessions.upcoming_session()
    waiting = enrolments.waitlist(upcoming)
    assert [e.id for e in waiting] == sorted(e.id for e in waiting) and len(waiting) == 3
    assert [enrolments.waitlist_position(e) for e in waiting] == [1, 2, 3]
    assert all(e.waitlisted_at == e.requested_at for e in waiting)  # enrolled straight onto the list


def test_the_demo_upcoming_session_has_one_request_waiting_for_the_office(app):
    """Besides the full session and its waiting list, one request the office recorded « à confirmer plus tard »
    (her employer's OPCO has not agreed yet): it takes no seat, is on no list, and is made once, however often
    the demo is loaded."""
    from training_app.models import AuditEntry, Enrolment
    from training_app.services import enrolments
    demo.seed()
    demo.seed()
    upcoming = demo.sessions.upcoming_session()
    [request] = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == upcoming.id,
                                                             Enrolment.status == "requested")).all()
    assert (request.trainee.full_name, request.trainee.employer.name) == ("Nadia Belkacem",
                                                                          "Maison de quartier de Villejean")
    assert request.funding_mode == "opco" and not enrolments.is_preregistration(request)
    assert enrolments.seats_left(upcoming) == 0 and len(enrolments.waitlist(upcoming)) == 3
    [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "enrolments",
                                                             AuditEntry.entity_id == request.id)).all()
    assert (entry.action, entry.actor.name) == ("requested", "Claire Bernard")


def test_the_demo_upcoming_session_has_one_public_request_not_confirmed_yet(app, client):
    """A request made on the public page a couple of hours ago: its link waits in the outbox, it holds no place
    and is on the session's page for the office; made once however often the demo is loaded."""
    from tests import factories
    from training_app.models import OutgoingMail, RegistrationRequest, Trainee
    from training_app.services import enrolments, registration_requests
    demo.seed()
    demo.seed()
    upcoming = demo.sessions.upcoming_session()
    [asked] = registration_requests.unconfirmed(upcoming)
    assert (asked.full_name, asked.details["employer_name"]) == ("Erwan Le Dantec", "Collectif Logement Bretagne")
    assert db.session.scalar(db.select(db.func.count(RegistrationRequest.id))) == 1
    assert db.session.scalar(db.select(Trainee.id).where(Trainee.email == asked.email)) is None
    assert enrolments.seats_left(upcoming) == 0 and len(enrolments.waitlist(upcoming)) == 3
    [link] = db.session.scalars(db.select(OutgoingMail).where(OutgoingMail.tag == f"registration_request:{asked.id}"))
    assert link.recipients == [asked.email]
    page = client.get(factories.confirmation_path(asked.email)).get_data(as_text=True)
    assert "Confirmer ma demande" in page and "Erwan Le Dantec" in page


def test_seed_demo_prints_a_trainee_personal_link_that_opens_his_page(app):
    """Trainees have no account: `make run` prints the demo trainee's personal link, which opens his page with
    both sessions (the past one's hours and certificates, the upcoming one's convocation)."""
    from urllib.parse import urlsplit
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    index = next(i for i, line in enumerate(lines) if "Stagiaire" in line)
    assert "Karim Benali" in lines[index] and "sans mot de passe" in lines[index]
    link = lines[index + 1].strip()
    assert link.startswith(app.config["PUBLIC_URL"])
    page = app.test_client().get(urlsplit(link).path).get_data(as_text=True)
    assert "Bonjour Karim Benali" in page
    assert "17 h sur 21 h" in page and "Certificat de réalisation" in page and "Convocation" in page
