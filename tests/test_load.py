"""Load: 200 residents answering at once for 60 s against `survey serve` (4 gunicorn workers),
on SQLite (WAL) and on PostgreSQL. Every acknowledged answer is stored exactly once, nothing
else is stored, no 5xx. Runs bench/load.py's code; the figures print with `pytest -s`.

    python -m pytest -q -s -m load tests/test_load.py
"""
import importlib.util
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.load

BENCH = Path(__file__).resolve().parents[1] / "bench"
CLIENTS, SECONDS = 200, 60


def load_module():
    """bench/load.py, imported by path (bench/ is scripts, not a package)."""
    if "bench_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_load", BENCH / "load.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_load"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_load"]


def _assert_held(run):
    print("\n" + run.text, flush=True)
    results, checked = run.results, run.check
    assert results.server_errors == 0, f"5xx answers: {results.statuses}"
    assert set(results.statuses) == {303}, f"answers not acknowledged: {results.statuses}"
    assert len(results.acknowledged) > CLIENTS, "the load did not get going"
    assert checked.lost == [], f"{len(checked.lost)} acknowledged answers lost, e.g. {checked.lost[:5]}"
    assert checked.extra == [], f"{len(checked.extra)} answers stored but not acknowledged: {checked.extra[:5]}"
    assert checked.duplicated == [], f"answers stored twice: {checked.duplicated[:5]}"
    assert checked.unknown == 0 and results.refused == 0, "connections failed under load"
    assert checked.broken_responses == 0 and checked.tally_matches and checked.integrity in ("ok", "n/a")
    assert run.ok


def test_200_clients_for_60_seconds_on_sqlite(tmp_path):
    _assert_held(load_module().run(tmp_path, clients=CLIENTS, seconds=SECONDS))


def test_200_clients_for_60_seconds_on_postgres(tmp_path, postgres_server):
    name = "load_" + uuid.uuid4().hex[:10]
    postgres_server.execute(f"CREATE DATABASE {name}")
    _assert_held(load_module().run(tmp_path, clients=CLIENTS, seconds=SECONDS,
                                   postgres_url=postgres_server.url(name)))
