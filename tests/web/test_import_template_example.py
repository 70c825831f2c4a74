"""The import template's example row is shown as such in the preview, never imported."""
import io
import re

from tests import factories


def test_the_preview_shows_the_templates_example_row_as_not_imported(admin_client):
    session = factories.make_session()
    template = admin_client.get("/inscriptions/modele-import.xlsx").data
    response = admin_client.post(f"/sessions/{session.id}/import", data={"file": (io.BytesIO(template), "modele.xlsx")},
                                 content_type="multipart/form-data")
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Ligne d'exemple du modèle : elle n'est pas importée." in page
    assert re.search(r'data-testid="import-summary">\s*0 ligne', page)
