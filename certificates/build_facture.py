"""Builds certificates/facture.docx, the docxtpl template of the invoice sent with a funding claim.

Run it again after changing the layout here (`.venv/bin/python certificates/build_facture.py`),
or edit facture.docx in Word / LibreOffice directly: the {{ ... }} and {%tr ... %} tags are
what the application fills in (see training_app/documents/funding_claim.py for the data).
"""
import os

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

HERE = os.path.dirname(os.path.abspath(__file__))


def build(path: str) -> None:
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(10)

    document.add_paragraph("{{ organisation.name }}").runs[0].bold = True
    document.add_paragraph("{% for line in organisation.address_lines %}{{ line }}\n{% endfor %}"
                           "SIRET : {{ organisation.siret }}\n"
                           "Déclaration d'activité n° {{ organisation.declaration_number }}\n"
                           "{{ organisation.email }} {{ organisation.phone }}")

    recipient = document.add_paragraph("{{ funder.name }}\n{{ funder.address }}\n{{ funder.contact_name }}")
    recipient.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    title = document.add_heading("Facture n° {{ number }}", level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.LEFT
    document.add_paragraph("Date : {{ invoice_date }}")
    document.add_paragraph("Objet : frais de formation — {{ subject }}\n"
                           "{% for s in sessions %}{{ s.title }}, du {{ s.start }} au {{ s.end }}"
                           " ({{ s.planned_hours }} prévues), {{ s.place }}\n{% endfor %}")

    table = document.add_table(rows=4, cols=8)
    table.style = "Table Grid"
    headers = ["Stagiaire", "Structure employeuse", "N° de dossier", "Heures réalisées", "Taux horaire",
               "Frais pédagogiques", "Frais annexes", "Observations"]
    for cell, text in zip(table.rows[0].cells, headers + []):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    table.rows[1].cells[0].text = "{%tr for l in lines %}"
    values = ["{{ l.trainee_name }}", "{{ l.employer_name }}", "{{ l.file_number }}{{ l.mode_note }}",
              "{{ l.attended_hours }}",
              "{{ l.rate }}", "{{ l.pedagogical }}", "{{ l.annex }}", "{{ l.observations }}"]
    for cell, text in zip(table.rows[2].cells, values):
        cell.text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"

    # A claim mixing both modes lists the reimbursement lines for information: the employer pays us their
    # pedagogical costs, their annex costs are its own expenses, the funder reimburses the employer both; so they
    # are taken off what the funder is asked to pay (funding_claim.EMPLOYER_PAYS_LABEL, EMPLOYER_ANNEX_LABEL).
    # Each of these rows is printed only when it carries money (a reimbursement line without annex costs: no
    # "− 0,00 €" row).
    rows = [("Total des frais pédagogiques", "{{ totals.pedagogical }}"),
            ("Total des frais annexes", "{{ totals.annex }}"),
            ("Total hors taxes", "{{ totals.total }}"),
            ("{%tr if totals.employer_pays_cents %}", ""),
            ("Dont frais pédagogiques en remboursement de l'employeur (payés par l'employeur, non demandés au "
             "financeur)", "− {{ totals.employer_pays }}"),
            ("{%tr endif %}", ""),
            ("{%tr if totals.employer_annex_cents %}", ""),
            ("Dont frais annexes de l'employeur en remboursement (ses propres dépenses, non demandés au financeur)",
             "− {{ totals.employer_annex }}"),
            ("{%tr endif %}", ""),
            ("Net à payer", "{{ totals.due }}")]
    totals = document.add_table(rows=len(rows), cols=2)
    totals.style = "Table Grid"
    for row, (label, value) in zip(totals.rows, rows):
        row.cells[0].text, row.cells[1].text = label, value
    totals.rows[-1].cells[0].paragraphs[0].runs[0].bold = True
    totals.rows[-1].cells[1].paragraphs[0].runs[0].bold = True

    document.add_paragraph("{{ vat_mention }}")
    document.add_paragraph("{{ payment_mention }}")
    document.add_paragraph("Fait à {{ organisation.city }}, le {{ invoice_date }}\n"
                           "{{ organisation.signatory_name }}, {{ organisation.signatory_role }}")
    document.save(path)


if __name__ == "__main__":
    build(os.path.join(HERE, "facture.docx"))
    print("certificates/facture.docx écrit.")
