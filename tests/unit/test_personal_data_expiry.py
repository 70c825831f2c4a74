"""The end of the retention period (services/personal_data.expire_records, `flask purge-expired`): the records
kept by an erasure (attendance, signatures, certificates, funding) lose the person, and the annual report keeps
its figures."""
import io
import json
import re
from datetime import date, datetime

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage

from tests import factories
from tests.unit.test_personal_data import (ENGLISH_KEYS, _count, _course_with_everything, _details_of, _keys, _rows,
                                          _run)
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet, storage
from training_app.extensions import db
from training_app.models import (AttendanceRecord, AttendanceSheetVersion, AuditEntry, ClaimPayment,
                                 IssuedCertificate, LearningOutcome, Signature, Trainee)
from training_app.services import annual_report, attendance, enrolments, personal_data, registrations
from training_app.services import certificates as certificate_service
from training_app.services import funding as funding_service

EXPIRED = datetime(2025, 1, 15, 10, 0)  # more than six years after the course of December 2018
AWA_EMPLOYER = ("Association Les Tilleuls", "35600000000048")  # the employer of her course, corrected by the office


def _dump(*, but=()) -> str:
    """Every row of every table but the anonymous answers (not tied to anybody) and `but`, as text."""
    return json.dumps({name: rows for name, rows in _rows().items()
                       if name not in ("survey_answers", "survey_pending_answers", *but)},
                      default=str, ensure_ascii=False)


def _erased_on_request():
    """The December 2018 course (_course_with_everything) and, on top: Awa married and changed her name; an
    administrator corrected a closed sheet (she was absent, a certificate attached: her signature voided) and the
    employer of her course (AWA_EMPLOYER: her documents were issued again, the claim's figures name it); Julien
    came back for a 2024 session (his records are kept longer). Awa asked for her erasure in June 2019."""
    course, awa, julien, claim = _course_with_everything()
    admin = factories.make_user("admin", name="Alice Admin")
    later = factories.make_session(start=datetime(2024, 3, 5, 14, 0), end=datetime(2024, 3, 8, 12, 30),
                                   status="completed")
    factories.make_enrolment(later, julien.trainee)
    first = course.session.slots[0]
    with frozen_at(datetime(2018, 12, 20, 10, 0)):
        attendance.mark(first, awa, "absent_justified", actor=admin, justification="Hospitalisée (Awa Diallo)",
                        document=FileStorage(io.BytesIO(factories.signature_png()), filename="certificat.png"),
                        reason="Awa Diallo a signé par erreur sur la ligne de Julien")
        registrations.update_trainee(awa.trainee, _details_of(awa.trainee, last_name="Diallo-Sow"), actor=admin)
        enrolments.set_employer(awa, factories.make_employer(*AWA_EMPLOYER), actor=admin)
        certificate_service.issue_for_enrolment(awa, actor=admin, unrecorded_confirmed=True)
        funding_service.refresh(claim)
        db.session.commit()
    justification = db.session.scalar(db.select(AttendanceRecord.justification_path).where(
        AttendanceRecord.enrolment_id == awa.id, AttendanceRecord.justification_path != ""))
    with frozen_at(datetime(2019, 6, 1, 10, 0)):
        personal_data.erase(awa.trainee, "Demande de la personne", admin)
        db.session.commit()
    return course, awa, julien, claim, justification


