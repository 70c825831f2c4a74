"""Word documents from the docxtpl templates in certificates/.

Templates receive plain data (strings, numbers, lists, dicts), never ORM objects.
"""
import io
import os

import jinja2
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "certificates")


def template_path(name: str) -> str:
    """The path of a template shipped in certificates/ (e.g. "convocation.docx")."""
    return os.path.join(TEMPLATES_DIR, name)


def render(template: str | bytes, context: dict, images: dict | None = None, strict: bool = False) -> bytes:
    """Render a template (a path or the bytes of a .docx) and return the .docx bytes.

    `images` maps context keys to (png_or_jpeg_bytes, width_mm); they become inline images.
    `strict` makes an unknown variable an error instead of an empty text (to check a new template).
    """
    source = io.BytesIO(template) if isinstance(template, bytes) else template
    document = DocxTemplate(source)
    context = dict(context)
    for key, value in (images or {}).items():
        context[key] = image(document, *value) if value and value[0] else ""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined) if strict else None
    document.render(context, environment, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def image(document: DocxTemplate, content: bytes, width_mm: float) -> InlineImage:
    return InlineImage(document, io.BytesIO(content), width=Mm(width_mm))
