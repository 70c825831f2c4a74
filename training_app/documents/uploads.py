"""Checking uploaded files: the type comes from the content (magic bytes), never from the name."""
import codecs
import re
import zipfile
from xml.etree import ElementTree

from flask_babel import gettext as _

from training_app.services import ServiceError

SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "docx": (b"PK\x03\x04",),  # a zip; docx content is checked by opening it
    "xlsx": (b"PK\x03\x04",),
}
MIMETYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg",
             "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# Text kinds have no magic bytes: plain text (UTF-8 or Windows-1252) without control characters.
TEXT_KINDS = ("csv",)
MIMETYPES["csv"] = "text/csv"
_CONTROL_BYTES = frozenset(range(32)) - {9, 10, 13}
TEXT_SAMPLE_BYTES = 4096


# An Office file (.docx, .xlsx) is a zip: a small upload may unpack to gigabytes, which the libraries reading it
# would hold in memory. What its parts declare is checked before they are read: Python's zipfile stops at the
# declared size of a part and refuses a part that holds more (its checksum then fails), so the declared sizes bind.
MAX_ZIP_MEMBERS = 1000     # real documents have a few dozen parts
MAX_ZIP_RATIO = 200        # a part's unpacked size over its packed size (Office XML: 10 to 40)...
MAX_ZIP_RATIO_FLOOR = 1024 * 1024  # ...checked on parts of at least 1 Mo unpacked (small ones cannot hurt)


def check_zip_bounds(archive: zipfile.ZipFile, max_unpacked: int, too_big: str) -> None:
    """Refuse (ServiceError `too_big` on "file") an opened zip whose parts, as declared, add up to more than
    `max_unpacked` bytes, number more than MAX_ZIP_MEMBERS, or one of which is compressed absurdly well (a zip
    bomb), before anything reads them. `too_big` is a French message that may use %(max)s (the limit in Mo)."""
    entries = archive.infolist()
    unpacked = sum(entry.file_size for entry in entries)
    bomb = any(entry.file_size >= MAX_ZIP_RATIO_FLOOR and entry.file_size > MAX_ZIP_RATIO * entry.compress_size
               for entry in entries)
    if len(entries) > MAX_ZIP_MEMBERS or unpacked > max_unpacked or bomb:
        raise ServiceError(too_big % {"max": f"{max_unpacked / 1024 / 1024:g}"}, "file")


def check_no_active_content(archive: zipfile.ZipFile) -> None:
    """Refuse (ServiceError on "file", naming what was found) an Office file holding what Word runs, loads or
    follows by itself: every document issued from a template carries it to its readers.
    - Macros.
    - Relationships Word follows when it opens the file: an attached template, or any part outside the file
      (TargetMode="External": a remote template, a linked image, a \\\\server\\share that leaks the reader's
      Windows credentials, a tracking address). Only hyperlinks, followed when clicked, may point outside.
    - ActiveX controls, embedded OLE objects (another program's document, or a program, opened by a double
      click) and altChunk parts (a web page, an RTF or MHT file Word imports on opening): by their parts'
      names and content types, their relationships and their elements.
    - Fields that fetch or run something (ACTIVE_FIELDS), in every part that holds text (TEXT_PART_TYPES).
    Raises ElementTree.ParseError on broken XML."""
    names = archive.namelist()
    content_types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    declared = [element.get("ContentType", "").lower() for element in content_types.iter()]
    if any(name.lower().rsplit("/", 1)[-1].startswith("vba") for name in names) or \
            any("macroenabled" in kind or "vba" in kind for kind in declared):
        raise ServiceError(_("Ce fichier contient des macros : enregistrez-le au format « Document Word (*.docx) » "
                             "(sans macros), puis envoyez-le."), "file")
    part_types = _part_content_types(content_types, names)
    for name in names:
        _refuse_embedded(_embedded_kind(name, part_types[name]), name)
    for name in names:
        if name.lower().endswith(".rels"):
            _check_relationships(name, ElementTree.fromstring(archive.read(name)))
    for name in names:
        if part_types[name].endswith(TEXT_PART_TYPES):
            _check_markup(name, ElementTree.fromstring(archive.read(name)))


# Fields Word evaluates by fetching a file or an address, or by running a program, when the document opens or its
# fields are updated (printing updates them). INCLUDE is INCLUDETEXT's old name; DATABASE queries a data source.
ACTIVE_FIELDS = frozenset({"INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "DDE", "DDEAUTO", "LINK", "IMPORT",
                           "DATABASE"})
FIELD_NAME = re.compile(r"[\s\"']*([A-Za-z]+)")  # a field's code starts with its name
# The content types of the parts Word shows text from, where fields and objects go: the document (or template)
# itself, headers, footers, footnotes, endnotes, comments, the glossary (building blocks). Word reads a part by its
# content type, whatever its name.
TEXT_PART_TYPES = (".main+xml", ".header+xml", ".footer+xml", ".footnotes+xml", ".endnotes+xml", ".comments+xml",
                   ".glossary+xml")
