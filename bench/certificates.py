"""Issuing the certificates of a 15-trainee session: time per certificate vs a bare docxtpl render.

Issuing a document = reading hours (attendance) and results (outcomes), numbering under lock,
verification code, QR code, plain-data context, render, SHA-256, storing the file, the database
rows and the audit entry. The bare render is docxtpl
alone on the same template with the same context and images, in the same run. Target: at most
1.5 times the bare render. Rounds alternate between the two so that a busy machine slows both;
the best round of each is compared (and the median shown).

As PDF (DOCUMENTS_AS_PDF, when LibreOffice is installed), both sides also convert their 30
documents: the bare side with one `soffice --convert-to pdf` run on the files it rendered.

    python -m bench certificates
"""
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

TRAINEES = 15
ROUNDS = 5
PDF_ROUNDS = 3  # a PDF round takes seconds
TARGET = 1.5


def main() -> bool:
    return report(*rounds())


def rounds(as_pdf: bool = False) -> tuple[list[float], list[float]]:
    """Seconds per document of each round: (bare renders, issuing), on a fresh session; `as_pdf`: both
    convert to PDF too."""
    previous_instance = os.environ.get("INSTANCE_PATH")
    with tempfile.TemporaryDirectory(prefix="bench-certificates-") as folder:
        os.environ["INSTANCE_PATH"] = folder
        from training_app import create_app
        from training_app.extensions import db
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
                                     "STORAGE_DIR": os.path.join(folder, "storage"), "DOCUMENTS_AS_PDF": as_pdf})
        with app.app_context():
            db.create_all()
            session_id = build_session()
            db.session.commit()
            result = run(session_id, as_pdf)
            db.session.remove()
            db.engine.dispose()
    if previous_instance is None:
        os.environ.pop("INSTANCE_PATH", None)
    else:
        os.environ["INSTANCE_PATH"] = previous_instance
    return result


def build_session() -> int:
    """The reference course's completed session: 15 confirmed trainees, attendance taken, outcomes assessed."""
    from training_app.clock import frozen_at
    from training_app.demo import catalogue
    from training_app.demo.catalogue import reference_programme
    from training_app.extensions import db
    from training_app.models import Employer, Enrolment, Trainee, User
    from training_app.services import sessions as session_service

    catalogue.seed()
    trainer = db.session.scalar(db.select(User).where(User.role == "trainer").order_by(User.id))
    # Scheduled ahead, as the office does (its half-days are then signed in the application, on their days): not
    # recorded afterwards from paper sheets, which nobody signs in the application. Over, it shows as completed.
    with frozen_at(datetime(2018, 11, 1, 9)):
        session = session_service.create_session(session_service.SessionData(
            programme=reference_programme(), start_at=datetime(2018, 12, 11, 14),
            end_at=datetime(2018, 12, 14, 12, 30), place="4 rue du Bourbonnais, 35000 Rennes", capacity=15,
            status="open", trainers=(trainer,)))
    employer = Employer(name="CCAS de Rennes", siret="78324521000001")
    db.session.add(employer)
    enrolments = []
    for n in range(TRAINEES):
        trainee = Trainee(civility="Mme", first_name=f"Prénom{n}", last_name=f"Stagiaire{n:02d}",
                          email=f"stagiaire{n}@bench.example.org", employer=employer, job_title="Animatrice")
        enrolments.append(Enrolment(session=session, trainee=trainee, status="confirmed",
                                    requested_at=datetime(2018, 11, 1)))
    db.session.add_all(enrolments)
    db.session.flush()
    record_attendance(session, enrolments, trainer)
    return session.id


def record_attendance(session, enrolments, trainer) -> None:
    """Everybody signs every half-day (one absent on Wednesday afternoon), the trainer closes each sheet;
    every objective assessed."""
    from datetime import timedelta

    from training_app.clock import frozen_at
    from training_app.demo.attendance import _data_url
    from training_app.models import SignatureMethod
    from training_app.services import attendance, outcomes

    signature = _data_url("Stagiaire")
    for slot in session.slots:
        with frozen_at(slot.starts_at + timedelta(minutes=5)):
            for index, enrolment in enumerate(enrolments):
                if index == 0 and slot.date.day == 12 and slot.start_time.hour == 14:
                    attendance.mark(slot, enrolment, "absent_unjustified", actor=trainer)
                else:
                    attendance.sign(slot, enrolment, signature, method=SignatureMethod.DEVICE, actor=trainer)
        with frozen_at(slot.ends_at - timedelta(minutes=5)):  # a trainer closes near the end
            attendance.close_slot(slot, trainer, _data_url(trainer.name))
    outcomes.record_outcomes(session, [outcomes.Assessment(e.id, o.id, "acquired")
                                       for e in enrolments for o in session.programme.objectives], actor=trainer)


