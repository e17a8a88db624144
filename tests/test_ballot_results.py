"""What residents see of remedies (issue 15, item 3): the public results page and API show each
listed unit's remedy status and, once verified, the report of what was done, as escaped text;
a ballot's address (/b/<token>) shows its holder, once the campaign is published, the results
and remedy status of the units on that ballot — the same page whether the ballot was answered
or not, with nothing written to the database and no log line carrying the token."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from survey.db import db
from survey.models import Campaign, Remedy, Unit

from test_tokens import ballot_answer

ITEMS = ["leadership", "clean", "members", "mechanism", "results", "development", "contact",
         "disputes", "attitude", "overall"]
UNITS = [("P-1", "城关镇中心小学", "general"), ("P-2", "东街社区", "general"), ("P-3", "城关镇卫生院", "general")]
INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'
REPORT = "已增设周六服务窗口。\n" + INJECTION


@pytest.fixture
def published(app, client, make_campaign, make_tokens, full_answer):
    """pub-2025, published: P-1 under the line, its record verified (report with HTML in it),
    P-2 under the line, overdue; P-3 above it. Three ballots listing P-1 and P-2: the first
    answered by phone, the other two never."""
    from survey.campaigns import transition
    from survey.registry import current_registry
    from survey.responses import Sheet, store
    cid = make_campaign(slug="pub-2025", units=UNITS, state="open")
    tokens = make_tokens(cid, n=3, category="resident", unit_codes=["P-1", "P-2"])
    with app.app_context():
        ids = {u.code: u.id for u in db.session.scalars(select(Unit).filter_by(campaign_id=cid))}
    answered = client.post(f"/b/{tokens[0]}", data=ballot_answer([ids["P-1"], ids["P-2"]], full_answer))
    assert answered.status_code == 303
    with app.app_context():
        def sheets(code, n, choice):
            return [Sheet(cid, ids[code], "five-goods", "resident",
                          {k: (choice, None, "satisfaction") for k in ITEMS}) for _ in range(n)]
        store(sheets("P-1", 40, "unsatisfied") + sheets("P-2", 40, "unsatisfied") + sheets("P-3", 40, "satisfied"))
        campaign = db.session.get(Campaign, cid)
        transition(campaign, "close", current_registry(), "test")
        transition(campaign, "publish", current_registry(), "test")
        db.session.commit()
        records = {r.unit.code: r for r in db.session.scalars(select(Remedy).filter_by(campaign_id=cid))}
        assert sorted(records) == ["P-1", "P-2"]
        records["P-1"].status, records["P-1"].plan, records["P-1"].report = "verified", "方案", REPORT
        records["P-2"].due_on = dt.date.today() - dt.timedelta(days=1)  # open and past due
        db.session.commit()
    return {"id": cid, "answered": tokens[0], "unanswered": tokens[1:], "ids": ids}


def test_public_page_shows_status_and_the_verified_report_escaped(client, published):
    html = client.get("/results/pub-2025?lang=zh_CN").get_data(as_text=True)
    remedy = html[html.index("remedy-list"):]
    assert "已验收" in remedy and "逾期" in remedy
    assert "已增设周六服务窗口。" in remedy
    assert INJECTION not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "方案" not in remedy  # the plan is the office's, not published
    english = client.get("/results/pub-2025?lang=en").get_data(as_text=True)
    assert "verified" in english and "overdue" in english


def test_api_gives_each_listed_unit_its_remedy_status(client, published):
    units = {u["code"]: u for u in client.get("/api/campaigns/pub-2025/results").get_json()["units"]}
    assert units["P-1"]["remedy"]["status"] == "verified" and units["P-1"]["remedy"]["report"] == REPORT
    assert units["P-2"]["remedy"] == {"status": "overdue", "report": None,
                                      "due_on": (dt.date.today() - dt.timedelta(days=1)).isoformat()}
    assert units["P-3"]["remedy"] is None


def test_a_report_shows_only_once_verified(app, client, published):
    with app.app_context():
        record = db.session.scalar(select(Remedy).join(Unit).where(Unit.code == "P-2"))
        record.status, record.plan, record.report = "done", "方案二", "二号报告"
        record.due_on = dt.date.today() + dt.timedelta(days=5)
        db.session.commit()
    html = client.get("/results/pub-2025?lang=zh_CN").get_data(as_text=True)
    assert "已完成" in html and "二号报告" not in html
    units = {u["code"]: u for u in client.get("/api/campaigns/pub-2025/results").get_json()["units"]}
    assert units["P-2"]["remedy"]["status"] == "done" and units["P-2"]["remedy"]["report"] is None


def _ballot_page(client, token, lang="zh_CN"):
    client.set_cookie("lang", lang)
    response = client.get(f"/b/{token}")
    return response, response.get_data()


def test_ballot_address_shows_the_ballots_units_results_and_remedy_status(client, published):
    response, body = _ballot_page(client, published["unanswered"][0])
    html = body.decode()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the link to all results carries no token
    assert "城关镇中心小学" in html and "东街社区" in html and "城关镇卫生院" not in html  # only its units
    assert "已验收" in html and "逾期" in html and "已增设周六服务窗口。" in html
    assert INJECTION not in html and "&lt;script&gt;" in html
    assert "/results/pub-2025" in html and published["unanswered"][0] not in html
    english = _ballot_page(client, published["unanswered"][0], "en")[1].decode()
    assert "verified" in english and "overdue" in english and "Must remedy" in english


def test_answered_and_unanswered_ballots_get_byte_identical_pages(client, published):
    for lang in ("zh_CN", "en"):
        answered = _ballot_page(client, published["answered"], lang)
        pages = [answered] + [_ballot_page(client, t, lang) for t in published["unanswered"]]
        assert {p[0].status_code for p in pages} == {200}
        assert len({p[1] for p in pages}) == 1, "the page tells an answered ballot from an unanswered one"
        assert len({tuple(sorted((k, v) for k, v in p[0].headers.items() if k != "Date")) for p in pages}) == 1
    # the answers themselves are nowhere on it: the comment given on the answered ballot
    assert "服务态度好".encode() not in answered[1]
    # a POST is still refused alike for both: the campaign is closed to answers
    posted = [client.post(f"/b/{t}", data={}) for t in (published["answered"], published["unanswered"][0])]
    assert {p.status_code for p in posted} == {410} and posted[0].get_data() == posted[1].get_data()


def _fingerprint(app, backend) -> dict[str, tuple]:
    """Every table's row count and rows; on PostgreSQL with each row version's xmin and place
    (ctid), so an update that writes the same values back still shows."""
    with app.app_context():
        out = {}
        for name in inspect(db.engine).get_table_names():
            if backend == "postgres":
                rows = db.session.execute(text(
                    f'SELECT xmin::text, ctid::text, t::text FROM "{name}" t ORDER BY ctid')).all()
            else:
                rows = sorted(map(repr, db.session.execute(text(f'SELECT * FROM "{name}"')).all()))
            out[name] = (len(rows), tuple(rows))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return out


def _sqlite_files(app) -> dict[str, bytes]:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*")}


def test_looking_writes_nothing_and_logs_no_token(app, client, published, backend, caplog):
    token = published["unanswered"][0]
    _ballot_page(client, token)  # warm caches, so only the looks below are measured
    if backend == "sqlite":
        with app.app_context():
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        files = _sqlite_files(app)
    before = _fingerprint(app, backend)
    assert before["ballot_token"][0] == 3 and before["response"][0] > 0
    with caplog.at_level(logging.DEBUG):
        for t in [token, published["answered"]]:
            for lang in ("zh_CN", "en"):
                assert _ballot_page(client, t, lang)[0].status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if backend == "sqlite":
        assert _sqlite_files(app) == files, "looking at a ballot's page changed the database files"
    assert _fingerprint(app, backend) == before, "looking at a ballot's page wrote a row"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in logged and published["answered"] not in logged


def test_closed_not_published_says_results_come_later_alike_for_both(client, app, make_campaign, make_tokens,
                                                                     full_answer):
    cid = make_campaign(slug="cl-2025", units=UNITS[:1])
    answered, unanswered = make_tokens(cid, n=2, category="resident")
    with app.app_context():
        uid = db.session.scalar(select(Unit.id).filter_by(campaign_id=cid))
    assert client.post(f"/b/{answered}", data=ballot_answer([uid], full_answer)).status_code == 303
    from survey.campaigns import transition
    from survey.registry import current_registry
    with app.app_context():
        transition(db.session.get(Campaign, cid), "close", current_registry(), "test")
        db.session.commit()
    pages = [_ballot_page(client, t) for t in (answered, unanswered)]
    assert {p[0].status_code for p in pages} == {410} and pages[0][1] == pages[1][1]
    assert "结果公布后" in pages[0][1].decode()
    assert "城关镇中心小学" not in pages[0][1].decode()  # no results before they are published


def test_after_the_scrub_the_address_still_resolves_to_its_ballots_units(app, client, published):
    from survey.anonymity import scrub
    with app.app_context():
        scrub(published["id"])
        db.session.commit()
    before = _ballot_page(client, published["unanswered"][0])[1]
    assert "东街社区" in before.decode()
    assert _ballot_page(client, published["answered"])[1] == before
    assert client.get("/b/" + "A" * 22).status_code == 404  # a token never printed: unknown, as before


def test_a_withdrawn_result_no_longer_shows_on_the_ballot(app, client, published):
    from survey.campaigns import withdraw
    with app.app_context():
        withdraw(db.session.get(Campaign, published["id"]), "复核", "test")
        db.session.commit()
    response, body = _ballot_page(client, published["unanswered"][0])
    assert response.status_code == 410 and "城关镇中心小学" not in body.decode()
