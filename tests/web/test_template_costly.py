"""An uploaded Word template that would cost too much to fill is refused with a French message (400), never a
hang or a 500; nothing is kept."""
import io

from tests.certificate_course import word_template
from training_app.services import certificates as certificate_service


def test_an_uploaded_template_with_a_huge_loop_is_refused(admin_client):
    costly = word_template(["{% set r = range(3000)|list %}{% for a in r %}{% for b in r %}{{ a }}{% endfor %}"
                            "{% endfor %}", "{{ document.verification_code }} {{ qr_code }}"])
    response = admin_client.post("/admin/attestations/modeles/attestation", content_type="multipart/form-data",
                                 data={"attestation-file": (io.BytesIO(costly), "modele.docx")})
    assert response.status_code == 400
    assert ("Le modèle ne peut pas être rempli (ce modèle est trop coûteux à produire : plus de 1\u202f000\u202f000 "
            "tours de boucle ou appels ; simplifiez ses boucles et ses textes)") in response.get_data(as_text=True)
    assert certificate_service.template_in_use("attestation") is None
