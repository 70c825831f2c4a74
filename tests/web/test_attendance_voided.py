"""A signature in the wrong row, voided from the sheet (rules and documents: tests/unit/test_attendance_voided.py)."""
from datetime import datetime, timedelta

from tests.unit.test_attendance_voided import REASON, close, wrong_row
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Signature


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_the_trainer_voids_from_the_open_sheet_with_a_reason_and_the_sheet_says_so(trainer_client, trainer):
    session, slot, awa, julien = wrong_row(trainer)
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        page = text(trainer_client.get(url))
        assert page.count("Motif de l'annulation de la signature") == 2  # the signed rows' forms
        response = trainer_client.post(f"{url}/statut/{awa.id}", data={f"r{awa.id}-status": "absent_unjustified"})
        assert response.status_code == 422 and "indiquez le motif de son annulation" in text(response)
        assert db.session.scalar(db.select(Signature.voided_at).where(Signature.enrolment_id == awa.id)) is None
        response = trainer_client.post(f"{url}/statut/{awa.id}", data={
            f"r{awa.id}-status": "absent_unjustified", f"r{awa.id}-reason": REASON})
        assert response.status_code == 302
        page = text(trainer_client.get(url))
    awa_row = page[page.index(f'id="stagiaire-{awa.id}"'):].split("</section>")[0]
    assert 'data-testid="voided-signature"' in awa_row and "Signature annulée" in awa_row and REASON in awa_row
    assert "Absent·e, sans justificatif" in awa_row and "Faire signer" not in awa_row
    assert "1 signature sur 2 stagiaires, 1 absence." in page
    grid = text(trainer_client.get(f"/sessions/{session.id}/emargement"))
    assert f"signature annulée : {REASON}" in grid


def test_the_office_voids_by_correcting_the_closed_sheet_and_the_history_shows_it(admin_client, trainer):
    session, slot, awa, julien = wrong_row(trainer)
    close(slot, trainer)
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    page = text(admin_client.get(f"{url}?corriger={awa.id}"))
    assert "annule sa signature" in page
    with frozen_at(datetime(2030, 3, 12, 10, 0)):
        response = admin_client.post(f"{url}/statut/{awa.id}", data={
            f"r{awa.id}-status": "absent_unjustified", f"r{awa.id}-reason": REASON})
    assert response.status_code == 302
    history = text(admin_client.get(f"{url}/historique"))
    assert history.count('data-testid="version-voided"') == 1 and REASON in history


def test_the_history_shows_signature_times_in_local_time_like_the_sheet(admin_client, trainer):
    # Tuesday 5 March 2030 (Paris, UTC+1): signed at 14:05, closed by the trainer at 17:55, local time.
    session, slot, awa, julien = wrong_row(trainer)
    close(slot, trainer)
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(datetime(2030, 3, 12, 10, 0)):
        admin_client.post(f"{url}/statut/{awa.id}", data={
            f"r{awa.id}-status": "absent_unjustified", f"r{awa.id}-reason": REASON})
    assert "Signé le 05/03/2030 à 14h05" in text(admin_client.get(url))
    history = text(admin_client.get(f"{url}/historique"))
    rows = history.split('data-testid="version"')[1:]  # newest first: the correction, then the closing
    assert rows[1].count("<td>05/03/2030 à 14h05\n") == 2  # both signatures, before the correction
    assert "Tom Trainer (05/03/2030 à 17h55)" in rows[1]
    assert "Signature du 05/03/2030 à 14h05 annulée par " in rows[0]
    assert "UTC" not in history
