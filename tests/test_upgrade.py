"""Upgrade and rollback, tested: an instance made by the previous release (0.1.0, commit
fc3269a, its code run from `git archive`) is backed up, upgraded with this code (`survey db
upgrade`) and keeps every answer and figure (its exports are byte-identical); rolling back
(restoring the backup taken before the upgrade into a fresh instance) gives the previous code
an instance it runs on, with the same exports again.

The previous code runs with this venv's dependencies and with the installed plugins left out
(SURVEY_DISABLED_PLUGINS): the plugins installed here are this version's.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from stack import RUNNER

REPO = Path(__file__).resolve().parents[1]
PREVIOUS = "fc3269a"  # 0.1.0, the previous landed version (CHANGELOG.md)
PLUGINS = "schools,hospitals,villages,enterprises,government,example_branch,example-branch"
EXPORTS = [("csv", True), ("json", True), ("csv", False), ("json", False)]


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """The previous release's source tree."""
    archive = subprocess.run(["git", "archive", PREVIOUS], cwd=REPO, capture_output=True)
    if archive.returncode != 0:
        pytest.fail(f"commit {PREVIOUS} is not in this clone (a shallow clone?): {archive.stderr.decode()}")
    dest = tmp_path_factory.mktemp("previous")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest




def run(code: Path | None, instance: Path, *commands: str) -> str:
    """`survey` commands (one string each), by the previous release's code (code=its tree) or
    by this one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_") and k != "PYTHONPATH"}
    env.update(SURVEY_INSTANCE=str(instance), SURVEY_DISABLED_PLUGINS=PLUGINS)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    done = subprocess.run([sys.executable, "-c", RUNNER, *commands], env=env,
                          capture_output=True, text=True, timeout=300, cwd=code or REPO)
    assert done.returncode == 0, f"{'previous' if code else 'this'} code: {commands}\n{done.stderr}"
    return done.stdout


def export_commands(out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    return [f"export demo-2025 --format {fmt} --out {out / ('raw' if raw else 'results')}.{fmt}" + (" --raw" if raw else "")
            for fmt, raw in EXPORTS]


def figures(data: bytes) -> dict:
    """A results export's headline figures per unit and item, independent of key order, floats
    to 9 digits."""
    import json
    keep = ("raters", "valid", "positive", "rate", "weighted_score", "rank", "sector_rank", "counts")

    def norm(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        return value
    units = {}
    for unit in json.loads(data)["units"]:
        units[unit["code"]] = {
            "unit": {k: norm(unit[k]) for k in keep if k in unit},
            "items": {i["key"]: {k: norm(i[k]) for k in keep if k in i} for i in unit.get("items", [])},
        }
    return units


def read(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_previous_release_upgrades_keeping_every_answer_and_rolls_back(previous, tmp_path):
    old = tmp_path / "instance"
    run(previous, old, "db upgrade", "demo --no-serve", *export_commands(tmp_path / "before"))
    before = read(tmp_path / "before")
    assert len(before) == len(EXPORTS) and before["raw.csv"].count(b"\n") > 100  # the demo's answers

    backup = tmp_path / "before-upgrade.backup"
    out = run(None, old, f"backup --out {backup}", "db upgrade", *export_commands(tmp_path / "after"))
    assert "database is up to date" in out
    after = read(tmp_path / "after")
    assert after["raw.csv"] == before["raw.csv"] and after["raw.json"] == before["raw.json"]  # every answer
    # every figure: each unit's and each item's raters, counts, rates and ranks (0.2.0 orders
    # counts by key, and withholds groups below the minimum cell, so those are left aside)
    assert figures(after["results.json"]) == figures(before["results.json"])
    # the new tables are there, empty, next to the kept data: remedy records (0010_remedy),
    # tally sheet entries (0013_paper_assembly), scanned files, pages and doubts (0014_scans);
    # and the new campaign settings take their defaults (no "don't know", nothing left out)
    queries = ["select count(*) from remedy", "select count(*) from paper_tally_entry",
               "select count(*) from scan_file", "select count(*) from scan_page", "select count(*) from scan_doubt",
               "select count(*) from campaign where dont_know or leave_out <> 'none' or hidden_categories is not null",
               "select count(*) from unit"]
    tables = ("from survey import create_app\nfrom survey.db import db\nfrom sqlalchemy import text\n"
              "app = create_app()\nwith app.app_context():\n"
              f"    print(*[db.session.execute(text(q)).scalar() for q in {queries!r}])")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_") and k != "PYTHONPATH"}
    env.update(SURVEY_INSTANCE=str(old), SURVEY_DISABLED_PLUGINS=PLUGINS)
    counts = subprocess.run([sys.executable, "-c", tables], env=env, capture_output=True, text=True, cwd=REPO)
    *new_rows, units = counts.stdout.split()[-len(queries):]
    assert new_rows == ["0"] * (len(queries) - 1) and int(units) > 0, counts.stderr

    rolled_back = tmp_path / "rolled-back"
    run(None, rolled_back, f"restore {backup}")  # with this code: 0.1.0 has no `survey restore`
    check = ("from survey import create_app\nfrom survey.migrate import is_current\n"
             "app = create_app()\nwith app.app_context(): print(is_current())")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=str(rolled_back), SURVEY_DISABLED_PLUGINS=PLUGINS, PYTHONPATH=str(previous))
    current = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, cwd=previous)
    assert current.stdout.strip().splitlines()[-1] == "True", current.stderr  # the previous code runs on it
    run(previous, rolled_back, *export_commands(tmp_path / "rolled-back-exports"))
    assert read(tmp_path / "rolled-back-exports") == before
