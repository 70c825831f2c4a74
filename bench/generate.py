"""Fill a database with several years of a large training organisation's activity.

    python -m bench.generate [--size large|small] [--database-url URL]

At scale 1 ("large"): 200 programmes, 2,000 sessions over seven years (six past, one ahead)
with their half-days and trainers, 3,000 employers, 30,000 trainees, 30,000 enrolments
(with their audit entries and convocations), 20,000 answered questionnaires (satisfaction,
anonymous; positioning, named) with their answers, learning outcomes for the past sessions.
"small" is a tenth of it. The schema is built with the migrations (`flask db upgrade`), as
in production, then filled with bulk inserts (executemany in batches), never row by row
through the ORM. Everything is drawn from a seeded random generator: two runs give the same
data, except for dates, which follow today's date.

Landmarks the load benchmark uses are found again by query (see `landmarks()`): a past
session with its satisfaction answers, a full upcoming session with a waiting list. The requests of
the public page that its confirmation page confirms are written for each run (`pending_requests()`):
a request is confirmed once.
"""
import argparse
import hashlib
import io
import os
import random
import time as timer
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import text
from werkzeug.security import generate_password_hash

from bench import databases

BASE_COUNTS = {
    "programmes": 200, "sessions": 2000, "employers": 3000, "trainees": 30000, "enrolments": 30000,
    "responses": 20000, "trainers": 40, "attendance": 200000, "claims": 500, "claim_workbook_lines": 500,
}
SCALES = {"large": 1.0, "small": 0.1}
YEARS_PAST, YEARS_AHEAD = 6, 1
BATCH = 2000

ADMIN_EMAIL = "bench-admin@example.org"
ADMIN_PASSWORD = "bench-admin-password"  # a throw-away benchmark database, never a real one

THEMES = [
    "Négociation", "Organisation communautaire", "Mobilisation collective", "Animation de réunion",
    "Plaidoyer local", "Prise de parole en public", "Conduite de projet associatif", "Gestion des conflits",
    "Écoute active", "Travail avec les élu·es", "Médiation sociale", "Accueil des publics",
    "Éducation populaire", "Communication non violente", "Gouvernance partagée", "Budget participatif",
    "Porte-à-porte et enquête", "Coopération entre associations", "Évaluation d'impact", "Recherche de fonds",
]
ANGLES = [
    "les bases", "approfondissement", "pour les bénévoles", "pour les salarié·es", "en milieu rural",
    "dans les quartiers", "avec les habitant·es", "outils et méthodes", "cas pratiques", "cycle long",
]
OBJECTIVE_VERBS = ["Identifier", "Préparer", "Conduire", "Analyser", "Mettre en œuvre", "Évaluer", "Animer",
                   "Formuler"]
OBJECTIVE_THINGS = ["les acteurs en présence", "une stratégie d'action", "un argumentaire", "le rapport de force",
                    "une réunion publique", "le suivi d'un accord", "une délégation", "un plan de mobilisation"]
FIRST_NAMES = ["Awa", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Karima",
               "Louis", "Manon", "Nadia", "Olivier", "Pauline", "Quentin", "Rania", "Samuel", "Théa", "Ulysse",
               "Valérie", "Wassim", "Yasmine", "Zoé"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
              "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Le Goff"]
JOBS = ["Travailleur·se social·e", "Animateur·rice", "Coordinateur·rice", "Chargé·e de mission", "Bénévole",
        "Directeur·rice", "Conseiller·e en économie sociale et familiale", "Médiateur·rice", "Éducateur·rice"]
CITIES = ["Rennes", "Nantes", "Brest", "Lorient", "Saint-Brieuc", "Vannes", "Quimper", "Angers", "Laval", "Le Mans"]
FUNDERS = ["Uniformation", "AFDAS", "Akto", "Atlas", "Constructys", "OCAPIAT", "OPCO 2i", "OPCO EP",
           "OPCO Mobilités", "OPCO Santé", "Opcommerce"]
FREE_TEXTS = [
    "Des échanges très riches entre participant·es.", "J'aurais aimé plus de mises en situation.",
    "Des outils que je vais utiliser dès la semaine prochaine.", "Un groupe bienveillant, une animation dynamique.",
    "Le rythme était soutenu mais tenable.", "Je me sens plus légitime pour prendre la parole.",
    "Prévoir des pauses plus longues l'après-midi.", "",
]
TIMETABLE = ((time(9, 30), time(12, 30)), (time(14, 0), time(18, 0)))


def counts_for(size: str) -> dict[str, int]:
    scale = SCALES[size]
    counts = {name: max(1, round(value * scale)) for name, value in BASE_COUNTS.items()}
    counts["trainers"] = max(6, counts["trainers"])
    return counts


def siret(rng: random.Random) -> str:
    """14 digits with a valid Luhn key (what identifiers.is_valid_siret checks)."""
    body = [rng.randint(0, 9) for _ in range(13)]
    for check in range(10):
        digits = body + [check]
        total = 0
        for index, digit in enumerate(reversed(digits)):
            if index % 2 == 1:
                digit *= 2
                if digit > 9:
                    digit -= 9
            total += digit
        if total % 10 == 0:
            return "".join(map(str, digits))
    raise AssertionError("unreachable")


def business_days(start: date, days: int) -> list[date]:
    out, day = [], start
    while len(out) < days:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


