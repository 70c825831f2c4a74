"""The BPF fields of a programme (objective, section F-3; NSF speciality, section F-4) in the catalogue form:
kept for the office, refused in French when the code is not an NSF code, never on the public page."""
import html
import re

import pytest

from tests import factories
from tests.web.test_catalogue import FORM
from training_app.extensions import db
from training_app.models import Programme


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_the_catalogue_form_saves_the_objective_and_the_speciality(admin_client):
    response = admin_client.post("/admin/formations/nouvelle", data=dict(
        FORM, bpf_objective="e", nsf_code=" 332T ", nsf_label="  Travail social "))
    assert response.status_code == 302
    programme = db.session.scalar(db.select(Programme))
    assert (programme.bpf_objective, programme.nsf_code, programme.nsf_label) == ("e", "332t", "Travail social")
    detail = _text(admin_client.get(f"/admin/formations/{programme.id}"))
    assert "e) Bilans de compétences" in detail and "332t Travail social" in detail
    form = html.unescape(admin_client.get(f"/admin/formations/{programme.id}/modifier").get_data(as_text=True))
    assert re.search(r'<option [^>]*selected[^>]*value="e"|<option [^>]*value="e"[^>]*selected', form)
    assert re.search(r'<input [^>]*name="nsf_code"[^>]*value="332t"', form)

    response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                 data=dict(FORM, version=factories.version_of(programme), bpf_objective="d",
                                           nsf_code="", nsf_label=""))
    assert response.status_code == 302
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert (programme.bpf_objective, programme.nsf_code, programme.nsf_label) == ("d", "", "")
    assert "Non renseignée" in _text(admin_client.get(f"/admin/formations/{programme.id}"))


def test_a_programme_created_without_the_fields_is_d_with_no_speciality(admin_client):
    assert admin_client.post("/admin/formations/nouvelle", data=FORM).status_code == 302
    programme = db.session.scalar(db.select(Programme))
    assert (programme.bpf_objective, programme.nsf_code, programme.nsf_label) == ("d", "", "")


@pytest.mark.parametrize("code", ["33", "3322", "33a", "332tt", "abc", "332-", "３３２"])
def test_a_bad_nsf_code_is_refused_in_french_and_nothing_is_written(admin_client, code):
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, nsf_code=code))
    assert response.status_code == 200
    assert "Le code NSF s'écrit avec trois chiffres, suivis éventuellement d'une lettre" in _text(response)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0

    programme = factories.make_programme(title="Négocier", nsf_code="413", nsf_label="Relations")
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                 data=dict(FORM, version=factories.version_of(programme), title="Autre titre",
                                           nsf_code=code))
    assert "Le code NSF s'écrit avec trois chiffres" in _text(response)
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert (programme.title, programme.nsf_code) == ("Négocier", "413")


def test_an_unknown_objective_or_a_too_long_label_is_refused_and_nothing_is_written(admin_client):
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, bpf_objective="h"))
    assert response.status_code == 200 and "N'est pas un choix valide." in _text(response)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, nsf_code="332", nsf_label="x" * 201))
    assert "Le libellé de la spécialité tient en 200 caractères au plus." in _text(response)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0


def test_the_public_page_does_not_show_the_bpf_fields(client):
    programme = factories.make_programme(title="Négocier", bpf_objective="e", nsf_code="332",
                                         nsf_label="Travail social")
    page = _text(client.get(f"/formations/{programme.id}"))
    assert "Négocier" in page
    assert "Travail social" not in page and "NSF" not in page and "Bilans de compétences" not in page


def test_the_objectives_are_the_six_lines_of_the_cerfa_10443_with_their_letters():
    """F-3 "Objectif général des prestations dispensées": a RNCP (CQP sans niveau among its "dont" lines), b RS,
    c CQP non enregistré, d autres formations professionnelles (the default), e bilans de compétences, f VAE."""
    from training_app.models import BpfObjective
    from training_app.services.programmes import BPF_OBJECTIVE_LABELS

    labels = {str(letter): str(label) for letter, label in BPF_OBJECTIVE_LABELS.items()}
    assert list(labels) == list("abcdef")
    assert "RNCP" in labels["a"] and "CQP sans niveau" in labels["a"]
    assert "répertoire spécifique" in labels["b"]
    assert "CQP non enregistré" in labels["c"]
    assert labels["d"] == "d) Autres formations professionnelles"
    assert labels["e"] == "e) Bilans de compétences"
    assert "validation des acquis de l'expérience" in labels["f"]
    assert BpfObjective.OTHER == "d" and Programme.__table__.c.bpf_objective.default.arg == "d"


def test_an_nsf_code_without_its_label_is_refused_in_french_and_nothing_is_written(admin_client):
    response = admin_client.post("/admin/formations/nouvelle", data=dict(FORM, nsf_code="332", nsf_label="  "))
    assert response.status_code == 200
    assert "Indiquez le libellé de la spécialité du code NSF 332" in _text(response)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0

    programme = factories.make_programme(title="Négocier", nsf_code="413", nsf_label="Relations")
    response = admin_client.post(f"/admin/formations/{programme.id}/modifier",
                                 data=dict(FORM, version=factories.version_of(programme), title="Autre titre",
                                           nsf_code="332", nsf_label=""))
    assert "Indiquez le libellé de la spécialité du code NSF 332" in _text(response)
    db.session.expire_all()
    programme = db.session.get(Programme, programme.id)
    assert (programme.title, programme.nsf_code, programme.nsf_label) == ("Négocier", "413", "Relations")