# Elements that place an ActiveX control, an OLE object or an altChunk (their parts are refused too): by local
# name, (what it places, the name Word's XML gives it).
EMBEDDING_ELEMENTS = {"control": ("activex", "w:control"), "OLEObject": ("ole", "o:OLEObject"),
                      "altChunk": ("altchunk", "w:altChunk")}


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attribute(element: ElementTree.Element, name: str) -> str:
    """An attribute by its local name, whatever its namespace (w:instr, w:fldCharType...)."""
    return next((value for key, value in element.attrib.items() if _local_name(key) == name), "")


def _part_content_types(content_types: ElementTree.Element, names: list[str]) -> dict[str, str]:
    """The content type of each part (lowercase): its Override, else the Default of its extension."""
    defaults, overrides = {}, {}
    for element in content_types.iter():
        if _local_name(element.tag) == "Default":
            defaults[element.get("Extension", "").lower()] = element.get("ContentType", "").lower()
        elif _local_name(element.tag) == "Override":
            overrides[element.get("PartName", "").lstrip("/").lower()] = element.get("ContentType", "").lower()
    return {name: overrides.get(name.lower()) or defaults.get(name.lower().rsplit(".", 1)[-1], "")
            for name in names}


def _embedded_kind(name: str, kind: str) -> str | None:
    """"activex", "ole" or "altchunk" when a part's name (or a relationship's target) or its type (a content
    type, a relationship type) says it is one; else None."""
    name, kind = "/" + name.lower().replace("\\", "/"), kind.lower()
    if "/activex/" in name or "activex" in kind or kind.endswith("/control"):
        return "activex"
    if name.rsplit("/", 1)[-1].startswith("oleobject") or "oleobject" in kind:
        return "ole"
    if kind.endswith("/afchunk"):
        return "altchunk"
    return None


def _refuse_embedded(kind: str | None, found: str, part: str = "") -> None:
    """Refuse the ActiveX control, OLE object or altChunk (`kind`): the part `found`, or what `found` names in
    `part` (a relationship's target, an element)."""
    found = _("%(found)s, dans %(part)s", found=found[:120], part=part) if part else found[:120]
    if kind == "activex":
        raise ServiceError(_("Ce fichier contient un contrôle ActiveX (%(found)s) : un programme que Word lance "
                             "à l'ouverture. Supprimez les contrôles (Développeur > Mode Création), puis "
                             "envoyez-le.", found=found), "file")
    if kind == "ole":
        raise ServiceError(_("Ce fichier contient un objet incorporé (%(found)s) : le document ou le programme "
                             "d'une autre application, que Word ouvre ou lance. Remplacez-le par une image (ou "
                             "supprimez-le), puis envoyez-le.", found=found), "file")
    if kind == "altchunk":
        raise ServiceError(_("Ce fichier incorpore un autre document (%(found)s) que Word importe à l'ouverture : "
                             "une page web ou un fichier RTF inséré comme « Texte d'un fichier », par exemple. "
                             "Copiez son contenu dans le document lui-même, puis envoyez-le.", found=found), "file")


def _check_relationships(name: str, relationships: ElementTree.Element) -> None:
    for relationship in relationships.iter():
        kind, target = relationship.get("Type", ""), relationship.get("Target", "")
        if kind.endswith("/attachedTemplate"):
            raise ServiceError(_("Ce fichier est rattaché à un autre modèle Word (%(target)s) : dans Word, "
                                 "Développeur > Modèle de document, choisissez le modèle « Normal », "
                                 "enregistrez puis envoyez-le.", target=target[:120]), "file")
        if relationship.get("TargetMode", "").lower() == "external" and not kind.endswith("/hyperlink"):
            raise ServiceError(_("Ce fichier fait charger par Word un élément extérieur (%(target)s, dans "
                                 "%(part)s) : une image liée ou un modèle distant, par exemple. Insérez les "
                                 "images dans le document lui-même (sans lien), puis envoyez-le.",
                                 target=target[:120], part=name), "file")
        if _local_name(relationship.tag) == "Relationship":  # by its type, and by its target inside the file
            external = relationship.get("TargetMode", "").lower() == "external"
            _refuse_embedded(_embedded_kind("" if external else target, kind), target, name)


