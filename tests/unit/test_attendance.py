"""Attendance rules, without HTTP: signing window, statuses and minutes, closing, corrections, totals."""
import base64
import io
from datetime import datetime, timedelta

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import (AttendanceRecord, AttendanceSheetVersion, AuditEntry, Signature, SignatureMethod,
                                 User)
from training_app.services import ServiceError, attendance
from training_app.services.attendance import AttendanceTotals

DATA_URL = factories.signature_data_url


def at(slot, minutes_after_start=5) -> datetime:
    return slot.starts_at + timedelta(minutes=minutes_after_start)


def run_slot(slot, enrolments, trainer, absent=(), justified=True):
    """Everyone signs but `absent`, who are marked absent; the trainer signs and closes."""
    with frozen_at(at(slot)):
        for i, enrolment in enumerate(enrolments):
            if enrolment in absent:
                attendance.mark(slot, enrolment, "absent_justified" if justified else "absent_unjustified",
                                actor=trainer, justification="Rendez-vous médical")
            else:
                attendance.sign(slot, enrolment, DATA_URL(i), method=SignatureMethod.DEVICE, actor=trainer)
    with frozen_at(near_the_end(slot)):
        attendance.close_slot(slot, trainer, DATA_URL(99))
    db.session.commit()


def near_the_end(slot) -> datetime:
    """When a trainer closes the sheet: a few minutes before the end of the half-day."""
    return slot.ends_at - timedelta(minutes=5)


@pytest.fixture
def course(trainer):
    session, enrolments = factories.make_attendance_session(trainees=3, trainers=[trainer])
    return session, enrolments


def test_reference_session_trainee_absent_one_afternoon_attends_17_hours(course, trainer):
    session, (awa, julien, sophie) = course
    assert [s.minutes for s in session.slots] == [240, 180, 240, 180, 240, 180]
    assert len(attendance.open_slots(session)) == 6
    for index, slot in enumerate(session.slots):
        run_slot(slot, [awa, julien, sophie], trainer, absent={julien} if index == 2 else set())
    assert attendance.totals_for(julien) == AttendanceTotals(21 * 60, 17 * 60, 4 * 60, 0)
    assert attendance.totals_for(awa) == AttendanceTotals(21 * 60, 21 * 60, 0, 0)
    totals = attendance.totals_for_session(session)
    assert totals[julien.id].attended_minutes == 17 * 60
    assert set(totals) == {awa.id, julien.id, sophie.id}
    assert attendance.open_slots(session) == []


def test_minutes_come_from_the_status_and_the_times(course, trainer):
    session, (awa, julien, sophie) = course
    slot = session.slots[1]  # Wed 9:30-12:30
    with frozen_at(at(slot, 60)):
        late = attendance.mark(slot, awa, "late", actor=trainer, arrival=factories.t("10:00"))
        early = attendance.mark(slot, julien, "left_early", actor=trainer, departure=factories.t("11:30"))
        both = attendance.mark(slot, sophie, "late", actor=trainer, arrival=factories.t("10:00"),
                               departure=factories.t("11:30"))
    db.session.commit()
    assert (late.minutes_attended, early.minutes_attended, both.minutes_attended) == (150, 120, 90)
    totals = attendance.totals_for(awa)
    assert (totals.attended_minutes, totals.absent_unjustified_minutes, totals.absent_justified_minutes) == (150, 30, 0)


@pytest.mark.parametrize("status, arrival, departure, message", [
    ("late", None, None, "Indiquez l'heure d'arrivée"),
    ("left_early", None, None, "Indiquez l'heure de départ"),
    ("late", "11:00", "10:00", "doit précéder l'heure de départ"),
    ("late", "08:00", None, "entre 9h30 et 12h30"),
    ("left_early", None, "13:00", "entre 9h30 et 12h30"),
    ("absent_justified", None, None, "motif de l'absence justifiée"),
    ("nonsense", None, None, "Choisissez un statut"),
])
def test_bad_marks_are_refused_and_change_nothing(course, trainer, status, arrival, departure, message):
    session, (awa, *_rest) = course
    slot = session.slots[1]
    with frozen_at(at(slot)), pytest.raises(ServiceError, match=message):
        attendance.mark(slot, awa, status, actor=trainer, arrival=arrival and factories.t(arrival),
                        departure=departure and factories.t(departure))
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id))) == 0


