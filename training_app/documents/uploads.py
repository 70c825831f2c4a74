"""Checking uploaded files: the type comes from the content (magic bytes), never from the name."""
import codecs
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
    """Refuse (ServiceError on "file") an Office file holding macros, or relationships Word follows when it opens
    the file: an attached template, or any part outside the file (TargetMode="External": a remote template, a
    linked image, a \\\\server\\share that leaks the reader's Windows credentials, a tracking address). Only
    hyperlinks, followed when clicked, may point outside. Raises ElementTree.ParseError on broken XML."""
    names = archive.namelist()
    content_types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    declared = [element.get("ContentType", "").lower() for element in content_types.iter()]
    if any(name.lower().rsplit("/", 1)[-1].startswith("vba") for name in names) or \
            any("macroenabled" in kind or "vba" in kind for kind in declared):
        raise ServiceError(_("Ce fichier contient des macros : enregistrez-le au format « Document Word (*.docx) » "
                             "(sans macros), puis envoyez-le."), "file")
    for name in names:
        if not name.lower().endswith(".rels"):
            continue
        for relationship in ElementTree.fromstring(archive.read(name)).iter():
            kind = relationship.get("Type", "")
            if kind.endswith("/attachedTemplate"):
                raise ServiceError(_("Ce fichier est rattaché à un autre modèle Word (%(target)s) : dans Word, "
                                     "Développeur > Modèle de document, choisissez le modèle « Normal », "
                                     "enregistrez puis envoyez-le.", target=relationship.get("Target", "")[:120]),
                                   "file")
            if relationship.get("TargetMode", "").lower() == "external" and not kind.endswith("/hyperlink"):
                raise ServiceError(_("Ce fichier fait charger par Word un élément extérieur (%(target)s, dans "
                                     "%(part)s) : une image liée ou un modèle distant, par exemple. Insérez les "
                                     "images dans le document lui-même (sans lien), puis envoyez-le.",
                                     target=relationship.get("Target", "")[:120], part=name), "file")


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
