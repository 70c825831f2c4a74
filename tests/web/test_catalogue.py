import html
import re
from datetime import date, datetime, timedelta

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Programme, TrainingSession
from training_app.services import outcomes

FORM = {
    "title": "Du dialogue à la négociation", "kind": "external", "cycle_id": "0",
    "rationale": "Dialogue partout, négociation nulle part ?", "audience": "Professionnel.les",
    "prerequisites": "Aucun prérequis", "objectives": "Préparer une négociation\nSuivre une négociation",
    "content": "Jeux de rôle", "competencies": "Maîtriser la négociation raisonnée\nRéaliser le suivi",
    "teaching_methods": "Pédagogies actives", "evaluation_methods": "Questionnaire",
    "duration_hours": "21", "default_capacity": "15", "price": "840.00",
    "accessibility_contact": "Référente handicap : Claire",
}


def test_admin_creates_a_programme_with_every_field(admin_client):
    response = admin_client.post("/admin/formations/nouvelle", data=FORM)
    assert response.status_code == 302
    programme = db.session.scalar(db.select(Programme))
    assert programme.default_duration_minutes == 21 * 60
    assert programme.price_cents == 84000
    assert [o.text for o in programme.objectives] == ["Préparer une négociation", "Suivre une négociation"]
    assert programme.competency_list == ["Maîtriser la négociation raisonnée", "Réaliser le suivi"]


def test_bad_programme_input_is_refused_in_french_and_nothing_saved(admin_client):
    bad = dict(FORM, title="", default_capacity="0", price="-5", objectives="")
    response = admin_client.post("/admin/formations/nouvelle", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Indiquez l&#39;intitulé." in page or "Indiquez l'intitulé." in page
    assert "au moins 1 place" in page
    assert "ne peut pas être négatif" in page
    assert "au moins un objectif" in page
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0


def test_price_on_request_and_internal_programmes(admin_client):
    admin_client.post("/admin/formations/nouvelle", data=dict(FORM, price="", price_on_request="y"))
    admin_client.post("/admin/formations/nouvelle", data=dict(FORM, title="Interne", kind="internal", price=""))
    prices = dict(db.session.execute(db.select(Programme.title, Programme.price_cents)).all())
    assert prices == {"Du dialogue à la négociation": None, "Interne": 0}
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, title="Sans prix", price=""))
    assert "Tarif sur demande" in response.get_data(as_text=True)


def test_edit_and_archive(admin_client):
    programme = factories.make_programme(title="Ancien titre")
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier", data=dict(FORM, version=factories.version_of(programme), title="Nouveau"))
    assert response.status_code == 302
    admin_client.post(f"/admin/formations/{programme.id}/archiver", data={"archived": "1"})
    admin_client.post(f"/admin/formations/{programme.id}/archiver", data={"archived": "1"})  # a double click
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert programme.title == "Nouveau" and programme.archived
    assert "Ancien titre" not in admin_client.get("/").get_data(as_text=True)
    assert "Nouveau" not in admin_client.get("/").get_data(as_text=True)


def test_public_catalogue_shows_what_must_be_public(client):
    programme = factories.make_programme(title="Négocier localement", prerequisites="Aucun prérequis",
                                         accessibility_contact="Référente handicap : Claire")
    archived = factories.make_programme(title="Vieille formation", archived=True)
    listing = client.get("/").get_data(as_text=True)
    assert "Négocier localement" in listing and "Vieille formation" not in listing
    page = client.get(f"/formations/{programme.id}").get_data(as_text=True)
    for expected in ("Aucun prérequis", "Préparer une négociation", "21 h", "840,00\u202f€",
                     "Référente handicap : Claire", "Dernière mise à jour"):
        assert expected in page
    assert client.get(f"/formations/{archived.id}").status_code == 404


