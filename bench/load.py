"""Load the main pages served by gunicorn as in production, and measure them.

    python -m bench.load [--database-url URL] [--seconds 10] [--clients 10] [--workers 4]

The application runs in gunicorn (the README's production command: sync workers) on a free
port of 127.0.0.1, with the production configuration, the benchmark database, a SECRET_KEY
from the environment (a random one when unset), PUBLIC_URL the address served, rate limiting off (RATELIMIT_ENABLED=0) and
cookies allowed over plain HTTP on the loopback (SESSION_COOKIE_SECURE=0). This process is
the client: CLIENTS threads, each with its own cookies (staff pages sign in first; the public
registration and its confirmation read the form's CSRF token first), each sending requests one after the
other for a bounded time and number of requests, loopback only. A page's answer counts when it has its
status and, for some, a marker: the public registration's is its answer to an accepted request
(REGISTERED: check your mailbox, the same page whatever the address typed; the request holds no seat), so a
registration that came back as the form with its errors is counted an error. The confirmation (the button of
the link e-mailed for a request, which enrols: a seat or the waiting list, under the session's lock) posts
the secrets of requests written for the run (bench/generate.pending_requests), each once; its marker is
CONFIRMED, the answer of a request confirmed by this very post.

Per page: requests per second, p50 and p95 latency, and SQL statements per request. The
statement count comes from the server itself (BENCH_COUNT_QUERIES adds an X-SQL-Queries
header); it is read in a separate pass on the small and on the large database, with the
header off during the timed pass, twice for the pages kept once rendered
(training_app/page_cache.py): rendered (a forced reload) and given again. A bare Flask view (bench/bare.py), served and loaded the
same way, gives the ceiling each page's throughput is compared with.

E-mail is kept as rows, not sent (no MAIL_SERVER), except for the pages marked `smtp`: a second gunicorn serves
them with MAIL_SERVER set to an SMTP relay on the loopback that answers like a distant one
(bench/relay.py, in a process of its own), as production sends e-mail.
"""
import argparse
import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from bench import bare as bare_app
from bench import databases, generate, relay
from bench.generate import ADMIN_EMAIL, ADMIN_PASSWORD

ROOT = databases.ROOT
CLIENTS, WORKERS, SECONDS, MAX_REQUESTS = 10, 4, 10.0, 50000
TARGET_P95_MS, TARGET_RATIO = 150.0, 0.25
RELAY_LATENCY_MS = 20.0  # the SMTP relay's answers (bench/relay.py): a provider's relay over the Internet
CSRF_RE = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)" name="csrf_token"')


# --- the server ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict[str, str], workers: int = WORKERS, ready_path: str = "/"):
    """Serve `app_spec` with gunicorn on a free loopback port; yields the port. Stops it afterwards."""
    port = free_port()
    # The production configuration refuses to start without PUBLIC_URL: the links it e-mails lead here.
    env = {**env, "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", "--timeout", "60", app_spec]
    with tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            _wait_until_ready(process, port, ready_path, log.name)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop: the master stops its workers
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process, port: int, ready_path: str, log_name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            with open(log_name) as log:
                raise RuntimeError("gunicorn stopped:\n" + log.read()[-3000:])
        with contextlib.suppress(OSError, http.client.HTTPException):
            if Client(port).get(ready_path).status == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not answer within 60 s")
        time.sleep(0.2)


