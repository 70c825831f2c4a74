"""Excel helpers: user text is never interpreted as a formula.

openpyxl turns any string starting with "=" into a formula. `write_text` stores strings
as text whatever they start with; only code that means a formula writes one, with
`write_formula`.
"""
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


def write_formula(cell, formula: str) -> None:
    if not formula.startswith("="):
        raise ValueError("a formula starts with '='")
    cell.value = formula