def test_at_the_end_of_the_retention_period_the_kept_records_lose_the_person_and_the_report_its_nothing(app):
    course, awa, julien, claim, justification = _erased_on_request()
    awa_id, julien_id = awa.trainee_id, julien.trainee_id
    documents = {d.id: (d.number, d.verification_code, d.sha256, d.issued_at, d.attended_minutes, d.storage_path)
                 for d in db.session.scalars(db.select(IssuedCertificate).where(IssuedCertificate.enrolment_id == awa.id))}
    assert len(documents) == 4 and all(storage.exists(d[-1]) for d in documents.values()) and storage.exists(justification)
    assert {d.trainee_job_title for d in db.session.scalars(db.select(IssuedCertificate).where(
        IssuedCertificate.enrolment_id == awa.id, IssuedCertificate.kind == "attestation"))} == {"Assistante sociale"}
    assert {(d.employer_name, d.employer_siret) for d in certificate_service.current_documents(awa).values()} == {
        AWA_EMPLOYER}
    name, siret = AWA_EMPLOYER
    assert name in _dump() and siret in _dump(but=["employers"])  # the enrolment, documents, claim, audit trail
    report = annual_report.build(2018)
    kept = {m: _count(m) for m in (AttendanceRecord, Signature, IssuedCertificate, LearningOutcome,
                                   AttendanceSheetVersion)}
    assert "diallo" in _dump().lower()  # what an erasure keeps, until now
    with frozen_at(EXPIRED):
        plan = personal_data.purge_plan()
        # erased on request in 2019, she is not erased again, but her records expire
        assert [t.id for t in plan.trainees] == [] and [t.id for t in plan.expired] == [awa_id]
        output = _run(app)
    assert "1 stagiaire dont les pièces conservées" in output and "1 dont les pièces conservées sont rendues anonymes" in output
    db.session.expire_all()
    # Nothing names her any more: not the rows, the sheets' versions, the claim's figures or the audit trail.
    dump = _dump()
    assert "diallo" not in dump.lower() and "hospitalis" not in dump.lower()
    assert not re.search(r"\bawa\b", dump, re.IGNORECASE)
    # Nor the employer of her course (it stays among the employers, it may have other employees)
    assert name not in _dump(but=["employers"]) and siret not in _dump(but=["employers"])
    assert db.session.get(type(awa), awa.id).employer_id is None
    assert {(d.employer_name, d.employer_siret, d.trainee_civility, d.trainee_job_title) for d in db.session.scalars(
        db.select(IssuedCertificate).where(IssuedCertificate.enrolment_id == awa.id))} == {(None, None, None, None)}
    [corrected] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "employer_changed")).all()
    assert (corrected.reason, corrected.details) == ("[effacé]", {"from": None, "to": "[effacé]"})
    trainee = db.session.get(Trainee, awa_id)
    assert (trainee.first_name, trainee.last_name, trainee.civility, trainee.job_title, trainee.employer_id) == (
        "", "[effacé]", "", "", None)
    assert trainee.records_expired_at.date() == EXPIRED.date() and trainee.category == "employee"
    # The rows stay, with what the annual report counts: the same figures for 2018.
    assert {m: _count(m) for m in kept} == kept
    assert annual_report.build(2018) == report
    for signature in db.session.scalars(db.select(Signature).where(Signature.enrolment_id == awa.id)):
        assert (signature.image, signature.ip_address, signature.user_agent, signature.signer_name) == (
            b"", "", "", "[effacé]")
        assert signature.signed_at and signature.image_sha256
    # Her certificates keep their number, code, fingerprint and dates; their files are deleted, as the
    # justification's.
    for doc in db.session.scalars(db.select(IssuedCertificate).where(IssuedCertificate.enrolment_id == awa.id)):
        number, code, sha256, issued_at, minutes, path = documents[doc.id]
        assert (doc.number, doc.verification_code, doc.sha256, doc.issued_at, doc.attended_minutes) == (
            number, code, sha256, issued_at, minutes)
        assert doc.trainee_name == "[effacé]" and not storage.exists(path)
    assert not storage.exists(justification)
    [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "records_expired")).all()
    assert (entry.entity_id, entry.actor_label, entry.reason) == (awa_id, "flask purge-expired",
                                                                   "durée de conservation échue")
    # The documents made today no longer print her; Julien, whose retention runs from 2024, keeps everything.
    sheet = factories.docx_text(attendance_sheet.word_sheet(course.session))
    grid = json.dumps([[c.value for c in row] for ws in openpyxl.load_workbook(
        io.BytesIO(attendance_sheet.excel_grid(course.session))) for row in ws.iter_rows()], default=str)
    claim = db.session.get(type(claim), claim.id)
    with frozen_at(EXPIRED):
        funding_service.refresh(claim)
    book = json.dumps([[c.value for c in row] for ws in openpyxl.load_workbook(
        io.BytesIO(funding_service.workbook_bytes(claim))) for row in ws.iter_rows()], default=str)
    for text in (sheet, grid, book):
        assert "DIALLO" not in text.upper() and "LE BIHAN" in text.upper()
    julien = db.session.get(Trainee, julien_id)
    assert (julien.first_name, julien.records_expired_at, julien.erased_at) == ("Julien", None, None)
    assert all(s.image and s.signer_name == "Julien Le Bihan" for s in db.session.scalars(
        db.select(Signature).where(Signature.enrolment_id == course.enrolments[1].id)))
    # Her export says what is left; the next run has nothing more to do.
    data = personal_data.export(trainee)
    assert data["personne"]["pieces_conservees_anonymisees_le"] and "diallo" not in json.dumps(data).lower()
    assert data["inscriptions"][0]["emargement"][1]["signature"]["image"] == personal_data.SIGNATURE_IMAGE_EXPIRED
    [expired] = [e["details"] for e in data["historique_de_la_fiche"]
                 if e["action"] == "Pièces conservées rendues anonymes (durée de conservation échue)"]
    assert expired["rendus_anonymes"]["signatures"] == 6 and expired["rendus_anonymes"]["entrees_d_historique"] > 0
    assert not _keys(expired) & ENGLISH_KEYS
    with frozen_at(EXPIRED):
        plan = personal_data.purge_plan()
    assert plan.trainees == [] and plan.expired == []


