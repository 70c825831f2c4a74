"""A trainee's personal data (services/personal_data.py): export, erasure on request, retention."""
import io
import json
from datetime import datetime, timedelta

import openpyxl
import pytest
from click.testing import CliRunner

from tests import certificate_course, factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet, storage
from training_app.extensions import db
from training_app.models import (AgreementTrainee, AttendanceRecord, AuditEntry, ConvocationSending, Enrolment,
                                 IssuedCertificate, LearningOutcome, OutgoingMail, Signature, SurveyAnswer,
                                 SurveyParticipation, SurveyPendingAnswers, SurveyResponse, Trainee)
from training_app.services import ServiceError, audit, mail, personal_data, trainee_links
from training_app.services import certificates as certificate_service
from training_app.services import funding as funding_service
from training_app.services import registrations
from training_app.services.registrations import PersonDetails
from training_app.services.surveys import QuestionData

SURVEY_OPENS, SURVEY_CLOSES = datetime(2018, 12, 14, 9, 30), datetime(2018, 12, 28, 18, 0)


def _count(model, **where) -> int:
    query = db.select(db.func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def _course_with_everything():
    """The completed December 2018 course: Awa (no employer) and Julien signed every half-day; Awa has a
    result per objective, both documents issued, a funding line, a named and an anonymous answer, a convocation
    and e-mails. Returns (course, awa's enrolment, julien's enrolment, claim)."""
    course = certificate_course.completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    awa.trainee.phone = "06 11 22 33 44"
    db.session.commit()
    certificate_course.assess(course, awa, {1: ("acquired", "Très bien"), 2: ("partly_acquired", "À consolider")})
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    funder = factories.make_funder("Uniformation")
    factories.make_agreement(course.session, [awa, julien], funder=funder, file_number="UNI-2018-42",
                             travel_agreed_cents=3000, travel_actual_cents=2500)
    claim = factories.make_claim(funder, course.session)
    named = factories.make_survey(course.session, factories.make_questionnaire(
        [QuestionData("rating", "Votre note ?"), QuestionData("free_text", "Un mot ?", required=False)],
        anonymous=False, title="Bilan nominatif"), SURVEY_OPENS, SURVEY_CLOSES)
    anonymous = factories.make_survey(course.session, factories.make_questionnaire(
        [QuestionData("free_text", "Secret ?", required=False)], anonymous=True, title="Bilan anonyme"),
        SURVEY_OPENS, SURVEY_CLOSES)
    factories.answer_survey(named, awa.trainee, {1: 4, 2: "Merci pour tout"})
    factories.answer_survey(named, julien.trainee, {1: 5, 2: "Parfait, Julien"})
    factories.answer_survey(anonymous, awa.trainee, {1: "réponse anonyme d'Awa"})
    factories.make_convocation_sending(awa)
    audit.record(awa, "confirmed", actor_label="Claire Bernard", from_state="requested", to_state="confirmed")
    mail.queue(awa.trainee.email, "Votre convocation", "Bonjour Awa, votre lien : http://exemple/moi/SECRET")
    mail.queue(julien.trainee.email, "Votre convocation", "Bonjour Julien")
    db.session.commit()
    return course, awa, julien, claim


# The English keys the audit entries' details and the annex costs are stored with: the export names them in French.
ENGLISH_KEYS = {
    "by", "session_cancelled", "withdrawn_on", "to_enrolment_id", "to_session_id", "from_enrolment_id",
    "from_session_id", "from", "to", "before", "after", "typed", "employer_name", "employer_siret", "enrolment_id",
    "trainee", "slot", "method", "signed_at", "image_sha256", "status", "minutes", "arrival", "departure",
    "justification_file", "justification_kind", "changes", "civility", "first_name", "last_name", "email", "phone",
    "job_title", "category", "employer", "link_version", "deleted", "kept", "removed", "counts", "enrolments",
    "attendance_records", "certificates", "funding_lines", "named_answers", "mails", "registration_requests",
    "texts_naming_them", "survey_participations", "outcome_comments", "learning_outcomes", "sheet_versions",
    "closing_reasons", "claims", "texts", "shared_files", "audit_entries", "travel", "accommodation", "meals",
}


def _keys(data) -> set[str]:
    """Every key of the export, at any depth."""
    if isinstance(data, dict):
        return set(data) | {k for item in data.values() for k in _keys(item)}
    if isinstance(data, list):
        return {k for item in data for k in _keys(item)}
    return set()


def _dump(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


# --- export ------------------------------------------------------------------------------------------------

def test_the_export_holds_every_kind_of_data_of_the_person_and_nothing_of_another():
    course, awa, julien, _claim = _course_with_everything()
    data = personal_data.export(awa.trainee)
    json.dumps(data, ensure_ascii=False)  # plain data: it is written as JSON as it is
    person = data["personne"]
    assert (person["prenom"], person["nom"], person["adresse_email"], person["telephone"], person["fonction"]) == (
        "Awa", "Diallo", awa.trainee.email, "06 11 22 33 44", "Assistante sociale")
    assert data["structure_employeuse"] is None  # Awa pays for herself in the course
    [enrolment] = data["inscriptions"]
    assert enrolment["etat"] == "Confirmée" and enrolment["session"]["titre"] == course.session.title
    assert enrolment["en_liste_d_attente_le"] is None  # every stored date of the enrolment, this one never set
    [entry] = enrolment["historique"]
    assert (entry["par"], entry["action"], entry["etat_precedent"], entry["nouvel_etat"]) == (
        "Claire Bernard", "Confirmation", "Demandée", "Confirmée")
    assert len(enrolment["emargement"]) == 6
    first = enrolment["emargement"][0]
    assert first["statut"] == "Présent·e" and first["minutes_suivies"] == 240
    signature = first["signature"]
    assert signature["methode"] == "sur l'appareil du / de la formateur·rice"
    assert signature["image"] == "image de signature conservée" and "adresse_ip" in signature
    assert "appareil" in signature and signature["signee_le"].startswith("2018-12-11T")
    # The sheets' audit trail of her own signatures (not the sheets' closing, not Julien's).
    history = enrolment["historique_emargement"]
    assert [e["action"] for e in history] == ["Signature"] * 6
    assert {e["details"]["stagiaire"] for e in history} == {"Awa Diallo"}
    assert [e["details"]["methode"] for e in history] == ["sur l'appareil du / de la formateur·rice"] * 6
    assert [(o["objectif"], o["resultat"], o["commentaire"]) for o in enrolment["acquis"]] == [
        (certificate_course.OBJECTIVES[0], "Acquis", "Très bien"),
        (certificate_course.OBJECTIVES[1], "Partiellement acquis", "À consolider")]
    documents = {d["type"]: d for d in enrolment["attestations"]}
    issued = certificate_service.current_documents(awa)
    assert set(documents) == {"Attestation individuelle de fin de formation", "Certificat de réalisation"}
    assert documents["Certificat de réalisation"]["numero"] == issued["realisation"].number
    assert documents["Certificat de réalisation"]["code_de_verification"] == issued["realisation"].verification_code
    [line] = enrolment["financements"]
    assert (line["financeur"], line["numero_de_dossier"], line["frais_annexes_centimes"]["transport"]) == (
        "Uniformation", "UNI-2018-42", {"accordes": 3000, "reels": 2500})
    [sending] = enrolment["convocations"]
    assert sending["a"] == awa.trainee.email
    surveys = {s["questionnaire"]: s for s in data["questionnaires"]}
    assert surveys["Bilan nominatif"]["reponses"] == [{"question": "Votre note ?", "reponse": 4},
                                                     {"question": "Un mot ?", "reponse": "Merci pour tout"}]
    assert surveys["Bilan anonyme"]["anonyme"] is True
    assert "sans lien avec vous" in surveys["Bilan anonyme"]["reponses"]
    assert [m["objet"] for m in data["courriels"]] == ["Votre convocation"]
    text = _dump(data)
    assert "réponse anonyme d'Awa" not in text  # anonymous answers are not tied to her
    assert "SECRET" not in text and "http" not in text  # never the bodies (their personal links)
    # Nothing of Julien.
    assert "Julien" not in text and "Bihan" not in text and julien.trainee.email not in text
    assert "Parfait" not in text


def test_the_export_gives_french_words_in_those_of_the_pages_not_the_stored_codes():
    """A French person reads their export: the actions, states, statuses, signing methods, who cancelled and the
    funding they indicated are in the words the pages use (not "enrolled", "opco", "absent_justified", "qr")."""
    from training_app.models import AttendanceSheet
    course, awa, _julien, _claim = _course_with_everything()
    awa.funding_mode = "opco"
    sheet = db.session.scalar(db.select(AttendanceSheet).where(AttendanceSheet.slot_id == course.session.slots[0].id))
    audit.record(sheet, "marked", actor_label="Claire Bernard", details={
        "enrolment_id": awa.id, "trainee": "Awa Diallo", "before": {"status": "present", "minutes": 240},
        "after": {"status": "absent_justified", "minutes": 0}})
    audit.record(sheet, "signed", actor_label="Awa Diallo (stagiaire)", details={"enrolment_id": awa.id, "method": "qr"})
    audit.record(awa, "enrolled", actor_label="Claire Bernard", to_state="requested")
    audit.record(awa, "cancelled", actor_label="Awa Diallo", from_state="confirmed", to_state="cancelled",
                 reason="Empêchement", details={"by": "trainee"})
    audit.record(awa, "funding_mode_changed", actor_label="Claire Bernard", details={"from": "", "to": "opco"})
    audit.record(awa.trainee, "details_changed", details={"changes": {"phone": ["06 00 00 00 00", "06 11 22 33 44"]}})
    db.session.commit()
    data = personal_data.export(awa.trainee)
    [enrolment] = data["inscriptions"]
    assert enrolment["financement_indique"] == "Par l'employeur, avec une prise en charge de son OPCO (ex. Uniformation)"
    rows = [(e["action"], e["etat_precedent"], e["nouvel_etat"], e["details"]) for e in enrolment["historique"]]
    assert rows[1:] == [("Inscription", None, "Demandée", None),
                        ("Annulation", "Confirmée", "Annulée", {"par": "la personne elle-même"}),
                        ("Financement indiqué", None, None, {"avant": "non indiqué", "apres": (
                            "Par l'employeur, avec une prise en charge de son OPCO (ex. Uniformation)")})]
    marked, signed = enrolment["historique_emargement"][-2:]
    assert marked["action"] == "Statut noté"
    assert marked["details"]["avant"] == {"statut": "Présent·e", "minutes_suivies": 240}
    assert marked["details"]["apres"]["statut"] == "Absent·e, absence justifiée"
    assert (signed["action"], signed["details"]["methode"]) == ("Signature", "par le QR code de la salle")
    assert [e["action"] for e in data["historique_de_la_fiche"]] == ["Coordonnées modifiées"]
    codes = {"enrolled", "requested", "confirmed", "cancelled", "marked", "signed", "present", "absent_justified",
             "qr", "device", "trainee", "opco", "personal", "details_changed", "funding_mode_changed"}
    assert not codes & set(_values(data))


def _values(data):
    """Every value of the export (not its keys), at any depth."""
    if isinstance(data, dict):
        for item in data.values():
            yield from _values(item)
    elif isinstance(data, list):
        for item in data:
            yield from _values(item)
    else:
        yield data


def test_every_table_pointing_at_a_trainee_or_an_enrolment_is_covered():
    """A new table with a trainee_id or enrolment_id must be added to the export and the erasure
    (personal_data.PERSON_TABLES), or this fails."""
    pointing = set()
    for table in db.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name in ("trainees", "enrolments"):
                pointing.add(table.name)
    assert pointing | {"enrolments"} == set(personal_data.PERSON_TABLES)


# --- erasure -----------------------------------------------------------------------------------------------

def _rows() -> dict:
    with db.engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
                for table in db.metadata.sorted_tables}


def test_erasure_is_refused_while_an_upcoming_enrolment_is_live(outbox):
    trainee = factories.make_trainee("Awa", "Diallo", phone="06 00 00 00 00")
    factories.enrol(factories.make_session(start=datetime(2030, 3, 5, 14, 0)), trainee)  # waiting for it
    admin = factories.make_user("admin")
    before = _rows()
    with frozen_at(datetime(2029, 6, 1, 10, 0)):
        with pytest.raises(ServiceError) as refused:
            personal_data.erase(trainee, "Demande de la personne", admin)
    db.session.rollback()
    assert "inscription en cours" in refused.value.message and "annulez-la d'abord" in refused.value.message
    assert _rows() == before


def test_a_reason_is_required():
    trainee = factories.make_trainee()
    with pytest.raises(ServiceError) as refused:
        personal_data.erase(trainee, "  ", None)
    assert refused.value.field == "reason" and "motif" in refused.value.message


def test_a_person_without_kept_records_is_deleted_entirely(outbox):
    admin = factories.make_user("admin", name="Alice Admin")
    other = factories.make_trainee("Julien", "Martin")
    session = factories.make_session(start=datetime(2030, 3, 5, 14, 0))
    kept = factories.enrol(session, other)
    trainee = factories.make_trainee("Awa", "Diallo", email="awa@exemple.org")
    enrolment = factories.enrol(session, trainee)
    from training_app.services import enrolments
    enrolments.cancel(enrolment, "Ne peut pas venir")  # she is told by e-mail
    mail.queue("awa@exemple.org", "Votre inscription", "Bonjour")  # to her address, before she changed it
    registrations.update_trainee(trainee, PersonDetails(
        civility="Mme", first_name="Awa", last_name="Diallo", email="awa.diallo@exemple.org", phone="",
        job_title="", category="employee", employer_name="", employer_siret=""), actor=admin)
    factories.make_convocation_sending(enrolment)
    old_link = factories.personal_path(trainee).rsplit("/", 1)[1]
    mail.queue("formation@example.org", "Inscription : Awa Diallo", "awa@exemple.org",
               tag=f"office:enrolment:{enrolment.id}")  # the office told of her registration
    to_julien = mail.queue(other.email, "Votre inscription", "Bonjour")
    db.session.commit()
    trainee_id, enrolment_id = trainee.id, enrolment.id
    assert _count(OutgoingMail) == 5 and _count(Enrolment) == 2 and _count(ConvocationSending) == 1
    mails_to_others = [to_julien.record_id]
    with frozen_at(datetime(2029, 6, 1, 10, 0)):
        erasure = personal_data.erase(trainee, "Demande de la personne du 1er juin", admin)
    db.session.commit()
    assert erasure.deleted
    assert db.session.get(Trainee, trainee_id) is None and db.session.get(Enrolment, enrolment_id) is None
    assert _count(Enrolment) == 1 and _count(Trainee) == 1 and _count(ConvocationSending) == 0
    assert [m.id for m in db.session.scalars(db.select(OutgoingMail))] == mails_to_others
    assert db.session.get(Enrolment, kept.id) is not None
    entries = db.session.scalars(db.select(AuditEntry).where(db.or_(
        (AuditEntry.entity_type == "trainees") & (AuditEntry.entity_id == trainee_id),
        (AuditEntry.entity_type == "enrolments") & (AuditEntry.entity_id == enrolment_id)))).all()
    [entry] = entries
    assert (entry.action, entry.reason, entry.actor_id) == (
        "personal_data_erased", "Demande de la personne du 1er juin", admin.id)
    assert "awa" not in json.dumps(entry.details).lower() and "diallo" not in json.dumps(entry.details).lower()
    # A new registration with the same address makes a new person, whom her old links never open (even when
    # the database gives her id again, as SQLite does), and whose export does not show her erasure.
    again, created = registrations.find_or_create_trainee(PersonDetails(
        civility="Mme", first_name="Awa", last_name="Diallo", email="awa@exemple.org", phone="", job_title="",
        category="employee", employer_name="", employer_siret=""))
    db.session.commit()
    assert created and db.session.get(Trainee, trainee_id) in (None, again)
    with pytest.raises(trainee_links.LinkError) as refused:
        trainee_links.trainee_from_token(old_link)
    assert refused.value.reason == "unknown"
    assert trainee_links.trainee_from_token(trainee_links.make_token(again)).id == again.id
    assert personal_data.export(again)["historique_de_la_fiche"] == []


def _documents_read_back(course, claim) -> dict:
    docs = db.session.scalars(db.select(IssuedCertificate).order_by(IssuedCertificate.id)).all()
    claim = db.session.get(type(claim), claim.id)
    with frozen_at(datetime(2019, 1, 10, 10, 0)):
        funding_service.refresh(claim)
    book = openpyxl.load_workbook(io.BytesIO(funding_service.workbook_bytes(claim)))
    grid = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(course.session)))
    return {
        "sheet": factories.docx_text(attendance_sheet.word_sheet(course.session)),
        "grid": [[c.value for c in row] for ws in grid for row in ws.iter_rows()],
        "certificates": [(d.number, d.sha256, factories.docx_text(storage.read(d.storage_path))) for d in docs],
        "claim": [[c.value for c in row] for ws in book for row in ws.iter_rows()],
    }


