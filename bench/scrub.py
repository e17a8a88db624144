"""Benchmark: scrubbing a campaign of 1,000,000 answer rows while residents go on answering.

For each database (SQLite, and PostgreSQL on a throwaway server of its own), builds an open
campaign of 200 units with --rows answer rows (random response ids, as answering makes them),
20,000 ballot tokens of which half are redeemed, and a tally consistent with the answers. Then
starts `survey serve` (2 workers, its own scrubber off), keeps two clients answering by QR
code, and scrubs the campaign (survey/anonymity.py) from this process. Prints the scrub's time
(goal: under 60 s) and the longest an answer waited while it ran (goal: under 1 s), beside the
typical answer time measured before it in the same run.

    python bench/scrub.py [--rows 1000000] [--backends sqlite,postgres]
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import free_port, wait_for_port  # noqa: E402

UNITS, SLUG, TOKENS = 200, "bench-scrub", 20_000
CATEGORIES = ("resident", "service_recipient", "party_delegate", "deputy")
CHOICES = ("satisfied", "basic", "unsatisfied")


def make_app(instance: Path, url: str | None):
    from survey import create_app
    from survey.migrate import upgrade
    config = {"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench", "SURVEY_RATELIMIT_ENABLED": False,
              "SURVEY_BASE_URL": "http://bench.test", "SURVEY_SCRUB_POLL_SECONDS": 0}
    if url:
        config["SURVEY_DATABASE_URL"] = url
    app = create_app(config)
    with app.app_context():
        upgrade()
    return app


def create_campaign(app) -> tuple[int, dict[int, str], list[str]]:
    """An open campaign of 200 general units that residents may answer repeatedly."""
    from survey.campaigns import transition
    from survey.db import db
    from survey.models import BallotBatch, Campaign, Unit
    from survey.registry import current_registry
    from survey.snapshot import frozen_for
    with app.app_context():
        campaign = Campaign(slug=SLUG, name="清痕基准", allow_repeat=True)
        db.session.add(campaign)
        for n in range(UNITS):
            db.session.add(Unit(campaign=campaign, code=f"S-{n:03d}", name=f"单位{n:03d}", sector="general"))
        db.session.flush()
        transition(campaign, "open", current_registry(), "bench")
        db.session.add(BallotBatch(campaign_id=campaign.id, category="resident", count=TOKENS,
                                   serial_from=1, serial_to=TOKENS))
        db.session.commit()
        units = {u.id: u.questionnaire for u in campaign.units}
        frozen = frozen_for(campaign.id, next(iter(units.values())))
        items = [i.key for i in frozen.questionnaire.items if i.kind == "choice"]
        return campaign.id, units, items


def rows_for(campaign_id, units, items, rows):
    """Responses, answers and tokens, with random ids and keys."""
    rnd = random.Random(11)
    unit_ids = sorted(units)
    responses, answers = [], []
    for n in range(rows // len(items)):
        rid = f"{rnd.getrandbits(128):032x}"
        unit = unit_ids[n % UNITS]
        responses.append((rid, campaign_id, unit, units[unit], CATEGORIES[n % 4], "online", "2026-06-01"))
        answers += [(rid, item, CHOICES[rnd.randrange(3)]) for item in items]
    tokens = [(f"{rnd.getrandbits(256):064x}", campaign_id, 1, s + 1, s % 2) for s in range(TOKENS)]
    return sorted(responses), sorted(answers), tokens


TALLY = ("INSERT INTO tally (unit_id, item, choice, category, channel, campaign_id, count) "
         "SELECT r.unit_id, a.item, a.choice, r.category, r.channel, r.campaign_id, count(*) FROM answer a "
         "JOIN response r ON r.id = a.response_id WHERE r.campaign_id = {c} GROUP BY 1, 2, 3, 4, 5, 6 "
         "UNION ALL SELECT unit_id, '', '', category, channel, campaign_id, count(*) FROM response "
         "WHERE campaign_id = {c} GROUP BY 1, 4, 5, 6")


def load_sqlite(path: Path, campaign_id, units, items, rows) -> None:
    responses, answers, tokens = rows_for(campaign_id, units, items, rows)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.executemany("INSERT INTO response VALUES (?, ?, ?, ?, ?, ?, ?)", responses)
    con.executemany("INSERT INTO answer (response_id, item, choice) VALUES (?, ?, ?)", answers)
    con.executemany("INSERT INTO ballot_token VALUES (?, ?, ?, ?, ?)", tokens)
    con.execute(TALLY.format(c=campaign_id))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def load_postgres(url: str, campaign_id, units, items, rows) -> None:
    import psycopg
    responses, answers, tokens = rows_for(campaign_id, units, items, rows)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as con:
        with con.cursor() as cur:
            with cur.copy("COPY response FROM STDIN") as copy:
                for row in responses:
                    copy.write_row(row)
            with cur.copy("COPY answer (response_id, item, choice) FROM STDIN") as copy:
                for row in answers:
                    copy.write_row(row)
            with cur.copy("COPY ballot_token FROM STDIN") as copy:
                for h, c, b, s, r in tokens:
                    copy.write_row((h, c, b, s, bool(r)))
            cur.execute(TALLY.format(c=campaign_id))
        con.commit()
        con.autocommit = True
        con.execute("VACUUM ANALYZE")


class Residents(threading.Thread):
    """A client answering one unit after another, recording when each answer started and took."""

    def __init__(self, port: int, form: dict, n: int):
        super().__init__(daemon=True)
        self.port, self.form, self.n = port, form, n
        self.times: list[tuple[float, float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        body = urlencode(self.form).encode()
        i = self.n
        while not self.stopping.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            started = time.perf_counter()
            conn.request("POST", f"/s/S-{i % UNITS:03d}", body=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            status = conn.getresponse().status
            self.times.append((started, time.perf_counter() - started, status))
            conn.close()
            i += 7


def run(backend: str, rows: int, workdir: Path) -> dict:
    from survey.anonymity import scrub
    server = None
    url = None
    if backend == "postgres":
        from survey.testing import PostgresServer
        server = PostgresServer().start()
        server.execute("CREATE DATABASE bench")
        url = server.url("bench")
    instance = workdir / backend
    app = make_app(instance, url)
    serve = None
    try:
        cid, units, items = create_campaign(app)
        t = time.perf_counter()
        if backend == "sqlite":
            with app.app_context():
                from survey.db import db
                db.engine.dispose()
            load_sqlite(instance / "survey.sqlite", cid, units, items, rows)
        else:
            load_postgres(url, cid, units, items, rows)
        print(f"{backend}: loaded {rows:,} answer rows in {time.perf_counter() - t:.0f} s", flush=True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
        env.update(SURVEY_INSTANCE=str(instance), SURVEY_SECRET_KEY="bench", SURVEY_RATELIMIT_ENABLED="0",
                   SURVEY_SCRUB_POLL_SECONDS="0")
        if url:
            env["SURVEY_DATABASE_URL"] = url
        serve_log = workdir / f"serve-{backend}.log"
        with open(serve_log, "wb") as out:
            serve = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                                      "--workers", "2", "--allow-local-base-url"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_for_port(port, 60)
        except TimeoutError:
            raise SystemExit(f"survey serve did not start:\n{serve_log.read_text()[-2000:]}") from None
        form = {"category": "resident", **{item: "satisfied" for item in items}}
        residents = [Residents(port, form, n) for n in range(2)]
        for r in residents:
            r.start()
        time.sleep(4)
        scrub_started = time.perf_counter()
        with app.app_context():
            report = scrub(cid)
        scrub_ended = time.perf_counter()
        time.sleep(2)
        for r in residents:
            r.stopping.set()
        for r in residents:
            r.join(timeout=130)
        times = [x for r in residents for x in r.times]
        before = [d for s, d, _ in times if s + d < scrub_started]
        # an answer waited for the scrub if it was under way at any moment while the scrub ran
        during = [d for s, d, _ in times if s < scrub_ended and s + d > scrub_started]
        failed = sum(1 for _s, _d, status in times if status != 303)
        return {"backend": backend, "rows": report.rows, "seconds": report.seconds, "chunks": report.chunks,
                "longest_chunk": report.longest_chunk, "compact": report.compact_seconds,
                "pause": max(during) if during else 0.0, "typical": statistics.median(before) if before else 0.0,
                "answers": len(during), "failed": failed}
    finally:
        if serve is not None:
            os.killpg(serve.pid, 15)
            serve.wait(timeout=30)
        with app.app_context():
            from survey.db import db
            db.engine.dispose()
        if server is not None:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="survey-bench-scrub-") as tmp:
        for backend in args.backends.split(","):
            r = run(backend.strip(), args.rows, Path(tmp))
            print(f"scrub {r['backend']}, {args.rows:,} answer rows: {r['seconds']:.1f} s "
                  f"({r['rows']:,} rows rewritten in {r['chunks']} chunks, longest chunk {r['longest_chunk']:.2f} s, "
                  f"compaction {r['compact']:.1f} s)")
            print(f"answering {r['backend']} during the scrub: {r['answers']} answers, longest pause {r['pause']:.2f} s "
                  f"(typical answer before it {r['typical'] * 1000:.0f} ms), failed {r['failed']}")
            print(f"goals {r['backend']}: scrub < 60 s {'met' if r['seconds'] < 60 else 'NOT met'}; "
                  f"pause < 1 s {'met' if r['pause'] < 1 else 'NOT met'}", flush=True)


if __name__ == "__main__":
    main()
