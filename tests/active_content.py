"""Word templates holding what Word runs, loads or fetches by itself (fields, ActiveX controls, OLE objects,
altChunks), built for the tests: a valid template from python-docx, then zip edits."""
from xml.sax.saxutils import escape, quoteattr

from tests import factories
from tests.certificate_course import word_template

NAMESPACES = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
              'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
              'xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:v="urn:schemas-microsoft-com:vml"')
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORD_TYPES = "application/vnd.openxmlformats-officedocument.wordprocessingml"
GOOD_TEXT = ["Attestation de {{ trainee.formal_name }}", "{{ document.verification_code }} {{ qr_code }}"]

# The parts besides the document that Word shows text from: their XML around a paragraph, content type and
# the type of the document's relationship to them.
TEXT_PARTS = {
    "word/header1.xml": ("<w:hdr {ns}>{p}</w:hdr>", "header", "header"),
    "word/footer1.xml": ("<w:ftr {ns}>{p}</w:ftr>", "footer", "footer"),
    "word/footnotes.xml": ('<w:footnotes {ns}><w:footnote w:id="1">{p}</w:footnote></w:footnotes>', "footnotes",
                           "footnotes"),
    "word/endnotes.xml": ('<w:endnotes {ns}><w:endnote w:id="1">{p}</w:endnote></w:endnotes>', "endnotes",
                          "endnotes"),
    "word/comments.xml": ('<w:comments {ns}><w:comment w:id="0" w:author="Secrétariat">{p}</w:comment>'
                          '</w:comments>', "comments", "comments"),
    "word/glossary/document.xml": ('<w:glossaryDocument {ns}><w:docParts><w:docPart><w:docPartPr><w:name '
                                   'w:val="Bloc"/></w:docPartPr><w:docPartBody>{p}</w:docPartBody></w:docPart>'
                                   '</w:docParts></w:glossaryDocument>', "document.glossary", "glossaryDocument"),
}


def template(*paragraphs: str, parts: dict | None = None, types: dict | None = None,
             relationships: tuple = (), text=GOOD_TEXT, picture: bool = False) -> bytes:
    """A template good for an attestation (it shows the verification code; an image in it with `picture`), with
    these `paragraphs` (WordprocessingML) first in its body, the `parts` added ({name: bytes or str}), their
    content `types` ({name: content type}) and the document's `relationships` ((id, type, target) each)."""
    content = word_template(text) if not picture else _with_picture(text)
    types, relationships = types or {}, list(relationships)

    def edit(name, data):
        if name == "word/document.xml":
            return data.replace(b"<w:body>", b"<w:body>" + "".join(paragraphs).encode(), 1)
        if name == "[Content_Types].xml":
            overrides = "".join(f'<Override PartName="/{part}" ContentType="{kind}"/>' for part, kind in types.items())
            return data.replace(b"</Types>", overrides.encode() + b"</Types>")
        if name == "word/_rels/document.xml.rels":
            added = "".join(f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'
                            for rid, kind, target in relationships)
            return data.replace(b"</Relationships>", added.encode() + b"</Relationships>")
        return data
    added = {name: data.encode() if isinstance(data, str) else data for name, data in (parts or {}).items()}
    return factories.rezipped(content, edit, added)


def in_part(part: str, paragraph: str) -> bytes:
    """A template with `paragraph` in `part`: the document, or one of TEXT_PARTS (added to the template)."""
    if part == "word/document.xml":
        return template(paragraph)
    xml, kind, relationship = TEXT_PARTS[part]
    return template(parts={part: xml.format(ns=NAMESPACES, p=paragraph)}, types={part: f"{WORD_TYPES}.{kind}+xml"},
                    relationships=[("rId90", f"{RELATIONSHIPS}/{relationship}", part.removeprefix("word/"))])


def complex_field(*code: str, result: str = "résultat", deleted: bool = False) -> str:
    """A paragraph holding a field whose code is split over one w:instrText run per piece of `code`."""
    instruction = "w:delInstrText" if deleted else "w:instrText"
    runs = "".join(f'<w:r><{instruction} xml:space="preserve">{escape(piece)}</{instruction}></w:r>'
                   for piece in code)
    return (f'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>{runs}<w:r><w:fldChar w:fldCharType="separate"/>'
            f'</w:r><w:r><w:t>{escape(result)}</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')


def nested_field(before: str, inner: str, after: str) -> str:
    """A paragraph holding a field whose code is `before`, a field whose code is `inner`, then `after`."""
    def run(xml):
        return f"<w:r>{xml}</w:r>"

    def char(position):
        return run(f'<w:fldChar w:fldCharType="{position}"/>')

    def code(text):
        return run(f'<w:instrText xml:space="preserve">{escape(text)}</w:instrText>') if text else ""
    return (f'<w:p>{char("begin")}{code(before)}{char("begin")}{code(inner)}{char("separate")}'
            f'{run("<w:t>x</w:t>")}{char("end")}{code(after)}{char("separate")}{run("<w:t>y</w:t>")}'
            f'{char("end")}</w:p>')


