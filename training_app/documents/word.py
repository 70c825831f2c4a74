"""Word documents from the docxtpl templates in certificates/.

Templates receive plain data (strings, numbers, lists, dicts), never ORM objects.
"""
import io
import os
from dataclasses import dataclass

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from docx.image.image import Image as WordImage
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "certificates")


def template_path(name: str) -> str:
    """The path of a template shipped in certificates/ (e.g. "convocation.docx")."""
    return os.path.join(TEMPLATES_DIR, name)


@dataclass(frozen=True)
class Picture:
    """An image to place anywhere in a template's context, even inside loops (e.g. table rows)."""
    content: bytes
    width_mm: float


def render(template: str | bytes, context: dict, images: dict | None = None, strict: bool = False,
           read: set[str] | None = None) -> bytes:
    """Render a template (a path or the bytes of a .docx) and return the .docx bytes.

    `images` maps context keys to (png_or_jpeg_bytes, width_mm); they become inline images.
    A `Picture` anywhere in the context (in lists and dicts too) becomes an inline image.
    `strict` makes an unknown variable an error instead of an empty text (to check a new template).
    `read`, when given, receives the data the template's tags read, in every part docxtpl renders (read_paths).
    """
    source = io.BytesIO(template) if isinstance(template, bytes) else template
    document = DocxTemplate(source)
    context = _with_pictures(document, dict(context))
    for key, value in (images or {}).items():
        context[key] = image(document, *value) if value and value[0] else ""
    # Sandboxed: templates can be uploaded by an administrator, and a template's expressions must not reach
    # Python's internals (e.g. os.system through a function's globals).
    environment = _Sandbox(undefined=jinja2.StrictUndefined if strict else jinja2.Undefined)
    environment.read = read
    document.render(context, environment, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class _Sandbox(SandboxedEnvironment):
    """The sandbox templates render in; notes in `read` (when set) what each part rendered reads. docxtpl renders
    every part of the document (body, headers, footers, footnotes, properties) through from_string."""

    read: set[str] | None = None

    def from_string(self, source, *args, **kwargs):
        if self.read is not None and isinstance(source, str):
            self.read.update(read_paths(self.parse(source)))
        return super().from_string(source, *args, **kwargs)


def read_paths(tree: nodes.Node) -> set[str]:
    """The data a parsed template reads, as dotted paths from its names: {{ trainee.job_title }} and
    {{ trainee["job_title"] }} read "trainee.job_title"; a name used otherwise ({{ trainee }}, a loop over it, a
    subscript not written out, a filter) reads the name alone: all of it. A longer path is kept as written
    ("trainee.job_title.upper"): what the names lead to is for the caller to tell."""
    found: set[str] = set()

    def chain(node) -> list[str] | None:
        if isinstance(node, nodes.Name):
            return [node.name]
        if isinstance(node, nodes.Getattr):
            base = chain(node.node)
            return base + [node.attr] if base else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            base = chain(node.node)
            return base + [node.arg.value] if base else None
        return None

    def visit(node) -> None:
        if isinstance(node, nodes.Name):
            if node.ctx == "load":
                found.add(node.name)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            path = chain(node)
            if path:
                found.add(".".join(path))
                return
        for child in node.iter_child_nodes():
            visit(child)

    visit(tree)
    return found


def _with_pictures(document: DocxTemplate, value):
    if isinstance(value, Picture):
        return image(document, value.content, value.width_mm)
    if isinstance(value, dict):
        return {key: _with_pictures(document, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_with_pictures(document, item) for item in value]
    return value


def image(document: DocxTemplate, content: bytes, width_mm: float) -> InlineImage:
    return InlineImage(document, io.BytesIO(content), width=Mm(width_mm))


def placeable(content: bytes) -> bool:
    """Whether python-docx can place the image `content` in a document. It reads the image's header itself (not
    with Pillow) and sizes the image by the resolution the file states: a PNG whose pHYs chunk says 1 pixel a
    metre is 0 dpi, and placing it divides by zero."""
    try:
        WordImage.from_blob(content).scaled_dimensions(Mm(10), None)
    except Exception:  # noqa: BLE001 - whatever python-docx stumbles on, the image cannot go into a document
        return False
    return True