def test_someone_never_erased_is_erased_then_expired_in_the_same_run(app):
    course, awa, julien, _claim = _course_with_everything()
    with frozen_at(EXPIRED):
        plan = personal_data.purge_plan()
        assert {t.id for t in plan.trainees} == {t.id for t in plan.expired} == {awa.trainee_id, julien.trainee_id}
        output = _run(app)
    assert "2 stagiaires effacé·es (dont 0 supprimé·e entièrement" in output
    assert "2 dont les pièces conservées sont rendues anonymes" in output
    db.session.expire_all()
    assert all(t.erased_at and t.records_expired_at for t in db.session.scalars(db.select(Trainee)))
    assert "diallo" not in _dump().lower() and "bihan" not in _dump().lower()


def test_the_retention_period_runs_from_the_last_payment_of_the_funding_when_later(app):
    _course, awa, julien, claim = _course_with_everything()
    claim.status, claim.sent_on, claim.number = "paid", date(2019, 1, 10), "2019-0001"
    db.session.add(ClaimPayment(claim=claim, received_on=date(2019, 3, 4), amount_cents=1000))
    db.session.add(ClaimPayment(claim=claim, received_on=date(2020, 3, 2), amount_cents=1000))
    db.session.commit()
    assert personal_data.retention_end(awa.trainee) == date(2026, 3, 2)
    with frozen_at(EXPIRED):  # six years after the session: contact details go, the funding evidence stays
        plan = personal_data.purge_plan()
        assert awa.trainee in plan.trainees and plan.expired == []
        _run(app)
    db.session.expire_all()
    trainee = db.session.get(Trainee, awa.trainee_id)
    assert trainee.erased_at and trainee.records_expired_at is None and trainee.last_name == "Diallo"
    with frozen_at(datetime(2026, 3, 2, 23, 0)):
        assert personal_data.purge_plan().expired == []
    with frozen_at(datetime(2026, 3, 3, 1, 0)):
        assert {t.id for t in personal_data.purge_plan().expired} == {awa.trainee_id, julien.trainee_id}
        _run(app)
    db.session.expire_all()
    assert db.session.get(Trainee, awa.trainee_id).records_expired_at is not None


