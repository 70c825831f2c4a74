"""Importing a participant list (.xlsx or .csv) into a session.

Columns: civility, last name, first name, e-mail, job, employer, employer SIRET (a header
row in French or English is recognised; without one, that order is assumed). The file
is first checked row by row (a preview with what is rejected and why); the valid rows are
imported only when the administrator confirms, each row in its own savepoint, in file order.
"""
import csv
import io
import os
import re
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import openpyxl
from openpyxl.styles import Font
from flask import current_app
from flask_babel import format_number
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import and_, or_
from sqlalchemy.orm import contains_eager

from training_app.documents import storage, uploads
from training_app.extensions import db, lowered
from training_app.form_input import without_invisible
from training_app.formatting import label
from training_app.models import Employer, Enrolment, EnrolmentStatus, Trainee, TrainingSession, User
from training_app.models.enrolments import LIVE_STATUSES
from training_app.services import ServiceError, enrolments, registrations
from training_app.services.registrations import PersonDetails

COLUMNS = ("civility", "last_name", "first_name", "email", "job_title", "employer_name", "employer_siret",
           "funding_mode")
REQUIRED = ("last_name", "first_name", "email")
COLUMN_LABELS = {
    "civility": "Civilité", "last_name": "Nom", "first_name": "Prénom", "email": "E-mail",
    "job_title": "Fonction", "employer_name": "Structure employeuse", "employer_siret": "SIRET de la structure",
    "funding_mode": "Financement",
}
HEADER_NAMES = {
    "civility": ("civilite", "civ", "titre", "civility", "title"),
    "last_name": ("nom", "nomdefamille", "nomdusage", "lastname", "surname", "name"),
    "first_name": ("prenom", "firstname", "givenname"),
    "email": ("email", "mail", "courriel", "adresseemail", "adressemail", "adressecourriel", "emailaddress"),
    "job_title": ("fonction", "poste", "metier", "emploi", "job", "jobtitle"),
    "employer_name": ("employeur", "structure", "structureemployeuse", "entreprise", "association",
                      "organisme", "employer", "nomdelastructure", "nomemployeur"),
    "employer_siret": ("siret", "siretemployeur", "siretdelastructure", "siretdelemployeur", "siretstructure",
                       "employersiret"),
    "funding_mode": ("financement", "modedefinancement", "priseencharge", "funding", "fundingmode"),
}
# The words a list may give for each funding mode (registrations.FUNDING_MODES), compared as header names are
# (_header_key: no case, accent, space or sign). An empty cell records no mode: the claim's check asks for it.
FUNDING_WORDS = {
    "opco": ("opco", "opca", "employeuropco", "employeuravecopco", "priseenchargeopco", "uniformation"),
    "employer": ("employeur", "fondspropres", "employeurfondspropres", "employeursursesfondspropres", "employer"),
    "personal": ("personnel", "atitrepersonnel", "individuel", "personal", "soimeme"),
    "other": ("autre", "other", "francetravail", "cpf"),
}
# The template's example row (template_workbook): left under the header when the list is filled in, it is read
# back, shown as the example, and never imported (told by its address, which no real person has: the persona of
# the tests and the demo, Awa Diallo, is a real trainee there).
EXAMPLE_ROW = ("Mme", "Exemple", "Camille", "camille.exemple@example.org", "Assistante sociale", "CCAS de Rennes",
               "78324521000001", "OPCO")
EXAMPLE_EMAIL = EXAMPLE_ROW[3]
MAX_ROWS = 500
MAX_COLUMNS = 50  # an import's columns are read up to here (a sheet may declare 16,384 of them)
MAX_SCANNED_ROWS = 20_000  # a sheet's rows read at most, empty ones included (it may declare a million)
# What the parts of an .xlsx may add up to once unpacked (checked before openpyxl reads them: 1.5 Mo of zip could
# unpack to 1.5 Go, all in memory). A list of 500 participants unpacks to well under 1 Mo.
MAX_XLSX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_CELL_CHARS = 1000  # a cell's text is cut there: longer than any column allows (the row is then refused)
# What openpyxl and zipfile raise on a damaged .xlsx (ParseError is a SyntaxError).
UNREADABLE_XLSX = (zipfile.BadZipFile, zlib.error, EOFError, InvalidFileException, SyntaxError, KeyError,
                   IndexError, TypeError, ValueError, OSError)
SALT = "enrolment-import"
TOKEN_MAX_AGE = 24 * 3600
STASH_FOLDER = "imports"


