"""Short, readable test data: each helper commits what it makes."""
import contextlib
import html
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
from datetime import datetime, time

from sqlalchemy import inspect

from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import (Employer, Enrolment, EnrolmentStatus, Funder, Programme, ProgrammeObjective,
                                 Trainee, TrainingSession, User)
from training_app.services import sessions as session_service
from training_app.services import trainee_links

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def make_user(role="trainer", name=None, email=None, active=True) -> User:
    n = next(_counter)
    user = User(email=email or f"user{n}@example.org", name=name or f"Personne {n}", role=role, active=active)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def login(client, user: User, password: str = PASSWORD):
    response = client.post("/connexion", data={"email": user.email, "password": password})
    assert response.status_code == 302, "sign-in failed"
    return response


def sign_in_session(client, user: User) -> None:
    """Sign `client` in as `user` without going through the form (the sign-in the form would start)."""
    from training_app.services import users
    users.start_sign_in(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def sign_in_browser(page, user: User, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page, in a browser test (Playwright's `page`)."""
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def fill_session_form(page, start: str, end: str, programme: str | None = None, capacity: str | None = None) -> None:
    """Fill the new session form's dates and hours (start and end as "YYYY-MM-DD HH:MM"), in a browser test, and its
    programme and capacity when given (else the form's own choice stays); the caller fills the rest and saves."""
    if programme is not None:
        page.get_by_label("Formation", exact=True).select_option(label=programme)
    for field, moment in (("début", start), ("fin", end)):
        day, hour = moment.split()
        page.get_by_label(f"Date de {field}", exact=True).fill(day)
        page.get_by_label(f"Heure de {field}", exact=True).fill(hour)
    if capacity is not None:
        page.get_by_label("Capacité (places)").fill(capacity)


def make_programme(title=None, objectives=("Préparer une négociation", "Suivre une négociation"),
                   price_cents=84000, capacity=15, kind="external", **fields) -> Programme:
    programme = Programme(title=title or f"Formation {next(_counter)}", kind=kind, price_cents=price_cents,
                          default_capacity=capacity, default_duration_minutes=21 * 60, **fields)
    programme.objectives = [ProgrammeObjective(position=i, text=t) for i, t in enumerate(objectives, start=1)]
    db.session.add(programme)
    db.session.commit()
    return programme


def make_session(programme=None, start=datetime(2030, 3, 5, 14, 0), end=datetime(2030, 3, 8, 12, 30),
                 capacity=15, trainers=(), status="open", price_cents=84000, timetable=None,
                 include_weekends=False) -> TrainingSession:
    """A session with its generated slots (default: Tue 14:00 to Fri 12:30, 6 slots, 21 h)."""
    programme = programme or make_programme()
    data = session_service.SessionData(
        programme=programme, start_at=start, end_at=end, place="4 rue du Bourbonnais, Rennes",
        capacity=capacity, price_cents=price_cents, status=status, trainers=tuple(trainers),
        timetable=timetable or session_service.DEFAULT_TIMETABLE, include_weekends=include_weekends)
    with frozen_at(end if status == "completed" else datetime(2000, 1, 1)):  # marked completed once over
        session = session_service.create_session(data)
    db.session.commit()
    return session


def make_funder(name=None) -> Funder:
    funder = Funder(name=name or f"OPCO {next(_counter)}")
    db.session.add(funder)
    db.session.commit()
    return funder


def make_employer(name=None, siret="78324521000001", funder=None) -> Employer:
    employer = Employer(name=name or f"Structure {next(_counter)}", siret=siret, funder=funder)
    db.session.add(employer)
    db.session.commit()
    return employer


def make_trainee(first_name="Awa", last_name=None, email=None, employer=None, **fields) -> Trainee:
    n = next(_counter)
    trainee = Trainee(first_name=first_name, last_name=last_name or f"Stagiaire{n}",
                      email=email or f"stagiaire{n}@example.org", employer=employer, civility="Mme", **fields)
    db.session.add(trainee)
    db.session.commit()
    return trainee


def make_enrolment(session: TrainingSession, trainee: Trainee | None = None,
                   status: str = EnrolmentStatus.CONFIRMED) -> Enrolment:
    """Test data: an enrolment in a given state, inserted as it is (not through the rules), for the trainee's
    employer (as enrolments.enrol() keeps it)."""
    trainee = trainee or make_trainee()
    enrolment = Enrolment(session=session, trainee=trainee, status=status, employer=trainee.employer,
                          requested_at=datetime(2020, 1, 1), price_cents=session.price_cents,
                          waitlisted_at=datetime(2020, 1, 1) if status == EnrolmentStatus.WAITLISTED else None)
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


def personal_path(trainee: Trainee, endpoint="trainee.home", **values) -> str:
    """The path part of a trainee's personal link."""
    url = trainee_links.personal_url(trainee, endpoint, **values)
    return url[url.index("/", len("http://")):]


def t(hhmm: str) -> time:
    h, m = hhmm.split(":")
    return time(int(h), int(m))


# --- enrolments (issue 3) ---------------------------------------------------------------------------

def make_cycle(name=None, special_price_cents=45000):
    from training_app.models import Cycle
    cycle = Cycle(name=name or f"Cycle {next(_counter)}", special_price_cents=special_price_cents)
    db.session.add(cycle)
    db.session.commit()
    return cycle


def enrol(session: TrainingSession, trainee: Trainee | None = None, **options) -> Enrolment:
    """An enrolment made through the rules (capacity, waiting list, audit), committed."""
    from training_app.services import enrolments
    enrolment = enrolments.enrol(session, trainee or make_trainee(), **options)
    db.session.commit()
    return enrolment


# --- the public registration: a request, then its confirmation through the link e-mailed ------------------

REQUESTED_MARK = b'data-testid="registration-result"'  # the answer to a request accepted (registration_requests)


def confirmation_path(email: str) -> str:
    """The path of the confirmation link last e-mailed to `email` for a request of the public registration page
    (services/registration_requests.py), read in the outbox's rows as the person reads their mailbox."""
    from training_app.models import OutgoingMail
    for recipients, body in db.session.execute(
            db.select(OutgoingMail.recipients, OutgoingMail.body)
            .where(OutgoingMail.tag.like("registration_request:%")).order_by(OutgoingMail.id.desc())):
        if email.strip().lower() in recipients:
            url = next(word for word in body.split() if "/formations/inscription/confirmer/" in word)
            return url[url.index("/", len("http://")):]
    raise AssertionError(f"no confirmation link was e-mailed to {email}")


def register_and_confirm(client, session: TrainingSession, data: dict):
    """What a person does on the public page: post the registration form with `data`, then open the link
    e-mailed to the address typed and confirm. Returns the confirmation's answer, or the form's answer when the
    request was refused (or was a robot's: nothing e-mailed)."""
    response = client.post(f"/formations/sessions/{session.id}/inscription", data=data)
    if REQUESTED_MARK not in response.data or data.get("website"):
        return response
    return client.post(confirmation_path(data["email"]))


def rezipped(content: bytes, edit=None, added: dict | None = None) -> bytes:
    """The zip `content` (a .docx, an .xlsx) packed again at the highest compression, each part's data through
    `edit(name, data)` when given, then the `added` parts {name: data} (which replace parts of the same name)."""
    import io
    import zipfile
    added = added or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as packed:
        for item in source.infolist():
            if item.filename not in added:
                data = source.read(item.filename)
                packed.writestr(item, edit(item.filename, data) if edit else data)
        for name, data in added.items():
            packed.writestr(name, data)
    return out.getvalue()


def xlsx_bytes(rows) -> bytes:
    """A workbook whose first sheet holds `rows` (lists of cell values)."""
    import io

    import openpyxl
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- questionnaires and learning outcomes (issue 5) ----------------------------------------------

def make_questionnaire(questions=None, *, anonymous=True, kind="satisfaction", title=None):
    """A questionnaire; `questions` are QuestionData (default: a rating, a yes/no and a free text)."""
    from training_app.services import surveys as survey_service
    from training_app.services.surveys import QuestionData, QuestionnaireData
    if questions is None:
        questions = [QuestionData("rating", "Comment avez-vous trouvé la formation ?"),
                     QuestionData("yes_no", "La recommanderiez-vous ?"),
                     QuestionData("free_text", "Un commentaire ?", required=False)]
    questionnaire = survey_service.create_questionnaire(
        QuestionnaireData(title=title or f"Questionnaire {next(_counter)}", kind=kind, anonymous=anonymous),
        questions)
    db.session.commit()
    return questionnaire


def make_survey(session=None, questionnaire=None, opens_at=datetime(2030, 3, 8, 9, 30),
                closes_at=datetime(2030, 3, 22, 18, 0)):
    """A questionnaire given in a session (default: the factory session's last half-day, two weeks). One closed
    already is given as it opened (attach refuses a window that is over)."""
    from training_app.clock import local_now
    from training_app.services import surveys as survey_service
    session = session or make_session()
    questionnaire = questionnaire or make_questionnaire()
    if closes_at <= local_now():
        with frozen_at(opens_at):
            survey = survey_service.attach(session, questionnaire, opens_at, closes_at)
    else:
        survey = survey_service.attach(session, questionnaire, opens_at, closes_at)
    db.session.commit()
    return survey


def answer_survey(survey, trainee, answers_by_position: dict):
    """A trainee answers while the survey is open; values keyed by question position (1, 2, ...)."""
    from datetime import timedelta

    from training_app.services import surveys as survey_service
    by_position = {q.position: q.id for q in survey.questionnaire.questions}
    raw = {by_position[position]: value for position, value in answers_by_position.items()}
    with frozen_at(survey.opens_at + timedelta(minutes=1)):
        participation = survey_service.submit(survey, trainee, raw)
    db.session.commit()
    return participation


class count_queries:  # noqa: N801 - used as a function: `with count_queries() as statements:`
    """Collect the SQL statements run inside the block (for "constant queries" checks), on the application's
    engine and on the one that reads the data token on PostgreSQL (training_app/page_cache.py)."""

    def __enter__(self) -> list[str]:
        from flask import current_app
        from sqlalchemy import event
        self.statements = []
        self.engines = [e for e in (db.engine, current_app.extensions.get("data_version_engine")) if e is not None]
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._record)
        return self.statements

    def _record(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __exit__(self, *exc):
        from sqlalchemy import event
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._record)


def page_statements(client, url, **headers) -> tuple[int, str]:
    """GET a page (status 200): the number of statements it ran and its text."""
    with count_queries() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def rendered_page_queries(client, url) -> int:
    """The statements a page runs when rendered: asked like a browser's forced reload, so that a kept
    page (training_app/page_cache.py) is rendered again rather than given back."""
    return page_statements(client, url, **{"Cache-Control": "no-cache"})[0]


# --- attendance (issue 4) -------------------------------------------------------------------------

def signature_png(seed: int = 1, size=(300, 120)) -> bytes:
    """A small PNG with a pen stroke, as a signature pad would send."""
    import io

    from PIL import Image, ImageDraw
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(10 + i * 25, 60 + ((i * 37 + seed * 11) % 50) - 25) for i in range(11)]
    draw.line(points, fill=(16, 34, 77, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def signature_data_url(seed: int = 1) -> str:
    import base64
    return "data:image/png;base64," + base64.b64encode(signature_png(seed)).decode()


def make_attendance_session(trainees: int = 3, trainers=(), modality: str = "in_person", **fields):
    """The reference timetable session (Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30: 6 slots, 21 h) with
    `trainees` confirmed enrolments. Returns (session, [enrolments])."""
    session = make_session(trainers=trainers, **fields)
    if modality != "in_person":
        session.modality = modality
        db.session.commit()
    enrolments = [make_enrolment(session, make_trainee(last_name=f"Stagiaire{i:02d}")) for i in range(trainees)]
    return session, enrolments


# --- certificates (issue 6) ------------------------------------------------------------------------

ORGANISATION_IDENTITY = {
    "name": "Si on s'alliait ?", "address": "4 rue du Bourbonnais\n35000 Rennes", "siret": "44195127000004",
    "declaration_number": "53350999935", "legal_representative": "Claire Bernard",
    "signatory_name": "Claire Bernard", "signatory_role": "Co-présidente", "city": "Rennes",
}


def make_organisation(**overrides):
    """The organisation's identity, complete enough for documents (override a field with "" to blank it)."""
    from training_app.models import Organisation
    organisation = Organisation.get()
    for key, value in {**ORGANISATION_IDENTITY, **overrides}.items():
        setattr(organisation, key, value)
    db.session.commit()
    return organisation


def make_issued_certificate(enrolment: Enrolment, kind: str = "attestation", content: bytes = b"PK\x03\x04 test"):
    """A stored document as the issuing service leaves it (without rendering a template)."""
    import hashlib

    from training_app.documents import storage
    from training_app.models import IssuedCertificate
    from training_app.services import certificates
    n = next(_counter)
    session = enrolment.session
    doc = IssuedCertificate(
        enrolment=enrolment, kind=kind, year=2018, sequence=n, number=f"2018-{n:05d}", version=1,
        verification_code=certificates.new_verification_code(), sha256=hashlib.sha256(content).hexdigest(),
        storage_path=storage.save("certificates/tests", f"doc-{n}.docx", content), filename=f"doc-{n}.docx",
        trainee_name=enrolment.trainee.full_name, course_title=session.programme.title,
        start_date=session.start_at.date(), end_date=session.end_at.date(),
        planned_minutes=session.planned_minutes, attended_minutes=session.planned_minutes)
    db.session.add(doc)
    db.session.commit()
    return doc


def docx_text(content: bytes) -> str:
    """Every paragraph and table row of a .docx (body, then headers and footers), one per line,
    cells joined by " | "."""
    import io

    from docx import Document
    document = Document(io.BytesIO(content))
    parts = [document] + [part for section in document.sections for part in (section.header, section.footer)]
    lines = []
    for part in parts:
        lines += [p.text for p in part.paragraphs]
        for table in part.tables:
            for row in table.rows:
                lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


# --- funding (issue 7) ---------------------------------------------------------------------------------

def make_agreement(session: TrainingSession, enrolments, funder: Funder | None = None, status: str = "granted",
                   file_number: str | None = None, hourly_rate_cents: int | None = 1500,
                   amount_cents: int | None = None, hourly_cap_cents: int | None = None, employer=None,
                   mode: str = "subrogation", **annex_cents):
    """Test data: a funding agreement inserted as it is, covering `enrolments`.

    annex_cents: e.g. travel_agreed_cents=5000, travel_actual_cents=4200 (set on every covered trainee)."""
    from datetime import date

    from training_app.models import AgreementTrainee, FundingAgreement
    funder = funder or make_funder()
    agreement = FundingAgreement(
        funder=funder, session=session, employer=employer, status=status, requested_on=date(2018, 11, 1),
        decided_on=date(2018, 11, 20) if status != "requested" else None,
        file_number=file_number if file_number is not None else f"DOS-{next(_counter)}", mode=mode,
        hourly_rate_cents=hourly_rate_cents, amount_cents=amount_cents, hourly_cap_cents=hourly_cap_cents)
    agreement.trainees = [AgreementTrainee(enrolment=e, **annex_cents) for e in enrolments]
    db.session.add(agreement)
    db.session.commit()
    return agreement


def make_claim(funder: Funder, session: TrainingSession, status: str = "draft", number: str | None = None):
    """Test data: a claim with its figures calculated, inserted as it is (whatever the session's dates); numbered
    unless a draft."""
    from training_app.models import FundingClaim
    from training_app.services import funding as funding_service
    claim = FundingClaim(funder=funder, sessions=[session], status="draft",
                         number=number or (None if status == "draft" else f"2099-{next(_counter):04d}"))
    db.session.add(claim)
    funding_service.refresh(claim)
    claim.status = status
    db.session.commit()
    return claim


def make_billed_course(trainer: User, status: str):
    """Test data: the reference session, its six half-days signed and closed by `trainer` (21 h each); the first
    trainee covered by Uniformation and billed by a claim in `status` (sent on 20 March 2030 unless a draft), the
    second billed by no claim. Returns (session, billed, unbilled, claim)."""
    from datetime import date
    session, (billed, unbilled) = make_attendance_session(trainees=2, trainers=[trainer])
    take_attendance(session, trainer)
    funder = make_funder("Uniformation")
    make_agreement(session, [billed], funder=funder)
    claim = make_claim(funder, session, status=status)
    if status != "draft":
        claim.sent_on = date(2030, 3, 20)
    db.session.commit()
    return session, billed, unbilled, claim


def take_attendance(session: TrainingSession, trainer: User, absent: dict | None = None) -> None:
    """Each half-day of `session`, as it happened: trainees sign on the room's device, `absent`
    ({(enrolment_id, slot_index): (status, justification)}) are marked absent, the trainer signs
    and closes the sheet. Uses the attendance rules (services/attendance), time frozen in the slot."""
    from datetime import timedelta

    from training_app.services import attendance
    absent = absent or {}
    enrolments = db.session.scalars(db.select(Enrolment).where(
        Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Enrolment.id)).all()
    for index, slot in enumerate(session.slots):
        with frozen_at(slot.starts_at + timedelta(minutes=10)):
            for n, enrolment in enumerate(enrolments):
                if (enrolment.id, index) in absent:
                    status, justification = absent[(enrolment.id, index)]
                    attendance.mark(slot, enrolment, status, actor=trainer, justification=justification)
                else:
                    attendance.sign(slot, enrolment, signature_data_url(n + 1), method="device")
        with frozen_at(slot.ends_at - timedelta(minutes=5)):
            attendance.close_slot(slot, trainer, signature_data_url(99))
        db.session.commit()
# --- review fixes ---------------------------------------------------------------------------------

def make_convocation_sending(enrolment, actor=None, sent_at=None):
    """Test data: a convocation recorded as sent (no document rendered)."""
    from training_app.models import ConvocationSending
    sending = ConvocationSending(enrolment=enrolment, sent_to=enrolment.trainee.email, channel="email",
                                 actor=actor, actor_label=actor.name if actor else "",
                                 sent_at=sent_at or datetime(2030, 2, 1, 9, 0))
    db.session.add(sending)
    db.session.commit()
    return sending


def run_together(app, *actions) -> tuple[list, list]:
    """Run each action in its own thread, app context and transaction, released at the same moment
    (concurrency tests, PostgreSQL). An action's return value (or its ServiceError, rolled back) goes to
    `results`; any other exception to `errors`."""
    import threading

    from training_app.services import ServiceError

    barrier = threading.Barrier(len(actions), timeout=30)
    results, errors = [], []

    def run(action):
        with app.app_context():
            try:
                barrier.wait()
                results.append(action())
                db.session.commit()
            except ServiceError as error:
                db.session.rollback()
                results.append(error)
            except Exception as error:  # noqa: BLE001 - any other failure is the test's failure
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def free_port() -> int:
    """A TCP port of the loopback that nothing listens on (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn_serving(app, folder, *, workers: int, config: str = "testing", **environment):
    """The application served by gunicorn (`workers` processes, forked from a preloaded master) on a free
    port of the loopback, on the tests' database; yields its base URL. `environment`: more settings."""
    port, url = free_port(), app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
    env = dict(os.environ, TRAINING_APP_CONFIG=config, INSTANCE_PATH=str(folder),
               STORAGE_DIR=os.path.join(folder, "storage"), TEST_DATABASE_URL=url, DATABASE_URL=url, **environment)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--preload",
         "--log-level", "info", "training_app:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        booted, log = 0, []
        for line in process.stderr:  # blocks until gunicorn reports; the socket is bound before workers boot
            log.append(line)
            if "Booting worker" in line:
                booted += 1
                if booted == workers:
                    break
        assert booted == workers, "gunicorn did not start:\n" + "".join(log[-30:])
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining its log
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def version_of(record) -> int:
    """The stored version of a record with an edit form (what its edit page puts in the hidden `version`)."""
    model = type(record)
    [identity] = inspect(record).identity
    return db.session.scalar(db.select(getattr(model, model.edit_version_key))
                             .where(inspect(model).primary_key[0] == identity))


def asked(html_text: str) -> str:
    """The question the first form of `html_text` with data-confirm asks before it is sent (static/js/confirm.js)."""
    return html.unescape(re.search(r'data-confirm="([^"]*)"', html_text).group(1))