def test_signing_window_opens_15_minutes_before_and_ends_with_the_slot(course):
    session, (awa, julien, sophie) = course
    slot = session.slots[1]  # 9:30-12:30
    for moment, enrolment in ((slot.starts_at - timedelta(minutes=16), awa), (slot.ends_at + timedelta(minutes=1), awa)):
        with frozen_at(moment), pytest.raises(ServiceError, match="ouverte de 9h15 à 12h30"):
            attendance.sign(slot, enrolment, DATA_URL(), method="device")
        db.session.rollback()
    with frozen_at(slot.starts_at - timedelta(minutes=15)):
        attendance.sign(slot, julien, DATA_URL(), method="device")
    with frozen_at(slot.ends_at):
        attendance.sign(slot, sophie, DATA_URL(), method="device")
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 2


def test_the_window_is_configurable(app, course, monkeypatch):
    session, (awa, *_rest) = course
    slot = session.slots[1]
    monkeypatch.setitem(app.config, "SIGNING_OPENS_MINUTES_BEFORE", 30)
    with frozen_at(slot.starts_at - timedelta(minutes=25)):
        attendance.sign(slot, awa, DATA_URL(), method="device")
    db.session.commit()
    assert attendance.signing_window(slot)[0] == slot.starts_at - timedelta(minutes=30)


def test_a_signature_records_who_when_how_where_and_the_image(course, trainer):
    session, (awa, *_rest) = course
    slot = session.slots[0]
    with frozen_at(datetime(2030, 3, 5, 14, 3)):
        signature = attendance.sign(slot, awa, DATA_URL(), method="device", actor=trainer,
                                    ip_address="192.0.2.7", user_agent="Tablette")
    db.session.commit()
    stored = attendance.signature_image(session, signature.id)
    assert stored.signed_at == datetime(2030, 3, 5, 13, 3)  # UTC (Paris is UTC+1 in March)
    assert (stored.method, stored.ip_address, stored.user_agent) == ("device", "192.0.2.7", "Tablette")
    assert stored.signer_name == awa.trainee.full_name and stored.enrolment_id == awa.id
    assert stored.image == factories.signature_png() and len(stored.image_sha256) == 64
    record = db.session.scalar(db.select(AttendanceRecord))
    assert (record.status, record.minutes_attended) == ("present", 240)
    assert db.session.scalar(db.select(AuditEntry.action).where(AuditEntry.entity_type == "attendance_sheets")) \
        == "signed"


def test_signing_twice_is_refused(course):
    session, (awa, *_rest) = course
    slot = session.slots[0]
    with frozen_at(at(slot)):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        db.session.commit()
        with pytest.raises(ServiceError, match="a déjà signé"):
            attendance.sign(slot, awa, DATA_URL(2), method="device")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 1


def test_the_database_refuses_a_second_signature(course):
    session, (awa, *_rest) = course
    slot = session.slots[0]
    png = factories.signature_png()
    for _ in range(2):
        db.session.add(Signature(slot_id=slot.id, enrolment_id=awa.id, signer_name="x", method="device",
                                 image=png, image_sha256="0" * 64))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_only_confirmed_trainees_of_the_session_are_marked(course, trainer):
    session, _enrolments = course
    slot = session.slots[0]
    waiting = factories.make_enrolment(session, status="waitlisted")
    _other_session, (stranger,) = factories.make_attendance_session(
        trainees=1, start=datetime(2031, 3, 4, 9, 30), end=datetime(2031, 3, 4, 18))
    with frozen_at(at(slot)):
        with pytest.raises(ServiceError, match="n'est pas confirmée"):
            attendance.mark(slot, waiting, "present", actor=trainer)
        with pytest.raises(ServiceError, match="n'est pas confirmée"):
            attendance.sign(slot, waiting, DATA_URL(), method="device")
        with pytest.raises(ServiceError, match="n'est pas inscrit·e à cette session"):
            attendance.mark(slot, stranger, "present", actor=trainer)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id))) == 0


