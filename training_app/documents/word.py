"""Word documents from the docxtpl templates in certificates/.

Templates receive plain data (strings, numbers, lists, dicts), never ORM objects.
"""
import functools
import io
import os
import re
import types
from dataclasses import dataclass

import jinja2
from flask_babel import gettext as _
from jinja2 import nodes
from jinja2.utils import Namespace
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer
from docx.image.image import Image as WordImage
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from training_app.formatting import NNBSP

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
    # Python's internals (e.g. os.system through a function's globals), change the data they read, or make the
    # server work without end (_Sandbox: TooCostly).
    environment = _Sandbox(undefined=jinja2.StrictUndefined if strict else jinja2.Undefined)
    environment.read = read
    try:
        document.render(context, environment, autoescape=True)
    except (RecursionError, MemoryError):
        raise TooCostly(_("des macros ou des boucles s'appellent sans fin")) from None
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# What a template may cost: rendering stops (TooCostly) beyond these. Far above what the shipped templates need
# (a session's attendance sheets, an invoice's lines), far below what would keep a worker busy for long.
MAX_STEPS = 1_000_000      # loop turns and calls, in all the parts of one document
MAX_RANGE = 10_000         # numbers in one range()
MAX_ARGUMENT = 100_000     # a whole number given to a function or filter (a width, a count)
MAX_TEXT = 1_000_000       # characters (or items) of one value the template makes
MAX_PRINTED = 10_000_000   # characters the tags print, in all the parts of one document
MAX_NUMBER_BITS = 256      # size of a whole number the template computes
# A width or precision of a million or more in a format ("%0100000000d", "{:>100000000}"); not any long number
# of the text (a SIRET, a file number).
_PERCENT_WIDTH = re.compile(r"%[-+ #0]*(\d{7,}|\d*\.\d{7,})")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")


class TooCostly(jinja2.TemplateError):
    """The template would take too much time or memory to fill (a French message: why)."""

    def __init__(self, reason: str):
        super().__init__(_("ce modèle est trop coûteux à produire : %(reason)s ; simplifiez ses boucles et ses "
                           "textes", reason=reason))


def _count(number: int) -> str:
    return f"{number:,}".replace(",", NNBSP)


def _too_long() -> TooCostly:
    return TooCostly(_("un texte de plus de %(max)s caractères", max=_count(MAX_TEXT)))


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox templates render in: immutable (a template cannot change the lists and dicts it reads), an
    attribute it may not read is refused at once (not an empty text), and its cost is capped (TooCostly): loop
    turns and calls (MAX_STEPS), range() (MAX_RANGE), the numbers given to functions and filters (MAX_ARGUMENT),
    texts made by *, +, ~, %, filters and methods (MAX_TEXT), what the tags print (MAX_PRINTED).
    Notes in `read` (when set) what each part rendered reads. docxtpl renders every part of the document (body,
    headers, footers, footnotes, properties) through from_string."""

    read: set[str] | None = None
    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self, *args, **kwargs):
        # Not optimized: Jinja's optimizer works out constant expressions while compiling, out of reach of the caps,
        # which see only what runs (_Capping.visit_Output does the same for what the tags print).
        super().__init__(*args, finalize=self._printed, optimized=False, **kwargs)
        self.steps = 0
        self.printed = 0
        self.globals = {"range": self._range, "dict": dict, "cycler": self.globals["cycler"],
                        "joiner": self.globals["joiner"], "namespace": self.globals["namespace"]}
        self.filters = {name: self._capped_filter(name, function) for name, function in self.filters.items()}
        self.filters["_turns"] = self._turns
        self.filters["_sized"] = self._sized
        self.filters["_at_run"] = self._at_run

    def from_string(self, source, *args, **kwargs):
        if self.read is not None and isinstance(source, str):
            self.read.update(read_paths(self.parse(source)))
        return super().from_string(source, *args, **kwargs)

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        """A part's code is compiled once per text (_compiled): issuing a session's certificates renders the same
        template parts thirty times. The code depends only on the text, on autoescaping and on what every _Sandbox
        shares (its class: the capping transform, the intercepted operators, the finalize hook); each document's
        own environment still runs it, with its own counters."""
        if isinstance(source, str) and (name, filename, raw, defer_init) == (None, None, False, False):
            return _compiled(source, bool(self.autoescape))
        return super().compile(source, name, filename, raw, defer_init)

    def _parse(self, source, name, filename):
        """Every loop counts its turns, every ~ checks the text it makes (no operator hook reaches them)."""
        return _Capping().visit(super()._parse(source, name, filename))

    def unsafe_undefined(self, obj, attribute):
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe.")

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - the parent's signature
        __self._step()
        if not getattr(__obj, "formats_values", False):  # a format's values are not widths: those are in its text
            _check_arguments(args, kwargs)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_string_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        return _checked(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value):
        """A text's format method, as the sandbox wraps it (the wrapper hides the text): refused at once for a
        width of a million or more, its values not taken for widths (call)."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            if _FORMAT_WIDTH.search(value.__self__):
                raise _too_long()
            wrapped.formats_values = True
        return wrapped

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "*":
            for text, times in ((left, right), (right, left)):
                if isinstance(text, (str, list, tuple)) and isinstance(times, int) \
                        and _size(text, MAX_TEXT) * times > MAX_TEXT:
                    raise _too_long()
        if operator_name == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right * abs(left).bit_length() > MAX_NUMBER_BITS:
            raise TooCostly(_("un nombre trop grand"))
        if operator_name == "%" and isinstance(left, str) and _PERCENT_WIDTH.search(left):
            raise _too_long()
        return _checked(super().call_binop(context, operator_name, left, right))

    def _range(self, *args):
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise TooCostly(_("une boucle de plus de %(max)s tours", max=_count(MAX_RANGE)))
        return numbers

    def _step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TooCostly(_("plus de %(max)s tours de boucle ou appels",
                              max=_count(MAX_STEPS)))

    def _turns(self, iterable):
        for item in iterable:
            self._step()
            yield item

    @staticmethod
    def _sized(value):
        return _checked(value)

    @staticmethod
    @jinja2.pass_context  # never worked out while compiling (Jinja does so with a constant it prints)
    def _at_run(_context, value):
        return value

    def _printed(self, value):
        if isinstance(value, (str, list, tuple, dict, Namespace)):
            self.printed += _size(value, MAX_PRINTED)
            if self.printed > MAX_PRINTED:
                raise TooCostly(_("plus de %(max)s caractères écrits",
                                  max=_count(MAX_PRINTED)))
        return value

    def _capped_filter(self, name, function):
        @functools.wraps(function)
        def capped(*args, **kwargs):
            self._step()
            value_at = 1 if getattr(function, "jinja_pass_arg", None) else 0  # after the context it is given
            if name != "format":  # the values a format is given are not widths: those are in its text
                _check_arguments(args[value_at + 1:], kwargs)  # nor is the value filtered (an amount, a number)
            _check_repeated(args, kwargs)
            if name == "format" and isinstance(args[value_at], str) and _PERCENT_WIDTH.search(args[value_at]):
                raise _too_long()
            result = function(*args, **kwargs)
            if isinstance(result, types.GeneratorType):  # map, select…: sized now, not once joined or printed
                result = list(result)
            return _checked(result)
        return capped


