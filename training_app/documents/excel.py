"""Excel helpers: user text is never interpreted as a formula.

openpyxl turns any string starting with "=" into a formula. `write_text` stores strings
as text whatever they start with; only code that means a formula writes one, with
`write_formula`.
"""


def write_text(cell, value) -> None:
    """Write `value` in `cell`; strings are always stored as text, even "=SUM(A1)"."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def write_formula(cell, formula: str) -> None:
    if not formula.startswith("="):
        raise ValueError("a formula starts with '='")
    cell.value = formula
