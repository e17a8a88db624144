"""Answers per second: `survey serve` (gunicorn, SQLite WAL) under wrk, against the floor.

Runs, in one go on loopback: our app with 4 gunicorn workers answering POST /s/<unit> with the
10-item five-goods questionnaire (rate limit off for the run), then ../shared/bench/floor_submit.py
served the same way and loaded by its own wrk script; prints both answers/s and the ratio.

    python bench/submit.py [--seconds 15] [--workers 4]
"""
import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, SHARED, free_port, start, stop, wait_for_port, wrk

SETUP = """
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
    db.session.add(Unit(campaign=c, code="BENCH-001", name="基准单位", sector="general"))
    db.session.flush()
    transition(c, "open", current_registry(), "bench")
    # answer the five-goods form itself on the QR code (the floor's shape: a dozen ratings), not
    # its short point-of-service pair: without the pair frozen, the QR code answers the unit's own
    db.session.execute(QuestionnaireSnapshot.__table__.delete().where(QuestionnaireSnapshot.key == "general-visit"))
    db.session.commit()
"""


def run_ours(tmp: Path, seconds: int, workers: int) -> dict:
    env = {"SURVEY_INSTANCE": str(tmp / "instance"), "SURVEY_RATELIMIT_ENABLED": "0"}
    subprocess.run([sys.executable, "-c", SETUP], env={**os.environ, **env}, check=True)
    port = free_port()
    server = start([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                    "--workers", str(workers), "--allow-local-base-url"], env=env)
    try:
        wait_for_port(port)
        result = wrk(f"http://127.0.0.1:{port}/s/BENCH-001", ROOT / "bench/submit.lua", seconds)
    finally:
        stop(server)
    db = sqlite3.connect(tmp / "instance/survey.sqlite")
    result["stored"] = db.execute("SELECT count(*) FROM response").fetchone()[0]
    db.close()
    return result


def run_floor(tmp: Path, seconds: int, workers: int) -> dict:
    env = {"BARE_DB": str(tmp / "floor.db")}
    bench = SHARED / "bench"
    subprocess.run([sys.executable, "floor_submit.py"], cwd=bench, env={**os.environ, **env}, check=True)
    port = free_port()
    server = start([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                    "floor_submit:app"], env=env, cwd=bench)
    try:
        wait_for_port(port)
        return wrk(f"http://127.0.0.1:{port}/s/u1", bench / "floor_submit.lua", seconds)
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are compared")
    args = parser.parse_args()
    ours_runs, floor_runs = [], []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp:
            ours_runs.append(run_ours(Path(tmp), args.seconds, args.workers))
            floor_runs.append(run_floor(Path(tmp), args.seconds, args.workers))
        print(f"round {number + 1}: survey {ours_runs[-1]['rate']:.1f}/s, floor {floor_runs[-1]['rate']:.1f}/s", flush=True)
    ours = statistics.median(r["rate"] for r in ours_runs)
    floor = statistics.median(r["rate"] for r in floor_runs)
    bad = sum(r["bad"] for r in ours_runs)
    short = [r for r in ours_runs if r["stored"] < r["requests"]]
    print(f"survey  POST /s/<unit>: {ours:8.1f} answers/s (median of {args.rounds}; {bad} refused; "
          f"every acknowledged answer stored: {'yes' if not short else 'NO'})")
    print(f"floor   POST /s/<unit>: {floor:8.1f} answers/s (median of {args.rounds})")
    print(f"ratio survey/floor: {ours / floor:.2f}  (goal >= 0.50)")
    if bad or short:
        sys.exit("some answers were refused or lost: see wrk output\n" + ours_runs[-1]["raw"])


if __name__ == "__main__":
    main()