def simple_field(code: str, result: str = "résultat") -> str:
    return f'<w:p><w:fldSimple w:instr={quoteattr(code)}><w:r><w:t>{escape(result)}</w:t></w:r></w:fldSimple></w:p>'


def _with_picture(text) -> bytes:
    import io

    from docx import Document
    from PIL import Image
    picture = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(picture, format="PNG")
    document = Document(io.BytesIO(word_template(text)))
    document.add_picture(picture)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def harmless_template() -> bytes:
    """Fields that only show something (a page number, a date, a merge field, a link followed when clicked),
    one split over two runs, one nested, and an image inserted in the document."""
    return template(
        complex_field(" PA", "GE "), complex_field("NUMPAGES \\* MERGEFORMAT"), simple_field('DATE \\@ "dd/MM/yyyy"'),
        complex_field("MERGEFIELD nom \\* MERGEFORMAT"), simple_field('HYPERLINK "https://example.org/formation"'),
        nested_field('IF "', "MERGEFIELD ville", '" = "Rennes" "Rennes" "Ailleurs"'),
        nested_field(" = ", "NUMPAGES", " - 1 "), nested_field("=", "PAGE", "+1"), picture=True)


# The refusals' starts
FIELD = "Ce fichier contient un champ Word "
ACTIVEX = "Ce fichier contient un contrôle ActiveX ("
OLE = "Ce fichier contient un objet incorporé ("
ALT_CHUNK = "Ce fichier incorpore un autre document ("
OLE_TYPE = "application/vnd.openxmlformats-officedocument.oleObject"
ACTIVEX_TYPE = "application/vnd.ms-office.activeX+xml"
ACTIVEX_PART = ('<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" '
                'ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006004D4}" ax:persistence="persistStorage"/>')
OLE_BINARY = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504  # a compound file's header


def _wrapped(xml: str) -> str:
    return f"<w:p><w:r>{xml}</w:r></w:p>"


