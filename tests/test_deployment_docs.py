"""docs/deployment.md, run: every command block, in the documented order, on loopback.

tests/docs_run.py reads the blocks from the Markdown and runs them on a machine made of a
temporary folder, a real `survey` system user, a PostgreSQL cluster, Redis and nginx (each with
its own configuration and pid file), and the systemd unit the page documents (started by a
stand-in for systemctl). Between the blocks the test plays the residents and the office, and
checks what the page promises:

- both app servers come up from the unit as the `survey` user, ready (/readyz), behind nginx
  with the documented TLS config; the instance folders are private;
- Redis down: answering goes on, the app logs a warning and /readyz says 503 `rate_limits`;
- the restore drill restores an encrypted backup into a scratch database owned by the app's
  role and the exports are byte-identical;
- the upgrade's rolling restart (both servers, one after the other) under a steady stream of
  answers: every acknowledged answer stored exactly once, no error page, no 5xx;
- rollback restores the backup taken before the upgrade: every answer acknowledged before it
  is there;
- both servers down: nginx answers 502 with the Chinese "not saved" page, not its own English one;
- PostgreSQL down: /readyz answers 503 naming the database.

Run alone: python -m pytest -q -s tests/test_deployment_docs.py (about 1.5–2 minutes).
"""
from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import stat
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest

from docs_run import HOST, REPO, Machine, blocks

DOC = REPO / "docs" / "deployment.md"
SLUG = "docs-2026"
UNITS = [("DOC-001", "城关镇党委", "general"), ("DOC-002", "东街社区党支部", "general")]

pytestmark = pytest.mark.deployment


class Phone:
    """One resident's phone: HTTPS to nginx as survey.example.org, from its own 127.x address."""

    def __init__(self, machine: Machine, source: str):
        self.port, self.source = machine.ports["https"], source
        self.context = ssl.create_default_context(cafile=str(machine.cert))

    def request(self, method: str, path: str, data: dict | None = None, timeout: float = 60):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout, source_address=(self.source, 0))
        conn = http.client.HTTPSConnection(HOST, self.port, timeout=timeout, context=self.context)
        conn.sock = self.context.wrap_socket(raw, server_hostname=HOST)
        try:
            headers = {"Host": f"{HOST}:{self.port}"}
            body = None
            if data is not None:
                body = urlencode(data).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def answer(self, code: str, answers: dict) -> tuple[int, str]:
        """Open the form (keeping its hidden fields, such as a form id) and submit it."""
        status, page = self.request("GET", f"/s/{code}")
        if status != 200:
            return status, page
        hidden = {}
        for tag in re.findall(r"<input[^>]*>", page):
            if 'type="hidden"' in tag:
                name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
                if name:
                    hidden[name.group(1)] = value.group(1) if value else ""
        return self.request("POST", f"/s/{code}", data={**hidden, **answers})


class Stream:
    """Residents answering steadily (each thread its own phone) until stopped."""

    def __init__(self, machine: Machine, answers: dict, phones: int = 6, prefix: str = "stream"):
        self.machine, self.answers, self.prefix = machine, answers, prefix
        self.results: list[tuple[str, int, str]] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(phones)]

    def _run(self, n: int) -> None:
        phone = Phone(self.machine, f"127.0.9.{n + 1}")
        i = 0
        while not self.stopping.is_set():
            marker = f"{self.prefix}-{n}-{i:04d}"
            try:
                status, text = phone.answer(UNITS[i % 2][0], {**self.answers, "comment": f"{marker} 好"})
            except OSError as exc:  # a broken connection: unknown whether stored
                self.errors.append(f"{marker}: {exc!r}")
            else:
                self.results.append((marker, status, text))
            i += 1
            time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=120)

    @property
    def acknowledged(self) -> list[str]:
        return [m for m, status, _ in self.results if status == 303]


