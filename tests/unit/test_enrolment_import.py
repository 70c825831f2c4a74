"""Participant lists: .xlsx and .csv, a per-row report, only valid rows imported, in file order."""
import csv
import io
import os
import time
import zipfile

from datetime import datetime

import pytest
from werkzeug.datastructures import FileStorage

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import Employer, Enrolment, Trainee
from training_app.services import ServiceError, enrolment_import, enrolments

HEADER = ["Civilité", "Nom", "Prénom", "E-mail", "Fonction", "Structure employeuse", "SIRET"]


def _upload(content: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name)


def _check(session, content, name):
    content, kind = enrolment_import.read_upload(_upload(content, name), 10 * 1024 * 1024)
    return enrolment_import.check(session, enrolment_import.parse(content, kind))


def test_xlsx_rows_are_checked_one_by_one_with_the_reason_of_each_rejection():
    session = factories.make_session()
    factories.make_trainee("Karim", "Benali", email="karim@example.org")
    enrolled = factories.make_trainee("Sophie", "Renaud", email="sophie@example.org")
    factories.enrol(session, enrolled)
    content = factories.xlsx_bytes([
        HEADER,
        ["Mme", "Diallo", "Awa", "awa@example.org", "Assistante sociale", "CCAS de Rennes", "783 245 210 00001"],
        ["Monsieur", "Benali", "Karim", "KARIM@example.org", "Coordinateur", "", ""],
        ["", "", "Julien", "julien@example", "", "", ""],
        ["Mme", "Renaud", "Sophie", "sophie@example.org", "", "", ""],
        ["Mme", "Guégan", "Nolwenn", "awa@example.org", "", "", ""],
        [None, None, None, None, None, None, None],
        ["Dr", "Morvan", "Élise", "elise@example.org", "", "Centre social", "12345678901234"],
        ["M.", "Kerhervé", "Yann", "yann@example.org", "", "", 78324521000001],
    ])
    rows = _check(session, content, "liste.xlsx")
    report = {row.line: (row.ok, row.errors, row.notes) for row in rows}
    assert report[2] == (True, [], [])
    assert report[3][0] is True and "déjà connu·e (Karim Benali)" in report[3][2][0]
    assert not report[4][0] and {"Le nom manque."} <= set(report[4][1])
    assert any("julien@example" in e for e in report[4][1])
    assert not report[5][0] and "déjà inscrit·e" in report[5][1][0]
    assert not report[6][0] and "figure déjà ligne 2" in report[6][1][0]
    assert 7 not in report  # blank lines are skipped
    assert not report[8][0] and any("Civilité inconnue" in e for e in report[8][1])
    assert any("clé de contrôle" in e for e in report[8][1])
    assert not report[9][0] and any("sans le nom de la structure" in e for e in report[9][1])
    assert rows[0].details.employer_siret == "78324521000001" and rows[1].details.civility == "M."
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1  # nothing written


def test_the_preview_refuses_a_trainee_who_withdrew_from_the_session_as_the_import_does():
    session = factories.make_session(capacity=5)
    awa = factories.make_trainee("Awa", "Diallo", email="awa@example.org")
    enrolment = factories.enrol(session, awa)
    with frozen_at(datetime(2030, 3, 6, 12)):
        enrolments.withdraw(enrolment, datetime(2030, 3, 6).date(), "Malade")
    db.session.commit()
    content = factories.xlsx_bytes([HEADER, ["Mme", "Diallo", "Awa", "awa@example.org", "", "", ""]])
    preview = _check(session, content, "liste.xlsx")
    assert not preview[0].ok and preview[0].errors == [
        "Awa Diallo a abandonné cette session : on ne peut pas l'y inscrire de nouveau. Si l'abandon a été "
        "enregistré par erreur, annulez-le depuis la liste des inscriptions."]
    imported = enrolment_import.import_rows(session, enrolment_import.parse(
        *enrolment_import.read_upload(_upload(content, "liste.xlsx"), 10**6)))
    assert [(r.outcome, r.errors) for r in imported] == [("rejected", preview[0].errors)]
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1


