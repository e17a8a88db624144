"""Attack 10: a repeated submission of the same form (a double tap on a slow connection, a
browser resending, a retried POST) counts once, and the resident sees the thank-you page.
Against a real `survey serve` (4 workers), on SQLite and PostgreSQL."""
import datetime as dt
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
from sqlalchemy import func, inspect, select

from survey import nonces
from survey.db import db
from survey.models import FormNonce, Response
from survey.results import recount, tally_counts
from survey.testing import free_port, wait_for_port


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def request(port, method, path, body=None, cookie=None):
    """One request over its own connection: (status, Location, Set-Cookie, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    if cookie:
        headers["Cookie"] = cookie
    try:
        conn.request(method, path, urllib.parse.urlencode(body) if body is not None else None, headers)
        response = conn.getresponse()
        return (response.status, response.getheader("Location"), response.getheader("Set-Cookie"),
                response.read().decode())
    finally:
        conn.close()


def form_id_in(html: str) -> str:
    match = re.search(rf'name="{nonces.FIELD}" value="([^"]+)"', html)
    assert match, "the form carries no form id"
    return match.group(1)


@pytest.fixture
def server(app):
    """`survey serve` with its defaults (4 workers) on the test's database."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=app.instance_path, SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"],
               SURVEY_SECRET_KEY=app.config["SECRET_KEY"])
    process = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                                "--allow-local-base-url"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=90)  # the machine is shared: starting 4 workers may take a while
        yield port
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_double_tap_counts_once_and_both_taps_see_the_thank_you_page(app, make_campaign, make_tokens,
                                                                      full_answer, server):
    cid = make_campaign()
    # the QR form: two taps 1.5 s apart, the second sent before the first's cookie came back
    html = request(server, "GET", "/s/GEN-001")[3]
    answer = {**full_answer, nonces.FIELD: form_id_in(html)}
    first = request(server, "POST", "/s/GEN-001", answer)
    time.sleep(1.5)
    second = request(server, "POST", "/s/GEN-001", answer)
    assert first[:2] == second[:2] == (303, "/s/GEN-001/thanks"), (first[:2], second[:2])
    assert stored(app) == 1
    # the browser resending it with the cookie the first answer set: thanked, not refused
    cookie = first[2].split(";", 1)[0]
    again = request(server, "POST", "/s/GEN-001", answer, cookie=cookie)
    assert again[:2] == (303, "/s/GEN-001/thanks") and stored(app) == 1
    assert request(server, "GET", "/s/GEN-001", cookie=cookie)[0] == 409  # a new form is refused as before

    # twelve copies of one form racing on four workers
    html = request(server, "GET", "/s/GEN-001")[3]
    copy = {**full_answer, nonces.FIELD: form_id_in(html)}
    results, start = [], threading.Barrier(12)

    def send():
        start.wait()
        results.append(request(server, "POST", "/s/GEN-001", copy)[:2])
    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(303, "/s/GEN-001/thanks")] * 12 and stored(app) == 2

    # a numbered ballot tapped twice, then racing: counted once, thanked every time
    token, = make_tokens(cid, category="resident")
    html = request(server, "GET", f"/b/{token}")[3]
    ballot = {k: v for k, v in full_answer.items() if k != "category"}
    ballot = {**{f"u1-{k}": v for k, v in ballot.items()}, nonces.FIELD: form_id_in(html)}
    with app.app_context():
        from survey.models import Unit
        unit_id = db.session.scalar(select(Unit.id).filter_by(code="GEN-001"))
    ballot = {k.replace("u1-", f"u{unit_id}-"): v for k, v in ballot.items()}
    taps = [request(server, "POST", f"/b/{token}", ballot)[:2]]
    time.sleep(1.5)
    taps.append(request(server, "POST", f"/b/{token}", ballot)[:2])
    assert taps == [(303, "/b/done")] * 2 and stored(app) == 3
    with app.app_context():
        assert tally_counts(cid) == recount(cid)
        assert nonces.spent_count() == 3


def test_form_ids_race_in_threads_and_link_to_nothing(app, client, make_campaign, full_answer):
    """In process as well: twenty threads submitting one form store one response."""
    make_campaign()
    value = form_id_in(client.get("/s/GEN-001").get_data(as_text=True))
    statuses, start = [], threading.Barrier(20)

    def send():
        start.wait()
        statuses.append(app.test_client().post("/s/GEN-001", data={**full_answer, nonces.FIELD: value}).status_code)
    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303] * 20 and stored(app) == 1
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("form_nonce")}
        assert columns == {"nonce_hash", "issued_on"}  # no response, unit, campaign or time
        assert inspect(db.engine).get_foreign_keys("form_nonce") == []
        row = db.session.scalars(select(FormNonce)).one()
        assert value not in row.nonce_hash and row.issued_on == dt.date.today()


def test_forms_without_an_id_still_count_and_an_old_form_is_shown_again(app, client, make_campaign, full_answer):
    make_campaign(allow_repeat=True)
    assert client.post("/s/GEN-001", data=full_answer).status_code == 303  # a form from before this version
    forged = client.post("/s/GEN-001", data={**full_answer, nonces.FIELD: "abc.739000.0123456789abcdef01234567"})
    assert forged.status_code == 303 and stored(app) == 2  # a forged id is no id: counted, unchecked
    for junk in ["中.文.字", "a.99999999999999999999999.b", "a.١٢.c", "..", "x" * 500, "a.1.\x00"]:
        assert client.post("/s/GEN-001", data={**full_answer, nonces.FIELD: junk}).status_code == 303, junk
    assert stored(app) == 8
    with app.test_request_context():
        old_day = (dt.date.today() - dt.timedelta(days=nonces.VALID_DAYS)).toordinal()
        old = f"oldform.{old_day}.{nonces._mac('oldform', old_day)}"
    page = client.post("/s/GEN-001?lang=en", data={**full_answer, nonces.FIELD: old})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "opened too long ago" in html and stored(app) == 8
    assert 'value="服务态度好"' in html or "服务态度好" in html  # the answers are kept
    fresh = form_id_in(html)
    assert fresh != old and client.post("/s/GEN-001", data={**full_answer, nonces.FIELD: fresh}).status_code == 303


def test_spent_form_ids_are_purged_once_they_expire(app):
    with app.app_context():
        today = dt.date.today()
        for n, age in enumerate([0, 1, nonces.VALID_DAYS, nonces.VALID_DAYS + 5]):
            db.session.add(FormNonce(nonce_hash=f"{n:064d}", issued_on=today - dt.timedelta(days=age)))
        db.session.commit()
        assert nonces.purge_expired(force=True) == 2
        assert sorted((today - r.issued_on).days for r in db.session.scalars(select(FormNonce))) == [0, 1]
