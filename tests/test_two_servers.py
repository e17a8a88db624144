"""Two `survey serve` instances behind nginx, sharing one PostgreSQL and one Redis (the layout
of docs/deployment.md), brought up on loopback: both serve, a ballot counts once across them,
every acknowledged answer is stored and tallied, the rate limit is shared, signed cookies work
on either server, and nginx's access log never shows a ballot token.

Each resident is a loopback source address (127.x.y.z): nginx sees it as $remote_addr and
passes it on in X-Forwarded-For; with SURVEY_PROXY_COUNT=1 the app keys its limits on it.

    python -m pytest -q -s -m load tests/test_two_servers.py
"""
from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stack import BODY_AND_GZIP, HOUR_MAP, LOG_FORMAT, PROXY_LINES, Stack, request
from survey.testing import VISIT_ITEMS, VISIT_OTHER

pytestmark = pytest.mark.load

DOCS = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"
ADMIN = ("office", "correct-horse-battery")


@pytest.fixture(scope="module")
def stack(postgres_server, tmp_path_factory):
    """The whole deployment, once for this module; torn down even when a test fails."""
    root = tmp_path_factory.mktemp("two-servers")
    started = time.monotonic()
    with Stack(root, postgres_server, answer_limit="20 per minute") as s:
        s.setup_app()
        s.ballots, s.ballot_units = s.make_campaign(
            "ballots", [("BAL-001", "城关镇党委", "general"), ("BAL-002", "东街社区党支部", "general")],
            access="both")
        s.race_token, s.log_token, s.failover_token = s.make_tokens(s.ballots, 3, category="resident")
        s.qr, s.qr_units = s.make_campaign(
            "open-qr", [("QR-001", "西街社区党支部", "general"), ("QR-002", "北街社区党支部", "general")],
            access="open", allow_repeat=True)
        s.limited, (s.limited_unit,) = s.make_campaign("limited", [("RL-001", "南关村党支部", "general")],
                                                       access="open", allow_repeat=True)
        s.once, (s.once_unit,) = s.make_campaign("once", [("ONCE-001", "北关村党支部", "general")],
                                                 access="open", allow_repeat=False)
        s.create_admin(*ADMIN)
        print(f"\n[two servers] stack up in {time.monotonic() - started:.1f}s: nginx :{s.port} -> "
              f"{sorted(s.upstreams)}, redis :{s.redis_port}, postgres db {s.database}")
        yield s


def ballot_form(unit_ids, full_answer) -> dict:
    return {f"u{unit_id}-{key}": value for unit_id in unit_ids
            for key, value in full_answer.items() if key != "category"}


def count_responses(stack, **where) -> int:
    from survey.db import db
    from survey.models import Response
    with stack.app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response).filter_by(**where))


def test_both_instances_serve(stack):
    replies = [request(stack.port, "GET", "/s/QR-001", source="127.0.1.1") for _ in range(20)]
    assert {r.status for r in replies} == {200}
    by_server = Counter(r.upstream for r in replies)
    assert set(by_server) == stack.upstreams and min(by_server.values()) >= 5, by_server
    # and each gunicorn's own access log has the requests it answered (written just after
    # the response, so allow it a moment)
    expected = [by_server[f"127.0.0.1:{port}"] for port in stack.app_ports]
    deadline = time.monotonic() + 10
    while True:
        logged = [stack.app_log(i).count('"GET /s/<code>" 200') for i in range(1, stack.instances + 1)]
        if logged == expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert logged == expected, (logged, by_server)
    print(f"[two servers] 20 GETs through nginx: {dict(by_server)}")


def test_pages_reach_the_phone_gzipped_through_nginx(stack):
    """The app's own gzip passes through nginx untouched; nginx compresses a file from /static/."""
    import gzip
    import http.client
    for path, needle in (("/s/QR-001", b"<style>"), ("/static/resident.css", b".choice{")):
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200 and response.getheader("Content-Encoding") == "gzip", path
        assert "Accept-Encoding" in response.getheader("Vary", ""), path
        assert needle in gzip.decompress(body), path


def test_one_ballot_submitted_30_times_at_once_counts_once(stack, full_answer):
    data = ballot_form(stack.ballot_units, full_answer)
    barrier = threading.Barrier(30, timeout=30)
    path = f"/b/{stack.race_token}"

    def submit(n):
        barrier.wait()
        return request(stack.port, "POST", path, data=data, source=f"127.0.2.{n + 1}")

    with ThreadPoolExecutor(max_workers=30) as pool:
        replies = list(pool.map(submit, range(30), timeout=120))
    statuses = Counter(r.status for r in replies)
    assert statuses == {303: 1, 410: 29}, statuses
    assert {r.upstream for r in replies} == stack.upstreams  # both servers took part in the race
    winner = next(r for r in replies if r.status == 303)
    assert stack.race_token not in winner.headers["Location"]

    from survey.db import db
    from survey.models import BallotToken, Tally
    from survey.tokens import token_hash
    assert count_responses(stack, campaign_id=stack.ballots) == 2  # one response per unit on the ballot
    with stack.app.app_context():
        raters = db.session.scalar(select(func.sum(Tally.count))
                                   .where(Tally.campaign_id == stack.ballots, Tally.item == ""))
        assert raters == 2
        assert db.session.get(BallotToken, token_hash(stack.race_token)).redeemed is True
    assert request(stack.port, "GET", path).status == 410
    print(f"[two servers] one ballot x30 concurrent: {dict(statuses)} from "
          f"{dict(Counter(r.upstream for r in replies))}; responses stored: 2 (2 units), raters tallied: {raters}")