def test_marking_before_the_window_opens_is_refused(course, trainer):
    session, (awa, *_rest) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at - timedelta(hours=2)), pytest.raises(ServiceError, match="pas encore commencé"):
        attendance.mark(slot, awa, "absent_unjustified", actor=trainer)


def test_a_cancelled_session_is_not_marked_even_on_a_closed_sheet_by_an_administrator(course, trainer, admin):
    """mark() refuses a cancelled session itself (as mark_unmarked_absent, sign and close_slot do), whatever the
    state of its enrolments: here still confirmed, so that only the session's cancellation can refuse."""
    session, (awa, *_rest) = course
    slot = session.slots[0]
    run_slot(slot, course[1], trainer)
    session.status = "cancelled"
    db.session.commit()
    message = "Cette session est annulée : ses demi-journées ne s'émargent pas."
    with frozen_at(at(slot)), pytest.raises(ServiceError, match=message):
        attendance.mark(slot, awa, "absent_unjustified", actor=admin, reason="Erreur de ligne")
    db.session.rollback()
    other = session.slots[1]
    with frozen_at(at(other)), pytest.raises(ServiceError, match=message):
        attendance.mark(other, awa, "present", actor=trainer)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id)).where(
        AttendanceRecord.slot_id == other.id)) == 0
    assert db.session.scalar(db.select(AttendanceRecord.status).where(
        AttendanceRecord.slot_id == slot.id, AttendanceRecord.enrolment_id == awa.id)) == "present"


def test_a_signed_trainee_is_not_marked_absent_without_a_reason_and_an_absent_one_does_not_sign(course, trainer):
    session, (awa, julien, _sophie) = course
    slot = session.slots[0]
    with frozen_at(at(slot)):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        attendance.mark(slot, julien, "absent_unjustified", actor=trainer)
        db.session.commit()
        with pytest.raises(ServiceError, match="choisissez ce statut ; si la signature a été faite sur sa ligne "
                                               "par quelqu'un d'autre, indiquez le motif") as refused:
            attendance.mark(slot, awa, "absent_unjustified", actor=trainer)
        assert refused.value.field == "reason"
        db.session.rollback()
        with pytest.raises(ServiceError, match="marqué·e absent·e"):
            attendance.sign(slot, julien, DATA_URL(), method="device")
        db.session.rollback()
        attendance.mark(slot, awa, "left_early", actor=trainer, departure=factories.t("17:00"))
    db.session.commit()


def test_closing_needs_everyone_signed_or_absent_and_the_trainer_signature(course, trainer):
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    for moment in (slot.starts_at - timedelta(minutes=10), at(slot, 1)):
        with frozen_at(moment), pytest.raises(ServiceError, match="à partir du 05/03/2030 à 17h30"):
            attendance.close_slot(slot, trainer, DATA_URL())
        db.session.rollback()
    with frozen_at(near_the_end(slot)):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        attendance.mark(slot, julien, "present", actor=trainer)
        db.session.commit()
        with pytest.raises(ServiceError, match=sophie.trainee.full_name):
            attendance.close_slot(slot, trainer, DATA_URL())
        db.session.rollback()
        attendance.mark(slot, sophie, "absent_unjustified", actor=trainer)
        db.session.commit()
        with pytest.raises(ServiceError, match=f"Signature manquante pour : {julien.trainee.full_name}"):
            attendance.close_slot(slot, trainer, DATA_URL())
        db.session.rollback()
        attendance.sign(slot, julien, DATA_URL(), method="device")
        db.session.commit()
        with pytest.raises(ServiceError, match="Signez la feuille"):
            attendance.close_slot(slot, trainer)
        db.session.rollback()
        outsider = factories.make_user("trainer")
        with pytest.raises(ServiceError, match="Seul·e un·e formateur·rice de la session"):
            attendance.close_slot(slot, outsider, DATA_URL())
        db.session.rollback()
        sheet = attendance.close_slot(slot, trainer, DATA_URL())
        db.session.commit()
    assert sheet.is_closed and sheet.version == 1
    assert attendance.open_slots(session) == session.slots[1:]


