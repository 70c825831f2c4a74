"""Builds feuille_emargement.docx, the docxtpl template of the attendance sheet.

The .docx is committed and can be edited in Word or LibreOffice directly (keep the {{ }} and
{% %} tags); this script only documents how it was made and rebuilds it from scratch:

    .venv/bin/python certificates/build_feuille_emargement.py

Context (see training_app/documents/attendance_sheet.py): organisation_*, title, dates, place,
modality, trainers, planned_hours, pages[] of six half-day columns (cols[], rows[] with name,
employer and cells[] {image, text}, trainers[] {image, text}), legend, printed_on, mode.
"""
import os

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

COLUMNS = 6
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "feuille_emargement.docx")


def _cell(cell, lines, bold_first=False, size=9, align=None):
    cell.text = ""
    for i, line in enumerate(lines):
        paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        if align is not None:
            paragraph.alignment = align
        run = paragraph.add_run(line)
        run.font.size = Pt(size)
        run.bold = bold_first and i == 0


def _repeat_as_header(row):
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def build(path: str = OUT) -> None:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(10))
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(10)

    def line(text, bold=False, size=10, align=None, after=0):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(after)
        if align is not None:
            paragraph.alignment = align
        run = paragraph.add_run(text)
        run.bold, run.font.size = bold, Pt(size)
        return paragraph

    line("{{ organisation_name }}", bold=True, size=11)
    line("{{ organisation_address }}", size=9)
    line("Numéro de déclaration d'activité : {{ declaration_number }} — SIRET : {{ siret }}", size=9, after=6)
    line("FEUILLE D'ÉMARGEMENT", bold=True, size=16, align=WD_ALIGN_PARAGRAPH.CENTER, after=6)
    line("Formation : {{ title }}", bold=True, size=11)
    line("Action de formation du {{ start }} au {{ end }} — durée prévue : {{ planned_hours }}", size=10)
    line("Lieu : {{ place }} — modalité : {{ modality }}", size=10)
    line("Formateur·rices : {{ trainers }}", size=10, after=6)

    line("{%p for page in pages %}")
    line("{{ page.label }}", size=9, after=2)
    table = document.add_table(rows=5, cols=COLUMNS + 1)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = [Mm(67)] + [Mm(35)] * COLUMNS
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    header, loop_start, body, loop_end, trainer = table.rows
    _repeat_as_header(header)
    _cell(header.cells[0], ["Stagiaire", "(nom, structure employeuse)"], bold_first=True)
    for i in range(COLUMNS):
        _cell(header.cells[i + 1], [f"{{{{ page.cols[{i}].date }}}}", f"{{{{ page.cols[{i}].period }}}}",
                                    f"{{{{ page.cols[{i}].times }}}}"], bold_first=True, size=8,
              align=WD_ALIGN_PARAGRAPH.CENTER)
    _cell(loop_start.cells[0], ["{%tr for row in page.rows %}"])
    _cell(body.cells[0], ["{{ row.name }}", "{{ row.employer }}"], bold_first=True)
    for i in range(COLUMNS):
        _cell(body.cells[i + 1], [f"{{{{ row.cells[{i}].image }}}}", f"{{{{ row.cells[{i}].text }}}}"], size=7,
              align=WD_ALIGN_PARAGRAPH.CENTER)
    body.height, body.height_rule = Mm(15), WD_ROW_HEIGHT_RULE.AT_LEAST
    _cell(loop_end.cells[0], ["{%tr endfor %}"])
    _cell(trainer.cells[0], ["Signature du / de la formateur·rice", "{{ trainers }}"], bold_first=True)
    for i in range(COLUMNS):
        _cell(trainer.cells[i + 1], [f"{{{{ page.trainers[{i}].image }}}}", f"{{{{ page.trainers[{i}].text }}}}"],
              size=7, align=WD_ALIGN_PARAGRAPH.CENTER)
    trainer.height, trainer.height_rule = Mm(18), WD_ROW_HEIGHT_RULE.AT_LEAST
    line("{%p if not loop.last %}")
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    line("{%p endif %}")
    line("{%p endfor %}")

    line("{{ legend }}", size=8)
    line("{{ mode }} — édité le {{ printed_on }}.", size=8)
    document.save(path)


if __name__ == "__main__":
    build()
    print(f"written {OUT}")