def test_a_payment_cancelled_as_typed_by_mistake_does_not_lengthen_the_retention_period(app):
    _course, awa, _julien, claim = _course_with_everything()
    claim.status, claim.sent_on, claim.number = "paid", date(2019, 1, 10), "2019-0001"
    db.session.add(ClaimPayment(claim=claim, received_on=date(2019, 3, 4), amount_cents=1000))
    db.session.add(ClaimPayment(claim=claim, received_on=date(2020, 3, 2), amount_cents=1000,
                                cancelled_at=datetime(2020, 3, 5, 9), cancel_reason="Saisi sur la mauvaise demande"))
    db.session.commit()
    assert personal_data.retention_end(awa.trainee) == date(2025, 3, 4)


def test_a_failure_while_expiring_leaves_everything_and_every_file_as_it_was(app, monkeypatch):
    _course, awa, _julien, _claim, justification = _erased_on_request()
    paths = [d.storage_path for d in db.session.scalars(db.select(IssuedCertificate))]
    before = _rows()

    def broken(*args, **kwargs):
        raise RuntimeError("disque plein")
    monkeypatch.setattr(personal_data, "_expire_audit", broken)  # after the signatures, sheets and claims
    with frozen_at(EXPIRED), pytest.raises(RuntimeError):
        personal_data.purge(personal_data.purge_plan())
    db.session.rollback()
    assert _rows() == before
    assert all(storage.exists(p) for p in [*paths, justification])


def test_what_the_public_form_typed_beside_the_records_goes_at_the_end_of_the_retention_period(app):
    """A returning trainee's registration keeps in its history the job title and employer typed that the records
    did not hold (registrations._typed_unrecorded): they name the person's work like the record's own."""
    from training_app.services import audit
    _course, awa, _julien, _claim = _course_with_everything()
    audit.record(awa, "enrolled", actor_label="Awa Diallo (inscription publique)",
                 details={"typed": {"job_title": "Coordinatrice petite enfance", "employer_name": "Crèche Les Lutins",
                                    "employer_siret": "73282932000074"}})
    db.session.commit()
    with frozen_at(EXPIRED):
        _run(app)
    db.session.expire_all()
    (entry,) = [entry for entry in db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.entity_type == "enrolments", AuditEntry.entity_id == awa.id)) if "typed" in (entry.details or {})]
    assert entry.details["typed"] == dict.fromkeys(("job_title", "employer_name", "employer_siret"),
                                                   personal_data.ERASED_TEXT)
    assert "Lutins" not in _dump() and "petite enfance" not in _dump()


def test_the_reason_the_office_gave_for_closing_a_sheet_loses_the_names_of_the_person(trainer, admin):
    """A sheet closed by the office without the trainer's signature keeps the reason typed (the sheet and its
    Word document print it, its version and the audit trail keep it): a free text, which may name a trainee."""
    from tests.unit.test_attendance_office_closing import forgotten_sheet, next_morning
    from training_app.models import AttendanceSheet, Enrolment

    session, slot = forgotten_sheet(trainer)
    awa, julien = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == session.id)
                                     .order_by(Enrolment.id)).all()
    awa.trainee.first_name, awa.trainee.last_name = "Awa", "Diallo"
    julien.trainee.first_name, julien.trainee.last_name = "Julien", "Le Bihan"
    db.session.commit()
    with next_morning(slot):
        attendance.close_slot(slot, admin, reason="Awa Diallo et Julien Le Bihan ont signé, la formatrice est "
                                                  "partie sans signer ; DIALLO l'a signalé")
        db.session.commit()
    with frozen_at(datetime(2037, 3, 10, 10, 0)):
        personal_data.erase(awa.trainee, "Demande de la personne", admin)
        expiry = personal_data.expire_records(awa.trainee)
        db.session.commit()
    db.session.expire_all()
    expected = "[effacé] et Julien Le Bihan ont signé, la formatrice est partie sans signer ; [effacé] l'a signalé"
    sheet = db.session.scalar(db.select(AttendanceSheet).where(AttendanceSheet.slot_id == slot.id))
    assert sheet.office_closing_reason == expected and expiry.counts["closing_reasons"] == 1
    (version,) = attendance.versions(slot)
    assert (version.reason, version.snapshot["office_closing_reason"]) == (expected, expected)
    closed = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "closed"))
    assert closed.reason == expected
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert expected in text and "diallo" not in text.lower() and not re.search(r"\bawa\b", text, re.IGNORECASE)