def test_a_refused_closing_names_every_blocker_at_once(course, trainer):
    """One trainee late without a signature, another unmarked, no trainer's signature: one refusal names them all,
    not one blocker, then the next once that one is settled."""
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    with frozen_at(near_the_end(slot)):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        attendance.mark(slot, julien, "late", actor=trainer, arrival=factories.t("14:30"))
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            attendance.close_slot(slot, trainer)
    db.session.rollback()
    assert refused.value.message == (  # each advice once, the trainees by what they lack
        "Avant de clore, faites signer ou marquez absent·e. "
        f"Non émargé·e : {sophie.trainee.full_name}. Signature manquante : {julien.trainee.full_name}. "
        "Signez aussi la feuille (formateur·rice).")
    assert refused.value.field is None
    assert not attendance.slot_sheet(slot).is_closed


def test_a_trainer_closes_only_near_the_end_so_an_early_departure_can_still_be_recorded(app, course, trainer,
                                                                                        monkeypatch):
    session, (awa, julien, sophie) = course
    slot = session.slots[1]  # Wed 6 March, 9:30-12:30
    with frozen_at(at(slot, 1)):
        for i, enrolment in enumerate((awa, julien, sophie)):
            attendance.sign(slot, enrolment, DATA_URL(i), method="device", actor=trainer)
        db.session.commit()
        with pytest.raises(ServiceError, match="à partir du 06/03/2030 à 12h00"):
            attendance.close_slot(slot, trainer, DATA_URL(9))
        db.session.rollback()
    assert attendance.slot_sheet(slot).trainer_signatures == []  # refused before the trainer's signature
    with frozen_at(at(slot, 31)):
        attendance.mark(slot, julien, "left_early", actor=trainer, departure=factories.t("10:00"))
        db.session.commit()
    monkeypatch.setitem(app.config, "CLOSING_OPENS_MINUTES_BEFORE_END", 60)
    with frozen_at(slot.ends_at - timedelta(minutes=60)):
        attendance.close_slot(slot, trainer, DATA_URL(9))
        db.session.commit()
    assert attendance.slot_sheet(slot).is_closed
    assert attendance.totals_for(julien).attended_minutes == 30


def test_a_closed_slot_is_locked_and_corrected_by_an_administrator_with_a_reason(course, trainer, admin):
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    run_slot(slot, [awa, julien, sophie], trainer, absent={sophie}, justified=False)
    with frozen_at(at(slot, 120)):
        with pytest.raises(ServiceError, match="est close"):
            attendance.mark(slot, sophie, "absent_justified", actor=trainer, justification="Malade")
        db.session.rollback()
        with pytest.raises(ServiceError, match="est close"):
            attendance.sign(slot, sophie, DATA_URL(), method="device")
        db.session.rollback()
    with frozen_at(at(slot, 60 * 24)):
        with pytest.raises(ServiceError, match="motif de la correction"):
            attendance.mark(slot, sophie, "absent_justified", actor=admin, justification="Malade")
        db.session.rollback()
        attendance.mark(slot, sophie, "absent_justified", actor=admin, justification="Arrêt maladie",
                        reason="Certificat médical reçu")
        db.session.commit()
        with pytest.raises(ServiceError, match="Seul·e un·e administrateur·rice"):
            attendance.reopen_slot(slot, trainer, "Oubli")
        db.session.rollback()
        with pytest.raises(ServiceError, match="motif de la réouverture"):
            attendance.reopen_slot(slot, admin, "  ")
        db.session.rollback()
        attendance.reopen_slot(slot, admin, "Retard de Julien à corriger")
        db.session.commit()
        # The day is over: the office changes the sheet, and closes it (the reopening voided the trainer's signature)
        attendance.mark(slot, julien, "late", actor=admin, arrival=factories.t("14:05"))
        attendance.close_slot(slot, admin, reason="Retard de Julien corrigé")
        db.session.commit()
    versions = attendance.versions(slot)
    assert [(v.number, v.action) for v in versions] == [
        (1, "closed"), (2, "corrected"), (3, "reopened"), (4, "closed_by_office")]
    assert versions[1].reason == "Certificat médical reçu"
    statuses = [{r["trainee"]: r["status"] for r in v.snapshot["rows"]} for v in versions]
    assert statuses[0][sophie.trainee.full_name] == "absent_unjustified"
    assert statuses[1][sophie.trainee.full_name] == "absent_justified"
    assert statuses[3][julien.trainee.full_name] == "late"
    assert attendance.totals_for(julien).attended_minutes == 235


