"""A trainee who withdrew during the course, on the attendance grid page (documents: tests/unit)."""
from tests.unit.test_attendance_withdrawn import WITHDRAWN, dropout_course


def test_grid_page_shows_the_withdrawal_and_no_missing_signature(admin_client):
    session, funder, awa, julien = dropout_course()
    page = admin_client.get(f"/sessions/{session.id}/emargement").get_data(as_text=True)
    assert 'data-testid="missing-count"' not in page
    assert 'class="grid-cell missing"' not in page
    assert page.count('class="grid-cell withdrawn"') == 4
    assert page.count(f'title="{WITHDRAWN}"') == 4




def test_a_no_show_is_on_the_open_sheet_and_the_grid_page_as_withdrawn(trainer_client, trainer, admin):
    """Bob is withdrawn during the first half-day, before anyone marked him: the open sheet shows his row
    (nothing to sign or mark, counted absent) and the trainer can close it; the grid page lists him."""
    from datetime import timedelta

    from tests import factories
    from training_app.clock import frozen_at
    from training_app.extensions import db
    from training_app.services import enrolments

    session, (awa, bob) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[0]
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(slot.starts_at + timedelta(minutes=20)):
        enrolments.withdraw(bob, slot.date, "Ne s'est jamais présenté", actor=admin)
        db.session.commit()
        page = trainer_client.get(url).get_data(as_text=True)
        bob_row = page[page.index(f'id="stagiaire-{bob.id}"'):].split("</section>")[0]
        assert "Abandon le 05/03/2030" in bob_row
        assert "Faire signer" not in bob_row and "data-status-form" not in bob_row
        assert "Signature manquante" not in bob_row
        assert "0 signature sur 2 stagiaires, 1 absence." in page
        trainer_client.post(f"{url}/signer/{awa.id}", data={"signature": factories.signature_data_url()})
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        response = trainer_client.post(f"{url}/clore", data={"signature": factories.signature_data_url(9)})
        assert response.status_code == 302
    grid = trainer_client.get(f"/sessions/{session.id}/emargement").get_data(as_text=True)
    assert bob.trainee.full_name in grid and grid.count('class="grid-cell withdrawn"') == 6
