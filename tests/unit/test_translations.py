"""The French plurals' catalogue (training_app/translations/fr): ngettext follows the French rule, 0 and 1 in the
singular ("0 objectif évalué"), which gettext applies only to the messages of a catalogue; every ngettext of the
code and templates is in it, and the committed .mo is the .po compiled. After adding or changing an ngettext:
`make translations` (README, « Pluriels »)."""
import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import gettext, ngettext

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "training_app" / "translations" / "fr" / "LC_MESSAGES"


def _po():
    with open(MESSAGES / "messages.po", "rb") as po:
        return read_po(po)


def test_zero_and_one_take_the_singular_two_the_plural(app):
    forms = ("%(num)d objectif évalué", "%(num)d objectifs évalués")
    assert [ngettext(*forms, n) for n in (0, 1, 2, 10)] == [
        "0 objectif évalué", "1 objectif évalué", "2 objectifs évalués", "10 objectifs évalués"]
    assert render_template_string('{{ ngettext("%(num)d place libre", "%(num)d places libres", 0) }}') == \
        "0 place libre"
    # A message outside the catalogue (any _()) is shown as written.
    assert gettext("Évaluation des acquis enregistrée.") == "Évaluation des acquis enregistrée."
    assert gettext("%(n)d en liste d'attente", n=0) == "0 en liste d'attente"


def test_every_ngettext_of_the_code_and_templates_is_in_the_catalogue():
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    extracted = {msgid for _file, _line, msgid, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords={"ngettext": (1, 2)}) if isinstance(msgid, tuple)}
    catalogue = _po()
    assert catalogue.plural_forms == "nplurals=2; plural=(n > 1);"
    entries = {message.id: message for message in catalogue if message.id}
    missing = sorted(extracted - entries.keys())
    assert not missing, f"`make translations`, then copy the French into msgstr[0] and msgstr[1]: {missing}"
    assert not sorted(entries.keys() - extracted), "no longer used: `make translations` drops them"
    for msgid, message in entries.items():
        assert not message.fuzzy and tuple(message.string) == msgid, \
            f"msgstr[0] and msgstr[1] must be the French singular and plural, not fuzzy: {msgid}"


def test_the_committed_mo_is_the_po_compiled():
    compiled = io.BytesIO()
    write_mo(compiled, _po())
    compiled.seek(0)
    with open(MESSAGES / "messages.mo", "rb") as committed:
        expected, actual = read_mo(compiled), read_mo(committed)
    assert actual.plural_forms == expected.plural_forms == "nplurals=2; plural=(n > 1);"
    assert _messages(actual) == _messages(expected), \
        "messages.mo is not messages.po compiled: `make translations` (or pybabel compile)"


def _messages(catalogue) -> dict:
    return {tuple(m.id): tuple(m.string) for m in catalogue if m.id and m.pluralizable} | {
        m.id: m.string for m in catalogue if m.id and not m.pluralizable}
