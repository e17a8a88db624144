"""Faults under load, against real servers: `survey serve` killed with SIGKILL (master and
workers), PostgreSQL stopped abruptly, the disk under the SQLite file full. In each, no
acknowledged answer is lost, nothing half-written remains (every response has all its answer
rows; the running tally equals a recount), residents get the clear 503 notice rather than a
stack trace, and answering works again once the fault is gone.

Uses bench/load.py's pieces (prepare, Server, Load, check). Needs root for the tmpfs mount of
the disk-full test and a PostgreSQL installation; where either is missing the test fails and
says why, rather than skipping.

    python -m pytest -q -s -m load tests/test_faults.py
"""
import errno
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from survey.testing import PostgresServer, _pg_bin

pytestmark = pytest.mark.load



def assert_nothing_lost_or_half_written(checked, results, label):
    """The database against what the clients were told: the core promise of every fault test."""
    print(f"\n{label}: acknowledged {len(results.acknowledged)}, statuses {dict(results.statuses)}, "
          f"unknown {checked.unknown} (stored {checked.unknown_stored}), refused {results.refused}; "
          f"stored {sum(checked.stored.values())} in {checked.responses} responses: lost {len(checked.lost)}, "
          f"extra {len(checked.extra)}, duplicated {len(checked.duplicated)}, half-written "
          f"{checked.broken_responses}, tally = recount: {checked.tally_matches}, integrity: {checked.integrity}",
          flush=True)
    assert checked.lost == [], f"acknowledged answers lost: {len(checked.lost)}, e.g. {checked.lost[:5]}"
    assert checked.extra == [], (
        f"answers stored although the resident was told otherwise (or never sent): {checked.extra[:5]}")
    assert checked.duplicated == [], f"answers stored twice: {checked.duplicated[:5]}"
    assert checked.broken_responses == 0, f"{checked.broken_responses} responses without all their answer rows"
    assert checked.tally_matches, "the running tally differs from a recount of the stored answers"
    assert checked.integrity in ("ok", "n/a"), f"SQLite integrity_check: {checked.integrity}"


def assert_clear_notices(results):
    """Every refusal is the clear 503 notice page, never a 500 or a stack trace."""
    statuses = set(results.statuses)
    assert statuses <= {303, 503}, f"unexpected statuses {dict(results.statuses)}; pages: {results.samples}"
    bad = [o for o in results.outcomes if o.status == 503 and not o.notice]
    assert not bad, f"{len(bad)} 503 pages without the notice text: {results.samples.get(503, '')[:1500]}"
    page = results.samples.get(503, "")
    assert "请稍后再试" in page and "未保存" in page, f"not the Chinese notice (residents' default): {page[:1500]}"


# --- a. kill -9 of the server in the middle of load --------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    """None for SQLite (the instance's own file), else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    server = request.getfixturevalue("postgres_server")
    name = "faults_" + uuid.uuid4().hex[:10]
    server.execute(f"CREATE DATABASE {name}")
    return server.url(name)


def test_kill_9_of_the_server_loses_no_acknowledged_answer(tmp_path, database_url, bench_load):
    """SIGKILL to gunicorn's process group (master and workers) three times under 60 clients;
    restarted each time on the same database and port while the clients keep answering."""
    bench = bench_load
    instance = bench.prepare(tmp_path / "instance", database_url)
    server = bench.Server(instance).start()
    load = bench.Load(server.port, instance.units, clients=60, timeout=20, tag="kill").start(seconds=90)
    killed_at, restarted_at = [], []
    try:
        for _round in range(3):
            time.sleep(3)
            killed_at.append(time.monotonic())
            server.kill()
            assert server.group_alive() == [], "a gunicorn process survived SIGKILL of its group"
            time.sleep(0.5)
            server.start()
            restarted_at.append(time.monotonic())
        time.sleep(4)
    finally:
        load.stop()
        results = load.finish()
        server.stop()
    checked = bench.check(instance, results)
    assert_nothing_lost_or_half_written(checked, results, f"kill -9 x3 ({'PostgreSQL' if database_url else 'SQLite'})")
    assert results.server_errors == 0, f"5xx: {dict(results.statuses)}; pages: {results.samples}"
    assert set(results.statuses) == {303}, f"statuses {dict(results.statuses)}"
    assert checked.unknown > 0, "no request was in flight when the server was killed: the test proved nothing"
    # answering went on after every restart, and the earlier answers are all still there
    for began, ended in zip(restarted_at, restarted_at[1:] + [float("inf")]):
        after = [o for o in results.outcomes if o.status == 303 and began < o.at < ended]
        assert len(after) > 20, f"few answers acknowledged after the restart at {began}: {len(after)}"
    before_first_kill = {o.marker for o in results.outcomes if o.status == 303 and o.at < killed_at[0]}
    assert before_first_kill and all(checked.stored[m] == 1 for m in before_first_kill)