def test_versions_are_append_only(course, trainer):
    session, enrolments = course
    slot = session.slots[0]
    run_slot(slot, enrolments, trainer)
    version = db.session.scalar(db.select(AttendanceSheetVersion))
    version.reason = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(db.select(AttendanceSheetVersion)))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def _png(size=(200, 80), color=(0, 0, 0, 0), stroke=True, fmt="PNG") -> bytes:
    from PIL import ImageDraw
    image = Image.new("RGBA" if fmt == "PNG" else "RGB", size, color if fmt == "PNG" else (255, 255, 255))
    if stroke:
        ImageDraw.Draw(image).line([(5, 5), (size[0] - 5, size[1] - 5)], fill=(0, 0, 0), width=3)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def _url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


@pytest.mark.parametrize("data_url, message", [
    ("", "Signez dans le cadre"),
    ("data:image/jpeg;base64,AAAA", "n'est pas une image PNG"),
    ("data:image/png;base64,@@@notbase64", "n'est pas une image PNG"),
    (_url(_png(fmt="JPEG")), "n'est pas une image PNG"),
    (_url(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10), "n'est pas une image PNG"),
    (_url(_png(stroke=False)), "La signature est vide"),
    (_url(_png(color=(255, 255, 255, 255), stroke=False)), "La signature est vide"),
    (_url(_png(size=(4000, 50))), "taille raisonnable"),
    ("data:image/png;base64," + "A" * 300_000, "trop lourde"),
])
def test_signature_images_must_be_real_bounded_non_blank_pngs(data_url, message):
    with pytest.raises(ServiceError, match=message):
        attendance.decode_signature(data_url)


def test_a_real_pad_png_is_accepted():
    assert attendance.decode_signature(_url(_png())).startswith(b"\x89PNG")


def _stroke(mode: str, background, ink, size=(300, 120)) -> str:
    from PIL import ImageDraw
    image = Image.new(mode, size, background)
    ImageDraw.Draw(image).line([(10, 60), (290, 70)], fill=ink, width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return _url(out.getvalue())


@pytest.mark.parametrize("data_url", [
    _stroke("RGBA", (0, 0, 0, 0), (0, 0, 0, 1)),            # an almost fully transparent stroke
    _stroke("RGBA", (0, 0, 0, 0), (0, 0, 0, 40)),           # a faint one
    _stroke("RGBA", (0, 0, 0, 0), (255, 255, 255, 255)),    # white on transparent: white on the printed sheet
    _stroke("RGBA", (255, 255, 255, 255), (235, 235, 235, 255)),  # light grey on white
    _stroke("LA", (0, 0), (200, 255)),
])
def test_an_invisible_signature_is_refused(data_url):
    """What counts is what a printed sheet shows: the image laid on white paper needs some dark ink."""
    with pytest.raises(ServiceError, match="vide ou invisible"):
        attendance.decode_signature(data_url)


@pytest.mark.parametrize("data_url", [
    _stroke("RGBA", (0, 0, 0, 0), (16, 34, 77, 255)),       # the pad's pen on its transparent background
    _stroke("L", 255, 0),                                    # black on white
    _stroke("LA", (0, 0), (0, 255)),
    _stroke("RGBA", (0, 0, 0, 0), (16, 34, 77, 255), size=(1500, 300)),  # the capped export of a wide pad
])
def test_a_visible_signature_in_any_png_mode_is_accepted(data_url):
    assert attendance.decode_signature(data_url).startswith(b"\x89PNG")


@pytest.mark.parametrize("posted", [
    FileStorage(io.BytesIO(b"data:image/png;base64,"), filename="s.png"),  # a file where the pad's text goes
    12, ["data:image/png;base64,"], b"data:image/png;base64,",
])
def test_a_signature_that_is_not_text_is_refused(posted):
    with pytest.raises(ServiceError, match="pas une image PNG"):
        attendance.decode_signature(posted)


def test_qr_code_signs_for_the_trainee_of_the_link_only(course):
    session, (awa, *_rest) = course
    slot, other_slot = session.slots[0], session.slots[1]
    stranger = factories.make_trainee()
    with frozen_at(at(slot)):
        with pytest.raises(ServiceError, match="ne correspond pas à cette demi-journée"):
            attendance.sign_as_trainee(slot, awa.trainee, DATA_URL(), qr=attendance.qr_token(other_slot))
        with pytest.raises(ServiceError, match="ne correspond pas"):
            attendance.sign_as_trainee(slot, awa.trainee, DATA_URL(), qr="forged")
        with pytest.raises(ServiceError, match="scannez le QR code"):
            attendance.sign_as_trainee(slot, awa.trainee, DATA_URL())  # in person: the QR code is needed
        with pytest.raises(ServiceError, match="pas d'inscription confirmée"):
            attendance.sign_as_trainee(slot, stranger, DATA_URL(), qr=attendance.qr_token(slot))
        db.session.rollback()
        signature = attendance.sign_as_trainee(slot, awa.trainee, DATA_URL(), qr=attendance.qr_token(slot))
        db.session.commit()
    assert (signature.enrolment_id, signature.method) == (awa.id, "qr")
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 1
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "signed"))
    assert entry.actor_id is None and awa.trainee.full_name in entry.actor_label


