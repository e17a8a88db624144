"""Test fixtures for the core and for branch plugins (a pytest11 plugin: installed with the
toolkit, so a plugin repository tests the way the core does).

Fixtures: ``app`` (run on SQLite and on a real PostgreSQL server the suite starts itself),
``client``, ``runner``, ``admin_client`` (signed in), ``make_campaign``, ``app_config`` (to
override), ``postgres_server``; helpers for plugin repositories below (docs/plugins.md lists them).
Set SURVEY_TEST_BACKENDS=sqlite to run only on SQLite (e.g. where PostgreSQL is missing).
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ADMIN_USER, ADMIN_PASSWORD = "office", "correct-horse-battery"


# --- PostgreSQL server ------------------------------------------------------------------------
def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise RuntimeError(f"PostgreSQL's {name} was not found: install the Debian package postgresql")


def free_port() -> int:
    """A TCP port free on the loopback address now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL server in a temporary directory on a free loopback port."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="survey-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args):
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "PostgresServer":
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run(_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "survey", "-E", "UTF8", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(_pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://survey@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)


def _backends() -> list[str]:
    return [b.strip() for b in os.environ.get("SURVEY_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole test session."""
    server = PostgresServer().start()
    yield server
    server.stop()


def _base_config(instance: Path, url: str) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key",
        "SURVEY_DATABASE_URL": url,
        "SURVEY_BASE_URL": "http://survey.test",
        "SURVEY_RATELIMIT_ENABLED": False,
    }


@pytest.fixture(scope="session")
def _templates(tmp_path_factory, request):
    """Migrated template databases, made once per session and copied for each test."""
    made = {}

    def get(backend: str) -> str:
        if backend in made:
            return made[backend]
        from survey import create_app
        from survey.migrate import upgrade
        base = tmp_path_factory.mktemp("template")
        if backend == "sqlite":
            url = f"sqlite:///{base / 'template.sqlite'}"
        else:
            server = request.getfixturevalue("postgres_server")
            server.execute("CREATE DATABASE survey_template")
            url = server.url("survey_template")
        app = create_app(_base_config(base, url))
        with app.app_context():
            from survey.db import db
            upgrade()
            if backend == "sqlite":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.engine.dispose()
        made[backend] = url
        return url

    return get


def _fresh_database(backend: str, template_url: str, instance: Path, request) -> str:
    if backend == "sqlite":
        path = instance / "survey.sqlite"
        shutil.copy(template_url.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("postgres_server")
    name = "t_" + uuid.uuid4().hex[:12]
    server.execute(f"CREATE DATABASE {name} TEMPLATE survey_template")
    return server.url(name)


@pytest.fixture(params=_backends())
def backend(request):
    """The storage backend a test runs on: 'sqlite' or 'postgres'."""
    return request.param


@pytest.fixture
def app_config():
    """Extra settings a test module may override."""
    return {}


@pytest.fixture
def app(backend, tmp_path, _templates, app_config, request):
    """The app on a freshly migrated database of the test's backend."""
    from survey import create_app
    instance = tmp_path / "instance"
    instance.mkdir()
    url = _fresh_database(backend, _templates(backend), instance, request)
    application = create_app({**_base_config(instance, url), **app_config})
    yield application
    with application.app_context():
        from survey.db import db
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    """The CSRF token in a page's form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def admin_client(app, client):
    """A client signed in as an admin of the campaign office."""
    from survey.auth import create_user
    with app.app_context():
        create_user(ADMIN_USER, ADMIN_PASSWORD)
    page = client.get("/admin/login").get_data(as_text=True)
    response = client.post("/admin/login", data={
        "username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": csrf_from(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    client.csrf = lambda url="/admin/": csrf_from(client.get(url).get_data(as_text=True))
    return client


@pytest.fixture
def make_campaign(app):
    """Create a campaign with units: make_campaign(units=[(code, name, sector), …], state='open')."""
    def make(slug="test-2025", units=(("GEN-001", "城关镇党委", "general"),), state="open",
             commitments=(), **settings):
        from survey.campaigns import transition
        from survey.db import db
        from survey.models import Campaign, Unit
        from survey.registry import current_registry
        with app.app_context():
            campaign = Campaign(slug=slug, name=f"测评 {slug}", **settings)
            db.session.add(campaign)
            for code, name, sector in units:
                db.session.add(Unit(campaign=campaign, code=code, name=name, sector=sector,
                                    commitments=list(commitments)))
            db.session.flush()
            for action in {"draft": [], "open": ["open"], "closed": ["open", "close"],
                           "published": ["open", "close", "publish"]}[state]:
                transition(campaign, action, current_registry(), "test")
            db.session.commit()
            return campaign.id
    return make


# --- answers to the built-in questionnaires, for tests and benchmarks --------------------------
# The satisfaction items of the five-goods assembly form (ballots, paper), and a complete answer
# to general-visit, its point-of-service pair, which a general unit's QR code answers.
GENERAL_ITEMS = ["leadership", "clean", "members", "mechanism", "results", "development", "contact",
                 "disputes", "attitude", "overall"]
VISIT_ITEMS = ["reception", "speed", "visit_overall"]
VISIT_OTHER = {"told_once": "yes", "asked_favours": "no"}  # yes/no and incidence: the good answers


def visit_answer(choice: str = "satisfied") -> dict:
    """A complete answer to general-visit (without the category): every satisfaction item on
    `choice`, 是 on the yes/no item, 没有 on the incidence item."""
    return {**{k: choice for k in VISIT_ITEMS}, **VISIT_OTHER}


# --- checks for plugin repositories ------------------------------------------------------------
FIVE_GOODS = ["leadership", "members", "mechanism", "results"]  # every assembly form asks these (clean may sit between)


def plugin_registry(name: str, module):
    """A registry with only the built-in plugin and this one (as if it alone were installed)."""
    from .plugins import build_registry
    return build_registry(extra_plugins=[(name, module)], entry_points=False)


def questionnaire_texts(questionnaire):
    """Every text a resident reads: title, intro, item labels, sections and help."""
    yield questionnaire.title
    if questionnaire.intro:
        yield questionnaire.intro
    for item in questionnaire.items:
        yield item.label
        yield from (extra for extra in (item.section, item.help) if extra)


def check_plugin_loaded(registry, name: str, sectors: list[str], questionnaires: list[str]) -> None:
    """The plugin loaded with no failure and provides exactly these sectors and questionnaires."""
    assert registry.failed() == [], [(p.name, p.error) for p in registry.failed()]
    info = next(p for p in registry.plugins if p.name == name)
    assert info.status == "loaded"
    assert info.sectors == sectors and info.questionnaires == questionnaires


def check_sector_questionnaire(registry, key: str, items=(8, 14)) -> None:
    """A sector's assembly questionnaire as the toolkit's plugins write them: the five goods
    first under the heading 五个好, the sector's own themes, then optional commitments (评诺) and
    an optional comment of at most 500 characters; paired with a point-of-service form; an intro
    saying it is anonymous and how long it takes; every text in Chinese and English; only scales
    the registry knows."""
    q = registry.questionnaires[key]
    assert q.audience == "assembly" and q.point_of_service in registry.questionnaires
    assert items[0] <= len(q.items) <= items[1]
    keys = [i.key for i in q.items]
    assert keys[0] == "leadership" and q.items[0].section.zh == "五个好"
    assert all(k in keys[:6] for k in FIVE_GOODS)
    commitments, comment = q.items[-2], q.items[-1]
    assert commitments.kind == "commitments" and commitments.required is False
    _check_common(registry, q)
    assert "两分钟" in q.intro.zh and "two minutes" in q.intro.en
    check_point_of_service_questionnaire(registry, q.point_of_service)


def check_point_of_service_questionnaire(registry, key: str, items=(4, 9)) -> None:
    """A point-of-service questionnaire (what a unit's QR code answers): only the rater's own
    visit — no leadership, party members, 评诺 or member appraisal (the load check) — at most
    eight rated questions and a comment, answerable in the minute its intro states."""
    from .questionnaire import point_of_service_problems
    q = registry.questionnaires[key]
    assert q.audience == "point_of_service" and point_of_service_problems(q) == []
    assert items[0] <= len(q.items) <= items[1]
    assert not {i.kind for i in q.items} & {"commitments", "members"}
    _check_common(registry, q)
    # the time it takes, as tests/test_answering_time.py measures it (docs/plugins.md)
    assert re.search(r"约需.{1,2}分钟", q.intro.zh) and "minute" in q.intro.en


def _check_common(registry, q) -> None:
    comment = q.items[-1]
    assert comment.kind == "comment" and comment.required is False and comment.max_length == 500
    assert q.scales_used() <= set(registry.scales)
    # how long it takes, as tests/test_answering_time.py measures it (docs/plugins.md)
    assert q.intro is not None and re.search(r"约需.{1,2}分钟", q.intro.zh) and "minute" in q.intro.en
    assert "不记名" in q.intro.zh and "anonymous" in q.intro.en
    for text in questionnaire_texts(q):
        assert text.zh.strip() and text.en.strip(), text
    for item in q.items:  # the rater's own view, never what "the people" think
        assert "群众对" not in item.label.zh and "群众反映" not in item.label.zh, item.key


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Wait until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")
