"""The claim's pre-flight check and the certificats de réalisation, on real attendance and certificates:
a certificate made outdated by a corrected sheet stops the claim until reissued; a covered trainee who
attended nothing needs none."""
import io
import zipfile
from datetime import date, datetime, time

import pytest

from tests import certificate_course as cc
from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import ClaimStatus
from training_app.services import ServiceError, attendance, certificates, funding, funding_sources


def funded_course(no_show=()):
    """The completed 21-hour course of Awa and Julien, both covered by Uniformation at 15 €/h."""
    course = cc.completed_course(trainees=("Awa Diallo", "Julien Le Bihan"), no_show=no_show)
    funder = factories.make_funder("Uniformation")
    for enrolment in course.enrolments:  # both employees of the CCAS when they enrolled
        enrolment.trainee.employer = enrolment.employer = course.employer
    course.employer.funder = funder
    db.session.commit()
    factories.make_agreement(course.session, course.enrolments, funder=funder, hourly_rate_cents=1500)
    with frozen_at(datetime(2018, 12, 17, 10)):
        certificates.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    course.funder = funder
    return course


def new_claim(course):
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim = funding.create_claim(course.funder, session=course.session)
    db.session.commit()
    return claim


def test_certificate_outdated_by_a_corrected_sheet_stops_the_claim_until_reissued():
    course = funded_course()
    julien = course.enrolments[1]
    # After issuing, a closed sheet is corrected: Julien left at 14:30 on Wednesday (3 h 30 missed).
    attendance.mark(cc.slot_named(course.session, cc.WEDNESDAY_AFTERNOON), julien, "left_early",
                    actor=factories.make_user("admin"), departure=time(14, 30), reason="Parti à 14h30")
    db.session.commit()
    claim = new_claim(course)
    assert [p.message for p in funding.preflight(claim)] == [
        "Certificat de réalisation à réémettre, il ne correspond plus à ce qui est enregistré : Julien Le Bihan "
        "(heures suivies)."]
    with frozen_at(datetime(2019, 1, 10, 10)), pytest.raises(ServiceError, match="ne peut pas partir"):
        funding.send(claim, date(2019, 1, 10))
    db.session.rollback()

    with frozen_at(datetime(2019, 1, 9, 10)):
        certificates.issue_for_enrolment(julien, unrecorded_confirmed=True)
    db.session.commit()
    assert funding.preflight(claim) == []
    with frozen_at(datetime(2019, 1, 10, 10)):
        funding.send(claim, date(2019, 1, 10))
    db.session.commit()
    bundle = zipfile.ZipFile(io.BytesIO(funding.bundle_bytes(claim)))
    julien_certificate = next(n for n in bundle.namelist() if "certificat" in n and "Le-Bihan" in n)
    assert "pour une durée de 17,5 heures" in factories.docx_text(bundle.read(julien_certificate))


def test_covered_trainee_who_attended_nothing_needs_no_certificate():
    course = funded_course(no_show=(1,))
    julien = course.enrolments[1]
    assert julien.id not in certificates.current_documents_for_session(course.session)
    claim = new_claim(course)
    line = next(line for line in claim.snapshot["lines"] if line["enrolment_id"] == julien.id)
    assert line["attended_minutes"] == 0 and line["total_cents"] == 0
    assert funding.preflight(claim) == []
    with frozen_at(datetime(2019, 1, 10, 10)):
        funding.send(claim, date(2019, 1, 10))
    assert claim.status == ClaimStatus.SENT


def _workbook_hours(content: bytes) -> dict[str, float]:
    import openpyxl
    sheet = openpyxl.load_workbook(io.BytesIO(content))["Stagiaires"]
    col = {cell.value: cell.column_letter for cell in sheet[1]}
    return {sheet[f"{col['Stagiaire']}{r}"].value: sheet[f"{col['Heures réalisées']}{r}"].value
            for r in range(2, sheet.max_row + 1) if sheet[f"{col['Stagiaire']}{r}"].value}


def _left_early(course, enrolment, departure):
    """A closed sheet corrected after the claim was made, the certificates issued again."""
    attendance.mark(cc.slot_named(course.session, cc.WEDNESDAY_AFTERNOON), enrolment, "left_early",
                    actor=factories.make_user("admin"), departure=departure, reason="Correction de la feuille")
    with frozen_at(datetime(2019, 1, 9, 10)):
        certificates.issue_for_enrolment(enrolment, unrecorded_confirmed=True)
    db.session.commit()


