"""A person registers on the public page: first a session with seats, then a full one. Each request answers
alike (it tells nobody whether an address is enrolled) and holds nothing until the person opens the link
e-mailed to the address typed and confirms; the confirmation then shows the outcome (confirmed, then a
position on the waiting list), the e-mails tell it too, and the personal link shows both enrolments."""
from datetime import datetime

import pytest

from tests import factories

pytestmark = pytest.mark.browser


def _fill_and_send(page, email):
    page.get_by_label("Civilité").select_option(label="Madame")
    page.get_by_label("Prénom").fill("Awa")
    page.get_by_label("Nom", exact=True).fill("Diallo")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Fonction").fill("Assistante sociale")
    page.get_by_label("Structure employeuse").fill("CCAS de Rennes")
    page.get_by_label("Par l'employeur, avec une prise en charge de son OPCO").check()
    page.get_by_label("J'accepte que mes données").check()
    page.get_by_role("button", name="Envoyer ma demande").click()


def _confirm(page, email) -> str:
    """Open the confirmation link e-mailed to `email` (read in the outbox's rows) and press its button; the
    outcome shown."""
    page.goto(factories.confirmation_path(email))
    assert "CCAS de Rennes" in page.get_by_test_id("request-details").inner_text()
    page.get_by_role("button", name="Confirmer ma demande").click()
    return page.get_by_test_id("confirmation-result").inner_text()


def test_registering_on_a_session_with_seats_then_on_a_full_one(page, live_server):
    programme = factories.make_programme(title="Du dialogue à la négociation")
    factories.make_session(programme=programme, capacity=15)
    full = factories.make_session(programme=programme, capacity=1, start=datetime(2030, 4, 2, 9, 30),
                                  end=datetime(2030, 4, 5, 12, 30))
    factories.enrol(full)   # the only seat
    factories.enrol(full)   # first on the waiting list

    page.goto(f"/formations/{programme.id}")
    assert "15 places disponibles" in page.content()
    page.get_by_role("link", name="S'inscrire", exact=True).click()
    _fill_and_send(page, "awa.diallo@example.org")
    answer = page.get_by_test_id("registration-result").inner_text()
    assert answer.startswith("Consultez votre messagerie : nous avons envoyé un e-mail à l'adresse indiquée.")
    assert "Votre place n'est pas réservée tant que votre demande n'est pas confirmée." in answer
    page.goto(f"/formations/{programme.id}")
    assert "15 places disponibles" in page.content()  # the request holds no seat
    outcome = _confirm(page, "awa.diallo@example.org")
    assert "Merci, votre adresse e-mail est confirmée." in outcome and "Votre place est confirmée." in outcome
    mails = [m for m in live_server.extensions["outbox"] if m.to == ["awa.diallo@example.org"]]
    assert "Votre inscription à la formation « Du dialogue à la négociation »" in mails[-1].body
    assert "est confirmée" in mails[-1].body

    page.goto(f"/formations/{programme.id}")
    assert "14 places disponibles" in page.content()
    page.get_by_role("link", name="S'inscrire sur la liste d'attente").click()
    assert "Cette session est complète" in page.get_by_role("status").first.inner_text()
    _fill_and_send(page, "awa.diallo@example.org")
    assert page.get_by_test_id("registration-result").inner_text() == answer  # the same answer
    outcome = _confirm(page, "awa.diallo@example.org")
    assert "vous êtes sur la liste d'attente, en position 2." in outcome

    mails = [m for m in live_server.extensions["outbox"] if m.to == ["awa.diallo@example.org"]]
    assert "liste d'attente, en position 2" in mails[-1].body
    link = mails[-1].body.split(live_server.config["PUBLIC_URL"])[1].split()[0]
    page.goto(link)
    assert page.get_by_test_id("waitlist-position").inner_text().startswith("Vous êtes en position 2")
    badges = page.locator(".badge").all_inner_texts()
    assert "Confirmée" in badges and "Liste d'attente" in badges