# --- b. PostgreSQL unavailable for a moment ---------------------------------------------------
class DurablePostgres(PostgresServer):
    """A PostgreSQL server with synchronous_commit on (the default in production), so that an
    abrupt stop of the server keeps every commit it acknowledged. fsync stays off: the server
    process dies here, not the machine, and written WAL is in the page cache either way."""

    def options(self) -> str:
        return (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=on -c max_connections=200")

    def start(self) -> "DurablePostgres":
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "survey",
                  "-E", "UTF8", "--no-sync")
        self.start_again()
        return self

    def start_again(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-o", self.options(),
                  "-l", str(self.dir / "log"), "-w", "start")

    def stop_immediately(self) -> None:
        """pg_ctl -m immediate: every backend quits at once, as in a crash; recovery on start."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")

    def terminate_connections(self, database: str) -> int:
        """Cut every connection to the database (as a failover or a pooler restart does)."""
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as conn:
            return conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchone()[0]


def test_postgres_down_for_a_moment_gives_the_503_notice_then_answering_resumes(tmp_path, bench_load):
    bench = bench_load
    pg = DurablePostgres().start()
    server = None
    try:
        pg.execute("CREATE DATABASE outage")
        instance = bench.prepare(tmp_path / "instance", pg.url("outage"))
        server = bench.Server(instance).start()
        load = bench.Load(server.port, instance.units, clients=30, timeout=20, tag="pgdown").start(seconds=60)
        try:
            time.sleep(3)
            pg.stop_immediately()
            down = time.monotonic()
            time.sleep(3)
            restarting = time.monotonic()
            pg.start_again()
            up = time.monotonic()
            time.sleep(5)
            cut_from, cut = time.monotonic(), 0
            for _round in range(3):
                cut += pg.terminate_connections("outage")
                time.sleep(1)
            cut_to = time.monotonic()
            time.sleep(3)
        finally:
            load.stop()
            results = load.finish()
            server.stop()
        checked = bench.check(instance, results)
        log = server.log.read_text(errors="replace")
    finally:
        if server is not None:
            server.kill()
        pg.stop()
    assert_nothing_lost_or_half_written(
        checked, results, f"PostgreSQL stopped (immediate) for 3 s, then {cut} connections cut")
    assert "database unavailable: OperationalError" in log and "unexpected error" not in log
    assert_clear_notices(results)
    during = [o for o in results.outcomes if down + 0.5 < o.at < restarting]
    assert during and all(o.status == 503 for o in during), \
        f"while the database was down: {sorted({o.status for o in during}, key=str)}"
    print(f"while down: {len(during)} requests, all 503 with the notice page; "
          f"unknown {checked.unknown}", flush=True)
    assert checked.unknown == 0, "a request got no status at all: the server dropped a connection"
    for since, until, what in ((up + 2, cut_from, "after the database came back"),
                               (cut_to + 1, float("inf"), "after the connections were cut")):
        settled = [o for o in results.outcomes if since < o.at < until]
        statuses = {s: sum(1 for o in settled if o.status == s) for s in {o.status for o in settled}}
        assert len(settled) > 20 and set(statuses) == {303}, f"{what}: {statuses}"
    during_cuts = [o for o in results.outcomes if cut_from < o.at < cut_to + 1]
    print(f"connections cut {cut} times: {sum(o.status == 303 for o in during_cuts)} answers acknowledged, "
          f"{sum(o.status == 503 for o in during_cuts)} got the 503 notice meanwhile", flush=True)


# --- c. the disk under the SQLite file full ----------------------------------------------------
def _mount_small_disk(path: Path, size: str) -> None:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"cannot mount a small tmpfs at {path} (needs root and CAP_SYS_ADMIN): "
                    f"{done.stderr.strip()} -- the disk-full test was not run")


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(path: Path) -> int:
    """Write a file until the file system says ENOSPC; return the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            for _ in range(100_000):  # bounded: 16 MB in 1 MB, then 4 KB, then single bytes
                try:
                    written += f.write(block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    return written


def test_disk_full_under_sqlite_gives_the_503_notice_then_answering_resumes(tmp_path, bench_load):
    bench = bench_load
    disk = tmp_path / "disk"
    _mount_small_disk(disk, "16m")
    server = None
    try:
        instance = bench.prepare(disk / "instance")
        server = bench.Server(instance, log_dir=tmp_path).start()
        before = bench.Load(server.port, instance.units, clients=10, tag="before").run(2)
        assert before.acknowledged and set(before.statuses) == {303}, dict(before.statuses)
        # No request in flight now: empty the WAL into the database file so the next answer must
        # grow the WAL, then fill the file system to the last byte.
        db = sqlite3.connect(instance.path / "survey.sqlite", timeout=30)
        busy, _log, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        db.close()
        assert busy == 0, "the WAL could not be emptied"
        filler = disk / "filler"
        written = _fill(filler)
        free = os.statvfs(disk).f_bavail
        print(f"\ndisk full: {written} bytes of filler, {free} blocks free, "
              f"WAL {os.path.getsize(instance.path / 'survey.sqlite-wal')} bytes", flush=True)
        assert free == 0
        full = bench.Load(server.port, instance.units, clients=10, tag="full").run(3)
        print(f"while full: {dict(full.statuses)}", flush=True)
        # The cause is the one we made: SQLite itself cannot write to the database now.
        probe = sqlite3.connect(instance.path / "survey.sqlite", timeout=30, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            probe.execute("CREATE TABLE disk_probe (x)")
        probe.close()
        filler.unlink()
        after = bench.Load(server.port, instance.units, clients=10, tag="after").run(3)
        server.stop()
        results = before + full + after
        checked = bench.check(instance, results)
        log = server.log.read_text(errors="replace")
    finally:
        if server is not None:
            server.kill()
        _unmount(disk)
    assert "database unavailable: OperationalError" in log and "unexpected error" not in log
    assert_nothing_lost_or_half_written(checked, results, "disk full under SQLite")
    assert_clear_notices(results)
    assert full.statuses and set(full.statuses) == {503}, \
        f"while the disk was full: {dict(full.statuses)}; pages: {full.samples}"
    assert after.acknowledged and set(after.statuses) == {303}, \
        f"after space was freed: {dict(after.statuses)}; pages: {after.samples}"
    assert not any(checked.stored[m] for m in {o.marker for o in full.outcomes}), \
        "an answer refused with 503 while the disk was full was stored"