@functools.lru_cache(maxsize=64)
def _compiled(source: str, autoescape: bool):
    """The code of a template part's text (_Sandbox.compile); a few dozen parts at most are in use at a time (the
    shipped templates and those uploaded)."""
    return ImmutableSandboxedEnvironment.compile(_Sandbox(autoescape=autoescape), source)


class _Capping(NodeTransformer):
    def visit_Output(self, node):
        """What a tag prints is worked out as the template runs, each time, and counted then (_printed): Jinja
        works out a constant while compiling ({{ 'a'|center(100000) }}), once, even inside a loop."""
        self.generic_visit(node)
        node.nodes = [child if isinstance(child, nodes.TemplateData)
                      else nodes.Filter(child, "_at_run", [], [], None, None, lineno=child.lineno)
                      for child in node.nodes]
        return node

    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_turns", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        return nodes.Filter(node, "_sized", [], [], None, None, lineno=node.lineno)

    def visit_List(self, node):
        self.generic_visit(node)
        return nodes.Filter(node, "_sized", [], [], None, None, lineno=node.lineno)

    visit_Dict = visit_List

    def visit_Tuple(self, node):
        self.generic_visit(node)
        if node.ctx != "load":  # {% for a, b in … %}, {% set a, b = … %}: names to assign, not a value
            return node
        return nodes.Filter(node, "_sized", [], [], None, None, lineno=node.lineno)


def _check_arguments(args, kwargs) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
            raise TooCostly(_("un nombre de plus de %(max)s donné à une fonction",
                              max=_count(MAX_ARGUMENT)))


def _check_string_method(text: str, name: str, args, kwargs) -> None:
    """What a method of a text would make, before it makes it: a text repeated (_check_repeated). (Its format
    method comes wrapped by the sandbox: wrap_str_format.)"""
    if name == "join" and args and not isinstance(args[0], (str, list, tuple)):
        raise TooCostly(_("des textes à joindre qui ne sont pas une liste"))
    _check_repeated((text, *args), kwargs)


def _check_repeated(args, kwargs) -> None:
    """Refuse a filter or a method given two long things, one of which it may repeat for each part of the other (a
    replacement at every character, a separator between items, an indentation on every line): the product of the
    two longest texts or lists is capped (10 × MAX_TEXT)."""
    lengths = sorted((_size(value, MAX_TEXT) for value in (*args, *kwargs.values())
                      if isinstance(value, (str, list, tuple))), reverse=True)
    if len(lengths) >= 2 and lengths[0] * lengths[1] > 10 * MAX_TEXT:
        raise _too_long()


def _checked(value):
    """`value`, refused when it is a text (or list, dict, namespace: what printing it would write) longer than
    MAX_TEXT, or a number too large."""
    if isinstance(value, (str, list, tuple, dict, Namespace)) and _size(value, MAX_TEXT) > MAX_TEXT:
        raise _too_long()
    if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
        raise TooCostly(_("un nombre trop grand"))
    return value


def _size(value, limit: int) -> int:
    """About how many characters printing `value` writes, counted up to just past `limit`."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, Namespace):
        value = object.__getattribute__(value, "_Namespace__attrs")
    if isinstance(value, dict):
        value = [item for pair in value.items() for item in pair]
    if not isinstance(value, (list, tuple, set, frozenset)):
        return 20
    total = 2
    for item in value:
        total += 2 + _size(item, limit - total)
        if total > limit:
            break
    return total


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