def test_a_person_with_kept_records_keeps_them_unchanged_and_loses_the_rest(outbox):
    course, awa, julien, claim = _course_with_everything()
    admin = factories.make_user("admin", name="Alice Admin")
    trainee = awa.trainee
    old_email, old_link = trainee.email, factories.personal_path(trainee).rsplit("/", 1)[1]
    before = _documents_read_back(course, claim)
    assert "Awa DIALLO" in before["sheet"] or "DIALLO" in before["sheet"]
    assert any("Assistante sociale" in str(row) for row in before["claim"])
    kept_counts = {m: _count(m) for m in (AttendanceRecord, Signature, IssuedCertificate, AgreementTrainee,
                                          LearningOutcome)}
    answers_before = _count(SurveyAnswer)
    with frozen_at(datetime(2019, 6, 1, 10, 0)):
        erasure = personal_data.erase(trainee, "Demande de la personne", admin)
    db.session.commit()
    db.session.expire_all()
    assert not erasure.deleted and erasure.kept["attendance_records"] == 6 and erasure.kept["certificates"] == 2
    assert _documents_read_back(course, claim) == before  # sheets, certificates and the claim say the same
    assert {m: _count(m) for m in kept_counts} == kept_counts
    trainee = db.session.get(Trainee, trainee.id)
    assert (trainee.first_name, trainee.last_name, trainee.civility, trainee.job_title) == (
        "Awa", "Diallo", "Mme", "Assistante sociale")
    assert trainee.email != old_email and personal_data.is_erased_address(trainee.email)
    assert trainee.phone == "" and trainee.erased_at.date() == datetime(2019, 6, 1).date()
    # The signatures' address and device stay: they are the attendance record's evidence.
    assert all(s.signer_name for s in db.session.scalars(db.select(Signature).where(
        Signature.enrolment_id == awa.id)))
    # Named answers gone (hers only), the fact that she answered kept; the anonymous answers untouched.
    assert _count(SurveyAnswer) == answers_before - 2
    assert _count(SurveyParticipation, trainee_id=trainee.id) == 2
    assert _count(SurveyResponse) == 1
    # E-mails to her gone, Julien's kept.
    assert [m.recipients for m in db.session.scalars(db.select(OutgoingMail))] == [[julien.trainee.email]]
    # Her convocation's sending stays (when and how), without the address.
    [sending] = db.session.scalars(db.select(ConvocationSending)).all()
    assert sending.enrolment_id == awa.id and sending.sent_to == "[effacé]"
    # Her old personal links no longer open.
    with pytest.raises(trainee_links.LinkError) as refused:
        trainee_links.trainee_from_token(old_link)
    assert refused.value.reason == "erased"
    # One audit entry, without the erased data; no trace of her address or phone left in the audit trail.
    [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "personal_data_erased")).all()
    assert (entry.entity_type, entry.entity_id, entry.actor_id, entry.reason) == (
        "trainees", trainee.id, admin.id, "Demande de la personne")
    trail = json.dumps([(e.reason, e.details) for e in db.session.scalars(db.select(AuditEntry))], default=str)
    assert old_email not in trail and "06 11 22 33 44" not in trail
    # She receives no more e-mail, and is erased once only.
    outbox.clear()
    mail.queue(trainee.email, "Rappel", "Bonjour")
    trainee_links.send_new_link(old_email)
    db.session.commit()
    assert outbox == [] and _count(OutgoingMail) == 1
    with pytest.raises(ServiceError):
        personal_data.erase(trainee, "Encore", admin)
    # The export says what is left.
    data = personal_data.export(trainee)
    assert data["personne"]["adresse_email"] == "" and data["personne"]["donnees_effacees_le"]
    [erased] = [e["details"] for e in data["historique_de_la_fiche"] if e["action"] == "Données personnelles effacées"]
    assert erased["personne_supprimee"] is False and erased["conserves"]["emargements"] == 6
    assert erased["supprimes_ou_vides"]["courriels"] >= 1 and not _keys(erased) & ENGLISH_KEYS


