"""Operating promises: /healthz and /readyz, /metrics (who may read it and what it never
shows), log lines, private instance files, `survey serve`'s refusals, `survey --version`, and
the message an older toolkit gives on a newer schema."""
from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
from importlib.metadata import version

import pytest

from survey import create_app


def test_healthz_and_readyz_answer_when_all_is_well(client):
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.json == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json == {"status": "ready", "checks": {"database": "ok", "rate_limits": "ok"}}


def test_readyz_fails_when_the_database_is_unreachable(tmp_path):
    from survey.testing import free_port
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "k",
                      "SURVEY_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none"})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # the process is alive all the same
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["status"] == "not ready"
    assert ready.json["checks"]["database"] == "unreachable (OperationalError)"
    assert "nobody" not in ready.get_data(as_text=True)


def test_readyz_fails_on_a_database_without_the_schema(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "k"})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and "survey db upgrade" in ready.json["checks"]["database"]


def test_readyz_fails_while_redis_is_unreachable_and_answering_goes_on(app_factory_redis_down, full_answer):
    app, code = app_factory_redis_down
    client = app.test_client()
    answered = client.post(f"/s/{code}", data=full_answer)
    assert answered.status_code == 303
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["database"] == "ok"
    assert "unreachable" in ready.json["checks"]["rate_limits"]


@pytest.fixture
def app_factory_redis_down(tmp_path):
    from survey.testing import free_port
    from survey.migrate import upgrade
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "k",
                      "SURVEY_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0",
                      "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0",
                      "SURVEY_BASE_URL": "http://survey.test"})
    with app.app_context():
        upgrade()
        from survey.campaigns import transition
        from survey.db import db
        from survey.models import Campaign, Unit
        from survey.registry import current_registry
        campaign = Campaign(slug="redis-down", name="测评", access="open", allow_repeat=True)
        db.session.add(campaign)
        db.session.add(Unit(campaign=campaign, code="RD-001", name="城关镇党委", sector="general"))
        db.session.flush()
        transition(campaign, "open", current_registry(), "test")
        db.session.commit()
    yield app, "RD-001"
    with app.app_context():
        from survey.db import db
        db.engine.dispose()


def _metrics(client, **kwargs) -> tuple[int, str]:
    reply = client.get("/metrics", **kwargs)
    return reply.status_code, reply.get_data(as_text=True)


def test_metrics_count_requests_by_route_and_answers_in_total(client, make_campaign, full_answer):
    make_campaign()
    status, before = _metrics(client)
    assert status == 200
    stored = _value(before, "survey_answers_stored_total")
    assert client.get("/s/GEN-001").status_code == 200
    assert client.post("/s/GEN-001", data=full_answer).status_code == 303
    assert client.get("/s/NO-SUCH-UNIT").status_code == 404
    status, text = _metrics(client)
    assert _value(text, "survey_answers_stored_total") == stored + 1
    assert 'survey_http_requests_total{endpoint="answering.answer_unit",method="POST",status="303"}' in text
    assert 'survey_http_request_duration_seconds_count{endpoint="answering.answer_unit"}' in text
    # never a path, a unit code or a campaign: only endpoint, method, status (and le) labels
    assert "GEN-001" not in text and "NO-SUCH-UNIT" not in text and "/s/" not in text
    ours = "\n".join(line for line in text.splitlines() if line.startswith("survey_"))
    labels = set(re.findall(r"[{,](\w+)=\"", ours))
    assert labels <= {"endpoint", "method", "status", "le"}, labels


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_are_only_for_loopback_or_the_token_bearer(app, client):
    assert _metrics(client)[0] == 200  # the test client is 127.0.0.1
    outside = {"environ_base": {"REMOTE_ADDR": "10.1.2.3"}}
    assert _metrics(client, **outside)[0] == 404
    # through a proxy on the same machine: the peer is loopback but the client is not
    assert _metrics(client, headers={"X-Forwarded-For": "203.0.113.9"})[0] == 404
    assert _metrics(client, headers={"Forwarded": "for=203.0.113.9"})[0] == 404
    assert _metrics(client, headers={"Authorization": "Bearer "}, **outside)[0] == 404
    app.config["SURVEY_METRICS_TOKEN"] = "s3cret-scrape-token"
    assert _metrics(client, headers={"Authorization": "Bearer s3cret-scrape-token"}, **outside)[0] == 200
    assert _metrics(client, headers={"Authorization": "Bearer wrong"}, **outside)[0] == 404
    assert _metrics(client, headers={"Authorization": "Bearer s3cret-scrape-token",
                                     "X-Forwarded-For": "203.0.113.9"})[0] == 200