def _check_markup(name: str, root: ElementTree.Element) -> None:
    """Refuse, in the XML part `name`, an element placing an ActiveX control, an OLE object or an altChunk, and
    a field of ACTIVE_FIELDS: simple (w:fldSimple w:instr) or complex (its code in w:instrText runs, maybe many,
    between its w:fldChar begin and separate or end; a field may hold others). A field whose name is left to
    another field nested at its start is refused too: Word would name it when updating it."""
    for element in root.iter():
        kind, shown = EMBEDDING_ELEMENTS.get(_local_name(element.tag), (None, ""))
        if kind is not None:
            _refuse_embedded(kind, " ".join(filter(None, (shown, _attribute(element, "ProgID")))), name)
    for code, named_by_field in _field_codes(root):
        field = FIELD_NAME.match(code)
        field = field.group(1).upper() if field else ""
        if named_by_field:
            raise ServiceError(_("Ce fichier contient un champ Word dont le nom est donné par un autre champ "
                                 "(dans %(part)s : « %(code)s ») : Word pourrait en faire un champ qui va chercher "
                                 "ou lance un élément extérieur. Dans Word, Alt+F9 affiche les codes des champs : "
                                 "supprimez celui-ci, puis envoyez le fichier.", part=name,
                                 code=" ".join(code.split())[:120]), "file")
        if field in ACTIVE_FIELDS:
            raise ServiceError(_("Ce fichier contient un champ Word %(field)s (dans %(part)s : « %(code)s ») : Word "
                                 "va chercher ou lance par lui-même ce qu'il désigne. Dans Word, Alt+F9 affiche les "
                                 "codes des champs : supprimez celui-ci (une image s'insère dans le document "
                                 "lui-même, sans lien), puis envoyez le fichier.", field=field, part=name,
                                 code=" ".join(code.split())[:120]), "file")


def _field_codes(root: ElementTree.Element):
    """(code, named_by_field) of every field of a part, in document order: the instruction of a w:fldSimple; the
    w:instrText (or deleted w:delInstrText) runs of a complex field joined, from its begin to its separate (or
    end). `named_by_field`: a field nested in the code came before the code's name."""
    open_fields = []  # the fields begun, not ended, innermost last: [code parts, still in its code, named by field]
    for element in root.iter():
        tag = _local_name(element.tag)
        if tag == "fldSimple":
            yield _attribute(element, "instr"), False
        elif tag in ("instrText", "delInstrText"):
            if open_fields and open_fields[-1][1]:
                open_fields[-1][0].append(element.text or "")
            else:  # code outside a field's code: checked on its own
                yield element.text or "", False
        elif tag == "fldChar":
            position = _attribute(element, "fldCharType").lower()
            if position == "begin":
                if open_fields and open_fields[-1][1] and _name_unfinished("".join(open_fields[-1][0])):
                    open_fields[-1][2] = True
                open_fields.append([[], True, False])
            elif position in ("separate", "end") and open_fields:
                field = open_fields[-1]
                if field[1]:
                    field[1] = False
                    yield "".join(field[0]), field[2]
                if position == "end":
                    open_fields.pop()
    for parts, in_code, named_by_field in open_fields:  # begun, never ended
        if in_code:
            yield "".join(parts), named_by_field


def _name_unfinished(code: str) -> bool:
    """Whether a field nested at the end of `code` (a field's code so far) would give or end the field's name:
    nothing named yet (only spaces or quotes), or a name running up to the nested field ("INCLUDEPIC" then a field
    giving "TURE"). A formula ("= {NUMPAGES} - 1") is named by its "=", and a name followed by a space is finished
    ("IF {PAGE} = 1 ...")."""
    code = code.lstrip(" \t\r\n\"'")
    if code.startswith("="):
        return False
    name = re.match(r"[A-Za-z]*", code).group()
    return name == code


def detect(content: bytes, allowed: tuple[str, ...]) -> str | None:
    for kind in allowed:
        if kind in TEXT_KINDS:
            if is_text(content):
                return kind
        elif any(content.startswith(magic) for magic in SIGNATURES[kind]):
            return kind
    return None


def is_text(content: bytes) -> bool:
    sample = content[:TEXT_SAMPLE_BYTES]
    if any(byte in _CONTROL_BYTES for byte in sample):
        return False
    try:  # the sample may end inside a character of several bytes: UTF-8 is read as a stream cut there
        codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=len(content) <= TEXT_SAMPLE_BYTES)
        return True
    except UnicodeDecodeError:
        return decode_text(sample) is not None


def decode_text(content: bytes) -> str | None:
    """UTF-8 (with or without BOM), else Windows-1252 (what Excel writes for CSV in France)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def check_upload(file_storage, allowed: tuple[str, ...], max_bytes: int) -> tuple[bytes, str]:
    """Read an uploaded file and return (content, kind), or raise a ServiceError in French."""
    if file_storage is None or not getattr(file_storage, "filename", ""):
        raise ServiceError(_("Choisissez un fichier."), "file")
    content = file_storage.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ServiceError(_("Le fichier dépasse la taille maximale de %(size)s Mo.",
                             size=f"{max_bytes / 1024 / 1024:g}"), "file")
    if not content:
        raise ServiceError(_("Le fichier est vide."), "file")
    kind = detect(content, allowed)
    if kind is None:
        names = ", ".join(k.upper() for k in allowed)
        raise ServiceError(_("Ce fichier n'est pas d'un type accepté (%(types)s), quel que soit son nom.",
                             types=names), "file")
    return content, kind