def test_the_preview_refuses_the_rows_that_the_confirmation_would_once_the_last_sheet_is_closed(trainer):
    """The last half-day's sheet is closed: nobody may join the session any more. The preview says so on each
    row otherwise valid, in the words the confirmation uses, instead of offering to import them."""
    session, _seated = factories.make_attendance_session(trainees=1, trainers=[trainer])
    factories.take_attendance(session, trainer)
    db.session.commit()
    content = factories.xlsx_bytes([HEADER, ["Mme", "Diallo", "Awa", "awa@example.org", "", "", ""],
                                    ["M.", "", "Julien", "julien@example.org", "", "", ""]])
    with frozen_at(datetime(2030, 3, 8, 12, 28)):  # the session has not ended; its last sheet is closed
        awa, julien = _check(session, content, "liste.xlsx")
        with pytest.raises(ServiceError) as refused:
            enrolments.enrol(session, factories.make_trainee())
        db.session.rollback()
        confirmed = enrolment_import.import_rows(session, enrolment_import.parse(content, "xlsx"))
        db.session.rollback()
    message = ("La feuille d'émargement de la dernière demi-journée (08/03/2030) est close : on ne peut plus "
               "s'inscrire à cette session.")
    assert str(refused.value) == message
    assert (awa.ok, awa.errors) == (False, [message])
    assert julien.errors == ["Le nom manque."]  # already refused for its own reason
    assert [(r.outcome, r.errors) for r in confirmed] == [("rejected", [message]), ("rejected", ["Le nom manque."])]
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 1

    running, _seated = factories.make_attendance_session(trainees=1)
    with frozen_at(datetime(2030, 3, 8, 12, 28)):  # the same moment, the last sheet not closed
        [awa, _julien] = _check(running, content, "liste.xlsx")
    assert awa.ok


def test_only_valid_rows_are_imported_in_file_order_then_the_waiting_list(outbox):
    session = factories.make_session(capacity=2)
    csv_text = ("civilite;nom;prenom;email;fonction;employeur;siret\n"
                "Mme;Diallo;Awa;awa@example.org;Assistante sociale;CCAS de Rennes;78324521000001\n"
                "M.;Le Bihan;Julien;pas-une-adresse;Animateur;;\n"
                "M.;Benali;Karim;karim@example.org;Coordinateur;CCAS de Rennes;\n"
                "Mme;Ndiaye;Fatou;fatou@example.org;Médiatrice;;\n")
    content, kind = enrolment_import.read_upload(_upload(csv_text.encode("cp1252"), "liste.csv"), 10**6)
    assert kind == "csv"
    rows = enrolment_import.import_rows(session, enrolment_import.parse(content, kind), notify=True)
    db.session.commit()
    assert [(r.line, r.outcome) for r in rows] == [(2, "confirmed"), (3, "rejected"), (4, "confirmed"),
                                                    (5, "waitlisted")]
    assert db.session.scalar(db.select(db.func.count(Trainee.id))) == 3
    employers = db.session.scalars(db.select(Employer)).all()
    assert [(e.name, e.siret) for e in employers] == [("CCAS de Rennes", "78324521000001")]  # found again by name
    fatou = db.session.scalar(db.select(Trainee).where(Trainee.email == "fatou@example.org"))
    assert fatou.category == "individual" and fatou.employer is None
    assert len(outbox) == 3


def test_the_list_may_give_each_funding_mode_and_an_unknown_word_is_refused():
    """Imported without a mode, a trainee is asked for it before the funder's claim (funding.funding_unknown): the
    list may give it in a "Financement" column, in the words an office uses."""
    session = factories.make_session(capacity=10)
    csv_text = ("nom;prénom;e-mail;employeur;financement\n"
                "Diallo;Awa;awa@example.org;CCAS de Rennes;OPCO\n"
                "Benali;Karim;karim@example.org;CCAS de Rennes;Employeur (fonds propres)\n"
                "Ndiaye;Fatou;fatou@example.org;;À titre personnel\n"
                "Martin;Léa;lea@example.org;;France Travail\n"
                "Petit;Jean;jean@example.org;;\n"
                "Roux;Inès;ines@example.org;;la mairie\n")
    content, kind = enrolment_import.read_upload(_upload(csv_text.encode(), "liste.csv"), 10**6)
    rows = enrolment_import.import_rows(session, enrolment_import.parse(content, kind))
    db.session.commit()
    assert [r.outcome for r in rows] == ["confirmed"] * 5 + ["rejected"]
    assert rows[5].errors == ["Financement « la mairie » inconnu : OPCO, employeur, personnel, autre, ou vide."]
    modes = dict(db.session.execute(db.select(Trainee.email, Enrolment.funding_mode).join(Enrolment.trainee)).all())
    assert modes == {"awa@example.org": "opco", "karim@example.org": "employer", "fatou@example.org": "personal",
                     "lea@example.org": "other", "jean@example.org": ""}