@dataclass
class ImportRow:
    line: int                      # the line number in the file, as the spreadsheet shows it
    values: dict                   # raw text per column
    details: PersonDetails | None = None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: str = ""              # after import: confirmed, waitlisted, or rejected
    funding_mode: str = ""         # registrations.FUNDING_MODES, or "" when the list gives none
    example: bool = False          # the template's example row (EXAMPLE_ROW): never imported
    # Why the row is probably someone already known under another address (_doubts), or an earlier valid row of
    # the file under the same name (check): valid, yet imported only when the office ticks it in the preview
    # (import_rows' `include`).
    doubts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def doubtful(self) -> bool:
        """Valid, but likely a duplicate: imported only when the office confirms it."""
        return self.ok and bool(self.doubts)

    @property
    def name(self) -> str:
        return " ".join(v for v in (self.values.get("first_name"), self.values.get("last_name")) if v) or "—"


# --- reading the file --------------------------------------------------------------------------------

def read_upload(file_storage, max_bytes: int) -> tuple[bytes, str]:
    """The uploaded file's content and kind ("xlsx" or "csv"), told from the content, not the name."""
    return uploads.check_upload(file_storage, ("xlsx", "csv"), max_bytes)


def read_table(content: bytes, kind: str) -> list[tuple[int, list[str]]]:
    """The file's non-empty rows, numbered as the spreadsheet numbers them, as lists of trimmed strings; at
    most MAX_ROWS + 2 of them (a header and one row too many tell parse() the file is too long), whatever
    size the file declares: a small .xlsx may declare a sheet of millions of empty cells, which openpyxl
    would otherwise build in memory."""
    if kind == "xlsx":
        rows = _xlsx_rows(content)
    else:
        rows = _csv_rows(content)
    found = []
    try:
        for line, row in enumerate(rows, start=1):
            if line > MAX_SCANNED_ROWS:
                raise ServiceError(_("Ce fichier compte plus de %(n)s lignes (vides comprises) : enregistrez "
                                     "seulement le tableau des participant·es.",
                                     n=format_number(MAX_SCANNED_ROWS)), "file")
            if any(row):
                found.append((line, row))
                if len(found) > MAX_ROWS + 1:
                    break
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    return found


def _xlsx_rows(content: bytes):
    # A read-only workbook is read lazily: a damaged file may fail while its rows are read, not only
    # when it is opened (truncated or corrupt zip, broken XML, missing parts).
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            uploads.check_zip_bounds(archive, MAX_XLSX_UNPACKED_BYTES, _(
                "Ce classeur Excel est trop volumineux une fois décompressé (plus de %(max)s Mo) : enregistrez "
                "seulement le tableau des participant·es, sans images, dans un nouveau classeur."))
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            for row in workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True):
                yield [_cell_text(value) for value in row]
        finally:
            workbook.close()
    except UNREADABLE_XLSX:
        raise ServiceError(_("Ce classeur Excel est illisible : enregistrez-le de nouveau au format .xlsx."),
                           "file") from None


def _csv_rows(content: bytes):
    text = uploads.decode_text(content) or ""
    first_line = text.splitlines()[0] if text else ""
    delimiter = max(";,\t", key=first_line.count) if first_line else ";"
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield [without_invisible(cell).strip() for cell in row[:MAX_COLUMNS]]
    except csv.Error:  # a field longer than the csv module's limit, a NUL character...
        raise ServiceError(_("Ce fichier CSV est illisible (une cellule trop longue ou un caractère invalide) : "
                             "enregistrez-le de nouveau au format CSV ou .xlsx."), "file") from None


class _Number(str):
    """The text of a cell the workbook holds as a whole number (see _siret_text)."""


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = without_invisible(str(value)[:MAX_CELL_CHARS]).strip()
    return _Number(text) if isinstance(value, int) and not isinstance(value, bool) else text


def _siret_text(text: str) -> str:
    """A SIRET typed in a cell formatted as a number lost its leading zeros (01234567800002 is read as
    1234567800002): they are put back. A SIRET typed as text is read as it is."""
    if isinstance(text, _Number) and text.isdigit() and len(text) <= 13:
        return text.zfill(14)
    return text