def test_a_failure_in_the_middle_leaves_everything_as_it_was(monkeypatch):
    course, awa, julien, claim = _course_with_everything()
    before = _rows()

    def broken(*args, **kwargs):
        raise RuntimeError("disque plein")
    monkeypatch.setattr(personal_data, "_scrub_audit", broken)  # after mails, answers and enrolments went
    with pytest.raises(RuntimeError):
        personal_data.erase(awa.trainee, "Demande", None, actor_label="test")
    db.session.rollback()
    assert _rows() == before


# --- retention ---------------------------------------------------------------------------------------------

def _run(app, *args):
    result = CliRunner().invoke(app.cli, ["purge-expired", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_purge_expired_dry_run_changes_nothing_and_the_real_run_purges_only_what_expired(app, monkeypatch):
    course, awa, julien, _claim = _course_with_everything()  # the course ended on 14 Dec 2018
    recent = factories.make_trainee("Karim", "Recent", email="karim@exemple.org")
    factories.make_enrolment(factories.make_session(start=datetime(2024, 3, 5, 14, 0), end=datetime(2024, 3, 8, 12, 30),
                                                    status="completed"), recent)
    with frozen_at(datetime(2018, 12, 20, 8, 0)):
        old_sent = mail.queue("ancien@exemple.org", "Ancien", "x")
    db.session.commit()
    db.session.execute(db.update(OutgoingMail).where(OutgoingMail.id == old_sent.record_id).values(
        status="sent", sent_at=datetime(2018, 12, 20, 8, 1)))
    db.session.commit()
    captured = _count(OutgoingMail)
    before = _rows()
    with frozen_at(datetime(2025, 1, 15, 10, 0)):  # six years after December 2018
        output = _run(app, "--dry-run")
    assert "1 courriel envoyé, classé ou conservé depuis plus de 90 jours serait supprimé." in output
    assert "2 stagiaires dont la dernière session" in output and "ans seraient effacé·es :" in output and "Awa Diallo" in output
    assert "2 stagiaires dont les pièces conservées" in output
    assert "Karim" not in output and "rien n'a été modifié" in output
    assert _rows() == before
    with frozen_at(datetime(2025, 1, 15, 10, 0)):
        output = _run(app)
    assert "Fait : 1 courriel supprimé, 2 stagiaires effacé·es" in output
    assert "2 dont les pièces conservées sont rendues anonymes" in output  # their retention period is over too
    db.session.expire_all()
    assert db.session.get(OutgoingMail, old_sent.record_id) is None
    assert _count(OutgoingMail) == captured - 1 - 2  # the captured messages to Awa and Julien went with them
    for erased in (awa.trainee_id, julien.trainee_id):
        trainee = db.session.get(Trainee, erased)
        assert trainee.erased_at and trainee.records_expired_at and trainee.last_name == "[effacé]"
    assert (recent.erased_at, recent.records_expired_at, recent.last_name) == (None, None, "Recent")
    [entry, _other] = db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.action == "personal_data_erased").order_by(AuditEntry.entity_id)).all()
    assert (entry.reason, entry.actor_label) == ("durée de conservation échue", "flask purge-expired")
    with frozen_at(datetime(2025, 1, 15, 10, 0)):
        again = _run(app, "--dry-run")
    assert "0 stagiaire dont la dernière session" in again and "ans serait effacé·e :" in again
    assert "0 stagiaire dont les pièces" in again and "0 courriel envoyé" in again
    monkeypatch.setitem(app.config, "MAIL_KEEP_DAYS", 1)
    monkeypatch.setitem(app.config, "SIGN_IN_LIFETIME", timedelta(days=1))
    output = _run(app, "--dry-run")
    assert "depuis plus de 1 jour serait supprimé." in output and "(ouverte il y a 1 jour ou plus)" in output