def test_removing_an_assessed_objective_is_refused_on_the_objectives_field(admin_client):
    programme = factories.make_programme(title="Ancien titre", objectives=("Préparer", "Négocier"))
    session = factories.make_session(programme=programme)
    with frozen_at(datetime(2030, 3, 8, 11, 0)):  # assessed on the course's last half-day
        outcomes.record_outcome(factories.make_enrolment(session), programme.objectives[1], "acquired")
    db.session.commit()
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                 data=dict(FORM, version=factories.version_of(programme), title="Nouveau", objectives="Préparer"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Impossible de retirer « Négocier » (acquis évalués dans 1 session)" in page
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert programme.title == "Ancien titre"
    assert [o.text for o in programme.objectives] == ["Préparer", "Négocier"]


def test_removing_an_objective_a_running_session_teaches_is_refused_and_the_form_keeps_what_was_typed(admin_client):
    programme = factories.make_programme(title="Ancien titre", objectives=("Préparer", "Négocier"))
    factories.make_session(programme=programme)  # Tue 5 March 2030 14:00 to Fri 8 March 12:30
    with frozen_at(datetime(2030, 3, 7, 10, 0)):  # nothing assessed yet, but the course is under way
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier", data=dict(
            FORM, version=factories.version_of(programme), title="Nouveau", objectives="Préparer\nSuivre\nConclure"))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert ("Impossible de retirer « Négocier » : une session en cours l'enseigne jusqu'au 08/03/2030 à 12h30"
            in page)
    assert "Préparer\nSuivre\nConclure</textarea>" in page and 'value="Nouveau"' in page
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert programme.title == "Ancien titre" and [o.text for o in programme.objectives] == ["Préparer", "Négocier"]


def test_duration_takes_a_french_decimal_and_must_be_positive(admin_client):
    for zero in ("0", "0,001"):
        response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, duration_hours=zero))
        assert response.status_code == 200
        assert "La durée doit être supérieure à 0 heure" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, duration_hours="10,5", price="840,50"))
    assert response.status_code == 302
    programme = db.session.scalar(db.select(Programme))
    assert (programme.default_duration_minutes, programme.price_cents) == (630, 84050)
    form = admin_client.get(f"/admin/formations/{programme.id}/modifier").get_data(as_text=True)
    assert 'name="duration_hours"' in form and 'value="10.5"' in form  # a number input: the browser shows 10,5
    assert "Durée 10 h 30" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", admin_client.get(
        f"/formations/{programme.id}").get_data(as_text=True)))


def test_last_update_moves_when_only_the_objectives_change(admin_client):
    with frozen_at(datetime(2024, 1, 10, 10)):
        admin_client.post("/admin/formations/nouvelle", data=FORM)
    programme = db.session.scalar(db.select(Programme))
    with frozen_at(datetime(2025, 6, 1, 10)):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                     data=dict(FORM, version=factories.version_of(programme), objectives=FORM["objectives"] + "\nÉvaluer un accord"))
        assert response.status_code == 302
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert len(programme.objectives) == 3 and programme.updated_at.date() == date(2025, 6, 1)
    page = html.unescape(admin_client.get(f"/formations/{programme.id}").get_data(as_text=True))
    assert "1er juin 2025" in page and "10 janvier 2024" not in page


def test_the_cycle_special_price_is_printed_on_paid_courses_only(client, admin_client):
    cycle = factories.make_cycle(name="Négocier", special_price_cents=45000)
    external = factories.make_programme(cycle=cycle, price_cents=84000)
    internal = factories.make_programme(kind="internal", price_cents=0, cycle=cycle)
    line = "tarif spécifique de 450,00"
    assert line in client.get(f"/formations/{external.id}").get_data(as_text=True)
    for page in (client.get(f"/formations/{internal.id}"), admin_client.get(f"/admin/formations/{internal.id}")):
        text = page.get_data(as_text=True)
        assert "Gratuite (formation interne)" in text and "tarif spécifique" not in text


