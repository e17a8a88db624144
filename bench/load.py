"""Load test: many residents answering at once against `survey serve`, then a check that every
acknowledged answer is stored exactly once and nothing else is.

On loopback only and bounded in time: sets up an instance (SQLite WAL by default, or an empty
PostgreSQL database with --postgres), starts `survey serve` (4 gunicorn workers, rate limit
off), runs N clients (threads, each with its own http.client connection) POSTing the 12-item
five-goods form to /s/<unit> over several units for S seconds. Every POST carries a unique
marker in its comment. Each answer acknowledged with 303 is recorded; a request sent whose
connection failed before a status arrived is "unknown" (it may or may not be stored) and is
counted on its own. After the clients stop (in-flight requests finish, bounded by the client
timeout) and the server has shut down, the database is checked: every acknowledged marker
stored exactly once (lost = 0), no stored marker that was not acknowledged or unknown
(extra = 0), every response whole (all its answer rows) and the running tally equal to a
recount. Exits non-zero on any lost or extra answer, 5xx or half-written response.

    python bench/load.py [--clients 200] [--seconds 60] [--workers 4] [--units 8]
                         [--postgres postgresql://user@127.0.0.1:5432/emptydb]

The pieces (prepare, Server, Load, check) are used by tests/test_load.py and tests/test_faults.py.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from common import free_port, wait_for_port  # noqa: E402

ITEMS = ["leadership", "clean", "members", "mechanism", "results", "development", "contact",
         "disputes", "attitude", "overall"]  # the five-goods form (survey.testing.GENERAL_ITEMS)
CHOICES = ["satisfied", "basic", "unsatisfied"]
CATEGORIES = ["resident", "service_recipient", "deputy", "party_delegate"]
ANSWER_ROWS = len(ITEMS) + 1  # the ten ratings and the comment
CAMPAIGN = "bench"
# The words of the 503 notice (errors.py), in Chinese (default) and English.
NOTICE_WORDS = ("请稍后再试", "Please try again shortly")

# The same campaign as bench/submit.py's SETUP ("bench", five-goods units BENCH-00n, open,
# repeat answers allowed), with several units so writers contend on more than one tally row set.
SETUP = """
import sys
from survey import create_app
from survey.campaigns import transition
from survey.db import db
from survey.migrate import upgrade
from survey.models import Campaign, QuestionnaireSnapshot, Unit
from survey.registry import current_registry
app = create_app()
with app.app_context():
    upgrade()
    c = Campaign(slug="bench", name="基准测评", allow_repeat=True)
    for n in range(1, int(sys.argv[1]) + 1):
        db.session.add(Unit(campaign=c, code=f"BENCH-{n:03d}", name=f"基准单位{n}", sector="general"))
    db.session.flush()
    transition(c, "open", current_registry(), "bench")
    # answer the five-goods form itself on the QR code (the floor's shape: a dozen ratings), not
    # its short point-of-service pair: without the pair frozen, the QR code answers the unit's own
    db.session.execute(QuestionnaireSnapshot.__table__.delete().where(QuestionnaireSnapshot.key == "general-visit"))
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.engine.dispose()
"""


# --- the instance ---------------------------------------------------------------------------
@dataclass
class Instance:
    """An instance folder with a migrated database and the open campaign "bench"."""

    path: Path
    database_url: str
    units: list[str]
    env: dict

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def prepare(path: Path, postgres_url: str | None = None, units: int = 8) -> Instance:
    """Make the instance folder, migrate its database and open the "bench" campaign."""
    path.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=str(path), SURVEY_RATELIMIT_ENABLED="0",
               SURVEY_SECRET_KEY="load-test-secret", PYTHONPATH=str(ROOT))
    url = postgres_url or f"sqlite:///{path / 'survey.sqlite'}"
    if postgres_url:
        env["SURVEY_DATABASE_URL"] = postgres_url
    subprocess.run([sys.executable, "-c", SETUP, str(units)], env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    return Instance(path, url, [f"BENCH-{n:03d}" for n in range(1, units + 1)], env)


# --- the server -----------------------------------------------------------------------------
class Server:
    """`survey serve` in its own process group (master and workers), logging to a file."""

    def __init__(self, instance: Instance, workers: int = 4, port: int | None = None,
                 log_dir: Path | None = None):
        self.instance = instance
        self.workers = workers
        self.port = port or free_port()
        self.log = (log_dir or instance.path.parent) / f"serve-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self._log_from = 0

    def start(self, timeout: float = 60) -> "Server":
        """Start (or start again, on the same port) and wait until every worker is up."""
        self._log_from = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(self.workers), "--allow-local-base-url"],
                env=self.instance.env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log)
        try:
            wait_for_port(self.port, timeout)
        except TimeoutError:
            self.kill()
            raise RuntimeError(f"survey serve did not start; its log:\n{self.log_tail()}")
        self._wait_for_workers(timeout)
        return self

    def _wait_for_workers(self, timeout: float) -> None:
        """Wait until every worker has booted, so a run does not time the workers' start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_tail(100_000).count("Booting worker") >= self.workers:
                time.sleep(0.5)  # the app is built after the "Booting worker" line
                return
            time.sleep(0.1)

    def log_tail(self, size: int = 4000) -> str:
        """The end of what this start of the server has logged."""
        try:
            return self.log.read_bytes()[self._log_from:][-size:].decode("utf-8", "replace")
        except OSError:
            return ""

    def group_alive(self) -> list[int]:
        """Processes of the server's group still running (not zombies)."""
        if self.process is None:
            return []
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            after = text.rsplit(")", 1)[1].split()
            state, pgid = after[0], int(after[2])
            if pgid == self.process.pid and state not in ("Z", "X"):
                alive.append(int(stat.parent.name))
        return alive

    def kill(self) -> None:
        """kill -9 the whole group: the gunicorn master and every worker at once."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self, timeout: float = 40) -> None:
        """Graceful stop: workers finish the requests they hold; SIGKILL if that takes too long."""
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        self.kill()


# --- the clients ----------------------------------------------------------------------------
@dataclass
class Outcome:
    """What became of one attempt: status None means no status arrived."""

    marker: str
    unit: str
    status: int | None
    sent: bool
    latency: float | None  # seconds, when a status arrived
    at: float              # time.monotonic() when the attempt ended
    notice: bool = False   # the body was the clear notice page (for non-303 statuses)


@dataclass
class Results:
    """The outcomes of one or more load runs."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    samples: dict = field(default_factory=dict)  # status -> the first page with that status

    def __add__(self, other: "Results") -> "Results":
        return Results(self.outcomes + other.outcomes, self.seconds + other.seconds,
                       {**other.samples, **self.samples})

    @property
    def acknowledged(self) -> set[str]:
        return {o.marker for o in self.outcomes if o.status == 303}

    @property
    def unknown(self) -> set[str]:
        """Sent, but the connection failed before a status arrived: may or may not be stored."""
        return {o.marker for o in self.outcomes if o.sent and o.status is None}

    @property
    def refused(self) -> int:
        """Attempts that never reached the server (connection refused): nothing was sent."""
        return sum(1 for o in self.outcomes if not o.sent)

    @property
    def statuses(self) -> Counter:
        return Counter(o.status for o in self.outcomes if o.status is not None)

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds over every request that got a status."""
        times = sorted(o.latency for o in self.outcomes if o.latency is not None)
        if not times:
            return float("nan")
        return 1000 * times[min(len(times) - 1, int(p / 100 * len(times)))]


class Load:
    """N client threads POSTing answers until stopped or their time is up."""

    def __init__(self, port: int, units: list[str], clients: int = 200, timeout: float = 30.0,
                 tag: str | None = None):
        self.port, self.units, self.clients, self.timeout = port, units, clients, timeout
        self.tag = tag or uuid.uuid4().hex[:8]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._outcomes: list[list[Outcome]] = [[] for _ in range(clients)]
        self._samples: dict[int, str] = {}
        self._started = 0.0
        self._deadline = 0.0

    def start(self, seconds: float) -> "Load":
        self._started = time.monotonic()
        self._deadline = self._started + seconds
        threading.stack_size(512 * 1024)
        for n in range(self.clients):
            thread = threading.Thread(target=self._client, args=(n,), name=f"load-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()

    def finish(self) -> Results:
        """Wait (bounded) for every client to finish its request in flight; return the outcomes."""
        bound = max(self._deadline - time.monotonic(), 0) + self.timeout + 15
        end = time.monotonic() + bound
        for thread in self._threads:
            thread.join(max(end - time.monotonic(), 0.01))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            raise RuntimeError(f"{len(stuck)} clients still waiting after {bound:.0f} s: {stuck[:5]}")
        elapsed = time.monotonic() - self._started
        return Results([o for outcomes in self._outcomes for o in outcomes], elapsed, dict(self._samples))

    def run(self, seconds: float) -> Results:
        return self.start(seconds).finish()

    def _body(self, marker: str, n: int) -> str:
        data = {"category": CATEGORIES[n % len(CATEGORIES)]}
        data.update({key: CHOICES[(n + i) % len(CHOICES)] for i, key in enumerate(ITEMS)})
        data["comment"] = f"{marker} 服务态度好"
        return urlencode(data)

    def _client(self, number: int) -> None:
        out = self._outcomes[number]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "zh-CN"}
        try:
            for seq in itertools.count():
                if self._stop.is_set() or time.monotonic() >= self._deadline:
                    return
                marker = f"{self.tag}.{number}.{seq}"
                unit = self.units[(number + seq) % len(self.units)]
                if conn.sock is None:
                    try:
                        conn.connect()
                    except OSError:
                        conn.close()
                        out.append(Outcome(marker, unit, None, False, None, time.monotonic()))
                        time.sleep(0.1)  # the server is down: do not spin
                        continue
                began = time.monotonic()
                try:
                    conn.request("POST", f"/s/{unit}", self._body(marker, number + seq), headers)
                    response = conn.getresponse()
                    page = response.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    out.append(Outcome(marker, unit, None, True, None, time.monotonic()))
                    time.sleep(0.05)
                    continue
                ended = time.monotonic()
                status = response.status
                notice = status != 303 and any(w.encode() in page for w in NOTICE_WORDS) \
                    and b"Traceback" not in page
                out.append(Outcome(marker, unit, status, True, ended - began, ended, notice))
                if status != 303 and status not in self._samples:
                    body = page[page.find(b"<main>"):] if b"<main>" in page else page  # past the inline CSS
                    self._samples[status] = body[:3000].decode("utf-8", "replace")
                if response.will_close:
                    conn.close()
        finally:
            conn.close()


# --- the check ------------------------------------------------------------------------------
@dataclass
class Check:
    """What the database holds against what the clients were told."""

    stored: Counter            # marker -> times stored
    lost: list[str]            # acknowledged, not stored
    duplicated: list[str]      # stored more than once
    extra: list[str]           # stored, yet neither acknowledged nor unknown
    unknown: int               # sent, no status
    unknown_stored: int        # of those, stored
    responses: int
    broken_responses: int      # responses without all their answer rows
    tally_matches: bool        # running tally == recount
    integrity: str             # SQLite: PRAGMA integrity_check; PostgreSQL: "n/a"

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.extra or self.broken_responses) \
            and self.tally_matches and self.integrity in ("ok", "n/a")


def check(instance: Instance, results: Results) -> Check:
    """Compare the stored markers, answer rows and tally with what the clients saw."""
    from sqlalchemy import func, select

    from survey import create_app
    from survey.db import db
    from survey.models import Answer, Campaign, Response
    from survey.results import recount, tally_counts

    app = create_app({"INSTANCE_PATH": str(instance.path), "SURVEY_DATABASE_URL": instance.database_url,
                      "SECRET_KEY": "load-test-secret", "SURVEY_RATELIMIT_ENABLED": False})
    with app.app_context():
        try:
            campaign_id = db.session.scalar(select(Campaign.id).filter_by(slug=CAMPAIGN))
            texts = db.session.scalars(
                select(Answer.text).join(Response, Response.id == Answer.response_id)
                .where(Response.campaign_id == campaign_id, Answer.item == "comment"))
            stored = Counter(text.split(" ", 1)[0] for text in texts if text)
            per_response = select(Response.id, func.count(Answer.item).label("n")) \
                .join(Answer, Answer.response_id == Response.id, isouter=True) \
                .where(Response.campaign_id == campaign_id).group_by(Response.id).subquery()
            responses = db.session.scalar(select(func.count()).select_from(per_response))
            broken = db.session.scalar(select(func.count()).select_from(per_response)
                                       .where(per_response.c.n != ANSWER_ROWS))
            tally_matches = tally_counts(campaign_id) == recount(campaign_id)
            integrity = "n/a"
            if instance.is_sqlite:
                with db.engine.connect() as conn:
                    integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
        finally:
            db.session.remove()
            db.engine.dispose()
    acknowledged, unknown = results.acknowledged, results.unknown
    return Check(
        stored=stored,
        lost=sorted(m for m in acknowledged if not stored[m]),
        duplicated=sorted(m for m, n in stored.items() if n > 1),
        extra=sorted(m for m in stored if m not in acknowledged and m not in unknown),
        unknown=len(unknown),
        unknown_stored=sum(1 for m in unknown if stored[m]),
        responses=responses,
        broken_responses=broken,
        tally_matches=tally_matches,
        integrity=integrity,
    )


def report(label: str, results: Results, checked: Check) -> str:
    """The figures, as bench/all.py reads them."""
    done = sum(results.statuses.values())
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(results.statuses.items())) or "none"
    return "\n".join([
        f"{label}: {len(results.acknowledged) / results.seconds:.1f} answers/s acknowledged, "
        f"{done / results.seconds:.1f} requests/s, over {results.seconds:.1f} s",
        f"p50 {results.percentile(50):.0f} ms, p99 {results.percentile(99):.0f} ms "
        f"(max {results.percentile(100):.0f} ms)",
        f"statuses: {statuses}; 5xx: {results.server_errors}; no status (unknown): {checked.unknown} "
        f"(of which stored: {checked.unknown_stored}); connection refused: {results.refused}",
        f"acknowledged {len(results.acknowledged)}, stored {sum(checked.stored.values())} in "
        f"{checked.responses} responses: lost {len(checked.lost)}, extra {len(checked.extra)}, "
        f"duplicated {len(checked.duplicated)}, half-written {checked.broken_responses}, "
        f"tally = recount: {'yes' if checked.tally_matches else 'NO'}, integrity: {checked.integrity}",
    ])


@dataclass
class Run:
    results: Results
    check: Check
    text: str

    @property
    def ok(self) -> bool:
        return self.check.ok and self.results.server_errors == 0


def run(workdir: Path, clients: int = 200, seconds: float = 60, workers: int = 4, units: int = 8,
        postgres_url: str | None = None, timeout: float = 30.0) -> Run:
    """Set up, serve, load, stop the server, check. The whole run in one call."""
    instance = prepare(workdir / "instance", postgres_url, units)
    server = Server(instance, workers).start()
    try:
        results = Load(server.port, instance.units, clients, timeout).run(seconds)
    finally:
        server.stop()
    checked = check(instance, results)
    backend = "PostgreSQL" if postgres_url else "SQLite"
    label = f"load ({backend}, {clients} clients, {workers} workers, {len(instance.units)} units)"
    return Run(results, checked, report(label, results, checked))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30, help="per-request client timeout, seconds")
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        outcome = run(Path(tmp), args.clients, args.seconds, args.workers, args.units, args.postgres,
                      args.timeout)
    print(outcome.text, flush=True)
    if not outcome.ok:
        sys.exit("FAILED: lost, extra or duplicated answers, half-written responses or 5xx (see above)")


if __name__ == "__main__":
    main()