def test_a_draft_shows_and_its_files_state_todays_figures(app, admin_client, tmp_path):
    """A sheet corrected after the claim was made: the draft's page, its dossier and the exported workbook
    state the hours the sheets state now (sending would recalculate them anyway)."""
    course = funded_course()
    awa, julien = course.enrolments
    claim = new_claim(course)
    assert claim.total_cents == (21 + 21) * 1500
    db.session.expire_all()
    assert funding.bring_up_to_date(claim) is False  # nothing changed: nothing written

    _left_early(course, julien, time(14, 30))  # 3 h 30 missed
    bundle = zipfile.ZipFile(io.BytesIO(admin_client.get(f"/financement/demandes/{claim.id}/dossier.zip").data))
    assert _workbook_hours(bundle.read(f"demande-brouillon-{claim.id}.xlsx"))[julien.trainee.formal_name] == 17.5
    assert "577,50\u202f€" in factories.docx_text(bundle.read(f"facture-brouillon-{claim.id}.docx"))
    db.session.expire_all()
    assert claim.total_cents == (21 + 17.5) * 1500

    _left_early(course, julien, time(15, 30))  # 2 h 30 missed
    out = tmp_path / "claim.xlsx"
    result = app.test_cli_runner().invoke(args=["funding", "export", str(claim.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _workbook_hours(out.read_bytes())[julien.trainee.formal_name] == 18.5

    _left_early(course, awa, time(16, 30))  # 1 h 30 missed
    page = admin_client.get(f"/financement/demandes/{claim.id}").get_data(as_text=True)
    assert "Le dossier est complet et cohérent" in page
    db.session.expire_all()
    assert claim.total_cents == (19.5 + 18.5) * 1500
    assert [line["attended_minutes"] for line in claim.snapshot["lines"]] == [19.5 * 60, 18.5 * 60]
    workbook = admin_client.get(f"/financement/demandes/{claim.id}/classeur.xlsx").data
    assert _workbook_hours(workbook) == {awa.trainee.formal_name: 19.5, julien.trainee.formal_name: 18.5}


def test_a_trainee_corrected_to_no_attendance_keeps_no_certificate_in_the_dossier():
    """Julien's sheets corrected after issuing (he signed on the wrong line): 0 h. His certificate stating 21 h
    stops the claim until issued again (which withdraws it), and never goes into the dossier."""
    course = funded_course()
    julien = course.enrolments[1]
    admin = factories.make_user("admin")
    for slot in course.session.slots:
        attendance.mark(slot, julien, "absent_unjustified", actor=admin, reason="Signé sur la mauvaise ligne")
    db.session.commit()
    claim = new_claim(course)
    assert [p.message for p in funding.preflight(claim)] == [
        "Certificat de réalisation à réémettre, il ne correspond plus à ce qui est enregistré : Julien Le Bihan "
        "(heures suivies)."]
    draft = zipfile.ZipFile(io.BytesIO(funding.bundle_bytes(claim)))
    assert not [name for name in draft.namelist() if "Le-Bihan" in name]
    with frozen_at(datetime(2019, 1, 10, 10)), pytest.raises(ServiceError, match="ne peut pas partir"):
        funding.send(claim, date(2019, 1, 10))
    db.session.rollback()

    with frozen_at(datetime(2019, 1, 9, 10)):
        assert certificates.issue_for_enrolment(julien) == []  # withdrawn
    db.session.commit()
    assert funding.preflight(claim) == []
    with frozen_at(datetime(2019, 1, 10, 10)):
        funding.send(claim, date(2019, 1, 10))
    db.session.commit()
    assert funding.changes_since_sent(claim) == []
    sent = zipfile.ZipFile(io.BytesIO(funding.bundle_bytes(claim)))
    assert [name for name in sent.namelist() if "certificat" in name and "Diallo" in name]
    assert not [name for name in sent.namelist() if "Le-Bihan" in name]


def test_the_claim_says_why_each_certificate_is_to_reissue():
    """Julien's certificate names another employer and another civility than his records now; Awa's another name:
    the claim's check names each trainee with what changed."""
    course = funded_course()
    awa, julien = course.enrolments
    julien.employer = factories.make_employer("Mairie de Brest", siret="21290019700006", funder=course.funder)
    julien.trainee.civility = "Mme"
    awa.trainee.last_name = "Diallo-Sow"
    db.session.commit()
    claim = new_claim(course)
    outdated = funding_sources.outdated_certificates(course.session)
    assert outdated == {awa.id: ["nom"], julien.id: ["structure employeuse", "civilité"]}
    assert [p.message for p in funding.preflight(claim)] == [
        "Certificat de réalisation à réémettre, il ne correspond plus à ce qui est enregistré : Awa Diallo-Sow (nom), "
        "Julien Le Bihan (structure employeuse, civilité)."]
