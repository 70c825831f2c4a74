"""The import's preview shows a likely duplicate (a namesake enrolled in the session, or known with the same
employer, or an earlier row of the file under the same name) with a box to tick; unticked, the confirmation leaves it out and says why."""
import html
import io
import re

from tests import factories
from training_app.extensions import db
from training_app.models import Trainee

LIST = ("Nom;Prénom;E-mail;Structure employeuse\n"
        " Benali ; Karim ;kbenali@gmail.com;CCAS de Rennes\n"
        "Ndiaye;Fatou;fatou@example.org;\n").encode()


def _preview(admin_client, session, content: bytes = LIST) -> tuple[str, str]:
    response = admin_client.post(f"/sessions/{session.id}/import", data={"file": (io.BytesIO(content), "liste.csv")},
                                 content_type="multipart/form-data")
    page = html.unescape(response.get_data(as_text=True))
    return page, page.split('name="upload" type="hidden" value="')[1].split('"')[0]


def _session():
    session = factories.make_session(capacity=1)
    ccas = factories.make_employer(name="CCAS de Rennes")
    factories.enrol(session, factories.make_trainee("Karim", "Benali", email="karim.benali@ccas-rennes.fr",
                                                    employer=ccas))
    return session


def test_the_preview_asks_about_a_likely_duplicate_and_the_import_leaves_it_out_unless_ticked(admin_client, outbox):
    session = _session()
    page, token = _preview(admin_client, session)
    assert re.search(r'data-testid="import-summary">\s*1 ligne valide sur 2, 0 rejetée.', page)
    assert ("1 ligne à vérifier (doublon probable) : elle n'est importée que si vous la cochez." in page)
    assert "À vérifier" in page and "Même nom que Karim Benali, déjà inscrit·e à cette session" in page
    assert re.search(r'<input [^>]*form="import-confirm" name="include" value="2"', page)
    assert 'id="import-confirm"' in page and "Importer les lignes valides et les lignes cochées" in page

    response = admin_client.post(f"/sessions/{session.id}/import/confirmer", data={"upload": token, "notify": "y"})
    result = html.unescape(response.get_data(as_text=True))
    assert "1 ligne importée, 1 rejetée." in result and "Non importée : doublon probable" in result
    assert db.session.scalar(db.select(Trainee).where(Trainee.email == "kbenali@gmail.com")) is None
    assert "kbenali@gmail.com" not in {message.to[0] for message in outbox}


def test_a_ticked_likely_duplicate_is_imported(admin_client):
    session = _session()
    _page, token = _preview(admin_client, session)
    response = admin_client.post(f"/sessions/{session.id}/import/confirmer", data={"upload": token, "include": ["2"]})
    assert "2 lignes importées, 0 rejetée." in html.unescape(response.get_data(as_text=True))
    assert db.session.scalar(db.select(Trainee).where(Trainee.email == "kbenali@gmail.com")) is not None


def _confirm(admin_client, session, token, include):
    response = admin_client.post(f"/sessions/{session.id}/import/confirmer",
                                 data={"upload": token, "notify": "y", "include": include})
    return response, html.unescape(response.get_data(as_text=True))


def test_a_ticked_line_edited_by_hand_imports_nothing_says_why_and_the_same_file_can_be_confirmed_again(
        admin_client, outbox):
    session = _session()
    _page, token = _preview(admin_client, session)
    for include in (["abc"], ["2", "99"], ["1"], ["-2"]):  # not a number; a line beyond the file; its header
        response, page = _confirm(admin_client, session, token, include)
        assert response.status_code == 200
        assert (f"La ligne cochée « {include[-1]} » n'est pas une ligne de ce fichier : rien n'a été importé. Cochez "
                "de nouveau les lignes à vérifier que vous voulez importer, puis confirmez.") in page
        # The preview again, naming the same file: the office ticks and confirms once more.
        assert "Vérification de la liste" in page and f'value="{token}"' in page
        assert re.search(r'<input [^>]*form="import-confirm" name="include" value="2"', page)
    assert db.session.scalar(db.select(db.func.count(Trainee.id)).where(
        Trainee.email.in_(("kbenali@gmail.com", "fatou@example.org")))) == 0
    assert outbox == []

    _response, result = _confirm(admin_client, session, token, ["2"])
    assert "2 lignes importées, 0 rejetée." in result


def test_a_ticked_line_of_the_file_that_is_no_likely_duplicate_changes_nothing(admin_client):
    """Its row may have been a likely duplicate when the preview was shown (the records changed since)."""
    session = _session()
    _page, token = _preview(admin_client, session)
    _response, result = _confirm(admin_client, session, token, ["3"])
    assert "1 ligne importée, 1 rejetée." in result and "Non importée : doublon probable" in result
    assert db.session.scalar(db.select(Trainee).where(Trainee.email == "fatou@example.org")) is not None


SAME_NAME_LIST = ("Nom;Prénom;E-mail;Structure employeuse\n"
                  "Ndiaye;Fatou;fatou@example.org;\n"
                  "Le Bihan;Julien;julien.lebihan.example.org;\n"      # refused: its address is not valid
                  "N'DIAYE;Fatou;fatou@example.org;\n"                 # its address is line 2's: refused as before
                  " ndiaye ; FATOU ;f.ndiaye@gmail.com;Centre social\n"  # the same name as line 2
                  "Le-Bihan;Julien;julien@example.org;\n"              # line 3 is refused: nothing to compare with
                  "Ndiayé;Fatou;fatou.ndiaye@free.fr;\n").encode()     # the same name as line 2 again


def test_a_row_named_as_an_earlier_row_of_the_file_is_a_likely_duplicate_imported_only_if_ticked(admin_client):
    session = factories.make_session(capacity=10)
    page, token = _preview(admin_client, session, SAME_NAME_LIST)
    assert re.search(r'data-testid="import-summary">\s*2 lignes valides sur 6, 2 rejetées.', page)
    assert "2 lignes à vérifier (doublons probables)" in page
    assert "Cette adresse e-mail figure déjà ligne 2." in page
    doubts = re.findall(r'data-testid="import-doubt">([^<]*)<', page)
    assert doubts == ["Même nom que la ligne 2 (Fatou Ndiaye, adresse fatou@example.org) de ce fichier : sans doute "
                      "la même personne, sous deux adresses."] * 2
    assert [int(line) for line in re.findall(r'name="include" value="(\d+)"', page)] == [5, 7]

    response = admin_client.post(f"/sessions/{session.id}/import/confirmer", data={"upload": token, "include": ["7"]})
    result = html.unescape(response.get_data(as_text=True))
    assert "3 lignes importées, 3 rejetées." in result and "Non importée : doublon probable" in result
    emails = set(db.session.scalars(db.select(Trainee.email)))
    assert {"fatou@example.org", "julien@example.org", "fatou.ndiaye@free.fr"} <= emails
    assert "f.ndiaye@gmail.com" not in emails