def test_the_reason_of_a_reopening_that_names_a_trainee_is_nowhere_once_her_records_expire(trainer, admin,
                                                                                          admin_client):
    """A reopening voids the trainer's signature: the signature and every later version's snapshot say so with a
    fixed text, not with the reason typed (kept in the audit entry and the version, which lose the names)."""
    from datetime import timedelta

    from tests.unit.test_attendance_trainer_day import signed_and_closed

    session, slot, (awa, julien) = signed_and_closed(trainer)
    awa.trainee.first_name, awa.trainee.last_name = "Awa", "Diallo"
    db.session.commit()
    with frozen_at(slot.ends_at + timedelta(days=2)):
        attendance.reopen_slot(slot, admin, "Awa Diallo est partie à 11h (hospitalisation)")
        attendance.mark(slot, awa, "left_early", actor=admin, departure=factories.t("11:00"))
        attendance.close_slot(slot, admin, reason="Départ corrigé")
        db.session.commit()
    assert "diallo est partie" in _dump().lower()  # the audit entry and the version, until the end of the period
    with frozen_at(datetime(2037, 3, 10, 10, 0)):
        personal_data.erase(awa.trainee, "Demande de la personne", admin)
        personal_data.expire_records(awa.trainee)
        db.session.commit()
    db.session.expire_all()
    (voided,) = db.session.scalars(db.select(Signature).where(Signature.trainer_id.is_not(None)))
    assert voided.voided_reason == "Feuille rouverte (motif dans l'historique de la feuille)"
    assert [v.snapshot["trainers_voided"][0]["reason"] for v in attendance.versions(slot)[1:]] == [
        voided.voided_reason] * 2
    assert attendance.versions(slot)[1].reason == "[effacé] est partie à 11h (hospitalisation)"
    assert "diallo" not in _dump().lower()
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(datetime(2037, 3, 10, 11, 0)):
        pages = {"sheet": admin_client.get(url), "history": admin_client.get(f"{url}/historique"),
                 "overview": admin_client.get(f"/sessions/{session.id}/emargement")}
    for page, response in pages.items():
        assert response.status_code == 200 and "Diallo" not in response.get_data(as_text=True), page
    assert "diallo" not in factories.docx_text(attendance_sheet.word_sheet(session)).lower()


def _write_free_texts(course, julien, claim, text: str) -> None:
    """What the office and the trainers type about Awa's course, none of it a kept record: the session's notes and
    review, the agreement's and the claim's texts, a payment's note, a cancelled payment's reason, and about Julien: a comment on his result,
    his reason, a justification."""
    from tests import certificate_course
    from training_app.models import FundingAgreement, SessionReview
    course.session.notes = text
    review = db.session.scalar(db.select(SessionReview)) or SessionReview(session_id=course.session.id)
    review.text = text
    db.session.add(review)
    agreement = db.session.scalar(db.select(FundingAgreement))
    agreement.notes = agreement.refusal_reason = claim.rejection_reason = julien.status_reason = text
    payment = db.session.scalar(db.select(ClaimPayment).where(ClaimPayment.cancelled_at.is_(None))) or ClaimPayment(
        claim=claim, received_on=date(2018, 12, 30), amount_cents=1000)
    payment.note = text
    db.session.add(payment)
    mistake = db.session.scalar(db.select(ClaimPayment).where(ClaimPayment.cancelled_at.is_not(None))) or ClaimPayment(
        claim=claim, received_on=date(2018, 12, 31), amount_cents=500, cancelled_at=datetime(2019, 1, 2, 9))
    mistake.cancel_reason = text  # a payment typed by mistake, cancelled
    db.session.add(mistake)
    db.session.scalars(db.select(AttendanceRecord).where(AttendanceRecord.enrolment_id == julien.id)).first() \
        .justification = text
    db.session.commit()
    certificate_course.assess(course, julien, {1: ("acquired", text)})