def readyz(machine: Machine, app: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", machine.ports[app], timeout=30)
    try:
        conn.request("GET", "/readyz")
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def wait_ready(machine: Machine, app: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            status, body = readyz(machine, app)
            if status == 200:
                return
            last = body
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{app} not ready after {timeout}s: {last}\n{machine.unit_log(f'survey@{machine.ports[app]}')[-3000:]}")


class Office:
    """The test's own view of the deployment's database (as the app's role, over TCP)."""

    def __init__(self, machine: Machine, tmp: Path):
        from survey import create_app
        self.url = f"postgresql://survey:{machine.db_password}@127.0.0.1:{machine.ports['pg']}/survey"
        self.app = create_app({"INSTANCE_PATH": str(tmp / "office"), "SECRET_KEY": machine.secret_key,
                               "SURVEY_DATABASE_URL": self.url, "SURVEY_RATELIMIT_ENABLED": False})

    def make_campaign(self) -> None:
        from stack import Stack
        Stack.make_campaign(SimpleNamespace(app=self.app), SLUG, UNITS, access="open", allow_repeat=True)

    def comments(self) -> Counter:
        from sqlalchemy import select

        from survey.db import db
        from survey.models import Answer
        with self.app.app_context():
            texts = db.session.scalars(select(Answer.text).where(Answer.item == "comment")).all()
            db.session.remove()
        return Counter(t.split(" ")[0] for t in texts if t)

    def close(self) -> None:
        from survey.db import db
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_deployment_md_runs_as_written(tmp_path, full_answer):
    doc_blocks = blocks(DOC)
    assert [b for b in doc_blocks if b.kind == "unknown"] == [], "every block must be runnable"
    started = time.monotonic()
    timings: dict[str, float] = {}
    hooks_fired: list[str] = []
    answers = {k: v for k, v in full_answer.items() if k != "comment"}
    with Machine() as machine:
        machine.values.update(CAMPAIGN=SLUG, **{"SOME-UNIT-CODE": UNITS[0][0]})
        office = None
        stream = None
        try:
            for block in doc_blocks:
                text = block.text
                t0 = time.monotonic()
                if "systemctl restart survey@$port" in text:  # the rolling restart, under answers
                    before = office.comments()
                    stream = Stream(machine, answers).__enter__()
                    time.sleep(2)
                    machine.run(block, timeout=300)
                    time.sleep(2)
                    stream.__exit__(None, None, None)
                    hooks_fired.append("rolling restart")
                    check_stream(stream, office.comments(), before)
                elif "dropdb survey\n" in text:  # rollback: the servers are stopped by the block
                    office.close()
                    machine.run(block, timeout=600)
                    hooks_fired.append("rollback")
                    for app in ("app1", "app2"):
                        wait_ready(machine, app)
                    assert office.comments() == comments_at_upgrade_backup
                else:
                    if "before-upgrade.backup --passphrase" in text and "release-NEW-VERSION" in text:
                        comments_at_upgrade_backup = office.comments()
                    machine.run(block, timeout=600)
                timings[f"line {block.line}"] = time.monotonic() - t0
                print(f"[deployment.md] line {block.line}: {timings[f'line {block.line}']:.1f}s", flush=True)

                if "useradd" in text:
                    hooks_fired.append("service user")
                    home = machine.path("/var/lib/survey")
                    assert home.stat().st_uid != 0 and stat.S_IMODE(home.stat().st_mode) == 0o700
                if "enable --now" in text:
                    hooks_fired.append("servers up")
                    for app in ("app1", "app2"):
                        wait_ready(machine, app)
                    check_servers(machine)
                    office = Office(machine, tmp_path)
                    office.make_campaign()
                if "redis-cli" in text:  # the checks have run; now Redis goes away for a while
                    hooks_fired.append("redis down")
                    check_redis_down(machine, answers)
                    for n in range(6):  # answers for the exports to compare
                        status, _ = Phone(machine, f"127.0.8.{n + 1}").answer(UNITS[n % 2][0], {**answers, "comment": f"base-{n} 好"})
                        assert status == 303
                if block.file and "/cron.d/" in block.file:  # what cron would run at 02:30, now
                    hooks_fired.append("nightly backup")
                    for line in machine.substitute(block.text).splitlines():
                        if line.strip() and not line.startswith("#"):
                            *_when, user, command = line.split(None, 6)
                            assert user == "root"
                            done = machine.sh(command.replace("\\%", "%"))
                            assert done.returncode == 0, done.stderr
                    assert list(machine.path("/var/backups/survey").glob("survey-*.backup"))
                if "restore drill: identical" in text:
                    hooks_fired.append("restore drill")
                    done_text = machine.ran[-1]
                    assert done_text is block
                    check_backup_files(machine)
            assert machine.ran == [b for b in doc_blocks if b.kind != "text"]
            assert hooks_fired == ["service user", "servers up", "redis down", "nightly backup", "restore drill",
                                   "rolling restart", "rollback"], hooks_fired
            check_error_page_and_database_down(machine)
        finally:
            if stream is not None:
                stream.stopping.set()
            if office is not None:
                office.close()
    slow = sorted(timings.items(), key=lambda kv: -kv[1])[:4]
    print(f"\n[deployment.md] {len(machine.ran)} blocks run in {time.monotonic() - started:.0f}s; "
          f"slowest: {', '.join(f'{k} {v:.0f}s' for k, v in slow)}")


def check_servers(machine: Machine) -> None:
    """Both servers run as the service user, with private instance folders and SQLite-free."""
    import pwd
    survey_uid = pwd.getpwnam("survey").pw_uid
    for app in ("app1", "app2"):
        pid = int((machine.root / "run" / f"survey@{machine.ports[app]}.pid").read_text())
        assert Path(f"/proc/{pid}").stat().st_uid == survey_uid
        instance = machine.path(f"/var/lib/survey/instance-{machine.ports[app]}")
        assert stat.S_IMODE(instance.stat().st_mode) == 0o700
        assert not list(instance.glob("*.sqlite"))  # the servers use PostgreSQL
    env = machine.path("/etc/survey/survey.env")
    assert stat.S_IMODE(env.stat().st_mode) == 0o640


def check_redis_down(machine: Machine, answers: dict) -> None:
    """docs/deployment.md: with Redis unreachable answering goes on, a warning is logged and
    /readyz says 503 rate_limits; with Redis back, ready again."""
    machine.systemctl("stop", "redis-server")
    try:
        phone = Phone(machine, "127.0.7.1")
        statuses = [phone.answer(UNITS[0][0], {**answers, "comment": f"redis-down-{n} 好"})[0] for n in range(4)]
        assert statuses == [303] * 4
        for app in ("app1", "app2"):
            status, body = readyz(machine, app)
            assert status == 503 and body["checks"]["rate_limits"] != "ok", body
            assert body["checks"]["database"] == "ok"
        logs = machine.unit_log(f"survey@{machine.ports['app1']}") + machine.unit_log(f"survey@{machine.ports['app2']}")
        assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* WARNING survey\.limits: rate-limit storage redis://\*\*\*@", logs), logs[-2000:]
        assert machine.redis_password not in logs
    finally:
        machine.systemctl("start", "redis-server")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if readyz(machine, "app1")[0] == 200 and readyz(machine, "app2")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.3)
    for app in ("app1", "app2"):
        assert readyz(machine, app)[0] == 200


def check_backup_files(machine: Machine) -> None:
    backups = list(machine.path("/var/backups/survey").glob("*.backup"))
    passphrase = machine.path("/etc/survey/backup-passphrase")
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    for path in backups:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"SURVEY-BACKUP-1\n")  # encrypted


