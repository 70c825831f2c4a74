"""French elision before a name, on pages and in messages: "d'Awa Diallo", "d'Élise Martin", but
"de Julien Le Bihan" (formatting.de, the `de` filter in templates)."""
import html
import re
from datetime import timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at


def _text(response) -> str:
    page = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(page))


@pytest.fixture
def course(trainer):
    session = factories.make_session(trainers=[trainer])
    awa = factories.make_enrolment(session, factories.make_trainee("Awa", "Diallo"))
    julien = factories.make_enrolment(session, factories.make_trainee("Julien", "Le Bihan"))
    return session, awa, julien


def test_the_attendance_sheet_and_its_messages(trainer_client, course):
    session, awa, julien = course
    slot = session.slots[0]
    sheet = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        page = html.unescape(trainer_client.get(sheet).get_data(as_text=True))
        assert 'data-sign-title="Signature d\'Awa Diallo"' in page  # the signing pad's title
        assert 'data-sign-title="Signature de Julien Le Bihan"' in page
        signed = trainer_client.post(f"{sheet}/signer/{awa.id}", data={"signature": factories.signature_data_url()},
                                     follow_redirects=True)
        assert "Signature d'Awa Diallo enregistrée." in _text(signed)
        assert 'alt="Signature d\'Awa Diallo"' in html.unescape(signed.get_data(as_text=True))
        marked = trainer_client.post(f"{sheet}/statut/{julien.id}",
                                     data={f"r{julien.id}-status": "absent_unjustified"}, follow_redirects=True)
        assert "Statut de Julien Le Bihan enregistré." in _text(marked)


def test_the_office_pages_of_a_trainee(admin_client, course):
    session, awa, julien = course
    markup = html.unescape(admin_client.get(f"/sessions/{session.id}").get_data(as_text=True))
    assert 'aria-label="Modifier la fiche d\'Awa Diallo"' in markup
    assert 'aria-label="Modifier la fiche de Julien Le Bihan"' in markup
    assert "Inscription d'Awa Diallo" in _text(admin_client.get(f"/inscriptions/{awa.id}"))
    assert "Inscription de Julien Le Bihan" in _text(admin_client.get(f"/inscriptions/{julien.id}"))
    assert "Modifier la fiche d'Awa Diallo" in _text(admin_client.get(f"/inscriptions/{awa.id}/stagiaire"))
    assert "Données personnelles d'Awa Diallo" in _text(admin_client.get(f"/stagiaires/{awa.trainee_id}/effacer"))


def test_the_revoked_links_message(admin_client, course):
    _session, awa, julien = course
    for enrolment, of_name in ((awa, "d'Awa Diallo"), (julien, "de Julien Le Bihan")):
        response = admin_client.post(f"/inscriptions/{enrolment.id}/revoquer-liens", follow_redirects=True)
        assert f"Les liens personnels {of_name} sont révoqués" in _text(response)


def test_an_account_page(admin_client):
    elise = factories.make_user("trainer", name="Élise Martin")
    assert "Compte d'Élise Martin" in _text(admin_client.get(f"/admin/comptes/{elise.id}/modifier"))
