"""Numbers too large for the database, in URLs or query parameters: a clear page, never a 500."""
import pytest

from tests import factories

HUGE = "99999999999999999999"  # beyond SQLite's 64-bit integers
JUST_TOO_BIG = "2147483648"    # beyond PostgreSQL's INTEGER


@pytest.mark.parametrize("number", [HUGE, JUST_TOO_BIG, "0"])
def test_public_urls_with_an_impossible_id_are_not_found(client, number):
    for method, url in (("GET", f"/formations/{number}"),
                        ("GET", f"/formations/sessions/{number}/inscription"),
                        ("POST", f"/formations/sessions/{number}/inscription")):
        response = client.open(url, method=method)
        assert response.status_code == 404, url
        assert "Cette page n&#39;existe pas." in response.get_data(as_text=True)


@pytest.mark.parametrize("number", [HUGE, JUST_TOO_BIG])
def test_staff_urls_with_an_impossible_id_are_not_found(admin_client, number):
    session = factories.make_session()
    for url in (f"/sessions/{number}", f"/admin/formations/{number}/modifier",
                f"/sessions/{session.id}/emargement/{number}", f"/inscriptions/{number}"):
        assert admin_client.get(url).status_code == 404, url


def test_the_largest_possible_id_is_simply_not_found(admin_client):
    assert admin_client.get("/sessions/2147483647").status_code == 404


@pytest.mark.parametrize("query", [f"trainer={HUGE}", f"programme={HUGE}", f"page={HUGE}"])
def test_huge_numbers_in_query_parameters_are_refused_clearly(admin_client, query):
    factories.make_session()
    for url in (f"/sessions?{query}", f"/sessions/nouvelle?{query}"):
        response = admin_client.get(url)
        assert response.status_code in (200, 400, 404), f"{url}: {response.status_code}"
        if response.status_code == 400:
            assert "valeur impossible" in response.get_data(as_text=True)
    # The request's failed transaction left nothing behind: the next request works.
    assert admin_client.get("/sessions").status_code == 200