def test_the_room_qr_code_rotates_every_minute_and_is_good_for_two(course):
    session, (awa, _julien, _sophie) = course
    slot = session.slots[0]
    shown_at = datetime.combine(slot.date, slot.start_time) + timedelta(seconds=10)  # 14:00:10
    with frozen_at(shown_at):
        shown = attendance.qr_token(slot)
        assert attendance.slot_from_qr(shown) == slot
    with frozen_at(shown_at + timedelta(seconds=30)):
        assert attendance.qr_token(slot) == shown  # the same code all the minute
    with frozen_at(shown_at + timedelta(seconds=60)):
        assert attendance.qr_token(slot) != shown  # a new code the next minute...
        assert attendance.slot_from_qr(shown) == slot  # ...and the previous one still scans
    with frozen_at(shown_at + timedelta(seconds=110)):  # 14:02:00: two minutes later, a forwarded photo fails
        assert attendance.slot_from_qr(shown) is None
        with pytest.raises(ServiceError, match="a expiré"):
            attendance.sign_as_trainee(slot, awa.trainee, DATA_URL(), qr=shown)


def test_the_pass_of_a_scan_is_for_the_trainee_who_scanned_for_a_quarter_of_an_hour(course):
    session, (awa, julien, _sophie) = course
    slot, other_slot = session.slots[0], session.slots[1]
    with frozen_at(at(slot)):
        scanned = attendance.qr_pass(slot, awa.trainee)
        assert not attendance.scanned_in_room(slot, julien.trainee, scanned)  # forwarded to a colleague
        assert not attendance.scanned_in_room(other_slot, awa.trainee, scanned)
        assert not attendance.scanned_in_room(slot, awa.trainee, "forged")
    with frozen_at(at(slot, 5 + 16)), pytest.raises(ServiceError, match="a expiré"):
        attendance.sign_as_trainee(slot, awa.trainee, DATA_URL(), qr=scanned)
    with frozen_at(at(slot, 5 + 14)):  # drawing a signature may take a while after the scan
        signature = attendance.sign_as_trainee(slot, awa.trainee, DATA_URL(), qr=scanned)
        db.session.commit()
    assert (signature.enrolment_id, signature.method) == (awa.id, "qr")


def test_remote_sessions_accept_the_personal_link_alone():
    session, (awa,) = factories.make_attendance_session(trainees=1, modality="remote")
    slot = session.slots[0]
    with frozen_at(at(slot)):
        signature = attendance.sign_as_trainee(slot, awa.trainee, DATA_URL())
    db.session.commit()
    assert signature.method == "personal_link"


