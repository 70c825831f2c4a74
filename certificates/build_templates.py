"""Builds the two certificate templates of this folder (docxtpl tags in a plain Word layout).

    .venv/bin/python certificates/build_templates.py

The .docx files are committed; this script is kept so that the layout can be rebuilt or
changed in one place. Administrators may instead edit the .docx in Word and upload it on
the templates page (it is test-rendered with sample data before it replaces the current one).

Every tag sits in a run of its own (python-docx writes one run per call), which docxtpl needs.
Variables come from training_app.services.certificates.certificate_context().
"""
import os

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Cm, Pt, RGBColor

HERE = os.path.dirname(os.path.abspath(__file__))
GREY = RGBColor(0x55, 0x55, 0x55)


def new_document() -> Document:
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(1.2), Cm(1.2)
    section.left_margin = section.right_margin = Cm(2.0)
    section.footer_distance = Cm(0.8)
    normal = document.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(9)
    normal.paragraph_format.space_after = Pt(2)
    return document


def write(p, text="", bold=False, size=None, align=None, color=None, italic=False, after=None):
    """Put `text` in paragraph `p` as one run (docxtpl needs a tag whole in one run), styled."""
    if text:
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        if color:
            run.font.color.rgb = color
    if align:
        p.alignment = align
    if after is not None:
        p.paragraph_format.space_after = Pt(after)
    return p


def paragraph(document, text="", **style):
    return write(document.add_paragraph(), text, **style)


def cell_text(cell, text, first=False, **style):
    """Write a paragraph in a table cell (its first, empty one when `first`)."""
    return write(cell.paragraphs[0] if first else cell.add_paragraph(), text, after=0, **style)


def organisation_header(document) -> None:
    """The organisation's identity on the left, its logo (when set) on the right."""
    table = document.add_table(rows=1, cols=2)
    set_widths(table, Cm(12.5), Cm(4.5))
    identity, logo = table.rows[0].cells
    cell_text(identity, "{{ organisation.name }}", bold=True, size=12, first=True)
    cell_text(identity, "{{ organisation.address_inline }}")
    cell_text(identity, "SIRET : {{ organisation.siret }} — Déclaration d'activité n° "
                        "{{ organisation.declaration_number }}")
    cell_text(identity, "(Cet enregistrement ne vaut pas agrément de l'État.)", size=7.5, color=GREY, italic=True)
    cell_text(logo, "{{ logo }}", first=True, align=WD_ALIGN_PARAGRAPH.RIGHT)


def keep_on_one_page(row) -> None:
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))


def signature_block(document, left: list[str], right: list[tuple[str, dict]]) -> None:
    """Place and date on the left; who signs, the signature and the stamp on the right."""
    paragraph(document, "", after=4)
    table = document.add_table(rows=1, cols=2)
    set_widths(table, Cm(7.0), Cm(10.0))
    keep_on_one_page(table.rows[0])
    place, signatory = table.rows[0].cells
    for index, text in enumerate(left):
        cell_text(place, text, first=index == 0)
    for index, (text, style) in enumerate(right):
        cell_text(signatory, text, first=index == 0, **style)


def title(document, text: str) -> None:
    paragraph(document, "", after=4)
    paragraph(document, text, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, after=2)
    paragraph(document, "N° {{ document.number }}{% if document.version > 1 %} — version {{ document.version }}, "
                        "qui remplace le n° {{ document.replaces }}{% endif %}", align=WD_ALIGN_PARAGRAPH.CENTER,
              color=GREY, after=10)


def set_widths(table, *widths) -> None:
    """Column widths that both Word (cell widths) and LibreOffice (the table grid) follow."""
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
        for cell in column.cells:
            cell.width = width


def verification_footer(document) -> None:
    """On every page: the QR code to the verification page, the number and the verification code."""
    footer = document.sections[0].footer
    footer.paragraphs[0].text = ""
    table = footer.add_table(rows=1, cols=2, width=Cm(17.0))
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    set_widths(table, Cm(2.6), Cm(14.4))
    qr_cell, text_cell = table.rows[0].cells
    qr_cell.paragraphs[0].add_run("{{ qr_code }}")
    first = text_cell.paragraphs[0]
    run = first.add_run("Document n° {{ document.number }} — code de vérification : ")
    run.font.size = Pt(8)
    code = first.add_run("{{ document.verification_code }}")
    code.bold = True
    code.font.size = Pt(9)
    second = text_cell.add_paragraph()
    run = second.add_run("Vérifiez l'authenticité de ce document sur {{ document.verify_url }} "
                         "ou en scannant le code ci-contre.")
    run.font.size = Pt(8)
    run.font.color.rgb = GREY


