"""The administrator's template upload refuses, in French and naming it, what Word would run or fetch in every
document issued (fields, ActiveX controls, OLE objects, altChunks), and accepts ordinary fields and images."""
import html
import io

import pytest

from tests.active_content import REFUSED, harmless_template
from training_app.services import certificates as certificate_service

URL = "/admin/attestations/modeles/attestation"


def _post(admin_client, content: bytes):
    return admin_client.post(URL, content_type="multipart/form-data",
                             data={"attestation-file": (io.BytesIO(content), "modele.docx")})


@pytest.mark.parametrize("build, message", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_the_upload_page_refuses_active_content_and_says_what_it_found(admin_client, build, message):
    response = _post(admin_client, build())
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    assert certificate_service.template_in_use("attestation") is None


def test_the_upload_page_accepts_ordinary_fields_and_an_image(admin_client):
    content = harmless_template()
    response = _post(admin_client, content)
    assert response.status_code == 302
    assert certificate_service.template_in_use("attestation") is not None
    assert admin_client.get(f"{URL}/telecharger").data == content