@pytest.mark.parametrize("modality", ["mixed", "remote"])
def test_outside_the_room_an_expired_pass_does_not_keep_the_personal_link_from_signing(modality):
    """A trainee of a mixed session who came through the room's QR code and drew their signature after their
    pass expired signs through their personal link, as they could without scanning (in person, still refused:
    test_the_pass_of_a_scan_is_for_the_trainee_who_scanned_for_a_quarter_of_an_hour)."""
    session, (awa, bob) = factories.make_attendance_session(trainees=2, modality=modality)
    slot = session.slots[0]
    with frozen_at(at(slot)):
        scanned = attendance.qr_pass(slot, awa.trainee)
    with frozen_at(at(slot, 5 + 20)):
        signature = attendance.sign_as_trainee(slot, awa.trainee, DATA_URL(), qr=scanned)
        forwarded = attendance.sign_as_trainee(slot, bob.trainee, DATA_URL(), qr=scanned)  # Awa's pass, Bob's link
        db.session.commit()
    assert [signature.method, forwarded.method] == ["personal_link", "personal_link"]
    assert forwarded.enrolment_id == bob.id  # who signs comes from the link, never from the pass


def _upload(content: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name)


def test_scans_are_checked_by_content_and_size(app, course, trainer, admin, monkeypatch):
    session, enrolments = course
    slot = session.slots[0]
    with frozen_at(at(slot)):
        with pytest.raises(ServiceError, match="type accepté"):
            attendance.attach_scan(slot, _upload(b"MZ\x90\x00 an executable", "feuille.pdf"), admin)
        db.session.rollback()
        monkeypatch.setitem(app.config, "ATTENDANCE_UPLOAD_MAX_BYTES", 1000)
        with pytest.raises(ServiceError, match="taille maximale"):
            attendance.attach_scan(slot, _upload(b"%PDF-1.4" + b"0" * 2000, "feuille.pdf"), admin)
        db.session.rollback()
        with pytest.raises(ServiceError, match="administrateur"):
            attendance.attach_scan(slot, _upload(b"%PDF-1.4 ok", "feuille.pdf"), trainer)
        db.session.rollback()
        assert attendance.slot_sheet(slot).has_scan is False
        sheet = attendance.attach_scan(slot, _upload(b"%PDF-1.4 the paper sheet", "scan.jpg"), admin)
        db.session.commit()
        assert sheet.scan_kind == "pdf"
        # With the paper sheet attached, the slot can be closed without on-screen signatures.
        for enrolment in enrolments:
            attendance.mark(slot, enrolment, "present", actor=trainer)
    with frozen_at(near_the_end(slot)):
        attendance.close_slot(slot, admin)
        db.session.commit()
    grid = attendance.session_grid(session)
    assert [c.state for c in grid.rows[0].cells][:1] == ["paper"] and grid.columns[0].trainer_missing is False


def test_justified_absence_keeps_its_document(course, trainer):
    session, (awa, *_rest) = course
    slot = session.slots[0]
    with frozen_at(at(slot)):
        with pytest.raises(ServiceError, match="type accepté"):
            attendance.mark(slot, awa, "absent_justified", actor=trainer, justification="Malade",
                            document=_upload(b"<html>", "certificat.pdf"))
        db.session.rollback()
        record = attendance.mark(slot, awa, "absent_justified", actor=trainer, justification="Malade",
                                 document=_upload(_png(fmt="JPEG"), "certificat.png"))
    db.session.commit()
    assert record.justification_kind == "jpeg" and storage.exists(record.justification_path)


def test_replacing_the_scan_of_a_closed_sheet_needs_a_reason_and_keeps_the_first_scan(course, trainer, admin):
    session, enrolments = course
    slot = session.slots[0]
    with frozen_at(at(slot)):
        attendance.attach_scan(slot, _upload(b"%PDF-1.4 first paper sheet", "scan.pdf"), admin)
        for enrolment in enrolments:
            attendance.mark(slot, enrolment, "present", actor=trainer)
        db.session.commit()
    with frozen_at(near_the_end(slot)):
        attendance.close_slot(slot, trainer)
        db.session.commit()
    first = attendance.slot_sheet(slot).sheet.scan_path
    with frozen_at(datetime(2030, 3, 20, 10, 0)):
        with pytest.raises(ServiceError, match="motif du remplacement") as refused:
            attendance.attach_scan(slot, _upload(b"%PDF-1.4 second scan", "scan.pdf"), admin, "  ")
        db.session.rollback()
        assert refused.value.field == "reason" and attendance.slot_sheet(slot).sheet.scan_path == first
        attendance.attach_scan(slot, _upload(b"%PDF-1.4 second scan", "scan.pdf"), admin,
                               "Page 2 manquait sur le premier scan")
        db.session.commit()
    second = attendance.slot_sheet(slot).sheet.scan_path
    assert second != first and storage.read(first) == b"%PDF-1.4 first paper sheet"
    closed, replaced = attendance.versions(slot)
    assert (closed.action, closed.snapshot["scan_file"]) == ("closed", first)
    assert (replaced.action, replaced.reason, replaced.snapshot["scan_file"]) == (
        "scan_replaced", "Page 2 manquait sur le premier scan", second)
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "scan_replaced"))
    assert entry.reason == "Page 2 manquait sur le premier scan"
    assert entry.details["replaced"]["scan_file"] == first and entry.details["scan_file"] == second