def _free_texts(course, julien) -> list[str]:
    from training_app.models import Enrolment, FundingAgreement, FundingClaim, SessionReview, TrainingSession
    db.session.expire_all()
    julien = db.session.get(Enrolment, julien.id)
    agreement = db.session.scalar(db.select(FundingAgreement))
    return [db.session.get(TrainingSession, course.session.id).notes, db.session.scalar(db.select(SessionReview.text)),
            agreement.notes, agreement.refusal_reason, db.session.scalar(db.select(FundingClaim.rejection_reason)),
            db.session.scalar(db.select(ClaimPayment.note).where(ClaimPayment.cancelled_at.is_(None))),
            db.session.scalar(db.select(ClaimPayment.cancel_reason).where(ClaimPayment.cancelled_at.is_not(None))),
            julien.status_reason,
            db.session.scalar(db.select(LearningOutcome.comment).where(LearningOutcome.enrolment_id == julien.id)),
            db.session.scalars(db.select(AttendanceRecord.justification).where(
                AttendanceRecord.enrolment_id == julien.id)).first()]


def test_what_others_typed_about_her_sessions_loses_her_names_at_the_erasure_and_at_the_end(app):
    """Not kept records: her erasure takes her names out of them (her kept records keep them until they expire),
    and the end of the retention period out of those written since."""
    course, awa, julien, claim = _course_with_everything()
    factories.make_enrolment(factories.make_session(start=datetime(2024, 3, 5, 14, 0), end=datetime(2024, 3, 8, 12, 30),
                                                    status="completed"), julien.trainee)  # he stays
    _write_free_texts(course, julien, claim, "Awa Diallo et Julien en binôme")
    with frozen_at(datetime(2019, 6, 1, 10, 0)):
        erasure = personal_data.erase(awa.trainee, "Demande de la personne", None, actor_label="x")
        db.session.commit()
    assert _free_texts(course, julien) == ["[effacé] et Julien en binôme"] * 10
    assert erasure.removed["texts_naming_them"] == 10
    assert db.session.get(Trainee, awa.trainee_id).last_name == "Diallo"  # her kept records still name her
    _write_free_texts(course, julien, claim, "DIALLO  Awa absente le mardi")  # her full name, either way
    with frozen_at(EXPIRED):
        _run(app)
    assert _free_texts(course, julien) == ["[effacé] absente le mardi"] * 10
    assert "diallo" not in _dump().lower()


def test_at_the_end_of_the_period_another_trainee_s_name_stays_in_the_texts(app):
    """The texts only others' records hold lose her full names only; the sheets' texts and her own records her
    first and last names alone too, but not those of another trainee of her sessions (Julien Martin)."""
    from tests.unit.test_personal_data import _course_of_namesakes
    course, claire, _julien = _course_of_namesakes()
    with frozen_at(datetime(2019, 6, 1, 10, 0)):
        personal_data.erase(claire.trainee, "Demande de la personne", None, actor_label="x")
        db.session.commit()
    pattern = personal_data._names_pattern(claire.trainee, [claire.id], personal_data._others_names(
        claire.trainee, {course.session.id}))
    assert pattern.sub("[effacé]", "Salle claire ; M. Martin (Julien) ; MARTIN Claire") == \
        "Salle [effacé] ; M. Martin (Julien) ; [effacé]"
    course.session.notes = "Salle claire ; M. Martin (Julien) ; Claire Martin partie"
    db.session.commit()
    with frozen_at(EXPIRED):
        _run(app)
    db.session.expire_all()
    assert course.session.notes == "Salle claire ; M. Martin (Julien) ; [effacé] partie"