# (what it is, the template, the refusal's start)
REFUSED = [
    ("INCLUDEPICTURE split over three runs, in mixed case", lambda: in_part("word/document.xml", complex_field(
        "  IncludePic", 'ture "http://evil.example/t.png"', " \\d ")),
     FIELD + 'INCLUDEPICTURE (dans word/document.xml : « IncludePicture "http://evil.example/t.png" \\d »)'),
    ("includetext, simple field in a header", lambda: in_part("word/header1.xml", simple_field(
        'includetext "\\\\\\\\evil.example\\\\partage\\\\texte.docx"')),
     FIELD + 'INCLUDETEXT (dans word/header1.xml : « includetext "\\\\\\\\evil.example\\\\partage\\\\texte.docx" »)'),
    ("DDE in a footer", lambda: in_part("word/footer1.xml", complex_field('DDE cmd "/c calc" !A0')),
     FIELD + "DDE (dans word/footer1.xml : « DDE cmd \"/c calc\" !A0 »)"),
    ("DDEAUTO, simple field in a footnote", lambda: in_part("word/footnotes.xml", simple_field(
        ' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" ')),
     FIELD + "DDEAUTO (dans word/footnotes.xml : « DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\" »)"),
    ("LINK in an endnote", lambda: in_part("word/endnotes.xml", complex_field(
        "LINK Excel.Sheet.12 ", '"https://evil.example/a.xlsx" "Feuil1!L1C1" \\a')),
     FIELD + "LINK (dans word/endnotes.xml : « LINK Excel.Sheet.12 \"https://evil.example/a.xlsx\""),
    ("IMPORT in a comment", lambda: in_part("word/comments.xml", complex_field('import "https://evil.example/i.wmf"')),
     FIELD + "IMPORT (dans word/comments.xml : « import \"https://evil.example/i.wmf\" »)"),
    ("INCLUDEPICTURE in the glossary", lambda: in_part("word/glossary/document.xml", simple_field(
        'INCLUDEPICTURE "https://evil.example/b.png"')),
     FIELD + "INCLUDEPICTURE (dans word/glossary/document.xml"),
    ("a deleted DDEAUTO (rejecting the deletion brings it back)", lambda: in_part("word/document.xml", complex_field(
        "DDEAUTO cmd ", '"/c calc"', deleted=True)),
     FIELD + "DDEAUTO (dans word/document.xml : « DDEAUTO cmd \"/c calc\" »)"),
    ("INCLUDEPICTURE nested in an IF", lambda: in_part("word/document.xml", nested_field(
        'IF 1 = 1 "', 'INCLUDEPICTURE "https://evil.example/c.png"', '"')),
     FIELD + "INCLUDEPICTURE (dans word/document.xml : « INCLUDEPICTURE \"https://evil.example/c.png\" »)"),
    ("a field named by the field nested at its start", lambda: in_part("word/document.xml", nested_field(
        " ", 'QUOTE "INCLUDEPICTURE"', ' "https://evil.example/d.png"')),
     "Ce fichier contient un champ Word dont le nom est donné par un autre champ (dans word/document.xml : "
     "« \"https://evil.example/d.png\" »)"),
    ("a field whose name a nested field ends", lambda: in_part("word/document.xml", nested_field(
        "INCLUDEPIC", 'QUOTE "TURE"', ' "https://evil.example/f.png"')),
     "Ce fichier contient un champ Word dont le nom est donné par un autre champ (dans word/document.xml : "
     "« INCLUDEPIC \"https://evil.example/f.png\" »)"),
    ("a field written by a tag: the template's code shows no field name", lambda: template(complex_field(
        "{{ 'INCLUDE' }}PICTURE \"https://evil.example/e.png\"")),
     FIELD + "INCLUDEPICTURE (dans word/document.xml : « INCLUDEPICTURE \"https://evil.example/e.png\" »)"),
    ("a field written by a tag as Word's markup", lambda: word_template([
        "{{ '</w:t></w:r><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText>DDEAUTO cmd \"/c calc\""
        "</w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r><w:r><w:t>' | safe }}",
        "{{ document.verification_code }}"]),
     FIELD + "DDEAUTO (dans word/document.xml : « DDEAUTO cmd \"/c calc\" »)"),
    ("an ActiveX control", lambda: template(
        _wrapped('<w:object><w:control r:id="rId91" w:name="CheckBox1"/></w:object>'),
        parts={"word/activeX/activeX1.xml": ACTIVEX_PART, "word/activeX/activeX1.bin": OLE_BINARY},
        types={"word/activeX/activeX1.xml": ACTIVEX_TYPE},
        relationships=[("rId91", f"{RELATIONSHIPS}/control", "activeX/activeX1.xml")]),
     ACTIVEX + "word/activeX/activeX1.xml) : un programme que Word lance à l'ouverture."),
    ("an ActiveX control's part under another name", lambda: template(
        parts={"word/media/widget.xml": ACTIVEX_PART}, types={"word/media/widget.xml": ACTIVEX_TYPE}),
     ACTIVEX + "word/media/widget.xml)"),
    ("an ActiveX control's relationship", lambda: template(
        relationships=[("rId91", f"{RELATIONSHIPS}/control", "media/w.xml")]),
     ACTIVEX + "media/w.xml, dans word/_rels/document.xml.rels)"),
    ("an ActiveX control's element", lambda: template(_wrapped('<w:object><w:control r:id="rId1"/></w:object>')),
     ACTIVEX + "w:control, dans word/document.xml)"),
    ("an embedded OLE object", lambda: template(
        _wrapped('<w:object><v:shape id="_x0000_i1025" style="width:50pt;height:40pt"/><o:OLEObject Type="Embed" '
                 'ProgID="Package" ShapeID="_x0000_i1025" DrawAspect="Icon" ObjectID="_1" r:id="rId92"/>'
                 '</w:object>'),
        parts={"word/embeddings/oleObject1.bin": OLE_BINARY}, types={"word/embeddings/oleObject1.bin": OLE_TYPE},
        relationships=[("rId92", f"{RELATIONSHIPS}/oleObject", "embeddings/oleObject1.bin")]),
     OLE + "word/embeddings/oleObject1.bin) : le document ou le programme d'une autre application"),
    ("an OLE object's content type on a part under another name", lambda: template(
        parts={"word/media/objet.bin": OLE_BINARY}, types={"word/media/objet.bin": OLE_TYPE}),
     OLE + "word/media/objet.bin)"),
    ("an OLE object's relationship", lambda: template(
        relationships=[("rId92", f"{RELATIONSHIPS}/oleObject", "media/objet.bin")]),
     OLE + "media/objet.bin, dans word/_rels/document.xml.rels)"),
    ("an embedded Word document, placed by its o:OLEObject", lambda: template(
        _wrapped('<w:object><o:OLEObject Type="Embed" ProgID="Word.Document.12" r:id="rId93"/></w:object>'),
        parts={"word/embeddings/Document_Microsoft_Word.docx": word_template(["x"])},
        relationships=[("rId93", f"{RELATIONSHIPS}/package", "embeddings/Document_Microsoft_Word.docx")]),
     OLE + "o:OLEObject Word.Document.12, dans word/document.xml)"),
    ("an altChunk (a web page Word imports)", lambda: template(
        '<w:altChunk r:id="rId94"/>',
        parts={"word/afchunk.mht": "MIME-Version: 1.0\r\n\r\n<html><img src='https://evil.example/p.png'></html>"},
        types={"word/afchunk.mht": "message/rfc822"},
        relationships=[("rId94", f"{RELATIONSHIPS}/aFChunk", "afchunk.mht")]),
     ALT_CHUNK + "afchunk.mht, dans word/_rels/document.xml.rels) que Word importe à l'ouverture"),
    ("an altChunk's element", lambda: template('<w:altChunk r:id="rId95"/>'),
     ALT_CHUNK + "w:altChunk, dans word/document.xml)"),
]
