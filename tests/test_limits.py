"""Rate limits stop a script, not a meeting: 500 people behind one Wi-Fi address answering
within five minutes (here: 250 in a burst) pass; a script beyond the limit gets 429."""
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
