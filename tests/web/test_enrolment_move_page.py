"""Moving an enrolment: with no other session of the course to go to, the page says so, without a form, and the
enrolment's page offers no move."""
from datetime import datetime

from tests import factories

NOWHERE = ("Aucune autre session de cette formation n'est à venir (programmée, ni commencée ni annulée) : cette "
           "inscription ne peut être déplacée nulle part.")


def _page(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_with_no_other_session_the_move_page_says_why_and_the_button_is_hidden(admin_client):
    session = factories.make_session()
    enrolment = factories.enrol(session)
    move = f"/inscriptions/{enrolment.id}/deplacer"
    page = _page(admin_client.get(move))
    assert NOWHERE in page and "— Choisir —" not in page and "<form" not in page.split("<main", 1)[-1]
    assert move not in _page(admin_client.get(f"/inscriptions/{enrolment.id}"))
    posted = _page(admin_client.post(move, data={"target": "0", "reason": ""}))
    assert NOWHERE in posted
    factories.make_session(programme=session.programme, start=datetime(2030, 4, 2, 9, 30),
                           end=datetime(2030, 4, 2, 12, 30))
    assert move in _page(admin_client.get(f"/inscriptions/{enrolment.id}"))
    page = _page(admin_client.get(move))
    assert NOWHERE not in page and "— Choisir —" in page
