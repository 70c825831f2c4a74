"""Excel helpers: user text is never interpreted as a formula; formulas carry their value.

openpyxl turns any string starting with "=" into a formula. `write_text` stores strings
as text whatever they start with; only code that means a formula writes one, with
`write_formula`.

openpyxl writes a formula without its result, which only Excel (or LibreOffice) computes when it opens the
file: a preview, a mail client or a program reading the file (openpyxl's data_only) shows an empty cell. A
formula written with its `value` and the workbook saved with `save` carries that value as the formula's
cached result, as Excel itself saves it: every reader shows the figure, and Excel still recalculates it.
"""
import io
import re
import zipfile
from decimal import Decimal

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def write_text(cell, value) -> None:
    """Write `value` in `cell`; strings are always stored as text, even "=SUM(A1)", without the control
    characters an Excel file cannot hold (openpyxl refuses them: text stored before they were filtered out
    of forms, or read from an imported file, must not stop an export)."""
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
    else:
        cell.value = value


def write_formula(cell, formula: str, value: int | float | Decimal | None = None) -> None:
    """A formula; with `value` (a number: what the formula gives), saved as its result by `save`."""
    if not formula.startswith("="):
        raise ValueError("a formula starts with '='")
    cell.value = formula
    if value is not None:
        workbook = cell.parent.parent
        if not hasattr(workbook, "cached_formula_values"):
            workbook.cached_formula_values = {}
        workbook.cached_formula_values[(cell.parent.title, cell.coordinate)] = value


def save(workbook) -> bytes:
    """The .xlsx bytes, the formulas written with a value carrying it as their cached result."""
    out = io.BytesIO()
    workbook.save(out)
    cached = getattr(workbook, "cached_formula_values", None)
    if not cached:
        return out.getvalue()
    by_path = {}
    for sheet in workbook.worksheets:  # openpyxl names each sheet's part when saving
        values = {coordinate: value for (title, coordinate), value in cached.items() if title == sheet.title}
        if values:
            by_path[sheet.path.lstrip("/")] = values
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename in by_path:
                content = _with_values(content.decode("utf-8"), by_path[item.filename]).encode("utf-8")
            target.writestr(item, content)
    return patched.getvalue()


def _with_values(xml: str, values: dict) -> str:
    """The sheet's XML, each formula cell of `values` given its value (`<v>`) after its formula (`<f>`)."""
    def fill(match):
        value = values.get(match.group(2))
        if value is None:
            return match.group(0)
        return f"{match.group(1)}{match.group(3)}<v>{_number(value)}</v></c>"
    return re.sub(r'(<c r="([A-Z]+[0-9]+)"[^>]*>)(<f>[^<]*</f>)(?:<v\s*/>|<v></v>)?</c>', fill, xml)


def _number(value) -> str:
    """A number as Excel stores it: plain decimal notation, no exponent, no trailing zeros."""
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