def check_stream(stream: Stream, comments: Counter, before: Counter) -> None:
    statuses = Counter(status for _m, status, _t in stream.results)
    acknowledged = stream.acknowledged
    new = {m: n for m, n in comments.items() if m.startswith("stream-")}
    print(f"\n[deployment.md] rolling restart under {len(stream.threads)} phones: {dict(statuses)}, "
          f"{len(stream.errors)} broken connections, {len(acknowledged)} acknowledged, {len(new)} stored")
    assert stream.errors == []
    assert set(statuses) == {303}, [(m, s, t[:300]) for m, s, t in stream.results if s != 303][:3]
    assert len(acknowledged) >= 20
    assert set(new) == set(acknowledged)  # none lost, none extra
    assert set(new.values()) == {1}  # none stored twice
    assert all(comments[m] == n for m, n in before.items())


def check_error_page_and_database_down(machine: Machine) -> None:
    """Both servers down: nginx's 502 is the Chinese page. PostgreSQL down: /readyz 503."""
    machine.systemctl("stop", f"survey@{machine.ports['app2']}")
    machine.systemctl("stop", f"survey@{machine.ports['app1']}")
    phone = Phone(machine, "127.0.6.1")
    for method, data in (("GET", None), ("POST", {"category": "resident"})):
        status, text = phone.request(method, f"/s/{UNITS[0][0]}", data=data)
        assert status == 502, (status, text[:300])
        assert "本次提交未保存" in text and "Bad Gateway" not in text and "nginx" not in text
    machine.systemctl("start", f"survey@{machine.ports['app1']}")
    wait_ready(machine, "app1")
    machine.stop_postgres()
    status, body = readyz(machine, "app1")
    assert status == 503 and body["checks"]["database"].startswith("unreachable"), body


