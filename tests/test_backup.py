"""`survey backup` and `survey restore`, run as commands, on SQLite and on PostgreSQL.

A backup restored into a fresh instance gives byte-identical exports; the files are private;
the PostgreSQL restore leaves the tables owned by the app's role (not the superuser), so the
app can read them; an encrypted backup needs its passphrase; a backup taken while answers
stream in is consistent (its tally equals a recount of its answers); a database that is not
empty, or a backup made by a newer toolkit, is refused without touching anything.
"""
from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
import threading
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from stack import RUNNER

from survey.testing import free_port, wait_for_port

EXPORTS = [("csv", True), ("json", True), ("csv", False), ("json", False)]


def survey(env: dict, *args: str, check: bool = True, stdin: str = "") -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "survey.cli", *args], env=env, capture_output=True,
                          text=True, input=stdin, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr + done.stdout
    return done


def instance_env(tmp: Path, name: str, url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env["SURVEY_INSTANCE"] = str(tmp / name)
    if url:
        env["SURVEY_DATABASE_URL"] = url
    return env


def same(after: dict[str, bytes], before: dict[str, bytes]) -> None:
    """The exports are byte-identical (else the first differing lines of each)."""
    import difflib
    assert after.keys() == before.keys()
    problems = []
    for name in before:
        if after[name] != before[name]:
            diff = difflib.unified_diff(before[name].decode().splitlines(), after[name].decode().splitlines(),
                                        "before", "after", lineterm="", n=2)
            problems.append(f"{name}:\n" + "\n".join(list(diff)[:40]))
    assert not problems, "\n".join(problems)




def exports(env: dict, out: Path) -> dict[str, bytes]:
    """Every export of the demo campaign, as bytes (the `survey export` commands, run in one
    process)."""
    out.mkdir(parents=True, exist_ok=True)
    commands = [f"export demo-2025 --format {fmt} --out {out / ('raw' if raw else 'results')}.{fmt}"
                + (" --raw" if raw else "") for fmt, raw in EXPORTS]
    done = subprocess.run([sys.executable, "-c", RUNNER, *commands], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> Path:
    """A SQLite instance with the demo campaign and its answers, made once; tests copy it."""
    tmp = tmp_path_factory.mktemp("demo")
    env = instance_env(tmp, "instance")
    done = subprocess.run([sys.executable, "-c", RUNNER, "db upgrade", "demo --no-serve"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return tmp / "instance"


def copy_of(demo: Path, tmp: Path, name: str) -> dict:
    import shutil
    shutil.copytree(demo, tmp / name)
    return instance_env(tmp, name)


@pytest.fixture
def databases(backend, request):
    """Two database addresses (source, target) and the role that owns them. On PostgreSQL the
    app's role is not a superuser, and owns both (empty) databases."""
    if backend == "sqlite":
        yield None, None, None
        return
    postgres_server = request.getfixturevalue("postgres_server")
    role = "app_" + uuid.uuid4().hex[:8]
    names = [f"bk_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    postgres_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' NOSUPERUSER NOCREATEDB")
    for name in names:
        postgres_server.execute(f"CREATE DATABASE {name} OWNER {role}")
    urls = [f"postgresql://{role}:pw-{role}@127.0.0.1:{postgres_server.port}/{n}" for n in names]
    yield urls[0], urls[1], role
    for name in names:
        postgres_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    postgres_server.execute(f"DROP ROLE IF EXISTS {role}")


def test_restore_into_a_fresh_instance_gives_identical_exports(backend, databases, tmp_path, demo_sqlite):
    source_url, target_url, role = databases
    if backend == "sqlite":
        source = copy_of(demo_sqlite, tmp_path, "source")
    else:
        source = instance_env(tmp_path, "source", source_url)
        done = subprocess.run([sys.executable, "-c", RUNNER, "db upgrade", "demo --no-serve"], env=source,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    (tmp_path / "source" / "config.py").write_text("SURVEY_COMMENT_MAX_LENGTH = 400\n")
    before = exports(source, tmp_path / "before")

    backup = tmp_path / "survey.backup"
    done = survey(source, "backup", "--out", str(backup))
    assert ("sqlite" if backend == "sqlite" else "postgresql") in done.stdout
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with tarfile.open(backup) as tar:
        names = set(tar.getnames())
        assert {"manifest.json", "secret_key", "config.py", "settings.json"} <= names
        settings = tar.extractfile("settings.json").read().decode()
    if role:
        assert f"pw-{role}" not in settings  # no database password in the backup

    target = instance_env(tmp_path, "target", target_url)
    restored = survey(target, "restore", str(backup))
    assert "restored" in restored.stdout
    same(exports(target, tmp_path / "after"), before)
    assert (tmp_path / "target/secret_key").read_bytes() == (tmp_path / "source/secret_key").read_bytes()
    assert (tmp_path / "target/config.py").read_text() == "SURVEY_COMMENT_MAX_LENGTH = 400\n"
    for path in [tmp_path / "target", *(tmp_path / "target").glob("*")]:
        if path.name != "translations":
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path

    if role:  # the restored tables are the app's, not the superuser's
        import psycopg
        with psycopg.connect(target_url.replace("postgresql://", "postgresql://", 1)) as conn:
            owners = {r[0] for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert owners == {role}

    again = survey(target, "restore", str(backup), check=False)  # not empty any more
    assert again.returncode == 1 and "not empty" in again.stderr
    print(f"\n[backup] {backend}: {backup.stat().st_size} bytes; {len(before)} exports identical after restore")


def test_encrypted_backup_needs_its_passphrase(tmp_path, demo_sqlite):
    source = copy_of(demo_sqlite, tmp_path, "source")
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("correct horse battery staple\n")
    backup = tmp_path / "survey.backup"
    survey(source, "backup", "--out", str(backup), "--passphrase-file", str(passphrase))
    blob = backup.read_bytes()
    assert blob.startswith(b"SURVEY-BACKUP-1\n") and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert b"manifest" not in blob and "城关".encode() not in blob
    with pytest.raises(tarfile.TarError):
        tarfile.open(fileobj=io.BytesIO(blob))

    target = instance_env(tmp_path, "target")
    wrong = tmp_path / "wrong"
    wrong.write_text("incorrect\n")
    refused = survey(target, "restore", str(backup), "--passphrase-file", str(wrong), check=False)
    assert refused.returncode == 1 and "wrong passphrase" in refused.stderr
    prompted = survey(target, "restore", str(backup), check=False, stdin="also wrong\n")
    assert prompted.returncode == 1 and "wrong passphrase" in prompted.stderr
    assert not (tmp_path / "target/survey.sqlite").exists() or sqlite3.connect(
        tmp_path / "target/survey.sqlite").execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    survey(target, "restore", str(backup), "--passphrase-file", str(passphrase))
    same(exports(target, tmp_path / "after"), exports(source, tmp_path / "before"))


def test_backup_made_by_a_newer_toolkit_is_refused(tmp_path, demo_sqlite):
    source = copy_of(demo_sqlite, tmp_path, "source")
    backup = tmp_path / "survey.backup"
    survey(source, "backup", "--out", str(backup))
    with tarfile.open(backup) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    manifest = json.loads(files["manifest.json"])
    manifest["revisions"] = ["0099_from_the_future"]
    files["manifest.json"] = json.dumps(manifest).encode()
    newer = tmp_path / "newer.backup"
    with tarfile.open(newer, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    refused = survey(instance_env(tmp_path, "target"), "restore", str(newer), check=False)
    assert refused.returncode == 1 and "newer toolkit" in refused.stderr and "0099_from_the_future" in refused.stderr


def test_sqlite_backup_while_answers_stream_in_is_consistent(tmp_path, full_answer, demo_sqlite):
    """The online backup is one snapshot: whatever it holds, its running tally equals a recount
    of its answers and every response has all its answer rows."""
    source = copy_of(demo_sqlite, tmp_path, "source")
    source["SURVEY_RATELIMIT_ENABLED"] = "0"
    source["SURVEY_BASE_URL"] = "https://survey.example.org"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2"], env=source, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    stop = threading.Event()
    sent = []

    def answer(n):
        data = urllib.parse.urlencode({**full_answer, "comment": f"stream-{n}"}).encode()
        i = 0
        while not stop.is_set():
            request = urllib.request.Request(f"http://127.0.0.1:{port}/s/GEN-001", data=data)
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    sent.append(reply.status)
            except OSError:
                pass
            i += 1

    try:
        wait_for_port(port)
        threads = [threading.Thread(target=answer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        while len(sent) < 20:
            threading.Event().wait(0.1)
        backup = tmp_path / "during.backup"
        survey(source, "backup", "--out", str(backup))
        stored_at_backup = len(sent)
        while len(sent) < stored_at_backup + 20:
            threading.Event().wait(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.terminate()
        server.wait(timeout=60)
    target = instance_env(tmp_path, "target")
    survey(target, "restore", str(backup))
    db = sqlite3.connect(tmp_path / "target/survey.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copied = db.execute("SELECT count(*) FROM answer WHERE item = 'comment' AND text LIKE 'stream-%'").fetchone()[0]
    live = sqlite3.connect(tmp_path / "source/survey.sqlite").execute(
        "SELECT count(*) FROM answer WHERE item = 'comment' AND text LIKE 'stream-%'").fetchone()[0]
    assert 0 < copied < live  # taken in the middle of the stream

    from survey import create_app
    from survey.models import Campaign
    from survey.results import recount, tally_counts
    app = create_app({"INSTANCE_PATH": str(tmp_path / "target"), "SURVEY_RATELIMIT_ENABLED": False})
    with app.app_context():
        from sqlalchemy import select

        from survey.db import db as sa
        campaign = sa.session.scalar(select(Campaign).filter_by(slug="demo-2025"))
        assert tally_counts(campaign.id) == recount(campaign.id)
        sa.engine.dispose()
    items = db.execute("SELECT count(DISTINCT item) FROM answer a JOIN response r ON r.id = a.response_id "
                       "WHERE a.response_id IN (SELECT response_id FROM answer WHERE text LIKE 'stream-%')").fetchone()[0]
    short = db.execute("SELECT count(*) FROM (SELECT response_id, count(*) AS n FROM answer WHERE response_id IN "
                       "(SELECT response_id FROM answer WHERE text LIKE 'stream-%') GROUP BY response_id) "
                       "WHERE n != ?", (items,)).fetchone()[0]
    assert short == 0  # no half-written response in the copy
    print(f"\n[backup] during a stream: {copied} of {live} streamed answers in the copy; tally == recount")