def test_a_justification_document_stays_in_the_history_when_the_status_changes(course, trainer, admin):
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    with frozen_at(at(slot)):
        attendance.mark(slot, sophie, "absent_justified", actor=trainer, justification="Malade",
                        document=_upload(_png(fmt="JPEG"), "certificat.png"))
        db.session.commit()
    path = db.session.scalar(db.select(AttendanceRecord.justification_path))
    run_slot(slot, [awa, julien], trainer)  # Sophie stays absent; the trainer closes the sheet
    with frozen_at(at(slot, 60 * 24)):
        attendance.mark(slot, sophie, "absent_unjustified", actor=admin, reason="Certificat pour un autre jour")
        db.session.commit()
    closed, corrected = attendance.versions(slot)
    kept = next(r for r in closed.snapshot["rows"] if r["enrolment_id"] == sophie.id)
    now = next(r for r in corrected.snapshot["rows"] if r["enrolment_id"] == sophie.id)
    assert (kept["justification_file"], kept["justification_kind"]) == (path, "jpeg") and storage.exists(path)
    assert now["justification_file"] is None and now["status"] == "absent_unjustified"
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "corrected")).one()
    assert entry.details["before"]["justification_file"] == path and entry.details["after"]["justification_file"] \
        is None


def test_today_lists_the_sessions_of_the_trainer_with_the_current_slot(course, trainer, admin):
    session, _enrolments = course
    other = factories.make_user("trainer")
    wednesday = session.slots[1]
    with frozen_at(datetime(2030, 3, 6, 12, 0)):
        days = attendance.todays_sessions(trainer)
        assert [d.session.id for d in days] == [session.id]
        assert days[0].current.id == wednesday.id and len(days[0].slots) == 2
        assert attendance.todays_sessions(other) == []
        assert len(attendance.todays_sessions(admin)) == 1
    with frozen_at(datetime(2030, 3, 6, 13, 0)):  # between the two half-days: the next one
        assert attendance.todays_sessions(trainer)[0].current.id == session.slots[2].id
    with frozen_at(datetime(2030, 3, 9, 10, 0)):
        assert attendance.todays_sessions(trainer) == []
    assert db.session.scalar(db.select(db.func.count(User.id))) == 3


def test_only_a_trainer_of_the_session_as_it_is_now_signs_the_sheet(course, trainer):
    """Another trainer is refused; so is one taken off the session after their page loaded its trainers (the
    session's lock reads the session, and its trainers, again)."""
    from training_app.models import session_trainers
    session, enrolments = course
    slot = session.slots[0]
    with frozen_at(at(slot)):
        for i, enrolment in enumerate(enrolments):
            attendance.sign(slot, enrolment, DATA_URL(i), method=SignatureMethod.DEVICE, actor=trainer)
    db.session.commit()
    other = factories.make_user("trainer")
    with frozen_at(near_the_end(slot)), pytest.raises(ServiceError, match="Seul·e un·e formateur·rice de la session"):
        attendance.close_slot(slot, other, DATA_URL(99))
    db.session.rollback()
    assert session.has_trainer(trainer)  # loaded, as a page would have
    db.session.execute(session_trainers.delete().where(session_trainers.c.session_id == session.id))
    with frozen_at(near_the_end(slot)), pytest.raises(ServiceError, match="Seul·e un·e formateur·rice de la session"):
        attendance.close_slot(slot, trainer, DATA_URL(99))
    db.session.rollback()
