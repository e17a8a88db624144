"""Load: 200 residents answering at once for 60 s against `survey serve` (4 gunicorn workers),
on SQLite (WAL) and on PostgreSQL. Every acknowledged answer is stored exactly once, nothing
else is stored, no 5xx. Runs bench/load.py's code; the figures print with `pytest -s`.

    python -m pytest -q -s -m load tests/test_load.py
"""
import uuid

import pytest

pytestmark = pytest.mark.load

CLIENTS, SECONDS = 200, 60


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


def test_200_clients_for_60_seconds_on_sqlite(tmp_path, bench_load):
    _assert_held(bench_load.run(tmp_path, clients=CLIENTS, seconds=SECONDS))


def test_200_clients_for_60_seconds_on_postgres(tmp_path, postgres_server, bench_load):
    name = "load_" + uuid.uuid4().hex[:10]
    postgres_server.execute(f"CREATE DATABASE {name}")
    _assert_held(bench_load.run(tmp_path, clients=CLIENTS, seconds=SECONDS,
                                   postgres_url=postgres_server.url(name)))
