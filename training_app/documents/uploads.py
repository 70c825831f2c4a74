"""Checking uploaded files: the type comes from the content (magic bytes), never from the name."""
import codecs

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