def build_attestation() -> Document:
    document = new_document()
    organisation_header(document)
    title(document, "ATTESTATION INDIVIDUELLE DE FIN DE FORMATION")
    paragraph(document, "Je soussigné·e {{ organisation.signatory_name }}, {{ organisation.signatory_role }} de "
                        "{{ organisation.name }}, atteste que la personne désignée ci-dessous a suivi "
                        "l'action suivante :", after=6)

    rows = [
        ("Stagiaire", "{{ trainee.formal_name }}"),
        ("Fonction", "{{ trainee.job_title }}"),
        ("Structure employeuse", "{{ employer.label }}"),
        ("Intitulé de la formation", "{{ course.title }}"),
        ("Nature de l'action", "{{ course.nature }}"),
        ("Dates", "Du {{ course.start_date }} au {{ course.end_date }}"),
        ("Lieu", "{{ course.place }}"),
        ("Modalité", "{{ course.modality }}"),
        ("Durée prévue", "{{ hours.planned }}"),
        ("Durée effectivement suivie", "{{ hours.attended }}"),
    ]
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    set_widths(table, Cm(5.0), Cm(12.0))
    for (label, value), row in zip(rows, table.rows):
        row.cells[0].paragraphs[0].add_run(label).bold = True
        row.cells[1].paragraphs[0].add_run(value)

    paragraph(document, "", after=2)
    paragraph(document, "Objectifs de la formation et résultats de l'évaluation des acquis", bold=True, size=11)
    results = document.add_table(rows=4, cols=2)
    results.style = "Table Grid"
    header = results.rows[0].cells
    header[0].paragraphs[0].add_run("Objectif").bold = True
    header[1].paragraphs[0].add_run("Résultat").bold = True
    results.rows[1].cells[0].paragraphs[0].add_run("{%tr for r in results %}")
    results.rows[2].cells[0].paragraphs[0].add_run("{{ r.objective }}")
    results.rows[2].cells[1].paragraphs[0].add_run("{{ r.result }}{% if r.comment %} — {{ r.comment }}{% endif %}")
    results.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}")
    set_widths(results, Cm(11.5), Cm(5.5))

    paragraph(document, "", after=2)
    paragraph(document, "Compétences professionnelles visées", bold=True, size=11)
    paragraph(document, "{%p for c in course.competencies %}")
    paragraph(document, "• {{ c }}", size=8.5, after=1)
    paragraph(document, "{%p endfor %}")

    signature_block(document, ["Fait à {{ organisation.city }}, le {{ document.issued_on }}"], [
        ("{{ organisation.signatory_name }}, {{ organisation.signatory_role }}", {"bold": True}),
        ("{{ signature }} {{ stamp }}", {}),
    ])
    verification_footer(document)
    return document


def build_realisation() -> Document:
    document = new_document()
    organisation_header(document)
    title(document, "CERTIFICAT DE RÉALISATION")
    paragraph(document, "Je soussigné·e {{ organisation.legal_representative }}, représentant·e légal·e du "
                        "dispensateur de l'action concourant au développement des compétences "
                        "{{ organisation.name }},", after=6)
    paragraph(document, "atteste que :", after=6)
    paragraph(document, "{{ trainee.formal_name }}, {{ employer.phrase }},", bold=True)
    paragraph(document, "a suivi l'action : {{ course.title }}", after=8)
    paragraph(document, "Nature de l'action concourant au développement des compétences :", after=4)
    for key, label in (("formation", "action de formation"), ("bilan", "bilan de compétences"),
                       ("vae", "action de validation des acquis de l'expérience"),
                       ("apprentissage", "action de formation par apprentissage")):
        p = paragraph(document, after=1)
        p.add_run("{{ boxes." + key + " }}").font.size = Pt(12)
        p.add_run("  " + label)
        p.paragraph_format.left_indent = Cm(0.8)
    paragraph(document, "", after=4)
    paragraph(document, "qui s'est déroulée du {{ course.start_date }} au {{ course.end_date }} "
                        "pour une durée de {{ hours.attended_words }}.", after=10)
    paragraph(document, "Sans préjudice des délais imposés par les règles fiscales, comptables ou commerciales, "
                        "je m'engage à conserver l'ensemble des pièces justificatives qui ont permis d'établir le "
                        "présent certificat pendant une durée de 3 ans à compter de la fin de l'année du dernier "
                        "paiement. En cas de cofinancement des fonds européens, la durée de conservation est "
                        "étendue conformément aux obligations conventionnelles spécifiques.", size=9, after=10)
    signature_block(document, ["Fait à : {{ organisation.city }}", "Le : {{ document.issued_on }}"], [
        ("Cachet et signature du responsable du dispensateur de formation", {"italic": True}),
        ("{{ organisation.legal_representative }}, {{ organisation.legal_representative_role }}", {"bold": True}),
        ("{{ stamp }} {{ signature }}", {}),
    ])
    verification_footer(document)
    return document


def main() -> None:
    build_attestation().save(os.path.join(HERE, "attestation_fin_formation.docx"))
    build_realisation().save(os.path.join(HERE, "certificat_realisation.docx"))
    print("attestation_fin_formation.docx et certificat_realisation.docx écrits dans", HERE)


if __name__ == "__main__":
    main()