def app_env(url: str, instance: str, *, count_queries: bool, smtp_port: int | None = None) -> dict[str, str]:
    """The production configuration; e-mail kept, not sent, or sent to the relay on `smtp_port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "BENCH_", "RATELIMIT_"))}
    if smtp_port is not None:
        env.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_USE_TLS": "0"})
    env.update({
        "TRAINING_APP_CONFIG": "production",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "DATABASE_URL": url,
        "INSTANCE_PATH": instance,  # storage of this run, thrown away afterwards
        "RATELIMIT_ENABLED": "0",
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on the loopback, no TLS proxy in front
        "BENCH_COUNT_QUERIES": "1" if count_queries else "0",
    })
    return env


# --- the client ------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float


class Client:
    """One user: sequential requests on the loopback, with their own cookies."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, extra_headers: dict | None = None) -> Response:
        headers = {"Host": f"127.0.0.1:{self.port}", "Connection": "close", **(extra_headers or {})}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["expires"] and "1970" in morsel["expires"] or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(response.status, response.headers, content, elapsed)

    def get(self, path: str, headers: dict | None = None) -> Response:
        return self.request("GET", path, extra_headers=headers)

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form)

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        match = CSRF_RE.search(page.body)
        if page.status != 200 or not match:
            raise RuntimeError(f"no CSRF token on {path} ({page.status})")
        return (match.group(1) or match.group(2)).decode()

    def sign_in(self) -> None:
        token = self.csrf_token("/connexion")
        answer = self.post("/connexion", {"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        if answer.status != 302:
            raise RuntimeError(f"sign-in refused ({answer.status}): has the benchmark database been generated?")


# --- what is measured ------------------------------------------------------------------------------

@dataclass
class Page:
    """A page to load: how a client prepares (sign in, read a form) and how it sends one request."""
    name: str
    path: str
    staff: bool = False
    post: bool = False
    expect: int = 200
    marker: bytes = b""  # must appear in the answer (e.g. REGISTERED: the registration was accepted)
    smtp: bool = False  # served with MAIL_SERVER set: e-mail sent to the SMTP relay (bench/relay.py), not captured
    form: str = ""  # a post's page whose form gives the CSRF token, when not `path`
    # The confirmation: the secrets of the requests it confirms (`path` + secret), given before each use
    # (measure_pages: Tokens of bench/generate.pending_requests)
    tokens: "Tokens | None" = None
    confirms: bool = False

    def prepare(self, client: Client) -> dict:
        if self.staff:
            client.sign_in()
        state = {"n": 0, "tag": secrets.token_hex(4)}
        if self.post:
            state["csrf"] = client.csrf_token(self.form or self.path)
        return state

    def send(self, client: Client, state: dict, *, render: bool = False) -> Response:
        """One request; `render`: asked like a browser's forced reload, so that a kept page is rendered again
        (training_app/page_cache.py)."""
        if not self.post:
            return client.get(self.path, {"Cache-Control": "no-cache"} if render else None)
        if self.confirms:
            return client.post(self.path + self.tokens.take(), {"csrf_token": state["csrf"]})
        state["n"] += 1
        n, tag = state["n"], state["tag"]
        return client.post(self.path, {
            "csrf_token": state["csrf"], "civility": "Mme", "first_name": "Camille", "last_name": f"Essai {n}",
            "email": f"bench-{tag}-{n}@example.org", "phone": "0600000000", "job_title": "Animatrice",
            "employer_name": "Association du banc d'essai", "employer_siret": "", "funding_mode": "opco",
            "consent": "y", "website": ""})

    def ok(self, response: Response) -> bool:
        return response.status == self.expect and (not self.marker or self.marker in response.body)


class Tokens:
    """The secrets of the requests the confirmation confirms, each handed to one request (threads share it).
    Once all are spent, the last one again: its answer (confirmed before) lacks CONFIRMED, an error."""

    def __init__(self, tokens: list[str]):
        self._tokens, self._next, self._lock = tokens, 0, threading.Lock()

    def take(self) -> str:
        with self._lock:
            token = self._tokens[min(self._next, len(self._tokens) - 1)]
            self._next += 1
        return token


@dataclass
class Measure:
    name: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    queries: dict[str, str] = field(default_factory=dict)  # size -> statements per request, rendered
    cpu_ms: float = 0.0  # server CPU per request, rendered (largest size, one request at a time)
    kept_queries: str = ""  # statements per request when the page is given again (largest size)
    kept_cpu_ms: float | None = None  # server CPU per request then; None: not a kept page (a POST)
    cpu: list[float] = field(default_factory=list)  # per request under load, when the server tells
    error_sample: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index] * 1000


def landmarks(url: str) -> dict[str, int]:
    """The ids the pages use, found in the generated data."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # The most recent completed session whose (anonymous) satisfaction questionnaire has closed: its
            # answers are shown (an open one shows the response rate only, a lighter page).
            past = conn.execute(text(
                "SELECT s.id, sv.id, s.programme_id, q.lineage_id FROM training_sessions s "
                "JOIN surveys sv ON sv.session_id = s.id JOIN questionnaires q ON q.id = sv.questionnaire_id "
                "WHERE s.status = 'completed' AND q.kind = 'satisfaction' AND sv.closes_at < :now "
                "ORDER BY s.start_at DESC LIMIT 1"), {"now": time.strftime("%Y-%m-%d %H:%M:%S")}).one()
            slot = conn.execute(text("SELECT MIN(id) FROM slots WHERE session_id = :s"), {"s": past[0]}).scalar_one()
            busiest = conn.execute(text(
                "SELECT s.programme_id FROM training_sessions s JOIN surveys sv ON sv.session_id = s.id "
                "GROUP BY s.programme_id ORDER BY COUNT(*) DESC, s.programme_id LIMIT 1")).scalar_one()
            # A full upcoming session (of a paid programme in a cycle, when there is one: the price then depends
            # on the trainee's other courses), the one with the shortest waiting list: runs do not pile onto one.
            full = conn.execute(text(
                "SELECT s.id FROM training_sessions s JOIN programmes p ON p.id = s.programme_id "
                "WHERE s.status = 'full' AND s.start_at > :now AND NOT p.archived "
                "ORDER BY p.cycle_id IS NULL OR p.kind = 'internal', "
                "(SELECT COUNT(*) FROM enrolments e WHERE e.session_id = s.id), "
                "s.start_at LIMIT 1"),
                {"now": time.strftime("%Y-%m-%d %H:%M:%S")}).scalar_one()
    finally:
        engine.dispose()
    return {"past_session": past[0], "survey": past[1], "lineage": past[3], "busiest_programme": busiest,
            "full_session": full, "slot": slot}


# The public registration's answer when a request was accepted (the form with its errors comes back otherwise).
# The same page for every accepted request, new or repeated, whatever its state: it never tells whether the
# address was enrolled, nor the waiting-list position; the e-mail to that address does (kept as rows here).
REGISTERED = b'data-testid="registration-result"'
# The confirmation's answer when this very post confirmed the request (one confirmed before says so instead).
CONFIRMED = b'data-testid="confirmed-now"'
CONFIRM_PATH = "/formations/inscription/confirmer/"
# Requests written for the timed confirmation, per second of the run (plus the warm-ups): more than it confirms.
CONFIRMATIONS_PER_SECOND = 500


def pages(marks: dict[str, int]) -> list[Page]:
    """The pages of the issue, in the order of the table."""
    return [
        Page("session list", "/sessions", staff=True),
        Page("a session's enrolments", f"/sessions/{marks['past_session']}", staff=True,
             marker=b'data-testid="enrolment-section"'),
        Page("a slot sheet", f"/sessions/{marks['past_session']}/emargement/{marks['slot']}", staff=True),
        Page("attendance overview", f"/sessions/{marks['past_session']}/emargement", staff=True),
        Page("questionnaire results (session)",
             f"/sessions/{marks['past_session']}/questionnaires/{marks['survey']}", staff=True),
        Page("questionnaire results (programme, all years)",
             f"/questionnaires/resultats?programme={marks['busiest_programme']}&questionnaire={marks['lineage']}",
             staff=True),
        Page("funding dashboard", "/financement/", staff=True),
        Page("public catalogue", "/"),
        Page("public registration (waiting list)", f"/formations/sessions/{marks['full_session']}/inscription",
             post=True, marker=REGISTERED),
        Page(f"public registration, e-mail by SMTP (relay {RELAY_LATENCY_MS:.0f} ms away)",
             f"/formations/sessions/{marks['full_session']}/inscription", post=True, marker=REGISTERED,
             smtp=True),
        Page("registration confirmed by its link (waiting list)", CONFIRM_PATH, post=True, marker=CONFIRMED,
             form=f"/formations/sessions/{marks['full_session']}/inscription", confirms=True),
    ]


def _with_requests(group: list[Page], url: str, marks: dict[str, int], count: int) -> list[Page]:
    """The pages of `group`, the confirmation given `count` requests to confirm, written now on the full
    session (bench/generate.pending_requests)."""
    for page in group:
        if page.confirms:
            page.tokens = Tokens(generate.pending_requests(url, marks["full_session"], count))
    return group


def run(page: Page, port: int, *, clients: int = CLIENTS, seconds: float = SECONDS,
        max_requests: int = MAX_REQUESTS, warmup: int = 2) -> Measure:
    """`clients` threads send `page` requests for `seconds` (at most `max_requests` in all)."""
    measure = Measure(page.name)
    lock = threading.Lock()
    window = {}
    tickets = [max_requests]
    failures: list[BaseException] = []

    def open_window():  # run once, when every client is ready, before any is released
        window["start"] = time.perf_counter()
        window["stop"] = window["start"] + seconds

    ready = threading.Barrier(clients, action=open_window)

    def worker():
        client = Client(port)
        try:
            state = page.prepare(client)
            for _ in range(warmup):
                page.send(client, state)
        except BaseException as error:  # noqa: BLE001 - reported below; the barrier must not hang
            failures.append(error)
        ready.wait()
        if failures:
            return
        while time.perf_counter() < window["stop"]:
            with lock:
                if tickets[0] <= 0:
                    return
                tickets[0] -= 1
            try:
                response = page.send(client, state)
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    measure.errors += 1
                    measure.error_sample = measure.error_sample or repr(error)
                continue
            with lock:
                measure.latencies.append(response.seconds)
                measure.cpu.append(int(response.headers.get("X-CPU-Microseconds", "0")) / 1000)
                if page.ok(response):
                    measure.requests += 1
                else:
                    measure.errors += 1
                    measure.error_sample = measure.error_sample or f"HTTP {response.status}"

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{page.name}: a client could not prepare: {failures[0]!r}")
    started = window["start"]
    measure.seconds = time.perf_counter() - started
    return measure


@dataclass
class Cost:
    """What one request costs the server, one request at a time: statements ("12", or "11-13" when they
    vary) and the median CPU time in ms."""
    queries: str
    cpu_ms: float


def server_cost(page: Page, port: int, *, render: bool, repeat: int = 5, warmup: int = 3) -> Cost:
    """The server's cost of `page`, rendered each time (`render`) or as sent to every visitor (kept pages
    given again while nothing changes)."""
    client = Client(port)
    state = page.prepare(client)
    for _ in range(warmup):  # the first requests fill the worker's caches
        page.send(client, state, render=render)
    counts, cpu = [], []
    for _ in range(repeat):
        response = page.send(client, state, render=render)
        if not page.ok(response):
            raise RuntimeError(f"{page.name}: HTTP {response.status} while counting queries")
        counts.append(int(response.headers.get("X-SQL-Queries", "-1")))
        cpu.append(int(response.headers.get("X-CPU-Microseconds", "0")) / 1000)
    low, high = min(counts), max(counts)
    return Cost(str(low) if low == high else f"{low}-{high}", statistics.median(cpu))


def machine_load() -> str:
    with open("/proc/loadavg") as handle:
        one, five, fifteen = handle.read().split()[:3]
    return f"load average {one} {five} {fifteen} on {os.cpu_count()} cores"


@dataclass
class PageRun:
    bare: Measure
    measures: list[Measure]
    marks: dict[str, int]
    writes: list[Measure] = field(default_factory=list)  # the ceilings of a write (bench/bare.py)


BARE_PAGES = [  # bench/bare.py: the bare view first, the ceiling
    Page("bare Flask view (ceiling)", "/"),
    Page("bare write: 1 INSERT, plain SQL", "/write", post=True),
    Page(f"bare write: row lock + {bare_app.REGISTRATION_STATEMENTS - 1} INSERTs, plain SQL", "/locked-write",
         post=True),
]


def measure_pages(base: str, *, sizes=("small", "large"), clients=CLIENTS, seconds=SECONDS, workers=WORKERS,
                  echo=print) -> PageRun:
    """Count statements on every size, then time every page on the largest size and the bare view."""
    instance = tempfile.mkdtemp(prefix="bench-instance-")
    smtp_port = free_port()
    try:
        with relay.running(smtp_port, RELAY_LATENCY_MS):
            by_size = {}
            for size in sizes:
                url = databases.url_for_size(base, size)
                by_size[size] = {}
                # One worker, one request at a time: what a page keeps is kept for the next request, the CPU
                # time is the page's own.
                size_marks = landmarks(url)
                for smtp, group in _by_mail(pages(size_marks)):
                    group = _with_requests(group, url, size_marks, 20)  # server_cost: 3 warm-ups, 5 counted
                    with gunicorn("training_app:create_app()", app_env(
                            url, instance, count_queries=True, smtp_port=smtp_port if smtp else None), 1,
                            "/healthz") as port:
                        by_size[size].update({p.name: (server_cost(p, port, render=True),
                                                       None if p.post else server_cost(p, port, render=False))
                                              for p in group})
                echo(f"  SQL statements counted on the {size} database")
            url = databases.url_for_size(base, sizes[-1])
            marks = landmarks(url)
            measures = []
            for smtp, group in _by_mail(pages(marks)):
                group = _with_requests(group, url, marks, min(MAX_REQUESTS, int(seconds * CONFIRMATIONS_PER_SECOND))
                                       + clients * 2)  # run()'s two warm-ups per client
                with gunicorn("training_app:create_app()", app_env(
                        url, instance, count_queries=False, smtp_port=smtp_port if smtp else None), workers,
                        "/healthz") as port:
                    for page in group:
                        measure = run(page, port, clients=clients, seconds=seconds)
                        measure.queries = {size: costs[page.name][0].queries for size, costs in by_size.items()}
                        rendered, kept = by_size[sizes[-1]][page.name]
                        measure.cpu_ms = rendered.cpu_ms
                        if kept is not None:
                            measure.kept_queries, measure.kept_cpu_ms = kept.queries, kept.cpu_ms
                        measures.append(measure)
                        echo(f"  {page.name}: {measure.rate:.0f} req/s, p95 {measure.percentile(95):.0f} ms")
        bare_app.prepare(url)
        with gunicorn("bench.bare:app", app_env(url, instance, count_queries=False), workers) as port:
            bare, *writes = [run(page, port, clients=clients, seconds=seconds) for page in BARE_PAGES]
            for measure in (bare, *writes):
                measure.cpu_ms = statistics.median(measure.cpu) if measure.cpu else 0.0
                echo(f"  {measure.name}: {measure.rate:.0f} req/s, p95 {measure.percentile(95):.0f} ms")
        return PageRun(bare, measures, marks, writes)
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _by_mail(all_pages: list[Page]) -> list[tuple[bool, list[Page]]]:
    """The pages served with e-mail captured, then those served with e-mail sent to the relay."""
    return [(smtp, [p for p in all_pages if p.smtp == smtp]) for smtp in (False, True)]


def main(argv=None) -> None:
    from bench import report
    parser = argparse.ArgumentParser(description="Load the main pages (see bench/load.py).")
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    args = parser.parse_args(argv)
    base = databases.base_url(args.database_url)
    before = machine_load()
    result = measure_pages(base, clients=args.clients, seconds=args.seconds, workers=args.workers,
                           echo=lambda line: print(line, file=sys.stderr))
    print(report.table(report.page_rows(result), before=before, after=machine_load(), base=base,
                       clients=args.clients, workers=args.workers, seconds=args.seconds))


if __name__ == "__main__":
    main()