CATEGORIES = ["resident", "service_recipient", "deputy", "party_delegate"]
CHOICES = ["satisfied", "basic", "unsatisfied"]


def test_every_acknowledged_open_answer_is_stored_and_tallied(stack, full_answer):
    """300 residents' answers at once over two units (30 phones, 10 each, under the 20/min
    limit), with varied choices and categories and a distinct marker in each comment."""
    total, phones = 300, 30
    # the QR code answers the point-of-service form: its satisfaction items vary, yes/no and
    # incidence take their good answers
    items = VISIT_ITEMS + list(VISIT_OTHER)
    codes = ["QR-001", "QR-002"]

    def sent(n):
        data = {k: CHOICES[(n + i) % 3] for i, k in enumerate(VISIT_ITEMS)}
        data.update(VISIT_OTHER)
        data.update(category=CATEGORIES[n % 4], comment=f"marker-{n:04d} 服务态度好")
        return codes[n % 2], data

    def answer(n):
        code, data = sent(n)
        return n, request(stack.port, "POST", f"/s/{code}", data=data, source=f"127.0.4.{n % phones + 1}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(answer, range(total), timeout=300))
    elapsed = time.monotonic() - started
    statuses = Counter(r.status for _n, r in results)
    acknowledged = [n for n, r in results if r.status == 303]
    assert statuses == {303: total}, statuses
    assert {r.upstream for _n, r in results} == stack.upstreams

    # what the residents were told was counted, worked out from what they sent
    unit_of = dict(zip(codes, stack.qr_units))
    expected = Counter()
    for n in acknowledged:
        code, data = sent(n)
        expected[(unit_of[code], "", "", data["category"], "online")] += 1
        for k in items:
            expected[(unit_of[code], k, data[k], data["category"], "online")] += 1

    from survey.db import db
    from survey.models import Answer, Response
    from survey.results import recount, tally_counts
    stored = count_responses(stack, campaign_id=stack.qr)
    with stack.app.app_context():
        texts = db.session.scalars(
            select(Answer.text).join(Response, Response.id == Answer.response_id)
            .where(Response.campaign_id == stack.qr, Answer.item == "comment")).all()
        markers = Counter(re.match(r"marker-\d{4}", t).group(0) for t in texts)
        tally, counted = tally_counts(stack.qr), recount(stack.qr)
    assert stored == len(acknowledged) == total
    assert set(markers) == {f"marker-{n:04d}" for n in acknowledged}
    assert set(markers.values()) == {1}  # each acknowledged answer stored once, none extra
    assert tally == counted == dict(expected)
    print(f"[two servers] {total} open-QR answers in {elapsed:.1f}s ({total / elapsed:.0f}/s): "
          f"acknowledged {len(acknowledged)}, stored {stored}, distinct markers {len(markers)}; "
          f"tally == recount == sent over {len(tally)} keys; "
          f"by server {dict(Counter(r.upstream for _n, r in results))}")


def test_rate_limit_is_shared_in_redis_across_both_instances(stack, full_answer):
    """20 per minute per address: the 21st answer is refused whichever server gets it."""
    phone, other = "127.0.3.1", "127.0.3.2"
    started = time.monotonic()
    passed = [request(stack.port, "POST", "/s/RL-001", data=full_answer, source=phone) for _ in range(20)]
    refused = [request(stack.port, "POST", "/s/RL-001", data=full_answer, source=phone) for _ in range(4)]
    elapsed = time.monotonic() - started
    assert elapsed < 50, "too slow to stay inside one minute's window"
    assert [r.status for r in passed] == [303] * 20
    assert {r.upstream for r in passed} == stack.upstreams  # the 20 were split between the servers
    assert [r.status for r in refused] == [429] * 4
    assert {r.upstream for r in refused} == stack.upstreams  # each server refuses: the count is shared
    assert phone not in refused[0].text
    # a forged X-Forwarded-For does not make the same phone someone else (nginx appends the
    # real address and the app trusts only the last one)
    forged = request(stack.port, "POST", "/s/RL-001", data=full_answer, source=phone,
                     headers={"X-Forwarded-For": "10.9.9.9"})
    assert forged.status == 429
    assert request(stack.port, "POST", "/s/RL-001", data=full_answer, source=other).status == 303
    assert count_responses(stack, campaign_id=stack.limited) == 21
    keys = [k.decode() for k in stack.redis().scan_iter(count=1000)]
    assert keys and not any(phone in k for k in keys), keys  # counters in Redis, keyed by an HMAC, no address
    print(f"[two servers] rate limit 20/min: 20 x 303 then 4 x 429 from {phone} "
          f"(429s from {sorted({r.upstream for r in refused})}), forged XFF 429, {other} 303; "
          f"{len(keys)} limit keys in Redis")


def test_signed_cookies_work_on_either_server(stack, full_answer):
    """Same SURVEY_SECRET_KEY: the "already answered" cookie and the admin session made by one
    server are honoured by the other, with no server-side session store."""
    from survey.testing import csrf_from
    answer = full_answer
    first = request(stack.port, "POST", "/s/ONCE-001", data=answer, source="127.0.5.1")
    assert first.status == 303, first.text[:500]
    cookies = first.cookies()
    again = [request(stack.port, "GET", "/s/ONCE-001", source="127.0.5.1", cookies=cookies) for _ in range(4)]
    assert [r.status for r in again] == [409] * 4
    assert {r.upstream for r in again} == stack.upstreams
    assert request(stack.port, "GET", "/s/ONCE-001", source="127.0.5.2").status == 200  # no cookie: may answer

    page = request(stack.port, "GET", "/admin/login", source="127.0.5.3")
    session = page.cookies()
    login = request(stack.port, "POST", "/admin/login", source="127.0.5.3", cookies=session,
                    data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_from(page.text)})
    assert login.status == 302, login.text[:500]
    session.update(login.cookies())
    admin = [request(stack.port, "GET", "/admin/", source="127.0.5.3", cookies=session) for _ in range(4)]
    assert [r.status for r in admin] == [200] * 4
    assert {r.upstream for r in admin} == stack.upstreams
    print(f"[two servers] answered-cookie honoured by both servers (4 x 409); admin session: login on "
          f"{login.upstream} (form from {page.upstream}), 4 x 200 from {sorted({r.upstream for r in admin})}")


