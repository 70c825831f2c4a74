"""French typography in one place: every amount and percentage shown to users (pages, flashes, Word and Excel
documents) is written by formatting.money or formatting.percent (the |money and |percent filters), which put a
narrow no-break space (formatting.NNBSP) before "€" and "%". This test reads the code and the templates for a sign
written by hand after a number or a value ("{{ rate }} %", f"{x} €", "(0,00 €)" in a message), a copy-paste twin
that would sooner or later space it another way."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "training_app"
BLANKS = r"(?:\s|&nbsp;|&#160;|&#8239;)*"
# after a template expression: "{{ value }} %", "{{ value }}&nbsp;€" ("{% … %}" is a tag, not a sign)
TEMPLATE_SIGN = re.compile(r"\}\}" + BLANKS + r"(?:€|%(?!\}))")
# a number written in a message: "0,00 €", "10 000 000 €", "75 %" (not "%(num)d %%", a format)
WRITTEN_AMOUNT = re.compile(r"\d[\s\u00a0\u202f]*(?:€|%(?![(%]))")
MESSAGES = {"_", "_l", "gettext", "lazy_gettext", "ngettext"}


def _python_signs(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.JoinedStr):  # f"{x} €": a sign right after a value
            for value, after in zip(node.values, node.values[1:]):
                if (isinstance(value, ast.FormattedValue) and isinstance(after, ast.Constant)
                        and not (isinstance(value.value, ast.Name) and value.value.id == "NNBSP")
                        and re.match(r"[\s\u00a0\u202f]*(?:€|%)", str(after.value))):
                    found.append(f"{path.name}:{node.lineno}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in MESSAGES:
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and WRITTEN_AMOUNT.search(arg.value):
                    found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_amount_nor_rate_is_written_by_hand_in_the_code():
    found = [sign for path in sorted(ROOT.rglob("*.py")) if path.name != "formatting.py"
             for sign in _python_signs(path)]
    assert not found, f"write amounts with formatting.money, rates with formatting.percent: {found}"


def test_no_amount_nor_rate_is_written_by_hand_in_the_templates():
    found = [f"{path.relative_to(ROOT)}:{number}" for path in sorted((ROOT / "templates").rglob("*.html"))
             for number, line in enumerate(path.read_text().splitlines(), start=1)
             if TEMPLATE_SIGN.search(line)]
    assert not found, f"write amounts with |money, rates with |percent: {found}"


def test_the_guard_sees_the_twins_it_is_meant_to_catch(tmp_path):
    twin = tmp_path / "twin.py"
    twin.write_text('rate = f"{value} %"\nprice = f"{cents}\\u00a0€"\nmessage = _("Rien (0,00 €)")\n'
                    'ok = f"{whole}{NNBSP}€/h"\nformat_ = _("%(num)d %%")\n')
    assert _python_signs(twin) == ["twin.py:1", "twin.py:2", "twin.py:3"]
    assert TEMPLATE_SIGN.search("{{ bar.percent }} %") and TEMPLATE_SIGN.search("{{ value }}&nbsp;%")
    assert not TEMPLATE_SIGN.search("{{ value|percent }}{% endif %}")