# --- an erasure racing an enrolment or an edit -------------------------------------------------------------

def _erased_in_another_request(app, trainee_id: int) -> None:
    """Another request (its own session and connection) erases the trainee and commits."""
    with app.app_context():
        personal_data.erase(db.session.get(Trainee, trainee_id), "Demande de la personne", None, actor_label="x")
        db.session.commit()


def _kept_person():
    """Awa, who signed the December 2018 course (kept on erasure), and an upcoming open session."""
    course = certificate_course.completed_course(trainees=("Awa Diallo",))
    [awa] = course.enrolments
    later = factories.make_session(start=datetime(2030, 3, 5, 14, 0), end=datetime(2030, 3, 8, 12, 30), status="open")
    db.session.commit()
    return awa.trainee, later


def test_an_enrolment_of_someone_erased_since_the_page_was_read_is_refused_and_nothing_is_written(app, outbox):
    from training_app.services import enrolments
    trainee, later = _kept_person()
    assert trainee.erased_at is None  # what the office's page (or the public look-up) read
    _erased_in_another_request(app, trainee.id)
    before = _count(Enrolment)
    with pytest.raises(ServiceError) as refused:
        enrolments.enrol(later, trainee, notify=True)
    db.session.rollback()
    assert "viennent d'être effacées" in refused.value.message
    assert _count(Enrolment) == before and _count(OutgoingMail) == 0 and outbox == []


def test_an_enrolment_of_someone_deleted_since_the_page_was_read_is_refused():
    from training_app.services import enrolments
    trainee = factories.make_trainee("Awa", "Diallo")
    later = factories.make_session(start=datetime(2030, 3, 5, 14, 0), status="open")
    db.session.commit()
    trainee_id = trainee.id
    db.session.execute(db.delete(Trainee).where(Trainee.id == trainee_id))  # another request, on SQLite as well
    with pytest.raises(ServiceError) as refused:
        enrolments.enrol(later, trainee)
    db.session.rollback()
    assert "viennent d'être effacées" in refused.value.message
    assert _count(Enrolment, trainee_id=trainee_id) == 0


def test_a_public_registration_whose_person_is_erased_after_the_look_up_is_refused_in_french(app, outbox,
                                                                                              monkeypatch):
    trainee, later = _kept_person()
    real_email = trainee.email
    found = registrations.find_trainee(real_email)  # register_public's look-up, before the erasure
    assert found is trainee
    _erased_in_another_request(app, trainee.id)
    monkeypatch.setattr(registrations, "find_trainee", lambda email: found)  # as it was found before
    with pytest.raises(ServiceError) as refused:
        registrations.register_public(later, PersonDetails(first_name="Awa", last_name="Diallo", email=real_email,
                                                           category="individual"), "personal")
    monkeypatch.undo()
    db.session.rollback()
    assert "viennent d'être effacées" in refused.value.message
    assert _count(Enrolment, session_id=later.id) == 0 and outbox == []
    assert db.session.get(Trainee, trainee.id).erased_at is not None