OPERATORS = REPO / "docs" / "operators.md"


def test_operators_md_runs_as_written(tmp_path):
    """docs/operators.md's blocks (backups, the restore drill, health and metrics) on a single
    server with SQLite, as the page assumes: the venv's `survey` on PATH, SURVEY_INSTANCE and
    SURVEY_BASE_URL set, `survey serve --bind 127.0.0.1:8000` running."""
    import subprocess
    import sys

    from survey.testing import free_port, wait_for_port
    doc_blocks = blocks(OPERATORS)
    assert [b for b in doc_blocks if b.kind not in ("sh", "text")] == []
    machine = Machine()
    machine.ports["serve"] = free_port()
    instance = machine.path("/var/lib/survey/instance")
    machine.extra_env = {"SURVEY_INSTANCE": str(instance), "SURVEY_BASE_URL": f"https://{HOST}",
                         "PATH_PREFIX": str(Path(sys.executable).parent)}
    machine.values["CAMPAIGN"] = "demo-2025"
    server = None
    try:
        for sub in ("etc", "var/lib/survey", "var/tmp"):
            (machine.root / sub).mkdir(parents=True, exist_ok=True)
        for setup in ("survey db upgrade", "survey demo --no-serve"):
            done = machine.sh(setup)
            assert done.returncode == 0, done.stderr
        server = subprocess.Popen(["survey", "serve", "--bind", f"127.0.0.1:{machine.ports['serve']}", "--workers", "2"],
                                  env=machine.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        wait_for_port(machine.ports["serve"], timeout=60)
        outputs = [machine.run(block, timeout=300) for block in doc_blocks]
        assert machine.ran == [b for b in doc_blocks if b.kind == "sh"]
        assert any("restore drill: identical" in (o.stdout if o else "") for o in outputs)
        health = next(o.stdout for o in outputs if o and "survey_answers_stored_total" in o.stdout)
        assert '"status":"alive"' in health and '"status":"ready"' in health
        backups = list(machine.path("/var/backups/survey").glob("*.backup"))
        assert len(backups) == 1
        assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
        assert backups[0].read_bytes().startswith(b"SURVEY-BACKUP-1\n")
        assert stat.S_IMODE(machine.path("/etc/survey/backup-passphrase").stat().st_mode) == 0o600
        assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        machine.stop()