def _header_key(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", ascii_text)


def _column_map(row: list[str]) -> dict[int, str] | None:
    """Column index -> field, when `row` is a header row (at least three known names)."""
    found = {}
    for index, cell in enumerate(row):
        key = _header_key(cell)
        for column, names in HEADER_NAMES.items():
            if key in names and column not in found.values():
                found[index] = column
                break
    return found if len(found) >= 3 else None


def parse(content: bytes, kind: str) -> list[ImportRow]:
    numbered = read_table(content, kind)
    if not numbered:
        raise ServiceError(_("Le fichier ne contient aucune ligne."), "file")
    mapping = _column_map(numbered[0][1])
    if mapping is not None:
        missing = [COLUMN_LABELS[c] for c in REQUIRED if c not in mapping.values()]
        if missing:
            raise ServiceError(_("Colonnes manquantes dans l'en-tête : %(columns)s.", columns=", ".join(missing)),
                               "file")
        numbered = numbered[1:]
        if not numbered:
            raise ServiceError(_("Le fichier ne contient que la ligne d'en-tête : aucune ligne de participant·e à "
                                 "importer."), "file")
    else:
        mapping = dict(enumerate(COLUMNS))
    if len(numbered) > MAX_ROWS:
        raise ServiceError(_("Le fichier compte plus de %(max)d lignes : importez-en %(max)d au plus à la fois.",
                             max=MAX_ROWS), "file")
    rows = []
    for line, cells in numbered:
        values = {column: "" for column in COLUMNS}
        for index, column in mapping.items():
            if index < len(cells):
                values[column] = _siret_text(cells[index]) if column == "employer_siret" else cells[index]
        rows.append(ImportRow(line=line, values=values,
                              example=values["email"].strip().lower() == EXAMPLE_EMAIL))
    return rows


# --- checking and importing --------------------------------------------------------------------------

def check(session: TrainingSession, rows: list[ImportRow]) -> list[ImportRow]:
    """Fill each row's details, errors and notes (nothing is written). When the session takes nobody any more
    (cancelled, ended, its last sheet closed), every row otherwise valid says so, as its enrolment would."""
    try:
        enrolments.check_open_for_enrolment(session, lock=False)
        refused = ""
    except ServiceError as error:
        refused = error.message
    seen: dict[str, int] = {}
    named: dict[tuple[str, str], ImportRow] = {}  # name_key -> the first valid row of that name
    cleaned_rows = [_clean(row) for row in rows]
    known, enrolled, withdrawn = _known_trainees(session, {c["email"] for c in cleaned_rows if c["email"]})
    namesakes = _namesakes(session, rows, cleaned_rows)
    for row, cleaned in zip(rows, cleaned_rows):
        if row.example:
            row.errors = [_("Ligne d'exemple du modèle : elle n'est pas importée. Remplacez-la par une personne à "
                            "inscrire, ou supprimez-la.")]
            continue
        email = cleaned["email"]
        if email:
            if email in seen:
                row.errors.append(_("Cette adresse e-mail figure déjà ligne %(line)d.", line=seen[email]))
            else:
                seen[email] = row.line
            trainee = known.get(email)
            if trainee is not None and trainee.id in enrolled:
                row.errors.append(_("%(name)s est déjà inscrit·e à cette session.", name=trainee.full_name))
            elif trainee is not None and trainee.id in withdrawn:  # as enrol() refuses it
                row.errors.append(enrolments.withdrawn_refusal(trainee))
            elif trainee is not None:
                row.notes.append(_("Stagiaire déjà connu·e (%(name)s) : sa fiche est conservée.",
                                   name=trainee.full_name))
                row.notes.extend(_employer_notes(trainee, cleaned))
        if row.ok and refused:
            row.errors.append(refused)
        if row.ok:
            values = row.values
            details = PersonDetails(
                first_name=values["first_name"], last_name=values["last_name"], email=email,
                civility=cleaned["civility"], job_title=values["job_title"], employer_name=values["employer_name"],
                employer_siret=cleaned["employer_siret"])
            try:  # the checks the import makes (a name holding a link or an address...): refused in the preview
                cleaned_details = details.cleaned()
                # The enrolment names the file's employer, else the one of a known trainee's record (import_rows).
                known_trainee = known.get(email)
                registrations.check_funding_employer(cleaned["funding_mode"], bool(cleaned_details.employer_name) or (
                    known_trainee is not None and known_trainee.employer_id is not None), known=known_trainee)
            except ServiceError as error:
                row.errors.append(error.message)
                continue
            row.details = cleaned_details
            row.funding_mode = cleaned["funding_mode"]
            key = name_key(values["first_name"], values["last_name"])
            row.doubts = _doubts(cleaned_details, known.get(email), namesakes.get(key, []))
            earlier = named.setdefault(key, row)
            if earlier is not row:
                row.doubts.append(_("Même nom que la ligne %(line)d (%(name)s, adresse %(email)s) de ce fichier : "
                                    "sans doute la même personne, sous deux adresses.",
                                    line=earlier.line, name=earlier.name, email=earlier.details.email))
    return rows


def _clean(row: ImportRow) -> dict:
    """The row's normalised values (an invalid e-mail becomes ""); its errors are noted on the row."""
    row.errors, row.notes, row.details, row.doubts = [], [], None, []
    values = row.values
    cleaned = dict(values)
    for column, normalise in (("email", registrations.normalise_email),
                              ("civility", registrations.normalise_civility),
                              ("employer_siret", registrations.normalise_siret)):
        try:
            cleaned[column] = normalise(values[column])
        except ServiceError as error:
            row.errors.append(error.message)
            cleaned[column] = ""
    if not values["last_name"]:
        row.errors.append(_("Le nom manque."))
    if not values["first_name"]:
        row.errors.append(_("Le prénom manque."))
    if values["employer_siret"] and not values["employer_name"]:
        row.errors.append(_("Un SIRET est indiqué sans le nom de la structure."))
    cleaned["funding_mode"] = funding_mode(values.get("funding_mode", ""))
    if cleaned["funding_mode"] is None:
        row.errors.append(_("Financement « %(value)s » inconnu : OPCO, employeur, personnel, autre, ou vide.",
                            value=values["funding_mode"][:60]))
        cleaned["funding_mode"] = ""
    row.errors.extend(message for _field, message in registrations.too_long(values))
    return cleaned


def _employer_notes(trainee: Trainee, cleaned: dict) -> list[str]:
    """What the preview says of a known trainee's row whose enrolment will not name the employer the file names
    (import_rows: the file's when the employer funds the course, else the one of the trainee's record)."""
    name, siret = " ".join(cleaned["employer_name"].split()), cleaned["employer_siret"]
    if not name:
        return []
    if cleaned["funding_mode"] in registrations.EMPLOYER_FUNDED:
        used = registrations.employer_for_course(trainee, name, siret, cleaned["funding_mode"], create=False)
        if used is None or not registrations.other_employer(name, siret, used):
            return []  # the file's, as it names it (created if new)
        return [_("L'inscription nommera la structure %(employer)s, enregistrée avec ce SIRET, et non « %(name)s ».",
                  employer=registrations.employer_label(used), name=name)]
    recorded = trainee.employer
    if not registrations.other_employer(name, siret, recorded):
        return []
    if recorded is None:
        return [_("L'inscription ne nommera aucune structure employeuse, comme sa fiche, et non « %(name)s » : "
                  "indiquez un financement OPCO ou employeur pour retenir celle du fichier.", name=name)]
    return [_("L'inscription nommera la structure de sa fiche, %(employer)s, et non « %(name)s » : indiquez un "
              "financement OPCO ou employeur pour retenir celle du fichier.",
              employer=registrations.employer_label(recorded), name=name)]


def funding_mode(text: str) -> str | None:
    """The funding mode a list's cell names (FUNDING_WORDS), "" for an empty cell, None for a word unknown."""
    key = _header_key(text)
    if not key:
        return ""
    return next((mode for mode, words in FUNDING_WORDS.items() if key in words), None)


def _known_trainees(session: TrainingSession, emails: set[str]
                    ) -> tuple[dict[str, Trainee], set[int], set[int]]:
    """Trainees already known by these addresses, which of them hold a live enrolment in the session and which
    withdrew from it (two queries for the whole file)."""
    if not emails:
        return {}, set(), set()
    known = {t.email: t for t in db.session.scalars(db.select(Trainee).where(Trainee.email.in_(emails)))}
    statuses = db.session.execute(
        db.select(Enrolment.trainee_id, Enrolment.status).where(
            Enrolment.session_id == session.id, Enrolment.trainee_id.in_([t.id for t in known.values()]),
            Enrolment.status.in_((*LIVE_STATUSES, EnrolmentStatus.WITHDRAWN)))).all()
    enrolled = {trainee_id for trainee_id, status in statuses if status in LIVE_STATUSES}
    withdrawn = {trainee_id for trainee_id, status in statuses if status == EnrolmentStatus.WITHDRAWN}
    return known, enrolled, withdrawn


def name_key(first_name: str, last_name: str) -> tuple[str, str]:
    """A person's names as compared for likely duplicates: no case, accent, hyphen or extra space
    (« Bénali ; KARIM » is « Benali ; Karim »)."""
    def fold(text: str) -> str:
        letters = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        return " ".join("".join(c if c.isalnum() else " " for c in letters.casefold()).split())
    return fold(first_name), fold(last_name)


def _namesakes(session: TrainingSession, rows: list[ImportRow], cleaned_rows: list[dict]
               ) -> dict[tuple[str, str], list[tuple[Trainee, str | None]]]:
    """name_key -> [(trainee, status of their live enrolment in the session, or None)] for the trainees who may
    be the file's rows under another address: those enrolled in the session (live), and those whose employer is
    one the file names (by SIRET or name, as _same_employer tells an employer: the name any case, accented capitals
    included, on SQLite too). One query."""
    keys = {name_key(row.values["first_name"], row.values["last_name"]) for row in rows}
    names = {" ".join(c["employer_name"].split()).lower() for c in cleaned_rows} - {""}
    sirets = {c["employer_siret"] for c in cleaned_rows} - {""}
    same_employer = [condition for condition in (lowered(Employer.name).in_(names) if names else None,
                                                 Employer.siret.in_(sirets) if sirets else None)
                     if condition is not None]
    wanted = Enrolment.id.is_not(None)
    if same_employer:
        wanted = or_(wanted, and_(Trainee.erased_at.is_(None), or_(*same_employer)))
    found: dict[tuple[str, str], list[tuple[Trainee, str | None]]] = {}
    for trainee, status in db.session.execute(
            db.select(Trainee, Enrolment.status)
            .outerjoin(Enrolment, and_(Enrolment.trainee_id == Trainee.id, Enrolment.session_id == session.id,
                                       Enrolment.status.in_(LIVE_STATUSES)))
            .outerjoin(Trainee.employer).options(contains_eager(Trainee.employer))
            .where(wanted).order_by(Trainee.id)):
        key = name_key(trainee.first_name, trainee.last_name)
        if key in keys:
            found.setdefault(key, []).append((trainee, status))
    return found


def _doubts(details: PersonDetails, known: Trainee | None, namesakes: list[tuple[Trainee, str | None]]
            ) -> list[str]:
    """Why a valid row is likely someone already known under another address: a namesake enrolled in the session,
    or (for an address nobody has yet: the import would create a record) a namesake with the same employer."""
    doubts = []
    for trainee, status in namesakes:
        if known is not None and trainee.id == known.id:
            continue  # the row's own address: that is them
        if status is not None:
            doubts.append(_("Même nom que %(name)s, déjà inscrit·e à cette session (inscription : %(state)s) avec "
                            "l'adresse %(email)s : sans doute la même personne.",
                            name=trainee.full_name, state=label(status), email=trainee.email))
        elif known is None and _same_employer(details.employer_name, details.employer_siret, trainee.employer):
            doubts.append(_("Même nom et même structure (%(employer)s) que %(name)s, stagiaire déjà connu·e avec "
                            "l'adresse %(email)s : sans doute la même personne, qui aurait alors deux fiches.",
                            employer=trainee.employer.name, name=trainee.full_name, email=trainee.email))
    return doubts


def _same_employer(name: str, siret: str, employer: Employer | None) -> bool:
    """Whether a row's employer (`name`, `siret`) is `employer`, as registrations.find_employer tells them: the
    same SIRET, else the same name (any case) when one of them has no SIRET."""
    if employer is None or not name:
        return False
    if siret and employer.siret:
        return siret == employer.siret
    return " ".join(name.split()).lower() == employer.name.lower()


def import_rows(session: TrainingSession, rows: list[ImportRow], *, actor: User | None = None,
                notify: bool = True, include: Iterable[int | str] = ()) -> list[ImportRow]:
    """Enrol the valid rows, in file order (seats first, then the waiting list). Rejected rows stay reported.
    A likely duplicate (ImportRow.doubtful) is enrolled only when its line is in `include`: the office ticked it
    in the preview (included_lines: anything but the file's lines is refused before anything is written)."""
    check(session, rows)
    include = included_lines(rows, include)
    for row in rows:
        if row.doubtful and row.line not in include:
            row.errors.append(_("Non importée : doublon probable, non coché lors de la vérification. S'il s'agit "
                                "bien d'une autre personne, importez de nouveau cette ligne en la cochant."))
        if not row.ok:
            row.outcome = "rejected"
            continue
        try:
            with db.session.begin_nested():
                trainee, created = registrations.find_or_create_trainee(row.details)
                # A known trainee's enrolment names the file's employer when it funds the course, as the public
                # form does (registrations.register_public); their record is left as it is.
                employer = None if created else registrations.employer_for_course(
                    trainee, row.details.employer_name, row.details.employer_siret, row.funding_mode)
                enrolment: Enrolment = enrolments.enrol(session, trainee, actor=actor, notify=notify,
                                                        funding_mode=row.funding_mode, employer=employer)
        except ServiceError as error:
            row.errors.append(error.message)
            row.outcome = "rejected"
        else:
            row.outcome = enrolment.status
    return rows


def included_lines(rows: list[ImportRow], include: Iterable[int | str]) -> frozenset[int]:
    """The lines the office ticked in the preview (`include`, as the form sends them), refused in French unless
    each is one of the file's lines: a value edited by hand. A line of the file whose row is not a likely
    duplicate (any more: the records may have changed since the preview) is allowed, and changes nothing."""
    lines, file_lines = set(), {row.line for row in rows}
    for value in include:
        try:
            line = int(str(value).strip())
        except ValueError:
            line = None
        if line not in file_lines:
            raise ServiceError(_("La ligne cochée « %(value)s » n'est pas une ligne de ce fichier : rien n'a été "
                                 "importé. Cochez de nouveau les lignes à vérifier que vous voulez importer, puis "
                                 "confirmez.", value=str(value)[:20]), "include")
        lines.add(line)
    return frozenset(lines)


# --- keeping the uploaded file between the preview and the confirmation ------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def stash(session: TrainingSession, content: bytes, kind: str) -> str:
    """Keep the uploaded file in storage; return a signed token naming it for the confirmation.

    Files previewed but never confirmed hold personal data: those older than the token's life
    (they can no longer be confirmed) are deleted first.
    """
    purge_stale_stashes()
    path = storage.save(STASH_FOLDER, f"participants.{kind}", content)
    return _serializer().dumps({"p": path, "s": session.id, "k": kind})


def unstash(session: TrainingSession, token: str) -> tuple[bytes, str, str]:
    """(content, kind, path) of a stashed file; refuses a token made for another session or too old."""
    try:
        data = _serializer().loads(token or "", max_age=TOKEN_MAX_AGE)
    except BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("s") != session.id or not storage.exists(data.get("p", "")):
        raise ServiceError(_("Le fichier à importer n'est plus disponible : envoyez-le de nouveau."), "file")
    return storage.read(data["p"]), data["k"], data["p"]


def stale_stashes(max_age_seconds: int = TOKEN_MAX_AGE) -> list[str]:
    """The stashed files older than `max_age_seconds` (file time): previewed, never confirmed, no longer
    confirmable, and holding personal data."""
    folder = storage.absolute(STASH_FOLDER)
    if not os.path.isdir(folder):
        return []
    limit, found = time.time() - max_age_seconds, []
    for entry in os.scandir(folder):
        try:
            if entry.is_file() and entry.stat().st_mtime < limit:
                found.append(entry.path)
        except OSError:
            pass  # removed meanwhile by another request
    return found


def purge_stale_stashes(max_age_seconds: int = TOKEN_MAX_AGE) -> int:
    """Delete the stale stashes (stale_stashes); return how many went."""
    removed = 0
    for path in stale_stashes(max_age_seconds):
        try:
            os.remove(path)
            removed += 1
        except OSError:
            pass  # removed meanwhile by another request
    return removed


def discard(path: str) -> None:
    try:
        os.remove(storage.absolute(path))
    except OSError:
        pass


def template_workbook() -> bytes:
    """An empty participant list with the expected header, for the office to fill in."""
    from training_app.documents.excel import write_text

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Participants"
    for index, column in enumerate(COLUMNS, start=1):
        write_text(sheet.cell(row=1, column=index), COLUMN_LABELS[column])
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = 24
    example_font = Font(italic=True, color="808080")
    for index, value in enumerate(EXAMPLE_ROW + (_("← exemple, jamais importé : remplacez ou supprimez cette "
                                                   "ligne"),), start=1):
        write_text(sheet.cell(row=2, column=index), value)
        sheet.cell(row=2, column=index).font = example_font
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