def test_last_update_is_the_local_day_not_the_utc_one(admin_client, client):
    """Edited at 00:30 in Paris on 15 June: stored as 22:30 UTC on the 14th, shown as the 15th everywhere."""
    programme = factories.make_programme(title="Négocier")
    with frozen_at(datetime(2029, 6, 15, 0, 30)):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                     data=dict(FORM, version=factories.version_of(programme), title="Négocier mieux"))
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).updated_at == datetime(2029, 6, 14, 22, 30)
    pages = [admin_client.get(f"/admin/formations/{programme.id}"), client.get(f"/formations/{programme.id}"),
             client.get("/")]
    for page in pages:
        text = html.unescape(page.get_data(as_text=True))
        assert "15 juin 2029" in text and "14 juin 2029" not in text
    listed = admin_client.get("/admin/formations").get_data(as_text=True)
    assert "15/06/2029" in listed and "14/06/2029" not in listed


def _public_text(response) -> str:
    """A page's visible text, tags removed and ASCII blanks folded (the narrow no-break spaces kept)."""
    assert response.status_code == 200
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _catalogue_price(client, title: str) -> str:
    return re.search(re.escape(title) + r" .+? · 21 h · (.+?) Mise à jour", _public_text(client.get("/"))).group(1)


def _programme_price(client, programme) -> str:
    page = _public_text(client.get(f"/formations/{programme.id}"))
    return re.search(r"Tarif par stagiaire (.+?) Délais d'accès", page).group(1)


def _january_session(programme, day, price, **kwargs):
    """A session of January 2030 at this price: its own, None too (planned while its programme was « sur
    demande », priced since)."""
    made = factories.make_session(programme=programme, start=datetime(2030, 1, day, 14), price_cents=price,
                                  end=datetime(2030, 1, day + 3, 12, 30), **kwargs)
    made.price_cents = price
    db.session.commit()
    return made


def test_a_programme_on_request_shows_the_price_of_its_upcoming_sessions(client):
    """The catalogue and the programme's page agree with the sessions' pages, where one registers: a programme
    "sur demande" whose upcoming sessions have a price shows it; "Sur demande" only when none has one."""
    priced = factories.make_programme(title="Tarifée", price_cents=84000)
    _january_session(priced, 8, 96000)  # the session's price, which the trainee pays, rather than the programme's
    one = factories.make_programme(title="Une session", price_cents=None)
    _january_session(one, 15, 84000)
    factories.make_session(programme=one, start=datetime(2019, 1, 8, 14), end=datetime(2019, 1, 11, 12, 30),
                           status="completed", price_cents=50000)  # over: not offered
    same = factories.make_programme(title="Même prix", price_cents=None)
    _january_session(same, 8, 84000), _january_session(same, 15, 84000, status="planned")
    different = factories.make_programme(title="Prix différents", price_cents=None)
    _january_session(different, 8, 96000), _january_session(different, 15, 84000), _january_session(different, 22, None)
    unpriced = factories.make_programme(title="Sessions sans prix", price_cents=None)
    _january_session(unpriced, 8, None)
    none = factories.make_programme(title="Sans session", price_cents=None)
    expected = {
        priced: ("960,00\u202f€ par stagiaire (session du 08/01/2030)", "960,00\u202f€ (session du 08/01/2030)"),
        one: ("840,00\u202f€ par stagiaire (session du 15/01/2030)", "840,00\u202f€ (session du 15/01/2030)"),
        same: ("840,00\u202f€ par stagiaire (sessions à venir)", "840,00\u202f€ (sessions à venir)"),
        different: ("à partir de 840,00\u202f€ par stagiaire (selon la session)",
                    "À partir de 840,00\u202f€ (selon la session)"),
        unpriced: ("Sur demande", "Sur demande"),
        none: ("Sur demande", "Sur demande"),
    }
    with frozen_at(datetime(2029, 12, 1, 10)):
        for programme, (listed, shown) in expected.items():
            assert _catalogue_price(client, programme.title) == listed, programme.title
            assert _programme_price(client, programme) == shown, programme.title
    with frozen_at(datetime(2030, 1, 10, 10)):  # the sessions of the 8th have started: no longer offered
        assert _catalogue_price(client, "Même prix") == "840,00\u202f€ par stagiaire (session du 15/01/2030)"
        assert _programme_price(client, different) == "840,00\u202f€ (session du 15/01/2030)"
    with frozen_at(datetime(2030, 1, 20, 10)):
        assert _catalogue_price(client, "Prix différents") == "Sur demande"
        assert _programme_price(client, one) == "Sur demande"


