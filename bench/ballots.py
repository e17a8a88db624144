"""Ballot printing speed and memory, as a ratio to the floor measured in the same run.

    python bench/ballots.py [--count 1000] [--memory-count 20000]

Prints ballots/s for `count` one-page ballots with our code (survey.paper.print_ballots: the
layout, a token and its hash per ballot recorded in SQLite, the page code, streaming to the
file) and with ../shared/bench/floor_ballots.py, and their ratio (goal: at least 0.8). Then
the peak memory (ru_maxrss of a child process) for a small and a large run: flat means equal.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
sys.path.insert(0, str(ROOT))


def make_app(folder: Path):
    """An app on a fresh SQLite file with one open campaign of one unit (a one-page ballot)."""
    from survey import create_app
    from survey.campaigns import transition
    from survey.db import db
    from survey.migrate import upgrade
    from survey.models import Campaign, Unit
    from survey.registry import current_registry
    app = create_app({"INSTANCE_PATH": str(folder), "SECRET_KEY": "bench",
                      "SURVEY_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
                      "SURVEY_BASE_URL": "https://survey.example.org"})
    with app.app_context():
        upgrade()
        campaign = Campaign(slug="bench", name="2010年度群众满意度测评")
        db.session.add(campaign)
        db.session.add(Unit(campaign=campaign, code="GEN-001", name="城关镇党委", sector="general"))
        db.session.flush()
        transition(campaign, "open", current_registry(), "bench")
        db.session.commit()
    return app


def ours(count: int, out: Path) -> float:
    """Seconds to print count ballots with the toolkit (app set-up not counted)."""
    from flask_babel import force_locale

    from survey.db import db
    from survey.models import Campaign
    from survey.paper import print_ballots
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder))
        with app.app_context(), force_locale("zh_CN"):
            campaign = db.session.query(Campaign).one()
            start = time.perf_counter()
            print_ballots(campaign, out, count, base_url=app.config["SURVEY_BASE_URL"], category="resident")
            return time.perf_counter() - start


def floor(count: int, out: Path) -> float:
    """Seconds the floor script reports for count ballots."""
    from printouts.fonts import find_font
    env = {**os.environ, "FLOOR_FONT": str(find_font())}
    run = subprocess.run([sys.executable, str(SHARED / "bench" / "floor_ballots.py"), str(count), str(out)],
                         capture_output=True, text=True, check=True, env=env)
    return float(re.search(r"in ([0-9.]+)s", run.stdout).group(1))


def peak_memory(count: int) -> int:
    """Peak resident memory (KiB) of a child process printing count ballots."""
    run = subprocess.run([sys.executable, __file__, "--child", str(count)], capture_output=True, text=True, check=True)
    return int(run.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--memory-count", type=int, default=20000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ballots.pdf"
        if args.child:
            ours(args.child, out)
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            return
        floor(50, Path(folder) / "warm.pdf")  # font and imports warm in the page cache
        t_ours = ours(args.count, out)
        t_floor = floor(args.count, Path(folder) / "floor.pdf")
    rate, floor_rate = args.count / t_ours, args.count / t_floor
    print(f"ours : {args.count} ballots in {t_ours:.2f}s = {rate:.1f} ballots/s")
    print(f"floor: {args.count} ballots in {t_floor:.2f}s = {floor_rate:.1f} ballots/s")
    print(f"ratio: {rate / floor_rate:.2f} of the floor (goal >= 0.8)")
    small = peak_memory(1000)
    large = peak_memory(args.memory_count)
    print(f"peak memory: {small / 1024:.0f} MiB for 1,000 ballots, "
          f"{large / 1024:.0f} MiB for {args.memory_count:,} ballots")


if __name__ == "__main__":
    main()
