"""Rate limits stop a script, not a meeting: 500 people behind one Wi-Fi address answering
within five minutes (here: 250 in a burst) pass; a script beyond the limit gets 429."""
import signal

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import Response


@pytest.fixture
def app_config():
    return {"SURVEY_RATELIMIT_ENABLED": True}


def stored(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def test_assembly_hall_behind_one_address_is_not_blocked_but_a_script_is(app, make_campaign, full_answer):
    make_campaign(allow_repeat=True)
    hall = {"REMOTE_ADDR": "10.1.2.3"}
    statuses = [app.test_client().post("/s/GEN-001", data=full_answer, environ_base=hall).status_code
                for _ in range(250)]
    assert statuses == [303] * 250
    for _ in range(50):
        app.test_client().post("/s/GEN-001", data=full_answer, environ_base=hall)
    script = app.test_client().post("/s/GEN-001", data=full_answer, environ_base=hall)
    assert script.status_code == 429 and "10.1.2.3" not in script.get_data(as_text=True)
    assert stored(app) == 300
    other = app.test_client().post("/s/GEN-001", data=full_answer, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 303


def test_reading_the_form_is_not_limited(app, client, make_campaign):
    make_campaign()
    assert all(client.get("/s/GEN-001").status_code == 200 for _ in range(320))


def test_admin_login_brute_force_is_limited(app, client):
    from survey.testing import csrf_from
    token = csrf_from(client.get("/admin/login").get_data(as_text=True))
    statuses = [client.post("/admin/login", data={"username": "x", "password": f"guess{n}", "csrf_token": token}).status_code
                for n in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429


@pytest.mark.parametrize("app_config", [{"SURVEY_RATELIMIT_ENABLED": True, "SURVEY_PROXY_COUNT": 1}])
def test_behind_a_proxy_the_forwarded_address_is_limited(app, make_campaign, full_answer, app_config):
    make_campaign(allow_repeat=True)
    for n in range(300):
        app.test_client().post("/s/GEN-001", data=full_answer, headers={"X-Forwarded-For": "10.0.0.1"})
    blocked = app.test_client().post("/s/GEN-001", data=full_answer, headers={"X-Forwarded-For": "10.0.0.1"})
    other = app.test_client().post("/s/GEN-001", data=full_answer, headers={"X-Forwarded-For": "10.0.0.2"})
    assert blocked.status_code == 429 and other.status_code == 303


def test_oversized_body_is_refused(app, client, make_campaign, full_answer):
    make_campaign()
    response = client.post("/s/GEN-001", data={**full_answer, "comment": "长" * 200_000})
    assert response.status_code == 413
    assert stored(app) == 0


@pytest.mark.parametrize("app_config", [{"SURVEY_RATELIMIT_ENABLED": True,
                                         "SURVEY_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"}])
def test_unreachable_redis_does_not_stop_answering(app, make_campaign, full_answer, app_config):
    """Nothing listens on port 9: limits fall back to memory and residents still answer."""
    make_campaign(allow_repeat=True)
    statuses = {app.test_client().post("/s/GEN-001", data=full_answer).status_code for _ in range(3)}
    assert statuses == {303} and stored(app) == 3


# --- the default server: 4 gunicorn workers, no Redis ------------------------------------------
def _post(port: int, path: str, body: dict, headers=None) -> int:
    """One POST over a fresh connection (gunicorn's sync workers close each one); its status."""
    import http.client
    import urllib.parse
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, urllib.parse.urlencode(body),
                     {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_default_survey_serve_holds_the_documented_limits_across_its_workers(app, make_campaign, full_answer, tmp_path):
    """Attack 9: under `survey serve` with default settings (4 workers, no Redis), one address
    sending answers from 8 connections at once gets 429 after 300, and after 10 wrong
    passwords; the shared counts hold no address."""
    import os
    import subprocess
    import sys
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor
    from http.cookiejar import CookieJar

    from survey.testing import csrf_from, free_port, wait_for_port
    make_campaign(allow_repeat=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=app.instance_path, SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"])
    server = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                               "--allow-local-base-url"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=90)  # the machine is shared: starting 4 workers may take a while
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _n: _post(port, "/s/GEN-001", full_answer), range(320)))
        assert statuses.count(303) == 300 and statuses.count(429) == 20, sorted(set(statuses))
        assert stored(app) == 300
        jar = CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        token = csrf_from(browser.open(f"http://127.0.0.1:{port}/admin/login").read().decode())
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        tries = [_post(port, "/admin/login", {"username": "x", "password": f"guess{n}", "csrf_token": token},
                       {"Cookie": cookie}) for n in range(12)]
        assert tries == [401] * 10 + [429] * 2
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            log = server.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            server.kill()
            log = server.communicate()[0]
    assert "Booting worker" in log and log.count("Booting worker") >= 4, log[-2000:]
    import sqlite3
    with sqlite3.connect(os.path.join(app.instance_path, "ratelimits.sqlite")) as limits_file:
        keys = [k for (k,) in limits_file.execute("SELECT key FROM hit")]
    assert keys and not any("127.0.0.1" in k for k in keys), keys
