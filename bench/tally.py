"""Benchmark: the results page of a big campaign, against the floor of one GROUP BY.

Builds, in a temporary SQLite instance, a published campaign of 200 units × 12 items with
--rows answer rows (1M by default; 12M for the headline figure) and a tally consistent with
them, loaded directly with sqlite3 executemany. Then times, in the same run:

  (a) our results: survey.results.compute() and the rendered /results/<slug> page, read from
      the tally as the app does;
  (b) the floor: ../shared/bench/floor_tally.py, one GROUP BY over the same number of rows.

and prints both and the ratio. Usage: python bench/tally.py [--rows 12000000] [--check]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
sys.path.insert(0, str(ROOT))

UNITS, SLUG = 200, "bench"
CATEGORIES = ("resident", "service_recipient", "party_delegate", "deputy")
CHOICES = ("satisfied", "basic", "unsatisfied")


def make_app(instance: Path):
    """An app on a fresh SQLite file in the instance, migrated."""
    from survey import create_app
    from survey.migrate import upgrade
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench", "SURVEY_RATELIMIT_ENABLED": False,
                      "SURVEY_BASE_URL": "http://bench.test"})
    with app.app_context():
        upgrade()
    return app


def create_campaign(app) -> tuple[int, dict[int, str], list[str]]:
    """A campaign of 200 general units, opened (questionnaires frozen) and published."""
    from survey.campaigns import transition
    from survey.db import db
    from survey.models import Campaign, Unit
    from survey.registry import current_registry
    from survey.snapshot import frozen_for
    with app.app_context():
        campaign = Campaign(slug=SLUG, name="基准测评", show_comments=False)
        db.session.add(campaign)
        for n in range(UNITS):
            db.session.add(Unit(campaign=campaign, code=f"B-{n:03d}", name=f"单位{n:03d}", sector="general"))
        db.session.flush()
        for action in ("open", "close", "publish"):
            transition(campaign, action, current_registry(), "bench")
        db.session.commit()
        units = {u.id: u.questionnaire for u in campaign.units}
        frozen = frozen_for(campaign.id, next(iter(units.values())))
        items = [i.key for i in frozen.questionnaire.items if i.kind == "choice"]
        cid = campaign.id
    with app.app_context():
        db.engine.dispose()  # the loader needs the file to itself
    return cid, units, items


def load(path: Path, campaign_id: int, units: dict[int, str], items: list[str], rows: int) -> None:
    """Insert responses, answers and the matching tally straight into SQLite."""
    rnd = random.Random(7)
    unit_ids = sorted(units)
    quality = {u: rnd.uniform(0.45, 0.97) for u in unit_ids}
    tally: Counter = Counter()
    responses = rows // len(items)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("PRAGMA cache_size=-400000")
    response_rows, answer_rows = [], []

    def flush():
        con.executemany("INSERT INTO response (id, campaign_id, unit_id, questionnaire, category, channel, day) "
                        "VALUES (?, ?, ?, ?, ?, ?, '2025-06-01')", response_rows)
        con.executemany("INSERT INTO answer (response_id, item, choice) VALUES (?, ?, ?)", answer_rows)
        response_rows.clear()
        answer_rows.clear()

    for n in range(responses):
        rid = f"{n:032x}"  # ascending ids load fast; anonymity is not at stake in a benchmark
        unit = unit_ids[n % UNITS]
        category, channel = CATEGORIES[n % 7 % 4], "paper" if n % 5 == 0 else "online"
        response_rows.append((rid, campaign_id, unit, units[unit], category, channel))
        tally[(unit, "", "", category, channel)] += 1
        p = quality[unit]
        for item in items:
            r = rnd.random()
            choice = CHOICES[0] if r < p * 0.7 else CHOICES[1] if r < p else CHOICES[2]
            answer_rows.append((rid, item, choice))
            tally[(unit, item, choice, category, channel)] += 1
        if len(answer_rows) >= 600_000:
            flush()
    flush()
    con.executemany("INSERT INTO tally (unit_id, item, choice, category, channel, campaign_id, count) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", ((*k, campaign_id, v) for k, v in tally.items()))
    con.commit()
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    return responses * len(items)


def time_results(app, runs: int = 3) -> dict[str, float]:
    """Seconds for compute() and for the whole page request: first (cold) and best of runs."""
    from survey.db import db
    from survey.models import Campaign
    from survey.results import compute
    client = app.test_client()
    page = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(f"/results/{SLUG}")
        page.append(time.perf_counter() - t)
        assert response.status_code == 200, response.status_code
    with app.app_context():
        campaign = db.session.query(Campaign).filter_by(slug=SLUG).one()
        computed = []
        for _ in range(runs):
            t = time.perf_counter()
            compute(campaign)
            computed.append(time.perf_counter() - t)
    return {"page_first": page[0], "page_best": min(page), "compute_best": min(computed)}


def floor(rows: int, workdir: Path) -> float:
    """Seconds of the floor's GROUP BY over the same number of rows (run as a subprocess)."""
    script = SHARED / "bench" / "floor_tally.py"
    out = subprocess.run([sys.executable, str(script), str(rows)], check=True, capture_output=True, text=True,
                         env={**os.environ, "FLOOR_DB": str(workdir / "floor_tally.db")}).stdout
    match = re.search(r"group-by ([0-9.]+)s", out)
    if not match:
        raise RuntimeError(f"unexpected floor output: {out!r}")
    return float(match.group(1))


def check(app, campaign_id: int) -> bool:
    """The tally equals a full recount of the answers."""
    from survey.results import recount, tally_counts
    with app.app_context():
        return tally_counts(campaign_id) == recount(campaign_id)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="answer rows (default 1,000,000)")
    parser.add_argument("--check", action="store_true", help="also check the tally against a full recount")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as tmp:
        tmp = Path(tmp)
        instance = tmp / "instance"
        app = make_app(instance)
        campaign_id, units, items = create_campaign(app)
        t = time.perf_counter()
        rows = load(instance / "survey.sqlite", campaign_id, units, items, args.rows)
        print(f"loaded {rows:,} answer rows for {UNITS} units × {len(items)} items in {time.perf_counter() - t:.1f}s")
        ours = time_results(app)
        grouped = floor(rows, tmp)
        print(f"results compute (tally): {ours['compute_best'] * 1000:.1f} ms")
        print(f"results page /results/{SLUG}: first {ours['page_first'] * 1000:.1f} ms, best {ours['page_best'] * 1000:.1f} ms")
        print(f"floor GROUP BY over {rows:,} rows: {grouped * 1000:.1f} ms")
        print(f"ratio page/floor: {ours['page_first'] / grouped:.3f} (first), {ours['page_best'] / grouped:.3f} (best)")
        if args.check:
            print("tally == recount:", check(app, campaign_id))


if __name__ == "__main__":
    main()