def _listed_session_prices(client, programme) -> list[str]:
    """The price each upcoming session of the programme's page states, in date order."""
    page = _public_text(client.get(f"/formations/{programme.id}"))
    return re.findall(r"Rennes · Présentiel · (.+?) \d+ places? disponibles?", page)


def test_a_priced_programme_shows_its_sessions_price_when_one_has_another(client):
    """The price the trainee pays is the session's: a programme with a price of its own whose upcoming sessions
    have another shows theirs, on the catalogue and its page, and each session listed its own (a session without
    a price is « sur demande », as its enrolments record: enrolments.price_for); the programme's price alone when
    every upcoming priced one costs it."""
    dearer = factories.make_programme(title="Sessions plus chères", price_cents=84000)
    _january_session(dearer, 8, 96000), _january_session(dearer, 15, 96000)
    mixed = factories.make_programme(title="Prix mêlés", price_cents=84000)
    _january_session(mixed, 8, 96000), _january_session(mixed, 15, None), _january_session(mixed, 22, 72000)
    alike = factories.make_programme(title="Prix du programme", price_cents=84000)
    _january_session(alike, 8, 84000), _january_session(alike, 15, None)
    asked = factories.make_programme(title="Sessions sur demande", price_cents=84000)
    _january_session(asked, 8, None)
    expected = {
        dearer: ("960,00\u202f€ par stagiaire (sessions à venir)", "960,00\u202f€ (sessions à venir)",
                 ["960,00\u202f€", "960,00\u202f€"]),
        mixed: ("à partir de 720,00\u202f€ par stagiaire (selon la session)", "À partir de 720,00\u202f€ (selon la session)",
                ["960,00\u202f€", "Sur demande", "720,00\u202f€"]),
        alike: ("840,00\u202f€", "840,00\u202f€", ["840,00\u202f€", "Sur demande"]),
        asked: ("Sur demande", "Sur demande", ["Sur demande"]),
    }
    with frozen_at(datetime(2029, 12, 1, 10)):
        for programme, (listed, shown, each) in expected.items():
            assert _catalogue_price(client, programme.title) == listed, programme.title
            assert _programme_price(client, programme) == shown, programme.title
            assert _listed_session_prices(client, programme) == each, programme.title
        # The registration page of a session without a price says so, not the programme's.
        without = db.session.scalar(db.select(TrainingSession).where(
            TrainingSession.programme_id == mixed.id, TrainingSession.price_cents.is_(None)))
        page = _public_text(client.get(f"/formations/sessions/{without.id}/inscription"))
        assert "Rennes · Présentiel · Sur demande " in page
    with frozen_at(datetime(2030, 1, 10, 10)):  # the sessions of the 8th have started: no longer offered
        assert _catalogue_price(client, "Prix mêlés") == "720,00\u202f€ par stagiaire (session du 22/01/2030)"
        assert _programme_price(client, dearer) == "960,00\u202f€ (session du 15/01/2030)"
    with frozen_at(datetime(2030, 1, 20, 10)):
        assert _catalogue_price(client, "Prix mêlés") == "720,00\u202f€ par stagiaire (session du 22/01/2030)"
        assert _programme_price(client, alike) == "840,00\u202f€"  # none left: the programme's price


def test_the_catalogue_runs_a_constant_number_of_statements(client):
    counts = []
    for size in (1, 6):
        for n in range(size):
            programme = factories.make_programme(price_cents=None if n % 2 else 84000)
            for week in range(n % 3):
                factories.make_session(programme=programme, start=datetime(2030, 3, 5, 14) + timedelta(weeks=week),
                                       end=datetime(2030, 3, 8, 12, 30) + timedelta(weeks=week),
                                       price_cents=84000 + 1000 * week)
        counts.append(factories.rendered_page_queries(client, "/"))
    assert counts[0] == counts[1], counts
