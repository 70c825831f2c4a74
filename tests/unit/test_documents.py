import io

import openpyxl
import pytest
from docx import Document
from werkzeug.datastructures import FileStorage

from training_app.documents import excel, storage, uploads, word
from training_app.services import ServiceError

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


def test_storage_round_trip_and_no_escape():
    relative = storage.save("tests", "a b.txt", b"hello")
    assert storage.read(relative) == b"hello"
    with pytest.raises(ValueError):
        storage.absolute("../../etc/passwd")


@pytest.mark.parametrize("name, content, message", [
    ("scan.pdf", b"MZ\x90\x00 not a pdf", "type accepté"),
    ("scan.pdf", b"", "vide"),
    ("big.png", PNG + b"\x00" * 2000, "taille maximale"),
])
def test_uploads_are_checked_by_content(name, content, message):
    with pytest.raises(ServiceError, match=message):
        uploads.check_upload(FileStorage(io.BytesIO(content), filename=name), ("pdf", "png", "jpeg"), 1000)


def test_upload_type_comes_from_the_content_not_the_name():
    content, kind = uploads.check_upload(FileStorage(io.BytesIO(PNG), filename="scan.pdf"), ("pdf", "png"), 1000)
    assert kind == "png" and content == PNG


def test_excel_text_is_never_a_formula(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    excel.write_text(sheet["A1"], "=HYPERLINK(\"http://evil\")")
    excel.write_formula(sheet["A2"], "=1+1")
    workbook.save(tmp_path / "x.xlsx")
    reread = openpyxl.load_workbook(tmp_path / "x.xlsx")
    assert reread.active["A1"].data_type == "s"
    assert reread.active["A1"].value == "=HYPERLINK(\"http://evil\")"
    assert reread.active["A2"].data_type == "f"


def test_word_render_escapes_values(tmp_path):
    template = Document()
    template.add_paragraph("Bonjour {{ name }}")
    path = tmp_path / "t.docx"
    template.save(path)
    rendered = word.render(str(path), {"name": "Awa <Diallo> & co"})
    text = "\n".join(p.text for p in Document(io.BytesIO(rendered)).paragraphs)
    assert "Bonjour Awa <Diallo> & co" in text
