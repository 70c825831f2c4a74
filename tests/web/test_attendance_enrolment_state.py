"""Who a half-day's sheet may be marked for (a hand-made request included), and how the pages show an enrolment
whose attendance has begun."""
import re
from datetime import datetime, timedelta

from tests import factories
from tests.unit.test_attendance_late_enrolment import confirmed_after_the_first_half_day
from tests.unit.test_enrolment_attendance_begun import (cancelled_on_the_sheet, closed_with_a_cancelled_record,
                                                        started_course)
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord
from training_app.services import attendance


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def records_of(enrolment):
    return list(db.session.scalars(db.select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id)))


def test_a_row_the_sheet_hides_cannot_be_marked_by_a_posted_form(trainer, trainer_client):
    session, first, zoe = confirmed_after_the_first_half_day(trainer)
    url = f"/sessions/{session.id}/emargement/{first.id}"
    with frozen_at(first.ends_at + timedelta(minutes=20)):
        assert text(trainer_client.get(url)).count('data-testid="row"') == 1  # Awa only
        response = trainer_client.post(f"{url}/statut/{zoe.id}", data={f"r{zoe.id}-status": "absent_unjustified"})
    assert response.status_code == 422
    assert "n'était pas encore inscrit·e pour cette demi-journée" in text(response)
    db.session.expire_all()
    assert records_of(zoe) == []


def test_a_cancelled_enrolment_on_the_sheet_shows_its_state_and_no_status_form(trainer, trainer_client):
    session, slot, _awa, julien = cancelled_on_the_sheet(trainer)
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        page = text(trainer_client.get(f"/sessions/{session.id}/emargement/{slot.id}"))
    row = page[page.index(f'id="stagiaire-{julien.id}"'):]
    row = row[:row.index("</section>")]
    assert 'data-testid="row-enrolment-state"' in row and "Inscription : " in row
    assert "data-status-form" not in row and "Signature manquante" not in row
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        overview = text(trainer_client.get(f"/sessions/{session.id}/emargement"))
    row = overview[overview.index(julien.trainee.full_name):]
    first_cell = row[row.index('<td class="grid-cell'):row.index("</td>")]
    assert "grid-cell recorded" in first_cell and ">Présent·e" in first_cell  # as the Word and Excel sheets


def test_every_cell_of_a_cancelled_enrolment_on_the_overview_says_so_on_hover(trainer, trainer_client):
    """Its half-day marked present before the cancellation too: « Présent·e — inscription : Annulée »."""
    session, slot, _awa, julien = cancelled_on_the_sheet(trainer)
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        overview = text(trainer_client.get(f"/sessions/{session.id}/emargement"))
    row = overview[overview.index(julien.trainee.full_name):]
    row = row[:row.index("</tr>")]
    titles = re.findall(r'<td class="grid-cell [^"]*" title="([^"]*)"', row)
    assert titles == ["Présent·e — inscription : Annulée"] + ["inscription : Annulée"] * 5
    first_cell = row[row.index('<td class="grid-cell'):row.index("</td>")]
    assert '<span class="visually-hidden">inscription : Annulée</span>' in first_cell


def test_the_pages_offer_a_withdrawal_once_the_trainee_signed_not_when_signing_opens(trainer, admin_client, client):
    session, slot, _awa, julien, _other = started_course(trainer)
    factories.make_session(programme=session.programme, start=datetime(2030, 6, 4, 9, 30),  # somewhere to move to
                           end=datetime(2030, 6, 4, 12, 30))
    with frozen_at(slot.starts_at - timedelta(minutes=10)):  # signing open, nothing recorded: as before
        office = text(admin_client.get(f"/inscriptions/{julien.id}"))
        personal = text(client.get(factories.personal_path(julien.trainee)))
        assert "Enregistrer un abandon" not in office and "Déplacer vers une autre session" in office
        assert "Annuler mon inscription" in personal
        attendance.sign(slot, julien, factories.signature_data_url(1), method="device")
        db.session.commit()
        office = text(admin_client.get(f"/inscriptions/{julien.id}"))
        personal = text(client.get(factories.personal_path(julien.trainee)))
    assert "Enregistrer un abandon" in office and "Déplacer vers une autre session" not in office
    assert "Annuler mon inscription" not in personal


def test_an_administrator_is_given_the_correction_form_of_a_cancelled_enrolment_on_a_closed_sheet(
        trainer, admin_client):
    session, slot, julien = closed_with_a_cancelled_record(trainer)
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(slot.ends_at + timedelta(days=2)):
        page = text(admin_client.get(f"{url}?corriger={julien.id}"))
        row = page[page.index(f'id="stagiaire-{julien.id}"'):]
        assert "data-status-form" in row[:row.index("</section>")]
        response = admin_client.post(f"{url}/statut/{julien.id}", data={
            f"r{julien.id}-status": "absent_unjustified", f"r{julien.id}-reason": "Erreur de ligne : jamais venu"})
    assert response.status_code == 302, text(response)
    db.session.expire_all()
    assert [r.status for r in records_of(julien)] == ["absent_unjustified"]


def test_the_personal_page_asks_whether_attendance_began_once_for_all_the_enrolments(client):
    trainee = factories.make_trainee("Awa", "Diallo")
    counts = []
    for week in range(1, 4):
        session = factories.make_session(start=datetime(2030, 3, 5, 14, 0) + timedelta(weeks=week),
                                         end=datetime(2030, 3, 8, 12, 30) + timedelta(weeks=week))
        factories.make_enrolment(session, trainee)
        with frozen_at(datetime(2030, 2, 1, 10)):
            statements, page = factories.page_statements(client, factories.personal_path(trainee))
        assert page.count("/annuler") == week  # each enrolment offers its cancellation
        counts.append(statements)
    assert counts[0] == counts[1] == counts[2]


def test_a_trainer_posting_for_a_person_the_sheet_does_not_show_finds_nobody_and_learns_no_name(trainer,
                                                                                                trainer_client):
    """A trainer sees the confirmed trainees of their session (access.shown_enrolments), not the waiting list,
    the requests nor the cancelled enrolments: a status or a signature posted with such an enrolment's id is not
    found, and no refusal names the person (the ids follow one another)."""
    session = factories.make_session(trainers=(trainer,))
    slot = session.slots[0]
    hidden = [factories.make_enrolment(session, factories.make_trainee("Secret", f"Personne{status}"), status=status)
              for status in ("waitlisted", "requested", "cancelled")]
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        for enrolment in hidden:
            answers = [trainer_client.post(f"{url}/statut/{enrolment.id}",
                                           data={f"r{enrolment.id}-status": "absent_unjustified"}),
                       trainer_client.post(f"{url}/signer/{enrolment.id}", data={"signature": "data:image/png;base64,"})]
            assert [answer.status_code for answer in answers] == [404, 404]
            assert all("Secret" not in text(answer) for answer in answers)
            assert "Secret" not in text(trainer_client.get(url))  # nor a message left for the sheet
    db.session.expire_all()
    assert all(records_of(enrolment) == [] for enrolment in hidden)