def run(session_id: int, as_pdf: bool = False) -> tuple[list[float], list[float]]:
    from docxtpl import DocxTemplate

    from training_app.documents import word
    from training_app.extensions import db
    from training_app.models import TrainingSession
    from training_app.services import certificates

    session = db.session.get(TrainingSession, session_id)
    templates = {kind: certificates.template_bytes(kind) for kind in certificates.KINDS}
    # The bare renders get exactly what the issuing renders get: context, images, template.
    organisation = certificates.organisation_service.identity()
    totals = certificates.attendance.totals_for_session(session)
    results = certificates.outcomes.results_for_session(session)
    images = certificates.organisation_images()
    jobs = []
    for enrolment, _documents in certificates.current_documents_by_enrolment(session):
        for kind in certificates.KINDS:
            code = certificates.new_verification_code()
            link = certificates.verify_url(code)
            context = certificates.certificate_context(
                enrolment, totals[enrolment.id], results[enrolment.id], organisation,
                {"number": "2018-00001", "version": 1, "verification_code": code, "verify_url": link,
                 "issued_on": datetime(2018, 12, 14).date()})
            jobs.append((templates[kind], context, certificates.document_images(
                certificates.document_organisation_images(kind, organisation, images), link)))

    def bare_round() -> float:
        start = time.perf_counter()
        rendered = []
        for template, context, images in jobs:
            document = DocxTemplate(io.BytesIO(template))
            filled = dict(context)
            for key, (content, width) in images.items():
                filled[key] = word.image(document, content, width) if content else ""
            document.render(filled, autoescape=True)
            rendered.append(io.BytesIO())
            document.save(rendered[-1])
        if as_pdf:
            bare_pdf([r.getvalue() for r in rendered])
        return (time.perf_counter() - start) / len(jobs)

    def issue_round(reissue: bool) -> float:
        start = time.perf_counter()
        report = certificates.issue_for_session(db.session.get(TrainingSession, session_id), reissue=reissue,
                                                unrecorded_confirmed=True)  # no outcomes recorded here
        db.session.commit()
        elapsed = time.perf_counter() - start
        assert len(report.issued) == 2 * TRAINEES, report
        return elapsed / len(report.issued)

    bare_round()  # warm-up: imports, caches
    bare, issued = [], []
    for round_number in range(PDF_ROUNDS if as_pdf else ROUNDS):
        bare.append(bare_round())
        issued.append(issue_round(reissue=round_number > 0))
    return bare, issued


def bare_pdf(documents: list[bytes]) -> list[bytes]:
    """LibreOffice alone: one run converting the files, read back."""
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as folder:
        names = [os.path.join(folder, f"{n}.docx") for n in range(len(documents))]
        for name, content in zip(names, documents):
            with open(name, "wb") as handle:
                handle.write(content)
        subprocess.run([shutil.which("soffice"), f"-env:UserInstallation=file://{folder}/profile", "--headless",
                        "--convert-to", "pdf", "--outdir", folder, *names], check=True, capture_output=True)
        converted = []
        for name in names:
            with open(name.removesuffix(".docx") + ".pdf", "rb") as handle:
                converted.append(handle.read())
        return converted


def report(bare: list[float], issued: list[float]) -> bool:
    ratio = min(issued) / min(bare)
    print(f"{TRAINEES} trainees, {2 * TRAINEES} documents per round, {ROUNDS} rounds "
          f"(Python {sys.version.split()[0]}, SQLite)")
    print(f"  bare docxtpl render : best {min(bare) * 1000:6.1f} ms   median {statistics.median(bare) * 1000:6.1f} ms"
          " per document")
    print(f"  issuing (stored)    : best {min(issued) * 1000:6.1f} ms   median "
          f"{statistics.median(issued) * 1000:6.1f} ms per document")
    print(f"  ratio (best/best)   : {ratio:.2f}  (target <= {TARGET})  -> {'OK' if ratio <= TARGET else 'TOO SLOW'}")
    return ratio <= TARGET


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
