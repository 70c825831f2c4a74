"""Builds certificates/convocation.docx, the docxtpl template of the convocation.

The .docx is committed and can be edited in Word or LibreOffice: keep the {{ ... }}
fields and the {%p ... %} / {%tr ... %} lines (they repeat a paragraph or a table row).
Run this script only to start again from scratch:

    .venv/bin/python certificates/build_convocation.py

Fields: organisation (name, address, declaration_number, email, phone), trainee_name,
employer, title, objectives (list), start, end, days (list of {date, times, hours}),
total_hours, place, access_info, modality, trainers, contact_person, disability_contact,
what_to_bring, absence_procedure, personal_link, issued_place, issued_on.
"""
import os

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

HERE = os.path.dirname(os.path.abspath(__file__))


def heading(document, text):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold = True
    run.font.size = Pt(12)
    paragraph.paragraph_format.space_before = Pt(10)
    return paragraph


def labelled(document, label, value):
    paragraph = document.add_paragraph()
    paragraph.add_run(label).bold = True
    paragraph.add_run(value)
    return paragraph


def build(path=None):
    path = path or os.path.join(HERE, "convocation.docx")
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10.5)

    header = document.add_paragraph()
    header.add_run("{{ organisation.name }}").bold = True
    document.add_paragraph("{{ organisation.address }}")
    document.add_paragraph("Déclaration d'activité n° {{ organisation.declaration_number }}"
                           "{% if organisation.email %} — {{ organisation.email }}{% endif %}"
                           "{% if organisation.phone %} — {{ organisation.phone }}{% endif %}")

    recipient = document.add_paragraph()
    recipient.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    recipient.add_run("{{ trainee_name }}").bold = True
    employer = document.add_paragraph("{{ employer }}")
    employer.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("CONVOCATION À LA FORMATION")
    run.bold = True
    run.font.size = Pt(16)
    subtitle = document.add_paragraph()
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = subtitle.add_run("« {{ title }} »")
    run.bold = True
    run.font.size = Pt(13)

    document.add_paragraph("Bonjour {{ trainee_name }},")
    document.add_paragraph("Nous avons le plaisir de vous confirmer votre inscription à la formation "
                           "« {{ title }} », du {{ start }} au {{ end }} ({{ total_hours }}). "
                           "Voici les informations utiles pour y participer.")

    heading(document, "Objectifs de la formation")
    document.add_paragraph("{%p for objective in objectives %}")
    document.add_paragraph("{{ objective }}", style="List Bullet")
    document.add_paragraph("{%p endfor %}")

    heading(document, "Dates et horaires, jour par jour")
    table = document.add_table(rows=4, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("Date", "Horaires", "Durée")):
        cell.paragraphs[0].add_run(text).bold = True
    table.rows[1].cells[0].text = "{%tr for day in days %}"
    table.rows[2].cells[0].text = "{{ day.date }}"
    table.rows[2].cells[1].text = "{{ day.times }}"
    table.rows[2].cells[2].text = "{{ day.hours }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"

    heading(document, "Lieu et accès")
    labelled(document, "Lieu : ", "{{ place }}")
    labelled(document, "Modalité : ", "{{ modality }}")
    labelled(document, "Accès : ", "{{ access_info }}")

    heading(document, "Encadrement et contacts")
    labelled(document, "Formateur·rices : ", "{{ trainers }}")
    labelled(document, "Personne à contacter : ", "{{ contact_person }}")
    labelled(document, "Accessibilité, handicap : ", "{{ disability_contact }}")

    heading(document, "À apporter")
    document.add_paragraph("{{ what_to_bring }}")

    heading(document, "En cas d'absence ou de retard")
    document.add_paragraph("{{ absence_procedure }}")

    heading(document, "Votre espace personnel")
    document.add_paragraph("Pour signer vos présences, répondre aux questionnaires et retrouver vos documents, "
                           "ouvrez ce lien personnel (ne le partagez pas) :")
    document.add_paragraph("{{ personal_link }}")

    closing = document.add_paragraph("Fait à {{ issued_place }}, le {{ issued_on }}.")
    closing.paragraph_format.space_before = Pt(12)
    document.add_paragraph("L'équipe de {{ organisation.name }}")
    document.save(path)
    return path


if __name__ == "__main__":
    print(build())