def test_log_lines_carry_time_level_and_logger_and_json_on_request(tmp_path, capsys):
    create_app({"INSTANCE_PATH": str(tmp_path / "a"), "SECRET_KEY": "k"})
    logging.getLogger("survey.test").warning("text line %s", "/b/SECRET-TOKEN")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} WARNING survey\.test: text line /b/<token>", line), line
    create_app({"INSTANCE_PATH": str(tmp_path / "b"), "SECRET_KEY": "k", "SURVEY_LOG_FORMAT": "json"})
    logging.getLogger("survey.test").error("json line")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["level"] == "ERROR" and record["logger"] == "survey.test" and record["message"] == "json line"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", record["time"])
    create_app({"INSTANCE_PATH": str(tmp_path / "c"), "SECRET_KEY": "k"})  # back to text for the others
    with pytest.raises(ValueError, match="SURVEY_LOG_FORMAT"):
        create_app({"INSTANCE_PATH": str(tmp_path / "d"), "SECRET_KEY": "k", "SURVEY_LOG_FORMAT": "xml"})


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=str(tmp_path / "instance"), **extra)
    return env


def _survey(env, *args, check=True):
    done = subprocess.run([sys.executable, "-m", "survey.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_a_new_instance_is_private(tmp_path):
    env = _env(tmp_path)
    os.umask(0o022)
    _survey(env, "db", "upgrade")
    _survey(env, "demo", "--no-serve")
    instance = tmp_path / "instance"
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    files = [p for p in instance.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"survey.sqlite", "secret_key"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    import sqlite3
    conn = sqlite3.connect(instance / "survey.sqlite")  # a reader makes the -wal and -shm files
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    for suffix in ("-wal", "-shm"):
        side = instance / f"survey.sqlite{suffix}"
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) == 0o600, side
    conn.close()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated SQLite instance for the tests that only start `survey serve`."""
    tmp = tmp_path_factory.mktemp("migrated")
    _survey(_env(tmp), "db", "upgrade")
    return tmp


@pytest.mark.parametrize("base_url", [None, "http://127.0.0.1:5000", "http://localhost:8000", "https://[::1]/",
                                      "http://0.0.0.0:8000"])
def test_serve_refuses_an_address_residents_cannot_reach(migrated, base_url):
    env = _env(migrated, **({"SURVEY_BASE_URL": base_url} if base_url else {}))
    refused = _survey(env, "serve", "--bind", "127.0.0.1:1", check=False)
    assert refused.returncode == 1
    assert "SURVEY_BASE_URL" in refused.stderr and "--allow-local-base-url" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_version_is_the_installed_one():
    done = subprocess.run([sys.executable, "-m", "survey.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"survey-toolkit {version('survey-toolkit')}"


def test_older_code_on_a_newer_schema_says_so(tmp_path):
    """A database migrated by a later release: serve and /readyz say the schema is newer and
    that upgrading with this version cannot help, not "run survey db upgrade"."""
    env = _env(tmp_path, SURVEY_BASE_URL="https://survey.example.org")
    _survey(env, "db", "upgrade")
    import sqlite3
    with sqlite3.connect(tmp_path / "instance/survey.sqlite") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    refused = _survey(env, "serve", check=False)
    assert refused.returncode == 1
    assert "newer than this version of the toolkit" in refused.stderr
    assert "0099_from_the_future" in refused.stderr and "do not run `survey db upgrade`" in refused.stderr
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k"})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and "newer" in ready.json["checks"]["database"]
