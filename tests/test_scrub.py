"""When the scrub runs and who runs it: at close, at each open campaign's interval from a
thread of `survey serve` (one process at a time, by a lease in the database), by hand with
`survey scrub`; the office sets the interval in the admin."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import select, text, update

from survey import anonymity
from survey.db import db
from survey.models import Campaign, ScrubLease
from survey.testing import _backends, csrf_from, free_port, wait_for_port


def only(backend: str):
    """Run a test on one backend, if the suite runs that backend at all (SURVEY_TEST_BACKENDS)."""
    return pytest.mark.parametrize("backend", [backend] if backend in _backends() else [])


def campaign_row(app, cid):
    with app.app_context():
        return db.session.get(Campaign, cid)


def test_open_campaign_is_due_after_its_interval_and_closed_after_closing(app, client, make_campaign, full_answer):
    """Due: never scrubbed; or written to since the last scrub and the interval has passed."""
    cid = make_campaign(scrub_interval=10, allow_repeat=True)
    other = make_campaign(slug="closed-2025", state="closed", units=[("GEN-900", "东街社区", "general")])
    with app.app_context():
        assert db.session.get(Campaign, other).scrubbed_at is not None, "closing scrubs"
        assert anonymity.due_campaigns() == [cid], "never scrubbed yet"
        anonymity.scrub(cid)
        assert anonymity.due_campaigns() == []
        later = anonymity._now() + dt.timedelta(minutes=11)
        assert anonymity.due_campaigns(later) == [], "nothing new was written"
    assert client.post("/s/GEN-001", data=full_answer).status_code == 303
    with app.app_context():
        assert anonymity.due_campaigns() == [], "the interval has not passed"
        assert anonymity.due_campaigns(later) == [cid]
        db.session.execute(update(Campaign).values(scrub_interval=600))  # never above an hour
        db.session.commit()
        assert anonymity.due_campaigns(anonymity._now() + dt.timedelta(minutes=61)) == [cid]


def test_one_process_holds_the_lease_until_released_or_expired(app):
    with app.app_context():
        assert anonymity.take_lease("worker-a")
        assert not anonymity.take_lease("worker-b")
        assert anonymity.take_lease("worker-a"), "the holder renews it"
        anonymity.release_lease("worker-a")
        assert anonymity.take_lease("worker-b")
        db.session.execute(update(ScrubLease).values(expires_at=anonymity._now() - dt.timedelta(seconds=1)))
        db.session.commit()
        assert anonymity.take_lease("worker-a"), "a lease whose holder died expires"
        assert anonymity.scrub_due("worker-b") == [], "nothing is scrubbed without the lease"


def test_scrub_command(app, runner, make_campaign):
    make_campaign()
    result = runner.invoke(args=["scrub", "test-2025"])
    assert result.exit_code == 0, result.output
    assert "test-2025:" in result.output and "rows rewritten" in result.output
    result = runner.invoke(args=["scrub", "nope"])
    assert result.exit_code != 0 and "no campaign 'nope'" in result.output


def test_office_sets_the_interval(app, admin_client, make_campaign):
    make_campaign()
    url = "/admin/campaigns/test-2025/edit"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'name="scrub_interval"' in page
    data = {"slug": "test-2025", "name": "测评", "scrub_interval": "90", "csrf_token": csrf_from(page)}
    reply = admin_client.post(url, data=data)
    assert reply.status_code == 422 and "5" in reply.get_data(as_text=True)
    reply = admin_client.post(url, data={**data, "scrub_interval": "15"})
    assert reply.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Campaign.scrub_interval)) == 15


@only("sqlite")
def test_serve_scrubs_an_open_campaign_by_itself(app, make_campaign, make_tokens, tmp_path):
    """`survey serve` with two workers scrubs a due campaign with no one at a shell."""
    cid = make_campaign()
    make_tokens(cid, n=3)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=app.instance_path, SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"],
               SURVEY_SECRET_KEY="x", SURVEY_SCRUB_POLL_SECONDS="1")
    server = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "--allow-local-base-url"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 30
        while campaign_row(app, cid).scrubbed_at is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0]
    assert campaign_row(app, cid).scrubbed_at is not None, log
    with app.app_context():
        assert db.session.execute(text("SELECT holder FROM scrub_lease")).scalar() is None


def test_previous_version_upgrades_keeping_answers_and_downgrades(backend, tmp_path, request):
    """An instance made by the previous version (0004_personal_data) upgrades with its answers; on PostgreSQL
    the answers land in the partitioned table; a downgrade gives them back too."""
    from alembic import command

    from survey import create_app
    from survey.migrate import alembic_config, upgrade
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"old_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        server.execute(f"CREATE DATABASE {name}")
        url = server.url(name)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "x", "SURVEY_DATABASE_URL": url,
                      "SURVEY_RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade("0004_personal_data")
        db.session.execute(text("INSERT INTO campaign (id, slug, name, state, satisfaction_line, composition_minimum, "
                                "minimum_sample, access, allow_repeat, show_comments) VALUES "
                                "(1, 'old', '旧', 'closed', 0.7, 0.3, 30, 'both', false, false)"))
        db.session.execute(text("INSERT INTO unit (id, campaign_id, code, name, sector, commitments) "
                                "VALUES (1, 1, 'U1', '单位', 'general', '[]')"))
        db.session.execute(text("INSERT INTO response VALUES ('ab', 1, 1, 'q', 'resident', 'online', '2025-01-02')"))
        db.session.execute(text("INSERT INTO answer VALUES ('ab', 'leadership', 'satisfied', NULL), "
                                "('ab', 'comment', NULL, '好')"))
        db.session.commit()
        upgrade()
        assert db.session.execute(text("SELECT count(*) FROM answer")).scalar() == 2
        assert db.session.execute(text("SELECT scrub_interval FROM campaign")).scalar() == 60
        if backend == "postgres":
            assert db.session.execute(text("SELECT count(*) FROM pg_inherits WHERE "
                                           "inhparent = 'answer'::regclass")).scalar() == 16
        anonymity.scrub(1)
        assert db.session.execute(text("SELECT text FROM answer WHERE item = 'comment'")).scalar() == "好"
        db.session.remove()
        command.downgrade(alembic_config(), "0004_personal_data")
        assert db.session.execute(text("SELECT count(*) FROM answer")).scalar() == 2
        db.session.remove()
        db.engine.dispose()
