"""Word templates render in an immutable sandbox with caps: a template reaches neither Python's internals nor
unbounded work (loops, calls, text); a costly one is refused in French, never a hang or a 500."""
import io

import jinja2
import pytest
from docx import Document
from jinja2.sandbox import SecurityError

from tests.certificate_course import word_template
from training_app.documents import word


def _text(rendered: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(rendered)).paragraphs)


@pytest.mark.parametrize("tag", ["{{ ''.__class__ }}", "{{ ''.__class__.__mro__ }}",
                                 "{{ cycler.__init__.__globals__ }}"])
def test_a_template_reading_pythons_internals_is_refused_even_when_not_strict(tag):
    with pytest.raises(SecurityError):
        word.render(word_template([tag]), {})


def test_a_template_cannot_change_the_data_it_reads():
    with pytest.raises(SecurityError):
        word.render(word_template(["{{ trainees.append('x') }}{{ trainees }}"]), {"trainees": ["Awa"]})


@pytest.mark.parametrize("tag", [
    "{% set r = range(3000)|list %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}",  # 9 million turns
    "{% for a in range(200000) %}{% endfor %}",
    "{% for a in range(2000) %}{{ 'x' * 10000 }}{% endfor %}",  # 20 million characters
    "{{ 'x' * 100000000 }}",
    "{{ 'x'.ljust(100000000) }}",
    "{{ 'x'|center(100000000) }}",
    "{{ 10 ** 100000000 }}",
    "{% set ns = namespace(s='xx') %}{% for a in range(60) %}{% set ns.s %}{{ ns.s }}{{ ns.s }}{% endset %}"
    "{% endfor %}",
    "{% macro m(n) %}{{ m(n) }}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    # lists of long texts, printed whole: their size is counted as they are made, not once printed
    "{% set s = 'x' * 100000 %}{% set a = [s, s, s, s, s, s, s, s, s, s] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
    "{{ b }}",
    "{{ (['x' * 1000000] * 1000000)|join }}",
    "{% set s = 'x' * 100000 %}{{ [s, s, s, s, s, s, s, s, s, s, s, s]|string }}",
    # one long thing repeated for each part of another
    "{{ ('x' * 100000)|replace('', 'y' * 1000) }}",
    "{{ ('x' * 100000).replace('', 'y' * 1000) }}",
    "{{ range(10000)|map('string')|join('y' * 10000) }}",
    "{{ ('y' * 10000).join(range(10000)|map('string')) }}",
    "{{ ('x\\n' * 50000)|indent('y' * 10000) }}",
    # a width of a hundred million in a format
    "{{ '%0100000000d' % 1 }}",
    "{{ '%0100000000d'|format(1) }}",
    "{{ '{:>100000000}'.format('x') }}",
    # a constant the template computes, printed in a loop: worked out as it runs, not while compiling
    "{% for i in range(200) %}{{ 'a'|center(100000) }}{% endfor %}",
    "{% for i in range(200) %}{{ 'a' * 100000 }}{% endfor %}",
])
def test_a_costly_template_is_refused_in_french(tag):
    with pytest.raises(word.TooCostly, match="trop coûteux à produire") as refused:
        word.render(word_template([tag]), {})
    assert isinstance(refused.value, jinja2.TemplateError)  # explained like any template's fault


def test_ordinary_loops_and_data_still_render():
    rendered = word.render(word_template(["{% for t in trainees %}{{ loop.index }}. {{ t.name|upper }} {% endfor %}"
                                          "{{ range(3)|list|join(',') }} {{ 'ab' * 3 }} {{ total * 60 }}"]),
                           {"trainees": [{"name": "Awa"}, {"name": "Julien"}], "total": 21})
    assert "1. AWA 2. JULIEN 0,1,2 ababab 1260" in _text(rendered)


def test_long_numbers_and_large_amounts_are_ordinary_data():
    """A file number or a SIRET in a format's text, an amount in cents filtered or formatted: not a width."""
    rendered = word.render(word_template(["{{ 'Dossier n° 2019000123 : %s' % name }} {{ total|string }} "
                                          "{{ '%s €'|format(total) }} {{ 'SIRET 12345678901234 : {}'.format(total) }} "
                                          "{{ '%08d'|format(total) }}"]),
                           {"name": "Awa", "total": 250000})
    assert ("Dossier n° 2019000123 : Awa 250000 250000 € SIRET 12345678901234 : 250000 00250000"
            in _text(rendered))


def test_a_template_part_is_compiled_once_and_each_document_keeps_its_own_counters_and_escaping(monkeypatch):
    """A session's certificates render the same parts again and again: the code of a part's text is compiled once
    (word._compiled), and every document still runs it in its own sandbox, with its own cost counters (a loop
    under the cap in each of two documents is not summed) and escaping."""
    compilations = []
    real_compile = jinja2.sandbox.ImmutableSandboxedEnvironment.compile
    monkeypatch.setattr(jinja2.sandbox.ImmutableSandboxedEnvironment, "compile",
                        lambda self, source, *args, **kwargs: compilations.append(source) or real_compile(
                            self, source, *args, **kwargs))
    word._compiled.cache_clear()
    # 600,000 turns: under MAX_STEPS in one document, over it if the two documents' turns were added up
    template = word_template(["{% for a in range(600) %}{% for b in range(999) %}{% endfor %}{% endfor %}"
                              "{{ name }}"])
    first = _text(word.render(template, {"name": "Awa <Diallo>"}))
    compiled_once = len(compilations)
    second = _text(word.render(template, {"name": "Sophie & Renaud"}))
    assert compiled_once > 0 and len(compilations) == compiled_once  # the second document compiled nothing
    assert "Awa <Diallo>" in first and "Sophie & Renaud" in second  # escaped in the XML, read back as typed
