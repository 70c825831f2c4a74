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
from training_app.services import ServiceError, attendance, certificates, funding


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
        certificates.issue_for_session(course.session)
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
        "Certificat de réalisation à réémettre, les heures ont changé depuis son émission : Julien Le Bihan."]
    with frozen_at(datetime(2019, 1, 10, 10)), pytest.raises(ServiceError, match="ne peut pas partir"):
        funding.send(claim, date(2019, 1, 10))
    db.session.rollback()

    with frozen_at(datetime(2019, 1, 9, 10)):
        certificates.issue_for_enrolment(julien)
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
