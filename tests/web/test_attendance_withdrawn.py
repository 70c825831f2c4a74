"""A trainee who withdrew during the course, on the attendance grid page (documents: tests/unit)."""
from tests.unit.test_attendance_withdrawn import WITHDRAWN, dropout_course


def test_grid_page_shows_the_withdrawal_and_no_missing_signature(admin_client):
    session, funder, awa, julien = dropout_course()
    page = admin_client.get(f"/sessions/{session.id}/emargement").get_data(as_text=True)
    assert 'data-testid="missing-count"' not in page
    assert 'class="grid-cell missing"' not in page
    assert page.count('class="grid-cell withdrawn"') == 4
    assert page.count(f'title="{WITHDRAWN}"') == 4