def test_nginx_access_log_never_shows_a_ballot_token(stack, full_answer):
    path = f"/b/{stack.log_token}"
    assert request(stack.port, "GET", path).status == 200
    assert request(stack.port, "GET", f"{path}?x=1").status == 200
    assert request(stack.port, "POST", path, data=ballot_form(stack.ballot_units, full_answer),
                   source="127.0.6.1").status == 303
    assert request(stack.port, "GET", path).status == 410
    time.sleep(0.2)
    log = stack.access_log.read_text()
    assert "/b/<token>" in log and '"POST /b/<token>" 303' in log
    assert not re.search(r"127\.0\.[1-9]\.\d+", log)  # nor any resident's address (127.0.x.y, x > 0)
    for other in (stack.race_token, stack.log_token):
        assert other not in log
        assert other not in (stack.root / "error.log").read_text()
        assert all(other not in stack.app_log(i) for i in range(1, stack.instances + 1))
    print(f"[two servers] nginx access log: {log.count(chr(10))} lines, "
          f"{log.count('/b/<token>')} with /b/<token>, no ballot token or resident address in it; "
          "no token in error.log or the gunicorn logs either")


def test_answers_go_on_while_one_instance_is_down(stack, full_answer):
    """Stop one app server: nginx passes everything to the other (a refused connection means
    the request was never sent, so even a POST is passed on and counted once); its error log
    at level crit does not record the ballot address of the failed attempts."""
    before = count_responses(stack, campaign_id=stack.qr)
    stack.stop_app(2)
    try:
        path = f"/b/{stack.failover_token}"
        pages = [request(stack.port, "GET", path) for _ in range(4)]
        answers = [request(stack.port, "POST", "/s/QR-001", data=full_answer, source=f"127.0.7.{n + 1}")
                   for n in range(10)]
        ballot = request(stack.port, "POST", path, data=ballot_form(stack.ballot_units, full_answer),
                         source="127.0.7.99")
        alive = f"127.0.0.1:{stack.app_ports[0]}"
        assert [r.status for r in pages] == [200] * 4
        assert [r.status for r in answers] == [303] * 10
        assert ballot.status == 303
        assert {r.upstream.split(", ")[-1] for r in pages + answers + [ballot]} == {alive}
        assert count_responses(stack, campaign_id=stack.qr) == before + 10
        for log in ("survey-error.log", "error.log", "access.log"):
            path_log = stack.root / log
            assert not path_log.exists() or stack.failover_token not in path_log.read_text()
        tried_dead = sum(", " in (r.upstream or "") for r in pages + answers + [ballot])
    finally:
        stack.restart_app(2)
    print(f"[two servers] one instance down: 4 GET 200, 10 answers 303, ballot 303, all from {alive} "
          f"({tried_dead} first tried the stopped one); back up and both serving again")


def test_documented_nginx_config_is_the_tested_one():
    """The survey-specific nginx lines this test runs with appear verbatim in docs/deployment.md."""
    doc_lines = {line.strip() for line in DOCS.read_text().splitlines()}
    for block in (HOUR_MAP, LOG_FORMAT, PROXY_LINES, BODY_AND_GZIP):
        for line in block.splitlines():
            assert line.strip() in doc_lines, f"docs/deployment.md lacks: {line.strip()}"