def test_an_edit_of_someone_erased_since_the_page_was_read_is_refused_and_writes_no_address_back(app):
    trainee, _later = _kept_person()
    admin = factories.make_user("admin")
    assert trainee.erased_at is None  # what the edit page read
    real_email = trainee.email
    _erased_in_another_request(app, trainee.id)
    details = PersonDetails(first_name=trainee.first_name, last_name=trainee.last_name, email=real_email,
                            civility=trainee.civility, phone="06 99 99 99 99", job_title=trainee.job_title,
                            category=trainee.category or "individual")
    with pytest.raises(ServiceError) as refused:
        registrations.update_trainee(trainee, details, actor=admin)
    db.session.rollback()
    assert "ont été effacées" in refused.value.message
    db.session.expire_all()
    erased = db.session.get(Trainee, trainee.id)
    assert personal_data.is_erased_address(erased.email) and erased.phone == ""


# --- what the kept audit trail still says ------------------------------------------------------------------

def _details_of(trainee: Trainee, **changed) -> PersonDetails:
    values = dict(first_name=trainee.first_name, last_name=trainee.last_name, email=trainee.email,
                  civility=trainee.civility, phone=trainee.phone, job_title=trainee.job_title,
                  category=trainee.category or "individual")
    return PersonDetails(**{**values, **changed})


def test_past_phones_and_addresses_of_a_kept_person_leave_the_audit_trail_which_keeps_what_changed():
    course = certificate_course.completed_course(trainees=("Awa Diallo",))
    [awa] = course.enrolments
    admin = factories.make_user("admin")
    registrations.update_trainee(awa.trainee, _details_of(awa.trainee, phone="06 11 11 11 11"), actor=admin)
    db.session.commit()
    registrations.update_trainee(awa.trainee, _details_of(awa.trainee, phone="06 22 22 22 22",
                                                          email="awa.ancienne@exemple.org"), actor=admin)
    db.session.commit()
    registrations.update_trainee(awa.trainee, _details_of(awa.trainee, email="awa.nouvelle@exemple.org",
                                                          job_title="Éducatrice"), actor=admin)
    db.session.commit()
    personal_data.erase(awa.trainee, "Demande de la personne", admin)
    db.session.commit()
    dump = _dump([e.details for e in db.session.scalars(db.select(AuditEntry))])
    for value in ("06 11 11 11 11", "06 22 22 22 22", "awa.ancienne@exemple.org", "awa.nouvelle@exemple.org"):
        assert value not in dump
    changes = [e.details["changes"] for e in audit.history(awa.trainee) if e.action == "details_changed"]
    assert sorted(sorted(c) for c in changes) == [["email", "job_title"], ["email", "phone"], ["phone"]]
    assert {"phone": ["", "[effacé]"]} in changes  # the phone was set: kept, its value is not
    assert ["Assistante sociale", "Éducatrice"] in [c.get("job_title") for c in changes]  # not a contact detail
    erased = db.session.get(Trainee, awa.trainee_id)
    export = _dump(personal_data.export(erased))
    assert "06 11 11 11 11" not in export and "awa.ancienne" not in export
    assert personal_data.addresses(erased) == set()  # the blanked values are no address to look for