class Generator:
    """Builds rows as plain dicts and inserts them table by table in batches."""

    def __init__(self, app, size: str, seed: int = 8, echo=print):
        from training_app.extensions import db
        self.app, self.db, self.size, self.echo = app, db, size, echo
        self.rng = random.Random(seed)
        self.counts = counts_for(size)
        self.tables = db.metadata.tables
        self.inserted: dict[str, int] = {}
        self.audit_extra: list[dict] = []

    # --- plumbing --------------------------------------------------------------------------------

    def insert(self, conn, table: str, rows: list[dict]) -> None:
        for start in range(0, len(rows), BATCH):
            conn.execute(self.tables[table].insert(), rows[start:start + BATCH])
        self.inserted[table] = self.inserted.get(table, 0) + len(rows)

    def run(self) -> dict[str, int]:
        from training_app.clock import local_now, utcnow
        started = timer.perf_counter()
        with self.app.app_context():
            self.now, self.utc_now = local_now(), utcnow()
            with self.db.engine.begin() as conn:
                self.people(conn)
                self.catalogue(conn)
                self.sessions(conn)
                self.enrolments(conn)
                self.questionnaires(conn)
                self.outcomes(conn)
                self.attendance(conn)
                self.funding(conn)
            self.reset_sequences()
        self.echo(f"  {self.size}: {sum(self.inserted.values()):,} rows in {timer.perf_counter() - started:.0f} s")
        return self.inserted

    def reset_sequences(self) -> None:
        """Ids were given explicitly: move PostgreSQL's sequences past them."""
        if self.db.engine.dialect.name != "postgresql":
            return
        with self.db.engine.begin() as conn:
            for table in self.tables.values():
                if "id" not in table.c or not table.c.id.autoincrement or table.c.id.type.python_type is not int:
                    continue
                sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
                if sequence:
                    conn.execute(text(f"SELECT setval('{sequence}', COALESCE((SELECT MAX(id) FROM "
                                      f"\"{table.name}\"), 0) + 1, false)"))

    # --- people ----------------------------------------------------------------------------------

    def people(self, conn) -> None:
        rng, c = self.rng, self.counts
        self.organisation_row = {
            "id": 1, "name": "Si on s'alliait ? (banc d'essai)", "address": "12 rue de la Paix\n35000 Rennes",
            "siret": siret(rng), "declaration_number": "53350000035", "legal_representative": "Camille Durand",
            "signatory_name": "Camille Durand", "signatory_role": "Co-présidente", "city": "Rennes",
            "email": "formation@example.org", "phone": "02 99 00 00 00",
            "accessibility_contact": "Référente handicap : Léa Martin, 02 99 00 00 01", "vat_mention": "",
            "signature_image": "", "stamp_image": "", "logo_image": ""}
        self.insert(conn, "organisation", [self.organisation_row])
        password = generate_password_hash(ADMIN_PASSWORD)
        users = [{"id": 1, "email": ADMIN_EMAIL, "name": "Admin Banc d'essai", "password_hash": password,
                  "role": "admin", "active": True, "created_at": self.utc_now}]
        for n in range(2, c["trainers"] + 2):
            users.append({"id": n, "email": f"formateur{n}@example.org",
                          "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {n}",
                          "password_hash": password, "role": "trainer", "active": True, "created_at": self.utc_now})
        self.insert(conn, "users", users)
        self.trainer_ids = [u["id"] for u in users[1:]]
        self.insert(conn, "funders", [{"id": n, "name": name, "address": "", "contact_name": "",
                                       "contact_email": "", "accepts_annex_costs": True}
                                      for n, name in enumerate(FUNDERS, start=1)])
        employers = []
        for n in range(1, c["employers"] + 1):
            employers.append({
                "id": n, "name": f"Association {rng.choice(LAST_NAMES)} de {rng.choice(CITIES)} n°{n}",
                "siret": siret(rng), "address": f"{rng.randint(1, 90)} rue du Port, {rng.choice(CITIES)}",
                "contact_name": "", "contact_email": f"contact{n}@asso.example.org", "phone": "",
                "funder_id": 1 if rng.random() < 0.7 else rng.randint(1, len(FUNDERS)),
                "created_at": self.utc_now})
        self.insert(conn, "employers", employers)
        self.employers = {e["id"]: e for e in employers}
        trainees = []
        for n in range(1, c["trainees"] + 1):
            employer = rng.randint(1, c["employers"]) if rng.random() < 0.85 else None
            trainees.append({
                "id": n, "civility": rng.choice(["Mme", "M.", ""]), "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(LAST_NAMES), "email": f"stagiaire{n}@example.org",
                "phone": f"06 {n % 100:02d} {n // 100 % 100:02d} 00 00", "job_title": rng.choice(JOBS),
                "employer_id": employer, "category": "employee" if employer else rng.choice(["individual", "job_seeker"]),
                "link_version": 1, "created_at": self.utc_now - timedelta(days=rng.randint(0, 365 * YEARS_PAST))})
        self.insert(conn, "trainees", trainees)
        self.trainees = {t["id"]: t for t in trainees}

    # --- catalogue -------------------------------------------------------------------------------

    def catalogue(self, conn) -> None:
        rng = self.rng
        self.insert(conn, "cycles", [{"id": n, "name": f"Cycle {theme}", "description": "",
                                      "special_price_cents": 45000} for n, theme in enumerate(THEMES[:10], start=1)])
        programmes, objectives = [], []
        self.programmes = {}
        for n in range(1, self.counts["programmes"] + 1):
            theme, angle = THEMES[(n - 1) % len(THEMES)], ANGLES[(n - 1) // len(THEMES) % len(ANGLES)]
            suffix = f" ({(n - 1) // (len(THEMES) * len(ANGLES)) + 1})" if n > len(THEMES) * len(ANGLES) else ""
            internal = rng.random() < 0.15
            capacity = rng.randint(12, 20)
            days = rng.choice([3, 4, 4, 5, 5, 6, 6])  # ~9 half-days a session: 200,000 attendance rows
            programmes.append({
                "id": n, "title": f"{theme} : {angle}{suffix}",
                "rationale": f"Pourquoi se former à « {theme.lower()} » ? " * 3,
                "audience": "Salarié·es et bénévoles d'associations, travailleur·ses sociaux.",
                "prerequisites": "Aucun prérequis.", "content": "Apports, mises en situation, retours d'expérience.",
                "competencies": "Analyser une situation\nConstruire une stratégie\nConduire une action collective",
                "teaching_methods": "Pédagogie active.", "evaluation_methods": "Positionnement, mises en situation.",
                "default_duration_minutes": days * 420, "default_capacity": capacity,
                "price_cents": 0 if internal else rng.choice([None, 60000, 75000, 90000, 120000]),
                "kind": "internal" if internal else "external",
                "accessibility_contact": "Référente handicap : Léa Martin", "cycle_id": rng.choice([None, None,
                                                                                                  rng.randint(1, 10)]),
                "archived": rng.random() < 0.05, "created_at": self.utc_now, "updated_at": self.utc_now})
            self.programmes[n] = {"capacity": capacity, "days": days, "price": programmes[-1]["price_cents"],
                                  "objectives": [], "archived": programmes[-1]["archived"]}
            for position in range(1, rng.randint(3, 6) + 1):
                objective_id = len(objectives) + 1
                objectives.append({"id": objective_id, "programme_id": n, "position": position,
                                   "text": f"{rng.choice(OBJECTIVE_VERBS)} {rng.choice(OBJECTIVE_THINGS)}"})
                self.programmes[n]["objectives"].append(objective_id)
        self.insert(conn, "programmes", programmes)
        self.programme_titles = {p["id"]: p["title"] for p in programmes}
        self.insert(conn, "programme_objectives", objectives)

    # --- sessions and slots ----------------------------------------------------------------------

    def sessions(self, conn) -> None:
        rng, now = self.rng, self.now
        first = (now - timedelta(days=365 * YEARS_PAST)).date()
        span = 365 * (YEARS_PAST + YEARS_AHEAD)
        weights = [rng.paretovariate(1.5) for _ in self.programmes]  # some programmes run far more often
        programme_ids = list(self.programmes)
        sessions, slots, trainers, audit = [], [], [], []
        self.sessions_info = {}
        for n in range(1, self.counts["sessions"] + 1):
            day = first + timedelta(days=rng.randint(0, span))
            programme_id = rng.choices(programme_ids, weights)[0]
            while self.programmes[programme_id]["archived"] and day > now.date():  # archived: no future session
                programme_id = rng.choices(programme_ids, weights)[0]
            programme = self.programmes[programme_id]
            days = business_days(day, programme["days"])
            afternoon_start = programme["days"] > 1 and rng.random() < 0.15
            start_at = datetime.combine(days[0], time(14, 0) if afternoon_start else time(9, 30))
            end_at = datetime.combine(days[-1], time(12, 30) if afternoon_start else time(18, 0))
            if end_at < now:
                status = "cancelled" if rng.random() < 0.03 else "completed"
            elif start_at <= now:
                status = "running"
            else:
                status = rng.choice(["open", "open", "planned"]) if start_at > now + timedelta(days=60) else "open"
            capacity = programme["capacity"]
            sessions.append({
                "id": n, "programme_id": programme_id, "start_at": start_at, "end_at": end_at,
                "place": f"Maison des associations, {rng.randint(1, 60)} rue de Brest, {rng.choice(CITIES)}",
                "access_info": "Bus C4, arrêt Mairie. Salle accessible en fauteuil.",
                "modality": rng.choice(["in_person"] * 8 + ["remote", "mixed"]), "capacity": capacity,
                "price_cents": programme["price"], "status": status, "contact_person": "Léa Martin",
                "notes": "", "created_at": self.utc_now})
            session_slots = []
            for day in days:
                for period_start, period_end in TIMETABLE:
                    begin = max(datetime.combine(day, period_start), start_at)
                    end = min(datetime.combine(day, period_end), end_at)
                    if end > begin:
                        slot_id = len(slots) + 1
                        slots.append({"id": slot_id, "session_id": n, "date": day, "start_time": begin.time(),
                                      "end_time": end.time()})
                        session_slots.append(slot_id)
            for user_id in rng.sample(self.trainer_ids, rng.choice([1, 2, 2])):
                trainers.append({"session_id": n, "user_id": user_id})
            audit.append(self._audit("training_sessions", n, "created", None, status, start_at - timedelta(days=120)))
            self.sessions_info[n] = {"programme_id": programme_id, "start_at": start_at, "end_at": end_at,
                                     "status": status, "capacity": capacity, "slots": session_slots,
                                     "price": programme["price"]}
        # The registration benchmark needs upcoming sessions that are full and have a waiting list.
        upcoming = sorted((s for s in self.sessions_info.items() if s[1]["status"] == "open"),
                          key=lambda item: item[1]["start_at"])
        self.full_sessions = {n for n, _info in upcoming[:max(3, len(upcoming) // 5)]}
        for row in sessions:
            if row["id"] in self.full_sessions:
                row["status"] = self.sessions_info[row["id"]]["status"] = "full"
        self.insert(conn, "training_sessions", sessions)
        self.insert(conn, "slots", slots)
        self.insert(conn, "session_trainers", trainers)
        self.audit_rows = audit
        self.slot_rows, self._session_trainers = slots, trainers

    def _audit(self, entity_type, entity_id, action, from_state, to_state, at, actor_id=1):
        self._audit_id = getattr(self, "_audit_id", 0) + 1
        return {"id": self._audit_id, "at": at, "actor_id": actor_id, "actor_label": "Admin Banc d'essai",
                "entity_type": entity_type, "entity_id": entity_id, "action": action, "from_state": from_state,
                "to_state": to_state, "reason": "", "details": None}

    # --- enrolments ------------------------------------------------------------------------------

    def _plan(self, info: dict) -> list[str]:
        """The statuses of a session's enrolments."""
        rng, capacity, status = self.rng, info["capacity"], info["status"]
        if status == "cancelled":
            return ["cancelled"] * rng.randint(0, 8)
        if status in ("completed", "running"):
            confirmed = rng.randint(int(capacity * 0.7), capacity)
            closed = ["cancelled"] * rng.randint(0, 2) + ["withdrawn"] * (rng.random() < 0.3)
            return ["confirmed"] * confirmed + closed
        if info.get("full") or status == "full":
            return ["confirmed"] * capacity + ["waitlisted"] * rng.randint(2, 5) + ["cancelled"] * rng.randint(0, 2)
        if status == "planned":
            return ["requested"] * rng.randint(0, 4)
        return ["confirmed"] * rng.randint(0, capacity - 1) + ["requested"] * rng.randint(0, 2)

    def enrolments(self, conn) -> None:
        rng, target = self.rng, self.counts["enrolments"]
        plans = {n: self._plan(info) for n, info in self.sessions_info.items()}
        total = sum(len(p) for p in plans.values())
        past = [n for n, info in self.sessions_info.items() if info["status"] == "completed"]
        while total < target:  # top up with cancellations in past sessions
            plans[rng.choice(past)].append(rng.choice(["cancelled", "cancelled", "withdrawn"]))
            total += 1
        while total > target:  # trim closed or confirmed enrolments of past sessions
            plan = plans[rng.choice(past)]
            if len(plan) > 1:
                plan.pop()
                total -= 1
        pool = list(range(1, self.counts["trainees"] + 1))
        rng.shuffle(pool)
        regulars = pool[: max(1, len(pool) // 6)]
        rows, sendings, cursor = [], [], 0
        self.funding_modes: dict[int, str] = {}
        self.enrolments_by_session: dict[int, list[tuple[int, int, str]]] = {}
        for session_id, plan in plans.items():
            info = self.sessions_info[session_id]
            taken = set()
            mine = self.enrolments_by_session.setdefault(session_id, [])
            for position, status in enumerate(plan):
                while True:
                    if rng.random() < 0.25:
                        trainee_id = rng.choice(regulars)
                    else:
                        trainee_id, cursor = pool[cursor % len(pool)], cursor + 1
                    if trainee_id not in taken:
                        break
                taken.add(trainee_id)
                enrolment_id = len(rows) + 1
                requested = info["start_at"] - timedelta(days=rng.randint(10, 120), minutes=position)
                if status == "waitlisted":
                    requested = info["start_at"] - timedelta(days=5, minutes=60 - position)
                withdrawn_on = None
                if status == "withdrawn":
                    withdrawn_on = info["start_at"].date() + timedelta(days=rng.randint(0, 1))
                rows.append({
                    "id": enrolment_id, "session_id": session_id, "trainee_id": trainee_id, "status": status,
                    "requested_at": requested,
                    "confirmed_at": requested + timedelta(hours=2) if status in ("confirmed", "withdrawn") else None,
                    "cancelled_at": requested + timedelta(days=3) if status == "cancelled" else None,
                    "withdrawn_on": withdrawn_on, "status_reason": "Empêchement" if status == "cancelled" else "",
                    "funding_mode": rng.choice(["opco", "opco", "employer", "personal"]),
                    "price_cents": info["price"],
                    "waitlisted_at": requested if status == "waitlisted" else None,
                    "employer_id": self.trainees[trainee_id]["employer_id"]})
                mine.append((enrolment_id, trainee_id, status))
                self.funding_modes[enrolment_id] = rows[-1]["funding_mode"]
                self.audit_rows.append(self._audit("enrolments", enrolment_id, "enrolled", None,
                                                   "confirmed" if status == "withdrawn" else status, requested))
                if status in ("confirmed", "withdrawn") and info["status"] in ("completed", "running"):
                    sendings.append({
                        "id": len(sendings) + 1, "enrolment_id": enrolment_id,
                        "sent_at": info["start_at"] - timedelta(days=7), "sent_to": f"stagiaire{trainee_id}@example.org",
                        "channel": "email", "actor_id": 1, "actor_label": "", "document_path": ""})
        self.insert(conn, "enrolments", rows)
        self.insert(conn, "convocation_sendings", sendings)
        self.insert(conn, "audit_entries", self.audit_rows)

    # --- questionnaires and answers --------------------------------------------------------------

    def questionnaires(self, conn) -> None:
        from training_app.services.surveys import (
            ORIGIN_POSITIONING,
            ORIGIN_SATISFACTION,
            POSITIONING_LABELS,
            SATISFACTION_INTRODUCTION,
            SATISFACTION_TITLE,
            default_satisfaction_questions,
        )

        rng = self.rng
        questionnaires, questions = [], []

        def add_questionnaire(title, kind, anonymous, origin, programme_id=None, introduction=""):
            qid = len(questionnaires) + 1
            questionnaires.append({
                "id": qid, "title": title, "kind": kind, "anonymous": anonymous, "introduction": introduction,
                "follow_up_days": None, "origin": origin, "programme_id": programme_id, "lineage_id": qid,
                "version": 1, "archived": False, "created_at": self.utc_now, "updated_at": self.utc_now})
            return qid

        def add_question(qid, position, qtype, text_, options, required=True, objective_id=None):
            questions.append({"id": len(questions) + 1, "questionnaire_id": qid, "position": position,
                              "type": qtype, "text": text_, "help_text": "", "required": required,
                              "options": list(options), "objective_id": objective_id})
            return questions[-1]

        satisfaction = add_questionnaire(SATISFACTION_TITLE, "satisfaction", True, ORIGIN_SATISFACTION,
                                         introduction=SATISFACTION_INTRODUCTION)
        satisfaction_questions = [add_question(satisfaction, position, q.type, q.text, q.options, q.required)
                                  for position, q in enumerate(default_satisfaction_questions(), start=1)]
        positioning = {}
        for programme_id, programme in self.programmes.items():
            qid = add_questionnaire("Positionnement avant la formation", "positioning", False, ORIGIN_POSITIONING,
                                    programme_id)
            positioning[programme_id] = [
                add_question(qid, position, "rating", f"Où en êtes-vous sur l'objectif {objective_id} ?",
                             POSITIONING_LABELS, objective_id=objective_id)
                for position, objective_id in enumerate(programme["objectives"], start=1)]
            positioning[programme_id].append(add_question(qid, len(positioning[programme_id]) + 1, "free_text",
                                                          "Qu'attendez-vous de cette formation ?", [], False))
            positioning[programme_id].insert(0, qid)
        self.insert(conn, "questionnaires", questionnaires)
        self.insert(conn, "questionnaire_questions", questions)

        surveys, candidates = [], []
        for session_id, info in self.sessions_info.items():
            if info["status"] not in ("completed", "running"):
                continue
            eligible = [(e, t) for e, t, status in self.enrolments_by_session[session_id]
                        if status in ("confirmed", "withdrawn")]
            closes = datetime.combine(info["end_at"].date() + timedelta(days=14), time(23, 59))
            survey_id = len(surveys) + 1
            surveys.append({"id": survey_id, "session_id": session_id, "questionnaire_id": satisfaction,
                            "opens_at": info["end_at"] - timedelta(hours=4), "closes_at": closes,
                            "created_at": self.utc_now, "reminders_sent": 0, "last_reminded_at": None})
            candidates += [(survey_id, t, satisfaction_questions, True) for _e, t in eligible]
            if rng.random() < 0.4:
                qid, *pos_questions = positioning[info["programme_id"]]
                survey_id = len(surveys) + 1
                surveys.append({"id": survey_id, "session_id": session_id, "questionnaire_id": qid,
                                "opens_at": info["start_at"] - timedelta(days=21), "closes_at": info["start_at"],
                                "created_at": self.utc_now, "reminders_sent": 0, "last_reminded_at": None})
                candidates += [(survey_id, t, pos_questions, False) for _e, t in eligible]
        self.insert(conn, "surveys", surveys)
        self.surveys = surveys

        chosen = rng.sample(candidates, min(self.counts["responses"], len(candidates)))
        responses, answers, participations, used_ids = [], [], [], set()
        for survey_id, trainee_id, survey_questions, anonymous in chosen:
            response_id = rng.getrandbits(62) + 1
            while response_id in used_ids:
                response_id = rng.getrandbits(62) + 1
            used_ids.add(response_id)
            responses.append({"id": response_id, "survey_id": survey_id})
            participations.append({"id": len(participations) + 1, "survey_id": survey_id, "trainee_id": trainee_id,
                                   "answered_at": surveys[survey_id - 1]["opens_at"] + timedelta(hours=1),
                                   "response_id": None if anonymous else response_id})
            for question in survey_questions:
                answer = {"response_id": response_id, "question_id": question["id"], "rating": None, "yes": None,
                          "choice": None, "choices": None, "text": None}
                qtype = question["type"]
                if qtype == "rating":
                    answer["rating"] = rng.choices([1, 2, 3, 4, 5], [1, 2, 6, 14, 12])[0]
                elif qtype == "yes_no":
                    answer["yes"] = rng.random() < 0.9
                elif qtype == "single_choice":
                    answer["choice"] = rng.randrange(len(question["options"]))
                elif qtype == "multiple_choice":
                    answer["choices"] = sorted(rng.sample(range(len(question["options"])), rng.randint(1, 3)))
                else:
                    answer["text"] = rng.choice(FREE_TEXTS)
                    if not answer["text"]:
                        continue
                answers.append(answer)
        responses.sort(key=lambda r: r["id"])
        self.insert(conn, "survey_responses", responses)
        self.insert(conn, "survey_participations", participations)
        self.insert(conn, "survey_answers", answers)

    def outcomes(self, conn) -> None:
        """Every confirmed trainee of a past session assessed on every objective, and the session's review."""
        rng = self.rng
        outcomes, reviews = [], []
        for session_id, info in self.sessions_info.items():
            if info["status"] != "completed":
                continue
            objectives = self.programmes[info["programme_id"]]["objectives"]
            for enrolment_id, _trainee, status in self.enrolments_by_session[session_id]:
                if status != "confirmed":
                    continue
                for objective_id in objectives:
                    outcomes.append({
                        "id": len(outcomes) + 1, "enrolment_id": enrolment_id, "objective_id": objective_id,
                        "result": rng.choices(["acquired", "partly_acquired", "not_acquired"], [8, 3, 1])[0],
                        "comment": "", "assessed_by_id": rng.choice(self.trainer_ids),
                        "assessed_at": info["end_at"] - timedelta(hours=1)})
            reviews.append({"id": len(reviews) + 1, "session_id": session_id, "text": "Groupe investi, bon bilan.",
                            "written_by_id": rng.choice(self.trainer_ids), "updated_at": info["end_at"]})
        self.insert(conn, "learning_outcomes", outcomes)
        self.insert(conn, "session_reviews", reviews)


    # --- attendance -----------------------------------------------------------------------------

    def attendance(self, conn) -> None:
        """Closed sheets of the past half-days: a record per confirmed trainee, their signatures, the
        trainer's, a version per sheet and the audit of each signature. Newest sessions first, up to
        the target number of records (the oldest sessions predate the electronic sheets)."""
        rng, target = self.rng, self.counts["attendance"]
        image = _signature_png()
        image_sha = hashlib.sha256(image).hexdigest()
        sheets, records, signatures, versions, audit = [], [], [], [], []
        self.hours: dict[int, list[int]] = {}  # enrolment -> [planned, attended, absent justified, unjustified]
        self.sessions_with_sheets: list[int] = []
        past = sorted((n for n, info in self.sessions_info.items() if info["status"] in ("completed", "running")),
                      key=lambda n: self.sessions_info[n]["start_at"], reverse=True)
        trainers_of = defaultdict(list)
        for row in self._session_trainers:
            trainers_of[row["session_id"]].append(row["user_id"])
        for session_id in past:
            if len(records) >= target:
                break
            info = self.sessions_info[session_id]
            present = [(e, t, status) for e, t, status in self.enrolments_by_session[session_id]
                       if status in ("confirmed", "withdrawn")]
            if info["status"] == "completed":
                self.sessions_with_sheets.append(session_id)
            for slot_id in info["slots"]:
                slot = self.slot_rows[slot_id - 1]
                starts = datetime.combine(slot["date"], slot["start_time"])
                if starts > self.now:
                    continue
                minutes = (slot["end_time"].hour * 60 + slot["end_time"].minute
                           - slot["start_time"].hour * 60 - slot["start_time"].minute)
                sheet_id = len(sheets) + 1
                trainer = trainers_of[session_id][0]
                closed_at = datetime.combine(slot["date"], slot["end_time"]) - timedelta(hours=1)  # UTC, roughly
                sheets.append({"id": sheet_id, "slot_id": slot_id, "status": "closed", "version": 1,
                               "closed_at": closed_at, "closed_by_id": trainer, "scan_path": "", "scan_kind": "",
                               "scan_uploaded_at": None, "created_at": starts - timedelta(hours=1)})
                rows = []
                for enrolment_id, trainee_id, status in present:
                    if status == "withdrawn" and rng.random() < 0.5:
                        continue  # dropped out before this half-day
                    state = rng.choices(["present", "late", "left_early", "absent_justified", "absent_unjustified"],
                                        [90, 3, 2, 3, 2])[0]
                    arrival = departure = None
                    attended = minutes
                    if state == "late":
                        arrival = (datetime.combine(slot["date"], slot["start_time"]) + timedelta(minutes=30)).time()
                        attended = minutes - 30
                    elif state == "left_early":
                        departure = (datetime.combine(slot["date"], slot["end_time"]) - timedelta(minutes=60)).time()
                        attended = minutes - 60
                    elif state.startswith("absent"):
                        attended = 0
                    records.append({
                        "id": len(records) + 1, "slot_id": slot_id, "enrolment_id": enrolment_id, "status": state,
                        "arrival_time": arrival, "departure_time": departure, "minutes_attended": attended,
                        "justification": "Arrêt maladie" if state == "absent_justified" else "",
                        "justification_path": "", "justification_kind": "", "updated_at": closed_at,
                        "updated_by_id": trainer})
                    rows.append({"enrolment_id": enrolment_id, "status": state, "minutes": attended})
                    hours = self.hours.setdefault(enrolment_id, [0, 0, 0, 0])
                    hours[0] += minutes
                    hours[1] += attended
                    hours[2] += minutes if state == "absent_justified" else 0
                    hours[3] += minutes if state == "absent_unjustified" else 0
                    if not state.startswith("absent"):
                        signature_id = len(signatures) + 1
                        signatures.append({
                            "id": signature_id, "slot_id": slot_id, "enrolment_id": enrolment_id, "trainer_id": None,
                            "signer_name": f"Stagiaire {trainee_id}", "signed_at": starts + timedelta(minutes=5),
                            "method": rng.choice(["device", "device", "qr", "personal_link"]),
                            "ip_address": "192.0.2.10", "user_agent": "Mozilla/5.0 (tablette)",
                            "image_sha256": image_sha, "image": image})
                        audit.append(self._audit("attendance_sheets", sheet_id, "signed", None, None,
                                                 starts + timedelta(minutes=5), actor_id=None))
                for trainer_id in trainers_of[session_id]:
                    signatures.append({
                        "id": len(signatures) + 1, "slot_id": slot_id, "enrolment_id": None, "trainer_id": trainer_id,
                        "signer_name": f"Formateur·rice {trainer_id}", "signed_at": closed_at, "method": "device",
                        "ip_address": "192.0.2.10", "user_agent": "Mozilla/5.0 (tablette)",
                        "image_sha256": image_sha, "image": image})
                versions.append({"id": sheet_id, "sheet_id": sheet_id, "number": 1, "action": "closed", "reason": "",
                                 "at": closed_at, "actor_id": trainer, "actor_name": f"Formateur·rice {trainer}",
                                 "snapshot": {"status": "closed", "scan": False, "rows": rows}})
                audit.append(self._audit("attendance_sheets", sheet_id, "closed", "open", "closed", closed_at,
                                         actor_id=trainer))
        self.insert(conn, "attendance_sheets", sheets)
        self.insert(conn, "attendance_records", records)
        self.insert(conn, "attendance_signatures", signatures)
        self.insert(conn, "attendance_sheet_versions", versions)
        self.insert(conn, "audit_entries", audit)

    # --- funding: agreements and claims ---------------------------------------------------------

    def funding(self, conn) -> None:
        """Hourly caps; a granted agreement per session, funder and employer for the trainees who said their
        OPCO pays; claims: one per session and funder (sent, paid, partly paid, rejected or draft) and one
        claim over a period with exactly `claim_workbook_lines` lines. Figures by services/claim_calculation."""
        from training_app.services.claim_calculation import (
            AgreementTerms,
            TraineeFigures,
            calculate,
        )
        from training_app.services.organisation import TEXT_FIELDS

        rng = self.rng
        caps = [{"id": len(FUNDERS) * (year - 2015) + n, "funder_id": n, "year": year, "cap_cents": 1500 + 100 * n,
                 "note": ""} for year in range(2016, self.now.year + 2) for n in range(1, len(FUNDERS) + 1)]
        agreements, covered, per_session = [], [], defaultdict(list)  # (session, funder) -> [agreement terms]
        for session_id in sorted(self.sessions_with_sheets, key=lambda n: self.sessions_info[n]["start_at"]):
            info = self.sessions_info[session_id]
            groups = defaultdict(list)
            for enrolment_id, trainee_id, status in self.enrolments_by_session[session_id]:
                employer_id = self.trainees[trainee_id]["employer_id"]
                if (status in ("confirmed", "withdrawn") and employer_id and enrolment_id in self.hours
                        and self.funding_modes[enrolment_id] == "opco"):
                    groups[(self.employers[employer_id]["funder_id"], employer_id)].append((enrolment_id, trainee_id))
            for (funder_id, employer_id), people in groups.items():
                agreement_id = len(agreements) + 1
                year = info["start_at"].year
                rate = rng.choice([1800, 2000, 2200, 2500])
                agreements.append({
                    "id": agreement_id, "funder_id": funder_id, "session_id": session_id, "employer_id": employer_id,
                    "status": "granted", "requested_on": info["start_at"].date() - timedelta(days=45),
                    "decided_on": info["start_at"].date() - timedelta(days=20),
                    "file_number": f"{year}-{funder_id:02d}-{agreement_id:06d}",
                    "mode": "subrogation" if rng.random() < 0.8 else "reimbursement", "hourly_rate_cents": rate,
                    "amount_cents": None, "hourly_cap_cents": 1500 + 100 * funder_id, "refusal_reason": "",
                    "notes": "", "created_at": info["start_at"] - timedelta(days=45)})
                employer = self.employers[employer_id]
                figures = []
                for enrolment_id, trainee_id in people:
                    travel = rng.choice([0, 0, 2500, 4000])
                    covered.append({"id": len(covered) + 1, "agreement_id": agreement_id, "enrolment_id": enrolment_id,
                                    "travel_agreed_cents": travel, "travel_actual_cents": travel,
                                    "accommodation_agreed_cents": 0, "accommodation_actual_cents": 0,
                                    "meals_agreed_cents": 0, "meals_actual_cents": 0})
                    trainee = self.trainees[trainee_id]
                    planned, attended, justified, unjustified = self.hours[enrolment_id]
                    figures.append(TraineeFigures(
                        enrolment_id=enrolment_id,
                        trainee_name=" ".join(p for p in (trainee["civility"], trainee["first_name"],
                                                          trainee["last_name"].upper()) if p),
                        employer_name=employer["name"], employer_siret=employer["siret"],
                        job_title=trainee["job_title"], session_id=session_id, planned_minutes=planned,
                        attended_minutes=attended, absent_justified_minutes=justified,
                        absent_unjustified_minutes=unjustified, annex={"travel": (travel, travel)}))
                per_session[(session_id, funder_id)].append(AgreementTerms(
                    file_number=agreements[-1]["file_number"], trainees=tuple(figures),
                    hourly_rate_cents=rate, hourly_cap_cents=1500 + 100 * funder_id,
                    mode=agreements[-1]["mode"]))
        self.insert(conn, "funder_hourly_caps", caps)
        self.insert(conn, "funding_agreements", agreements)
        self.insert(conn, "funding_agreement_trainees", covered)

        organisation = {name: self.organisation_row[name] for name in TEXT_FIELDS}
        organisation["address_lines"] = [line for line in self.organisation_row["address"].splitlines() if line]
        claims, claim_sessions, payments, numbers = [], [], [], defaultdict(int)
        keys = list(per_session)
        # The period claim: Uniformation's most recent files, whole sessions, trimmed to the line count wanted.
        wanted, period_keys, period_terms, lines = self.counts["claim_workbook_lines"], [], [], 0
        for key in reversed(keys):
            if key[1] != 1 or lines >= wanted:
                continue
            for terms in per_session[key]:
                room = wanted - lines
                if room <= 0:
                    break
                trimmed = terms if len(terms.trainees) <= room else AgreementTerms(
                    terms.file_number, terms.trainees[:room], terms.hourly_rate_cents, terms.amount_cents,
                    terms.hourly_cap_cents, terms.mode)
                period_terms.append(trimmed)
                lines += len(trimmed.trainees)
            period_keys.append(key)
        session_keys = [key for key in keys if key not in set(period_keys)]
        chosen = sorted(rng.sample(session_keys, min(self.counts["claims"] - 1, len(session_keys))),
                        key=lambda key: self.sessions_info[key[0]]["end_at"])
        for number, (group, terms) in enumerate(
                [([key], per_session[key]) for key in chosen] + [(period_keys, period_terms)], start=1):
            session_ids = sorted({key[0] for key in group}, key=lambda n: self.sessions_info[n]["start_at"])
            infos = [self.sessions_info[n] for n in session_ids]
            funder_id = group[0][1]
            end = max(i["end_at"] for i in infos)
            period = len(group) > 1
            recent = end > self.now - timedelta(days=90)
            status = "sent" if period else (rng.choice(["draft", "sent"]) if recent else rng.choices(
                ["paid", "partially_paid", "rejected", "sent"], [80, 8, 4, 8])[0])
            invoice_number = None  # a draft has none: sending gives it (numbered below, in sending order)
            result = calculate(terms, True)
            for line in result["lines"]:
                session = self.sessions_info[line["session_id"]]
                line["session_title"] = self.programme_titles[session["programme_id"]]
                line["session_dates"] = f"{session['start_at']:%d/%m/%Y} – {session['end_at']:%d/%m/%Y}"
            snapshot = {
                "number": invoice_number, "organisation": organisation,
                "funder": {"name": FUNDERS[funder_id - 1], "address": "", "contact_name": "", "contact_email": "",
                           "accepts_annex_costs": True},
                "period": [infos[0]["start_at"].date().isoformat(), end.date().isoformat()] if period else None,
                "sessions": [{"id": n, "title": self.programme_titles[i["programme_id"]], "place": "",
                              "start": i["start_at"].isoformat(), "end": i["end_at"].isoformat(),
                              "planned_minutes": sum(self.hours_planned(n)), "modality": "in_person"}
                             for n, i in zip(session_ids, infos)],
                "lines": result["lines"], "totals": result["totals"]}
            total = result["totals"]["total_cents"]
            paid = total if status == "paid" else (total * 7 // 10 if status == "partially_paid" else 0)
            sent_on = None if status == "draft" else end.date() + timedelta(days=10)
            claims.append({
                "id": number, "number": invoice_number, "funder_id": funder_id,
                "period_start": infos[0]["start_at"].date() if period else None,
                "period_end": end.date() if period else None, "status": status, "total_cents": total,
                "paid_cents": paid, "snapshot": snapshot, "calculated_at": end + timedelta(days=9),
                "sent_on": sent_on, "rejected_on": sent_on + timedelta(days=40) if status == "rejected" else None,
                "rejection_reason": "Pièces manquantes" if status == "rejected" else "",
                "created_at": end + timedelta(days=9)})
            claim_sessions += [{"claim_id": number, "session_id": n} for n in session_ids]
            if paid:
                payments.append({"id": len(payments) + 1, "claim_id": number, "received_on": sent_on + timedelta(days=45),
                                 "amount_cents": paid, "overpayment_cents": 0, "note": "",
                                 "created_at": end + timedelta(days=55)})
            self.audit_extra.append(self._audit("funding_claims", number, "created", None, "draft",
                                                end + timedelta(days=9)))
        # Numbered as sending numbers them: in the order they were sent, in the year of the sending.
        for claim in sorted((c for c in claims if c["sent_on"]), key=lambda c: (c["sent_on"], c["id"])):
            year = claim["sent_on"].year
            numbers[year] += 1
            claim["number"] = claim["snapshot"]["number"] = f"{year}-{numbers[year]:04d}"
        self.insert(conn, "funding_claims", claims)
        self.insert(conn, "funding_claim_sessions", claim_sessions)
        self.insert(conn, "funding_claim_payments", payments)
        self.insert(conn, "audit_entries", self.audit_extra)

    def hours_planned(self, session_id: int) -> list[int]:
        slots = [self.slot_rows[slot_id - 1] for slot_id in self.sessions_info[session_id]["slots"]]
        return [(s["end_time"].hour * 60 + s["end_time"].minute) - (s["start_time"].hour * 60 + s["start_time"].minute)
                for s in slots]


def _signature_png() -> bytes:
    """A small signature-like PNG, the same for everybody (the pages never decode it)."""
    from PIL import Image, ImageDraw
    picture = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(picture).line([(10, 80), (80, 20), (150, 70), (220, 25), (290, 60)], fill=(0, 0, 0, 255), width=3)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


# --- requests of the public page, for the confirmation's benchmark ----------------------------------

def pending_requests(url: str, session_id: int, count: int) -> list[str]:
    """Write `count` requests of the public registration page on `session_id`, waiting for their confirmation
    (as the page records them: services/registration_requests.ask, without the e-mail), and return the secrets
    of their links: bench/load.py confirms each once. Written afresh for each run (a confirmed request cannot be
    confirmed again; a run consumes a few thousand), with unique addresses, valid for a week."""
    import secrets

    from sqlalchemy import create_engine, insert

    from training_app.clock import utcnow
    from training_app.models import RegistrationRequest
    from training_app.services.registration_requests import token_hash

    tag = secrets.token_hex(4)
    now = utcnow()  # naive UTC, as every stored time
    tokens = [f"bench-{tag}-{n}" for n in range(count)]
    rows = [{"session_id": session_id, "email": f"bench-confirm-{tag}-{n}@example.org",
             "details": {"civility": "Mme", "first_name": "Camille", "last_name": f"Confirmation {n}",
                         "phone": "0600000000", "job_title": "Animatrice",
                         "employer_name": "Association du banc d'essai", "employer_siret": "", "category": "employee"},
             "funding_mode": "opco", "token_hash": token_hash(token), "requested_at": now,
             "expires_at": now + timedelta(days=7), "confirmed_at": None, "enrolment_id": None, "duplicate": False}
            for n, token in enumerate(tokens)]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), BATCH):
                conn.execute(insert(RegistrationRequest.__table__), rows[start:start + BATCH])
    finally:
        engine.dispose()
    return tokens


# --- building a size -------------------------------------------------------------------------------

def make_app(url: str):
    from training_app import create_app
    return create_app("development", {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})


def migrate(app) -> None:
    """The schema, as production builds it: every Alembic revision."""
    import logging

    from flask_migrate import upgrade
    with app.app_context():
        upgrade()
    logging.getLogger("alembic").setLevel(logging.WARNING)


def generate(base: str, size: str, seed: int = 8, echo=print) -> dict[str, int]:
    echo(f"Generating the {size} organisation in {databases.display(databases.url_for_size(base, size))} ...")
    databases.reset(base, size)
    app = make_app(databases.url_for_size(base, size))
    migrate(app)
    inserted = Generator(app, size, seed, echo).run()
    from training_app.extensions import db
    with app.app_context():
        with db.engine.begin() as conn:  # what made this data: is_generated compares it
            conn.execute(text(f"CREATE TABLE {FINGERPRINT_TABLE} (fingerprint VARCHAR(64) NOT NULL)"))
            conn.execute(text(f"INSERT INTO {FINGERPRINT_TABLE} (fingerprint) VALUES (:f)"),
                         {"f": generator_fingerprint(seed)})
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        db.engine.dispose()
    return inserted


def bring_up_to_date(base: str, size: str) -> None:
    """Apply the revisions added since the size was generated (its data is kept)."""
    from training_app.extensions import db
    app = make_app(databases.url_for_size(base, size))
    migrate(app)
    with app.app_context():
        db.engine.dispose()


# A table of the benchmark's data only (not of the product's schema): the fingerprint of the generator that
# made it. Data made by an older generator is made again: a change of this file (a column now filled, claims
# numbered otherwise) is not a migration, which bring_up_to_date would apply to the data kept.
FINGERPRINT_TABLE = "bench_generator"


def generator_fingerprint(seed: int = 8) -> str:
    with open(__file__, "rb") as source:
        return hashlib.sha256(source.read() + f"seed={seed}".encode()).hexdigest()


def is_generated(base: str, size: str) -> bool:
    """True when the size's database holds the expected organisation (same counts of its fixed parts), made by
    this very generator (its fingerprint)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    url = databases.url_for_size(base, size)
    if not databases.is_postgres(url) and not os.path.exists(url[len("sqlite:///"):]):
        return False
    engine = create_engine(url)
    counts = counts_for(size)
    try:
        with engine.connect() as conn:
            programmes = conn.scalar(text("SELECT COUNT(*) FROM programmes"))
            sessions = conn.scalar(text("SELECT COUNT(*) FROM training_sessions"))
            fingerprint = conn.scalar(text(f"SELECT fingerprint FROM {FINGERPRINT_TABLE}"))
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()
    return (programmes == counts["programmes"] and sessions == counts["sessions"]
            and fingerprint == generator_fingerprint())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=[*SCALES, "both"], default="both")
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL, $DATABASE_URL or SQLite in instance/")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    base = databases.base_url(args.database_url)
    for size in (SCALES if args.size == "both" else [args.size]):
        inserted = generate(base, size, args.seed)
        print("   " + ", ".join(f"{table} {count:,}" for table, count in sorted(inserted.items())))


if __name__ == "__main__":
    main()