def test_a_file_without_header_uses_the_documented_column_order():
    session = factories.make_session()
    content = b"Mme,Diallo,Awa,awa@example.org,Assistante sociale,CCAS,\n"
    rows = _check(session, content, "liste.csv")
    assert rows[0].ok and rows[0].details.last_name == "Diallo" and rows[0].details.job_title == "Assistante sociale"


@pytest.mark.parametrize("content, name, message", [
    (b"", "vide.csv", "vide"),
    (b"\x89PNG\r\n\x1a\n", "liste.xlsx", r"pas d'un type accepté \(XLSX, CSV\)"),
    (b"PK\x03\x04 pas vraiment un zip", "liste.xlsx", "illisible"),
    ("Nom;Prénom;Fonction\nDiallo;Awa;AS\n".encode(), "liste.csv", "Colonnes manquantes dans l'en-tête : E-mail"),
    (b"\n\n", "liste.csv", "aucune ligne"),
])
def test_unreadable_files_are_refused_with_a_reason(content, name, message):
    session = factories.make_session()
    with pytest.raises(ServiceError, match=message):
        _check(session, content, name)


def _damaged_workbooks() -> dict[str, bytes]:
    """A real workbook, then damaged the ways a download or a copy damages files."""
    good = factories.xlsx_bytes([HEADER] + [["Mme", "Diallo", f"Awa{i}", f"awa{i}@example.org", "", "", ""]
                                            for i in range(300)])
    sheet = zipfile.ZipFile(io.BytesIO(good)).getinfo("xl/worksheets/sheet1.xml")
    start = sheet.header_offset + 30 + len(sheet.filename)
    damaged = {"truncated": good[:len(good) // 2], "cut at the end": good[:-30]}
    for name, delta in (("corrupt deflate stream", 40), ("broken XML", 400)):
        flipped = bytearray(good)
        flipped[start + delta] ^= 0xFF
        damaged[name] = bytes(flipped)
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(rebuilt, "w") as target:
        for item in source.infolist():
            if item.filename != "[Content_Types].xml":
                target.writestr(item.filename, source.read(item.filename))
    damaged["no content types"] = rebuilt.getvalue()
    return damaged


@pytest.mark.parametrize("damage", list(_damaged_workbooks()))
def test_a_damaged_workbook_is_refused_with_a_reason(damage):
    content = _damaged_workbooks()[damage]
    with pytest.raises(ServiceError, match="Ce classeur Excel est illisible"):
        enrolment_import.parse(content, "xlsx")


def test_a_csv_cell_beyond_the_csv_module_limit_is_refused_with_a_reason():
    session = factories.make_session()
    content = ("Nom;Prénom;E-mail\nDiallo;Awa;" + "x" * (csv.field_size_limit() + 10) + "\n").encode()
    with pytest.raises(ServiceError, match="Ce fichier CSV est illisible"):
        _check(session, content, "liste.csv")


def test_previewed_files_never_confirmed_are_deleted_after_a_day():
    session = factories.make_session()
    forgotten = enrolment_import.stash(session, b"Nom;Prenom;E-mail\nDiallo;Awa;awa@example.org", "csv")
    recent = enrolment_import.stash(session, b"Nom;Prenom;E-mail\nBenali;Karim;karim@example.org", "csv")
    forgotten_path = enrolment_import.unstash(session, forgotten)[2]
    two_days_ago = time.time() - 2 * 86400
    os.utime(storage.absolute(forgotten_path), (two_days_ago, two_days_ago))
    latest = enrolment_import.stash(session, b"Nom;Prenom;E-mail\nLe Bihan;Julien;julien@example.org", "csv")
    assert not storage.exists(forgotten_path)
    for token in (recent, latest):
        assert enrolment_import.unstash(session, token)[1] == "csv"


def test_the_stashed_file_is_bound_to_its_session():
    session, other = factories.make_session(), factories.make_session()
    token = enrolment_import.stash(session, b"a;b;c", "csv")
    assert enrolment_import.unstash(session, token)[:2] == (b"a;b;c", "csv")
    for bad_session, bad_token in ((other, token), (session, token + "x"), (session, "")):
        with pytest.raises(ServiceError, match="plus disponible"):
            enrolment_import.unstash(bad_session, bad_token)


def test_the_template_workbook_reads_back_its_columns_and_its_example_row_is_never_imported():
    session = factories.make_session()
    template = enrolment_import.template_workbook()
    rows = _check(session, template, "modele.xlsx")
    assert len(rows) == 1 and rows[0].example and tuple(rows[0].values.values()) == enrolment_import.EXAMPLE_ROW
    assert rows[0].errors == ["Ligne d'exemple du modèle : elle n'est pas importée. Remplacez-la par une personne "
                              "à inscrire, ou supprimez-la."]
    filled = factories.xlsx_bytes([*_sheet_rows(template), ["M.", "Dupont", "Jean", "jean@example.org"]])
    rows = enrolment_import.import_rows(session, enrolment_import.parse(filled, "xlsx"), notify=False)
    assert [row.outcome for row in rows] == ["rejected", "confirmed"]
    assert not db.session.scalar(db.select(Trainee).where(Trainee.email == enrolment_import.EXAMPLE_EMAIL))


def _sheet_rows(content):
    import openpyxl
    return [list(row) for row in openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]


def test_a_header_alone_says_there_is_no_row():
    with pytest.raises(ServiceError, match="que la ligne d'en-tête : aucune ligne de participant·e"):
        enrolment_import.parse(factories.xlsx_bytes([HEADER]), "xlsx")


def test_csv_is_told_from_its_content_utf8_or_windows_1252_and_binaries_are_not_text():
    from training_app.documents import uploads
    assert uploads.detect("nom;prénom\n".encode("cp1252"), ("xlsx", "csv")) == "csv"
    assert uploads.detect("\ufeffnom;prénom\r\n".encode(), ("xlsx", "csv")) == "csv"
    assert uploads.detect(factories.xlsx_bytes([["a"]]), ("xlsx", "csv")) == "xlsx"
    assert uploads.detect(b"MZ\x90\x00\x03", ("xlsx", "csv")) is None
    assert uploads.decode_text("prénom".encode("cp1252")) == "prénom"


def test_a_utf8_list_whose_first_4096_bytes_end_inside_an_accented_letter_is_text():
    """The type is told from the first 4,096 bytes: cut in the middle of « é », they are still UTF-8. Read as
    Windows-1252 they would not be, because of « č » earlier (a byte that Windows-1252 does not define)."""
    from training_app.documents import uploads
    head = "Nom;Prénom;E-mail\nKovačević;Ana;ana@example.org\n".encode()
    filler = b"Martin;Jean;jean@example.org\n" * ((4095 - len(head)) // 29)
    content = head + filler + b"x" * (4095 - len(head) - len(filler)) + "é;Léa;lea@example.org\n".encode()
    assert content[4095] == 0xC3  # the sample ends with the first of the two bytes of « é »
    assert uploads.is_text(content)
    assert uploads.detect(content, ("xlsx", "csv")) == "csv"
    assert not uploads.is_text("Kovačević;".encode() + b"\xc3")  # a whole file cut inside a letter is not text


def _sheet_declaring(dimension: str, rows: dict[int, list[str]]) -> bytes:
    """A minimal .xlsx whose sheet declares `dimension` (e.g. 'A1:XFD1048576') and holds `rows` {number: cells},
    as a hostile or broken file may: openpyxl fills the missing rows, each as wide as the declared sheet."""
    def cell(row, col, text):
        return f'<c r="{chr(65 + col)}{row}" t="inlineStr"><is><t>{text}</t></is></c>'
    sheet_rows = "".join(f'<row r="{n}">{"".join(cell(n, i, t) for i, t in enumerate(cells))}</row>'
                         for n, cells in sorted(rows.items()))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{relations}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{relations}"><sheets>'
        '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{relations}/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><dimension ref="{dimension}"/>'
        f'<sheetData>{sheet_rows}</sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + xml)
    return out.getvalue()


NAME_AND_EMAIL = ["Nom", "Prénom", "E-mail"]


def test_a_small_file_declaring_a_huge_sheet_is_read_within_bounds():
    """1.6 KB declaring 16,384 columns and a last row far down: the rows are read up to MAX_COLUMNS columns,
    and reading stops at MAX_SCANNED_ROWS with a French message (it took 343 MB, or all the memory)."""
    wide = _sheet_declaring("A1:XFD30", {1: NAME_AND_EMAIL, 2: ["Diallo", "Awa", "awa@example.org"], 30: ["fin"]})
    rows = enrolment_import.parse(wide, "xlsx")
    assert [row.values["email"] for row in rows] == ["awa@example.org", ""]
    assert [row.line for row in rows] == [2, 30]
    far = _sheet_declaring("A1:XFD1048576", {1: NAME_AND_EMAIL, 2: ["Diallo", "Awa", "awa@example.org"], 1048576: ["z"]})
    with pytest.raises(ServiceError, match="plus de 20.000 lignes \\(vides comprises\\)"):
        enrolment_import.parse(far, "xlsx")


def test_more_than_the_allowed_rows_are_refused_without_reading_the_rest():
    rows = {1: NAME_AND_EMAIL, **{n: ["Nom", f"P{n}", f"p{n}@example.org"] for n in range(2, 2 + enrolment_import.MAX_ROWS + 50)}}
    with pytest.raises(ServiceError, match="plus de 500 lignes : importez-en 500 au plus"):
        enrolment_import.parse(_sheet_declaring("A1:C600", rows), "xlsx")
    assert len(enrolment_import.parse(_sheet_declaring("A1:C501", dict(list(rows.items())[:501])), "xlsx")) == 500


def test_flask_purge_expired_deletes_the_import_files_previewed_and_never_confirmed(app):
    """A preview nobody confirmed leaves a list of names and addresses behind: the monthly purge takes those
    older than a day (the token's life), even if nobody previews another import."""
    from click.testing import CliRunner
    session = factories.make_session()
    forgotten = enrolment_import.unstash(session, enrolment_import.stash(session, b"Nom;Prenom\nDiallo;Awa", "csv"))[2]
    recent = enrolment_import.unstash(session, enrolment_import.stash(session, b"Nom;Prenom\nRenaud;Sophie", "csv"))[2]
    two_days_ago = time.time() - 2 * 86400
    os.utime(storage.absolute(forgotten), (two_days_ago, two_days_ago))
    dry = CliRunner().invoke(app.cli, ["purge-expired", "--dry-run"], catch_exceptions=False).output
    assert "1 fichier d'import de participant·es prévisualisé il y a plus d'un jour, jamais confirmé, serait supprimé." in dry
    assert storage.exists(forgotten)
    CliRunner().invoke(app.cli, ["purge-expired"], catch_exceptions=False)
    assert not storage.exists(forgotten) and storage.exists(recent)


def _workbook_with_a_long_cell(megabytes: float) -> bytes:
    """A list whose second row's first cell holds `megabytes` of « A »: a few Ko of zip (the review's repro sent
    1.5 Mo unpacking to 1.5 Go, 1.6 Go of memory once openpyxl read it; at the 10 Mo upload limit, 10 Go)."""
    def long_cell(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        assert b"<t>A</t>" in data
        return data.replace(b"<t>A</t>", b"<t>" + b"A" * int(megabytes * 1024 * 1024) + b"</t>", 1)
    return factories.rezipped(factories.xlsx_bytes([["Nom", "Prénom", "E-mail"], ["A", "Awa", "awa@example.org"]]),
                              long_cell)


def _no_openpyxl(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("openpyxl read the file")
    monkeypatch.setattr(enrolment_import.openpyxl, "load_workbook", refused)


def test_an_xlsx_unpacking_to_more_than_20_mo_is_refused_before_openpyxl_reads_it(monkeypatch):
    bomb = _workbook_with_a_long_cell(21)
    assert len(bomb) < 100 * 1024
    _no_openpyxl(monkeypatch)
    session = factories.make_session()
    with pytest.raises(ServiceError) as refused:
        _check(session, bomb, "liste.xlsx")
    assert refused.value.message.startswith("Ce classeur Excel est trop volumineux une fois décompressé (plus de "
                                            "20 Mo)")
    assert refused.value.field == "file"


def test_an_xlsx_part_compressed_absurdly_well_or_too_many_parts_are_refused_before_openpyxl(monkeypatch):
    """2 Mo of one letter packed into 2 Ko (a ratio of 1,000; Office files stay under 40) is a bomb, whatever
    its total; so is a zip of thousands of parts."""
    _no_openpyxl(monkeypatch)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for number in range(1001):
            archive.writestr(f"xl/p{number}.xml", "")
    for content in (_workbook_with_a_long_cell(2), many.getvalue()):
        with pytest.raises(ServiceError, match="trop volumineux une fois décompressé"):
            enrolment_import.parse(content, "xlsx")


def test_a_long_cell_is_cut_and_its_row_refused():
    content = factories.xlsx_bytes([["Nom", "Prénom", "E-mail"], ["D" * 5000, "Awa", "awa@example.org"]])
    [row] = enrolment_import.check(factories.make_session(), enrolment_import.parse(content, "xlsx"))
    assert len(row.values["last_name"]) == enrolment_import.MAX_CELL_CHARS
    assert row.errors == ["Le nom dépasse 100 caractères."]


def test_a_known_trainees_employer_funded_row_names_the_files_employer_and_the_preview_says_when_it_does_not():
    """As the public form does (registrations.register_public): the employer funding the course is the one the
    file names, not the one the trainee's record names (that record is left as it is). The preview says which
    employer the enrolment will name when it is not the file's."""
    from training_app.services.enrolments import course_employer
    session = factories.make_session(capacity=10)
    ccas = factories.make_employer("CCAS de Rennes", siret="78324521000001")
    mairie = factories.make_employer("Mairie de Brest", siret="73282932000074")
    for first, last in (("Karim", "Benali"), ("Awa", "Diallo"), ("Lea", "Martin"), ("Ines", "Roux")):
        factories.make_trainee(first, last, email=f"{first.lower()}@example.org", employer=ccas)
    csv_text = ("nom;prénom;e-mail;employeur;siret;financement\n"
                "Benali;Karim;karim@example.org;Centre social Ty Blosne;01234567800002;OPCO\n"
                "Diallo;Awa;awa@example.org;Ville de Brest;73282932000074;Employeur\n"
                "Martin;Lea;lea@example.org;Centre social Ty Blosne;;\n"
                "Roux;Ines;ines@example.org;CCAS de Rennes;;OPCO\n")
    content, kind = enrolment_import.read_upload(_upload(csv_text.encode(), "liste.csv"), 10**6)
    karim, awa, lea, ines = enrolment_import.check(session, enrolment_import.parse(content, kind))
    assert len(karim.notes) == 1 and len(ines.notes) == 1  # the file's employer, as the file names it
    assert awa.notes[1] == ("L'inscription nommera la structure Mairie de Brest (SIRET 73282932000074), "
                            "enregistrée avec ce SIRET, et non « Ville de Brest ».")
    assert lea.notes[1] == ("L'inscription nommera la structure de sa fiche, CCAS de Rennes (SIRET "
                            "78324521000001), et non « Centre social Ty Blosne » : indiquez un financement OPCO ou "
                            "employeur pour retenir celle du fichier.")
    assert db.session.scalar(db.select(db.func.count(Employer.id))) == 2  # the preview writes nothing

    rows = enrolment_import.import_rows(session, enrolment_import.parse(content, kind), notify=False)
    db.session.commit()
    assert [r.outcome for r in rows] == ["confirmed"] * 4
    named = {e.trainee.first_name: (e.employer.name, e.employer.siret, course_employer(e).name)
             for e in db.session.scalars(db.select(Enrolment))}
    assert named == {"Karim": ("Centre social Ty Blosne", "01234567800002", "Centre social Ty Blosne"),
                     "Awa": ("Mairie de Brest", "73282932000074", "Mairie de Brest"),
                     "Lea": ("CCAS de Rennes", "78324521000001", "CCAS de Rennes"),
                     "Ines": ("CCAS de Rennes", "78324521000001", "CCAS de Rennes")}
    assert {t.employer_id for t in db.session.scalars(db.select(Trainee))} == {ccas.id}  # records unchanged
    assert mairie.name == "Mairie de Brest"


def test_the_preview_refuses_a_name_the_import_would_refuse():
    """A name holding an address or a link (PersonDetails.cleaned) is refused by the import: the preview says so
    instead of « Valide »."""
    session = factories.make_session(capacity=10)
    content = factories.xlsx_bytes([HEADER, ["Mme", "Diallo", "Awa", "awa@example.org", "", "", ""],
                                    ["M.", "www.exemple.fr", "Karim", "karim@example.org", "", "", ""],
                                    ["M.", "Benali", "<b>Julien</b>", "julien@example.org", "", "", ""]])
    awa, karim, julien = _check(session, content, "liste.xlsx")
    assert awa.ok
    assert karim.errors == ["Le nom ne peut contenir ni adresse web ni les signes « : », « / », « @ », « < », « > »."]
    assert not julien.ok and "Le prénom ne peut contenir" in julien.errors[0]
    assert [r.outcome for r in enrolment_import.import_rows(session, [awa, karim, julien])] == [
        "confirmed", "rejected", "rejected"]


def test_a_siret_typed_as_a_number_gets_its_leading_zero_back():
    """Excel reads 01234567800002 typed in a cell formatted as a number as 1234567800002: the SIRET column puts
    the zeros back; a SIRET typed as text, or another column, is read as it is."""
    session = factories.make_session(capacity=10)
    content = factories.xlsx_bytes([
        HEADER,
        ["Mme", "Diallo", "Awa", "awa@example.org", "", "Centre social Ty Blosne", 1234567800002],
        ["M.", "Benali", "Karim", "karim@example.org", "", "Centre social Ty Blosne", 1234567800002.0],
        ["M.", "Renaud", "Yann", "yann@example.org", "", "Centre social Ty Blosne", "1234567800002"],
        ["Mme", "Martin", "Léa", "lea@example.org", 42, "CCAS de Rennes", 78324521000001],
    ])
    awa, karim, yann, lea = _check(session, content, "liste.xlsx")
    assert (awa.ok, awa.values["employer_siret"], awa.details.employer_siret) == (True, "01234567800002",
                                                                                   "01234567800002")
    assert karim.ok and karim.details.employer_siret == "01234567800002"
    assert yann.errors == ["Le SIRET « 1234567800002 » doit compter 14 chiffres."]  # text: as typed
    assert lea.details.employer_siret == "78324521000001" and lea.values["job_title"] == "42"


def _import(session, content, name, **options):
    return enrolment_import.import_rows(session, enrolment_import.parse(
        *enrolment_import.read_upload(_upload(content, name), 10**6)), **options)


def _namesakes_course():
    """A full session (one seat) where Karim Benali of the CCAS is confirmed, and Élise Morvan of the CCAS known."""
    session = factories.make_session(capacity=1)
    ccas = factories.make_employer(name="CCAS de Rennes", siret="78324521000001")
    karim = factories.make_trainee("Karim", "Benali", email="karim.benali@ccas-rennes.fr", employer=ccas)
    factories.enrol(session, karim)
    factories.make_trainee("Élise", "Morvan", email="elise.morvan@ccas-rennes.fr", employer=ccas)
    factories.make_trainee("Yann", "Kerhervé", email="yann@ccas-rennes.fr", employer=ccas)
    return session


NAMESAKES_CSV = ("Nom;Prénom;E-mail;Structure employeuse\n"
                 " Benali ; Karim ;kbenali@gmail.com;CCAS de Rennes\n"          # enrolled, another address
                 "MORVAN;Elise;e.morvan@free.fr;ccas de rennes\n"               # known, same employer
                 "Kerhervé;Yann;yann.k@example.org;Centre social Ty Blosne\n"  # known, another employer
                 "Ndiaye;Fatou;fatou@example.org;\n").encode()


def test_a_likely_duplicate_is_shown_in_the_preview_and_not_imported_unless_the_office_includes_it(outbox):
    session = _namesakes_course()
    rows = _check(session, NAMESAKES_CSV, "liste.csv")
    assert [(row.line, row.ok, row.doubtful) for row in rows] == [
        (2, True, True), (3, True, True), (4, True, False), (5, True, False)]
    assert rows[0].doubts == [
        "Même nom que Karim Benali, déjà inscrit·e à cette session (inscription : Confirmée) avec l'adresse "
        "karim.benali@ccas-rennes.fr : sans doute la même personne."]
    assert rows[1].doubts == [
        "Même nom et même structure (CCAS de Rennes) que Élise Morvan, stagiaire déjà connu·e avec l'adresse "
        "elise.morvan@ccas-rennes.fr : sans doute la même personne, qui aurait alors deux fiches."]

    imported = _import(session, NAMESAKES_CSV, "liste.csv")
    db.session.commit()
    assert [(row.line, row.outcome) for row in imported] == [
        (2, "rejected"), (3, "rejected"), (4, "waitlisted"), (5, "waitlisted")]
    assert imported[0].errors == ["Non importée : doublon probable, non coché lors de la vérification. S'il s'agit "
                                  "bien d'une autre personne, importez de nouveau cette ligne en la cochant."]
    emails = set(db.session.scalars(db.select(Trainee.email)))
    assert "kbenali@gmail.com" not in emails and "e.morvan@free.fr" not in emails
    told = {message.to[0] for message in outbox}
    assert {"yann.k@example.org", "fatou@example.org"} <= told and not {"kbenali@gmail.com", "e.morvan@free.fr"} & told


def test_a_likely_duplicate_the_office_includes_is_imported_and_still_reported():
    session = _namesakes_course()
    imported = _import(session, NAMESAKES_CSV, "liste.csv", include=frozenset({2, 4}), notify=False)
    db.session.commit()
    assert [(row.line, row.outcome) for row in imported] == [
        (2, "waitlisted"), (3, "rejected"), (4, "waitlisted"), (5, "waitlisted")]
    assert imported[0].doubts and imported[0].ok  # the result page still says why it was checked
    assert db.session.scalar(db.select(db.func.count(Trainee.id)).where(Trainee.last_name == "Benali")) == 2


def test_names_are_compared_without_case_accents_hyphens_or_spaces_and_an_erased_record_is_nobody():
    assert enrolment_import.name_key(" Jean-Pierre ", "LE  BIHAN") == enrolment_import.name_key(
        "jean pierre", "Le Bihan")
    assert enrolment_import.name_key("Élise", "Guégan") == enrolment_import.name_key("ELISE", "Guegan")
    assert enrolment_import.name_key("Élise", "Guégan") != enrolment_import.name_key("Elisa", "Guegan")
    session = factories.make_session()
    ccas = factories.make_employer(name="CCAS de Rennes", siret="78324521000001")
    factories.make_trainee("Awa", "Diallo", email="awa@example.org", employer=ccas, erased_at=datetime(2029, 1, 1))
    factories.make_trainee("Julien", "Le Bihan", email="julien@example.org", employer=ccas)
    rows = _check(session, ("Nom;Prénom;E-mail;Structure employeuse;SIRET\n"
                            "Diallo;Awa;awa.diallo@example.org;CCAS de Rennes;\n"
                            "LE-BIHAN;Julien;j.lebihan@example.org;Autre nom du CCAS;78324521000001\n").encode(),
                  "liste.csv")
    assert [row.doubtful for row in rows] == [False, True]  # the same SIRET is the same employer


def test_the_likely_duplicates_cost_one_query_whatever_the_number_of_rows():
    session = _namesakes_course()

    def statements(count: int) -> int:
        namesakes = ("Benali;Karim", "Morvan;Élise")  # enrolled; known with the same employer
        lines = "".join(f"{namesakes[n % 2]};personne{n}@example.org;CCAS de Rennes\n" for n in range(count))
        content = ("Nom;Prénom;E-mail;Structure employeuse\n" + lines).encode()
        with factories.count_queries() as found:
            rows = _check(session, content, "liste.csv")
        assert all(row.doubtful for row in rows)
        return len(found)

    statements(1)  # the session's state, read once after the factories' commit
    assert statements(2) == statements(40)


def test_the_same_employer_is_told_from_its_name_whatever_the_case_of_its_accented_capitals():
    """SQLite's lower() folds only ASCII letters (« ÉLAN » would stay « Élan »): the match is the same there as on
    PostgreSQL."""
    session = factories.make_session()
    elan = factories.make_employer(name="ÉLAN Solidaire")
    factories.make_trainee("Awa", "Diallo", email="awa@elan.example.org", employer=elan)
    rows = _check(session, ("Nom;Prénom;E-mail;Structure employeuse\n"
                            "Diallo;Awa;awa.diallo@example.org;élan  solidaire\n").encode(), "liste.csv")
    assert rows[0].doubts == [
        "Même nom et même structure (ÉLAN Solidaire) que Awa Diallo, stagiaire déjà connu·e avec l'adresse "
        "awa@elan.example.org : sans doute la même personne, qui aurait alors deux fiches."]