def test_her_address_written_otherwise_leaves_the_kept_audit_trail_too():
    """The audit trail may hold her address in another case, or with its domain in punycode (xn--), as typed or
    written before addresses were stored in one form: the erasure blanks it there as well (value and free text)."""
    course = certificate_course.completed_course(trainees=("Awa Diallo",))
    [awa] = course.enrolments
    awa.trainee.email = "élodie@café.fr"  # as stored (a punycode domain in Unicode)
    db.session.commit()
    audit.record(awa.trainee, "sent", actor_label="x", details={"to": "ÉLODIE@XN--CAF-DMA.FR"},
                 reason="Refusé par le relais pour Élodie@xn--caf-dma.fr")
    audit.record(awa, "sent", actor_label="x", details={"cc": ["élodie@xn--caf-dma.fr", "bureau@exemple.org"]})
    audit.record(awa.trainee, "sent", actor_label="x", details={"to": "Élodie@CAFÉ.fr"},
                 reason="Renvoyé à élodie@café.fr")
    db.session.commit()
    personal_data.erase(awa.trainee, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    entries = [e for e in db.session.scalars(db.select(AuditEntry)) if e.action == "sent"]
    dump = _dump([(e.details, e.reason) for e in entries]).lower()
    assert "caf-dma" not in dump and "café" not in dump and "élodie" not in dump
    assert sorted(_dump(e.details) for e in entries) == sorted(_dump(d) for d in (
        {"to": "[effacé]"}, {"cc": ["[effacé]", "bureau@exemple.org"]}, {"to": "[effacé]"}))

def test_mails_to_an_address_with_accents_are_exported_and_erased():
    someone, _created = registrations.find_or_create_trainee(PersonDetails(
        first_name="Élodie", last_name="Lé", email="élodie@exemple.org", category="individual"))
    db.session.commit()
    assert someone.email == "élodie@exemple.org"
    session = factories.make_session(start=datetime(2030, 3, 5, 14, 0), end=datetime(2030, 3, 8, 12, 30))
    factories.make_enrolment(session, someone, status="cancelled")
    mail.queue(someone.email, "Votre inscription", "Bonjour Élodie, votre lien http://exemple/moi/SECRET")
    mail.queue(["élodie@exemple.org", "bureau@exemple.org"], "Copie", "Pour Élodie et le bureau")
    mail.queue("autre@exemple.org", "Autre", "Rien à voir")
    db.session.commit()
    assert sorted(m["objet"] for m in personal_data.export(someone)["courriels"]) == ["Copie", "Votre inscription"]
    personal_data.erase(someone, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    left = sorted((m.subject, m.recipients) for m in db.session.scalars(db.select(OutgoingMail)))
    assert left == [("Autre", ["autre@exemple.org"]), ("Copie", ["bureau@exemple.org"])]


def test_mails_to_her_address_written_otherwise_are_found_whatever_the_case_or_the_domain_s_form():
    """« élodie@café.fr » is also « élodie@xn--caf-dma.fr » (punycode), and « Marie.Dupont@Exemple.FR » is
    « marie.dupont@exemple.fr »: the export finds those messages and the erasure takes them."""
    elodie, _created = registrations.find_or_create_trainee(PersonDetails(
        first_name="Élodie", last_name="Lé", email="élodie@café.fr", category="individual"))
    marie, _created = registrations.find_or_create_trainee(PersonDetails(
        first_name="Marie", last_name="Dupont", email="marie.dupont@exemple.fr", category="individual"))
    db.session.commit()
    assert (elodie.email, marie.email) == ("élodie@café.fr", "marie.dupont@exemple.fr")
    mail.queue("élodie@xn--caf-dma.fr", "Punycode", "Pour Élodie")
    mail.queue(["ÉLODIE@XN--CAF-DMA.FR", "bureau@exemple.org"], "Copie", "Pour Élodie et le bureau")
    mail.queue("Marie.Dupont@Exemple.FR", "Majuscules", "Pour Marie")
    mail.queue("autre@café.fr", "Autre", "Rien à voir")
    db.session.commit()
    assert sorted(m["objet"] for m in personal_data.export(elodie)["courriels"]) == ["Copie", "Punycode"]
    assert [m["objet"] for m in personal_data.export(marie)["courriels"]] == ["Majuscules"]
    personal_data.erase(elodie, "Demande de la personne", None, actor_label="x")
    personal_data.erase(marie, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    left = sorted((m.subject, m.recipients) for m in db.session.scalars(db.select(OutgoingMail)))
    assert left == [("Autre", ["autre@café.fr"]), ("Copie", ["bureau@exemple.org"])]


# --- personal links issued before links named their trainee's creation ("c") -------------------------------

def _legacy_link(trainee: Trainee, monkeypatch, signed_at: datetime) -> str:
    """A link as mailed before this feature: no "c", signed at `signed_at` (UTC)."""
    import calendar

    from itsdangerous import TimestampSigner
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: calendar.timegm(signed_at.timetuple()))
        return trainee_links._serializer().dumps({"t": trainee.id, "v": trainee.link_version})


def test_an_old_link_of_someone_deleted_does_not_open_the_page_of_whoever_gets_their_id(monkeypatch):
    from datetime import timedelta

    from training_app.clock import utcnow
    someone = factories.make_trainee("Ancien", "Inscrit")
    someone.created_at = utcnow() - timedelta(days=20)
    factories.make_enrolment(factories.make_session(start=datetime(2030, 3, 5, 14, 0)), someone, status="cancelled")
    db.session.commit()
    legacy = _legacy_link(someone, monkeypatch, utcnow() - timedelta(days=10))
    assert trainee_links.trainee_from_token(legacy).id == someone.id  # an old link of an existing person works
    old_id = someone.id
    assert personal_data.erase(someone, "Demande de la personne", None, actor_label="x").deleted
    db.session.commit()
    # The database gives the id again (SQLite does; PostgreSQL is told to here) to someone created later.
    newcomer = factories.make_trainee("Nouvelle", "Personne", id=old_id)
    assert newcomer.id == old_id and newcomer.link_version == 1
    with pytest.raises(trainee_links.LinkError) as refused:
        trainee_links.trainee_from_token(legacy)
    assert refused.value.reason == "unknown"
    assert trainee_links.trainee_from_token(trainee_links.make_token(newcomer)).id == old_id  # their own link works


def test_erasure_deletes_the_attachments_of_the_messages_it_deletes():
    from training_app.models import OutgoingMailAttachment
    someone = factories.make_trainee("Pièce", "Jointe")
    other = factories.make_trainee("Autre", "Personne")
    factories.make_enrolment(factories.make_session(start=datetime(2030, 3, 5, 14, 0)), someone, status="cancelled")
    mail.queue(someone.email, "Convocation", "Bonjour",
               attachments=[mail.Attachment("convocation-Jointe.docx", b"PK secret", "application/x")])
    mail.queue(other.email, "Convocation", "Bonjour",
               attachments=[mail.Attachment("convocation-Autre.docx", b"PK autre", "application/x")])
    db.session.commit()
    assert _count(OutgoingMailAttachment) == 2
    personal_data.erase(someone, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    assert [a.filename for a in db.session.scalars(db.select(OutgoingMailAttachment))] == ["convocation-Autre.docx"]
    assert [m.recipients for m in db.session.scalars(db.select(OutgoingMail))] == [[other.email]]


def test_the_free_text_reasons_of_kept_enrolments_are_erased_and_nobody_elses():
    from training_app.services import enrolments
    course = certificate_course.completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    last_day = course.session.end_at.date()
    enrolments.withdraw(awa, last_day, "Hospitalisée pour une opération du dos")
    enrolments.withdraw(julien, last_day, "Garde de son enfant malade")
    db.session.commit()
    personal_data.erase(awa.trainee, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Enrolment, awa.id).status_reason == "[effacé]"
    assert db.session.get(Enrolment, awa.id).status == "withdrawn"  # what happened stays
    [withdrawal] = [e for e in audit.history(db.session.get(Enrolment, awa.id)) if e.action == "withdrawn"]
    assert withdrawal.reason == "[effacé]" and withdrawal.details == {"withdrawn_on": last_day.isoformat()}
    assert db.session.get(Enrolment, julien.id).status_reason == "Garde de son enfant malade"
    assert [e.reason for e in audit.history(db.session.get(Enrolment, julien.id))
            if e.action == "withdrawn"] == ["Garde de son enfant malade"]
    dump = _dump([(e.reason, e.details) for e in db.session.scalars(db.select(AuditEntry))])
    assert "Hospitalisée" not in dump


def test_the_comments_on_her_results_go_but_those_her_kept_attestation_prints():
    course, awa, _julien, _claim = _course_with_everything()  # her attestation prints "Très bien", "À consolider"
    certificate_course.assess(course, awa, {2: ("partly_acquired", "Souvent absente, raisons de santé")})
    assert certificate_service.enrolment_overview(awa).results_outdated  # written after the attestation
    erasure = personal_data.erase(awa.trainee, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(db.select(LearningOutcome.comment).where(LearningOutcome.enrolment_id == awa.id)
                              .order_by(LearningOutcome.objective_id)).all() == ["Très bien", "[effacé]"]
    assert erasure.removed["outcome_comments"] == 1
    assert "raisons de santé" not in _dump(personal_data.export(db.session.get(Trainee, awa.trainee_id)))
    assert certificate_service.enrolment_overview(db.session.get(Enrolment, awa.id)).results_outdated  # as before


def test_purge_takes_people_never_enrolled_created_long_ago_and_captured_mail_kept_too_long(app):
    lonely = factories.make_trainee("Sans", "Inscription", phone="06 00 00 00 00")
    lonely.created_at = datetime(2018, 6, 1, 9, 0)
    newcomer = factories.make_trainee("Nouvelle", "Venue")
    newcomer.created_at = datetime(2024, 6, 1, 9, 0)
    db.session.commit()
    with frozen_at(datetime(2024, 6, 1, 9, 0)):
        old_captured = mail.queue("bureau@exemple.org", "Ancien", "jamais envoyé")
    with frozen_at(datetime(2025, 1, 10, 9, 0)):
        recent_captured = mail.queue("bureau@exemple.org", "Récent", "jamais envoyé")
    db.session.commit()
    assert {m.status for m in db.session.scalars(db.select(OutgoingMail))} == {"captured"}  # no mail server
    with frozen_at(datetime(2025, 1, 15, 10, 0)):
        plan = personal_data.purge_plan()
        assert [t.full_name for t in plan.trainees] == ["Sans Inscription"]
        assert plan.mail_ids == [old_captured.record_id]
        output = _run(app)
    assert "Fait : 1 courriel supprimé, 1 stagiaire effacé·e (dont 1 supprimé·e entièrement" in output
    db.session.expire_all()
    assert db.session.get(Trainee, lonely.id) is None and db.session.get(Trainee, newcomer.id) is not None
    assert [m.id for m in db.session.scalars(db.select(OutgoingMail))] == [recent_captured.record_id]


def test_an_enrolment_tells_the_address_the_trainee_has_now_not_the_one_the_page_read(app, outbox):
    from training_app.services import enrolments
    trainee, later = _kept_person()
    read_before = trainee.email  # what the page read
    with app.app_context():  # another request corrects the address and commits
        other = db.session.get(Trainee, trainee.id)
        registrations.update_trainee(other, _details_of(other, email="awa.corrigee@exemple.org"),
                                     actor=factories.make_user("admin"))
        db.session.commit()
    assert trainee.email == read_before  # this request's copy is stale
    enrolments.enrol(later, trainee, notify=True)
    db.session.commit()
    assert [m.to for m in outbox if "inscription" in m.subject.lower()] == [["awa.corrigee@exemple.org"]]


def _stored_convocation(enrolment) -> str:
    sending = factories.make_convocation_sending(enrolment)
    sending.document_path = storage.save("convocations/test", "convocation-diallo-awa.docx", b"PK Awa DIALLO")
    db.session.commit()
    return sending.document_path


@pytest.mark.parametrize("kept_records", [False, True])
def test_erasure_deletes_the_convocation_files_once_committed_and_not_if_rolled_back(kept_records):
    """A convocation's Word file prints the name, the employer and a personal link; no law keeps it. Its rows
    go (or are emptied) with the erasure, and the file once the erasure is committed: a rolled-back erasure
    keeps it, as it keeps the rows naming it."""
    if kept_records:
        enrolment = _course_with_everything()[1]
    else:
        enrolment = factories.enrol(factories.make_session(start=datetime(2030, 3, 5, 14, 0)))
        from training_app.services import enrolments
        enrolments.cancel(enrolment, "Ne peut pas venir")
        db.session.commit()
    trainee_id, path = enrolment.trainee_id, _stored_convocation(enrolment)
    personal_data.erase(enrolment.trainee, "Demande", None, actor_label="test")
    assert storage.exists(path)  # not before the commit
    db.session.rollback()
    assert storage.exists(path)
    personal_data.erase(db.session.get(Trainee, trainee_id), "Demande", None, actor_label="test")
    db.session.commit()
    assert not storage.exists(path)
    assert db.session.scalar(db.select(db.func.count(ConvocationSending.id)).where(
        ConvocationSending.document_path != "")) == 0


# --- what the erasure and the export find -------------------------------------------------------------------

def test_the_office_is_told_of_a_cancellation_and_that_notice_is_exported_and_erased_with_her(outbox):
    from training_app.services import enrolments
    session = factories.make_session(start=datetime(2030, 3, 5, 14, 0), status="open")
    awa = factories.make_trainee("Awa", "Diallo", email="awa@exemple.org")
    other = factories.enrol(session, factories.make_trainee("Julien", "Martin"))
    enrolment = factories.enrol(session, awa)
    with frozen_at(datetime(2029, 6, 1, 10, 0)):
        enrolments.cancel(enrolment, "Hospitalisée pour une opération", actor_label="Awa Diallo (lien personnel)",
                          by_trainee=True)  # the office is told, with her reason
        enrolments.cancel(other, "Empêché", actor_label="Julien Martin (lien personnel)", by_trainee=True)
        db.session.commit()
        notice = db.session.scalar(db.select(OutgoingMail).where(OutgoingMail.tag == f"office:cancelled:{enrolment.id}"))
        assert notice is not None and "Hospitalisée" in notice.body
        assert [m["objet"] for m in personal_data.export(awa)["courriels_au_bureau"]] == [notice.subject]
        personal_data.erase(awa, "Demande de la personne", None, actor_label="x")
        db.session.commit()
    left = db.session.scalars(db.select(OutgoingMail)).all()
    assert not any("Hospitalisée" in m.body or "awa@exemple.org" in m.body for m in left)
    assert any(m.tag == f"office:cancelled:{other.id}" for m in left)  # Julien's notice stays


def test_a_former_address_given_to_someone_else_brings_none_of_their_mail(outbox):
    from training_app.services import enrolments
    admin = factories.make_user("admin")
    awa = factories.make_trainee("Awa", "Diallo", email="partagee@exemple.org")
    with frozen_at(datetime(2029, 5, 1, 10, 0)):
        mail.queue("partagee@exemple.org", "Pour Awa", "Bonjour Awa")  # while the address was hers
        db.session.commit()
    with frozen_at(datetime(2029, 5, 2, 10, 0)):
        registrations.update_trainee(awa, _details_of(awa, email="awa@exemple.org"), actor=admin)
        db.session.commit()
    bruno = factories.make_trainee("Bruno", "Autre", email="partagee@exemple.org")  # the address is his now
    session = factories.make_session(start=datetime(2030, 3, 5, 14, 0), status="open")
    with frozen_at(datetime(2029, 6, 1, 10, 0)):
        enrolments.enrol(session, bruno, notify=True)
        mail.queue(["partagee@exemple.org", "bureau@exemple.org"], "Copie pour Bruno", "Bonjour Bruno")
        db.session.commit()
    brunos = {m.id: (m.subject, list(m.recipients), m.status) for m in db.session.scalars(
        db.select(OutgoingMail).where(OutgoingMail.queued_at >= datetime(2029, 6, 1)))}
    assert len(brunos) == 2
    subjects = [m["objet"] for m in personal_data.export(awa)["courriels"]]
    assert "Pour Awa" in subjects and "Copie pour Bruno" not in subjects
    assert not any("inscription" in s.lower() for s in subjects)
    personal_data.erase(awa, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    left = {m.id: (m.subject, list(m.recipients), m.status) for m in db.session.scalars(db.select(OutgoingMail))}
    assert {i: left.get(i) for i in brunos} == brunos  # Bruno's messages whole, his address with them
    assert "Pour Awa" not in [subject for subject, _to, _status in left.values()]
    assert personal_data.export(bruno)["courriels"] and "Pour Awa" not in _dump(personal_data.export(bruno))


def _withdrawn_without_a_record():
    """A 2030 session: Zoé Partie withdrew on its first day before anybody marked her, the others signed every
    half-day, the trainer closed each sheet: the sheets print her ("abandon le ..."), the report counts her."""
    from datetime import date

    from training_app.services import enrolments
    trainer = factories.make_user("trainer", name="Tom")
    session, (stays, gone) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    gone.trainee.first_name, gone.trainee.last_name = "Zoé", "Partie"
    db.session.commit()
    with frozen_at(datetime(2030, 3, 5, 14, 5)):
        enrolments.withdraw(gone, date(2030, 3, 5), "Problème familial grave")
        db.session.commit()
    factories.take_attendance(session, trainer)
    return session, gone


def _sheet_and_report(session):
    from training_app.services import annual_report
    db.session.expire_all()
    session = db.session.get(type(session), session.id)
    with frozen_at(datetime(2030, 4, 1, 10, 0)):
        report = annual_report.build(2030)
    return factories.docx_text(attendance_sheet.word_sheet(session)), report.indicators


def test_a_withdrawal_without_attendance_is_kept_as_the_sheets_print_it_and_the_report_counts_it():
    factories.make_organisation()
    session, gone = _withdrawn_without_a_record()
    sheet, indicators = _sheet_and_report(session)
    assert "PARTIE" in sheet.upper() and "abandon" in sheet.lower() and indicators.withdrawn == 1
    with frozen_at(datetime(2030, 4, 1, 10, 0)):
        erasure = personal_data.erase(gone.trainee, "Demande de la personne", None, actor_label="x")
        db.session.commit()
    assert not erasure.deleted and erasure.kept["enrolments"] == 1
    assert _sheet_and_report(session) == (sheet, indicators)
    enrolment = db.session.get(Enrolment, gone.id)
    assert (enrolment.status, enrolment.status_reason) == ("withdrawn", "[effacé]")


def test_a_confirmed_trainee_a_closed_sheet_prints_without_a_record_is_kept():
    factories.make_organisation()
    session, _gone = _withdrawn_without_a_record()
    late = factories.make_enrolment(session, factories.make_trainee("Lina", "Tardive"))  # no record, on every sheet
    sheet, _indicators = _sheet_and_report(session)
    assert "TARDIVE" in sheet.upper()
    with frozen_at(datetime(2030, 4, 1, 10, 0)):
        erasure = personal_data.erase(late.trainee, "Demande de la personne", None, actor_label="x")
        db.session.commit()
    assert not erasure.deleted and _sheet_and_report(session)[0] == sheet


def test_a_trainee_confirmed_after_the_only_closed_sheet_was_closed_is_not_kept_for_it(trainer, admin):
    """The closed sheet does not print her (services/attendance.before_enrolment): nothing of hers is kept. (The
    other half-days' sheets were never closed: nothing prints her.)"""
    from tests.unit.test_attendance_late_enrolment import confirmed_after_the_sheet_closed
    session, _awa, zoe = confirmed_after_the_sheet_closed(trainer, admin)
    with frozen_at(session.end_at + timedelta(days=30)):
        erasure = personal_data.erase(zoe.trainee, "Demande de la personne", admin)
        db.session.commit()
    assert erasure.deleted and db.session.get(Enrolment, zoe.id) is None


def _course_of_namesakes():
    """Claire Martin and Julien Martin on the completed course; Julien's comment on his first result, printed on
    his attestation, names her."""
    course = certificate_course.completed_course(trainees=("Claire Martin", "Julien Martin"))
    claire, julien = course.enrolments
    certificate_course.assess(course, julien, {1: ("acquired", "A bien aidé Claire Martin pendant les exercices")})
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    return course, claire, julien


def test_erasing_her_changes_nothing_another_trainee_s_kept_attestation_prints():
    course, claire, julien = _course_of_namesakes()
    certificate_course.assess(course, julien, {2: ("acquired", "Excellent binôme avec Claire Martin")})  # not printed
    printed_before = certificate_service.enrolment_overview(julien).results_outdated
    personal_data.erase(claire.trainee, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(db.select(LearningOutcome.comment).where(LearningOutcome.enrolment_id == julien.id)
                              .order_by(LearningOutcome.objective_id)).all() == [
        "A bien aidé Claire Martin pendant les exercices", "Excellent binôme avec [effacé]"]
    assert certificate_service.enrolment_overview(db.session.get(Enrolment, julien.id)).results_outdated \
        == printed_before


def test_erasing_her_takes_her_full_names_only_out_of_what_others_typed():
    """A first or last name alone may be another trainee's (Julien Martin) or a word ("Salle claire")."""
    course, claire, julien = _course_of_namesakes()
    course.session.notes = ("Salle claire ; M. Martin (Julien) arrive avant Claire Martin ; MARTIN  Claire partie, "
                            "Mme Claire MARTIN excusée ; Marie-Claire Martin viendra")
    julien.status_reason = "Remplacé par M. Martin"
    db.session.commit()
    personal_data.erase(claire.trainee, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    db.session.expire_all()
    assert course.session.notes == ("Salle claire ; M. Martin (Julien) arrive avant [effacé] ; [effacé] partie, "
                                    "[effacé] excusée ; Marie-Claire Martin viendra")
    assert db.session.get(Enrolment, julien.id).status_reason == "Remplacé par M. Martin"


def test_the_erasure_cleans_the_texts_before_locking_the_trainee_and_moves_the_edit_versions(monkeypatch):
    """Lock order: the sessions' rows (which the cleaning updates), then the trainee's (enrolments.lock_trainee).
    An edit form opened before on the session or the agreement is then stale: it would write the name back."""
    from training_app.models import FundingAgreement
    course, awa, julien, _claim = _course_with_everything()
    course.session.notes = "Awa Diallo en retard"
    agreement = db.session.scalar(db.select(FundingAgreement))
    agreement.notes = "Pour Awa Diallo"
    db.session.commit()
    versions = (factories.version_of(course.session), factories.version_of(agreement))
    calls = []
    for name in ("_texts_without_names", "_locked"):
        original = getattr(personal_data, name)
        monkeypatch.setattr(personal_data, name, lambda *a, _o=original, _n=name: calls.append(_n) or _o(*a))
    personal_data.erase(awa.trainee, "Demande de la personne", None, actor_label="x")
    db.session.commit()
    assert calls == ["_texts_without_names", "_locked"]
    assert (factories.version_of(course.session), factories.version_of(agreement)) == (versions[0] + 1, versions[1] + 1)


def test_the_participations_in_the_sessions_of_her_deleted_enrolments_go_her_kept_ones_stay():
    """She withdrew from one session (kept: the sheets print it) and attended another without any record (that
    enrolment goes): her participations in the second session's surveys go with it; the anonymous answers
    stay, tied to nobody."""
    factories.make_organisation()
    trainee = factories.make_trainee("Awa", "Diallo")
    kept_session = factories.make_session()
    factories.make_enrolment(kept_session, trainee, status="withdrawn")
    other = factories.make_session(start=datetime(2030, 3, 12, 14, 0), end=datetime(2030, 3, 15, 12, 30))
    gone = factories.make_enrolment(other, trainee)
    kept_survey = factories.make_survey(kept_session)
    named = factories.make_survey(other, factories.make_questionnaire(anonymous=False, title="Nominatif"),
                                  datetime(2030, 3, 15, 9, 30), datetime(2030, 3, 29, 18, 0))
    anonymous = factories.make_survey(other, factories.make_questionnaire(anonymous=True, title="Anonyme"),
                                      datetime(2030, 3, 15, 9, 30), datetime(2030, 3, 29, 18, 0))
    for survey in (kept_survey, named, anonymous):
        factories.answer_survey(survey, trainee, {1: 4, 2: "yes", 3: "Bien"})
    db.session.commit()
    pending = _count(SurveyPendingAnswers)
    with frozen_at(datetime(2030, 4, 2, 10, 0)):
        erasure = personal_data.erase(trainee, "Demande de la personne", None, actor_label="x")
        db.session.commit()
    assert not erasure.deleted and db.session.get(Enrolment, gone.id) is None
    assert [p.survey_id for p in db.session.scalars(db.select(SurveyParticipation).where(
        SurveyParticipation.trainee_id == trainee.id))] == [kept_survey.id]
    assert _count(SurveyPendingAnswers) == pending  # the anonymous answers stay, naming nobody
    assert erasure.removed["survey_participations"] == 2
