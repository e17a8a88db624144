"""An anonymity audit of a whole campaign, as a suspicious outsider would run it.

Residents answer by three channels at once: open QR codes (with distinctive addresses,
forwarded-for headers, user agents and cookies), numbered ballots answered by phone, and
paper ballots counted by double entry. Then every table is dumped (through the model and by
raw SQL over every table the database has), every log line is captured at DEBUG, and every
export is written; none may hold a token, a token hash (outside ballot_token), an address,
an agent, a cookie, answer text in logs, or a time finer than a day; and the order rows are
stored in must not follow arrival. docs/anonymity.md explains the design; docs/security.md
lists the threats.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import inspect, select, text

from survey.db import db
from survey.models import Campaign, Unit
from survey.testing import GENERAL_ITEMS, csrf_from, visit_answer

from test_paper import tokens_on_ballots

ITEMS = GENERAL_ITEMS  # the five-goods (assembly) form's satisfaction items
UNITS = [("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区党支部", "general")]
# tables holding what residents answered, or counts and bookkeeping derived from it
RESPONSE_SIDE = ("response", "answer", "tally", "comment_moderation", "paper_aggregate", "paper_tally_sheet")
# paper counting keeps, per printed serial, its status and (until counted) the clerks' entries:
# ballot-side bookkeeping like ballot_token, sharing nothing with the response tables
PAPER_BALLOT_SIDE = ("paper_ballot", "paper_entry")
TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b")
OPEN_CLIENTS = 12
PHONE_BALLOTS = 3
PAPER_BALLOTS = 3


def spearman(order):
    n = len(order)
    return 1 - 6 * sum((i - v) ** 2 for i, v in enumerate(order)) / (n * (n * n - 1))


@pytest.fixture
def audited(app, admin_client, make_campaign, tmp_path, caplog):
    """Run the mixed campaign and return what an auditor must not find, and where to look."""
    from survey import paper
    from survey.tokens import token_hash

    # every logger at DEBUG for the whole run (restored afterwards by caplog)
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        if not name.startswith("sqlalchemy.engine"):
            caplog.set_level(logging.DEBUG, logger=name)
    for name in ("survey", "werkzeug", "flask", "sqlalchemy.pool"):
        caplog.set_level(logging.DEBUG, logger=name)
    # SQL echo: statements at INFO, their parameters hidden (hide_parameters, survey/db.py); at
    # DEBUG SQLAlchemy prints every result row, which docs/security.md says never to enable
    for name in ("sqlalchemy.engine", "sqlalchemy.engine.Engine"):
        caplog.set_level(logging.INFO, logger=name)

    cid = make_campaign(slug="audit-2025", units=UNITS, show_comments=True)
    with app.app_context():
        uids = list(db.session.scalars(select(Unit.id).order_by(Unit.code)))
    with app.app_context(), force_locale("en"):
        paper.print_ballots(db.session.get(Campaign, cid), tmp_path / "ballots.pdf",
                            PHONE_BALLOTS + PAPER_BALLOTS + 1, base_url="http://survey.test", category="resident")
    printed = tokens_on_ballots(tmp_path / "ballots.pdf", tmp_path)  # read back as a holder would
    assert len(printed) == PHONE_BALLOTS + PAPER_BALLOTS + 1

    secrets = {"tokens": list(printed), "hashes": [token_hash(t) for t in printed], "addresses": [],
               "agents": [], "cookies": []}
    arrival = 0
    comments = []

    def comment():
        nonlocal arrival
        arrival += 1
        comments.append(f"到达第{arrival}号意见")
        return comments[-1]

    # open QR answers, interleaved with phone ballots so arrival mixes the channels
    phone = iter(printed[:PHONE_BALLOTS])
    for n in range(OPEN_CLIENTS):
        client = app.test_client()
        address, forwarded, agent = f"198.51.100.{n + 10}", f"203.0.113.{n + 50}", f"AuditAgent/{n}.7 (marker-{n})"
        tracker = f"trackcookie{n:04d}xyz"
        secrets["addresses"] += [address, forwarded]
        secrets["agents"].append(agent)
        secrets["cookies"].append(tracker)
        client.set_cookie("tracker", tracker, domain="localhost")
        for code in ("GEN-001", "GEN-002"):
            answer = {"category": "resident" if n % 3 else "deputy", "comment": comment(),
                      **{k: "satisfied" if (n + len(k)) % 4 else "unsatisfied" for k in ITEMS},
                      **visit_answer("satisfied" if n % 4 else "unsatisfied")}
            response = client.post(f"/s/{code}", data=answer, headers={"User-Agent": agent, "X-Forwarded-For": forwarded},
                                   environ_base={"REMOTE_ADDR": address})
            assert response.status_code == 303
            secrets["cookies"] += [c.split(";")[0].split("=", 1)[1] for c in response.headers.getlist("Set-Cookie")]
        if n % 4 == 0:
            token = next(phone, None)
            if token:
                data = {f"u{u}-{k}": "basic" for u in uids for k in ITEMS}
                data.update({f"u{u}-comment": comment() for u in uids})
                got = app.test_client().post(f"/b/{token}", data=data, headers={"User-Agent": "PhoneBallot/1.0 marker"},
                                             environ_base={"REMOTE_ADDR": "192.0.2.77"})
                assert got.status_code == 303
    secrets["addresses"].append("192.0.2.77")
    secrets["agents"].append("PhoneBallot/1.0 marker")
    assert next(phone, None) is None

    # paper ballots: two clerks enter each; one more is left half-entered (pending)
    with app.app_context(), force_locale("en"):
        campaign = db.session.get(Campaign, cid)
        serials = range(PHONE_BALLOTS + 1, PHONE_BALLOTS + PAPER_BALLOTS + 2)
        for serial in serials:
            entry = {f"{u}:{k}": "satisfied" if serial % 2 else "basic" for u in uids for k in ITEMS}
            assert paper.enter_ballot(campaign, serial, "clerk-a", entry, None) == "waiting"
            if serial != serials[-1]:
                assert paper.enter_ballot(campaign, serial, "clerk-b", entry, None) == "counted"

    # an admin hides one comment (comment_moderation)
    page = admin_client.get("/admin/campaigns/audit-2025/comments").get_data(as_text=True)
    hide = re.search(r'name="response_id" type="hidden" value="([0-9a-f]{32})"', page) or \
        re.search(r'name="response_id" value="([0-9a-f]{32})"', page)
    assert hide, "no comment to hide on the comments page"
    assert admin_client.post("/admin/campaigns/audit-2025/comments/hide", data={
        "response_id": hide.group(1), "item": "comment", "reason": "含个人信息",
        "csrf_token": csrf_from(page)}).status_code == 303
    secrets["cookies"] += [v for c in admin_client._cookies.values() for v in [c.value] if len(c.value) > 12]

    # close: on PostgreSQL this rewrites response-side rows in random-key order
    close = admin_client.post("/admin/campaigns/audit-2025/close",
                              data={"csrf_token": admin_client.csrf("/admin/campaigns/audit-2025")})
    assert close.status_code == 302
    return {"campaign": cid, "secrets": secrets, "comments": comments, "caplog": caplog}


def dump(app) -> dict[str, list[str]]:
    """Every table's rows as text: through the model, and by raw SQL over every table found."""
    tables: dict[str, list[str]] = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                for value in row:
                    if isinstance(value, (dt.datetime, dt.time)) and table.name in RESPONSE_SIDE + PAPER_BALLOT_SIDE:
                        raise AssertionError(f"{table.name} holds a time: {value!r}")
                tables.setdefault(table.name, []).append(repr(tuple(row)))
        names = inspect(db.engine).get_table_names()
        assert set(RESPONSE_SIDE + PAPER_BALLOT_SIDE) <= set(names)
        for name in names:
            rows = db.session.execute(text(f'SELECT * FROM "{name}"')).all()
            tables.setdefault(name, [])
            tables[name] += [repr(tuple(r)) + " " + json.dumps([str(v) for v in r], ensure_ascii=False) for r in rows]
    return tables


def test_the_database_holds_nothing_that_identifies_a_respondent(app, audited):
    secrets = audited["secrets"]
    tables = dump(app)
    assert any("到达第" in row for row in tables["answer"])  # the audit sees the answers themselves
    everywhere = "\n".join(f"{name}: {row}" for name, rows in tables.items() for row in rows)
    for kind in ("tokens", "addresses", "agents", "cookies"):
        for value in secrets[kind]:
            assert value not in everywhere, f"a {kind[:-1]} is stored: {value!r}"
    for name, rows in tables.items():
        joined = "\n".join(rows)
        if name != "ballot_token":
            assert not any(h in joined for h in secrets["hashes"]), f"{name} holds a token hash"
        if name in RESPONSE_SIDE + PAPER_BALLOT_SIDE:
            assert not TIME_OF_DAY.search(joined), f"{name} holds a time of day"
    with app.app_context():
        inspector = inspect(db.engine)
        columns = {name: {c["name"]: c for c in inspector.get_columns(name)}
                   for name in RESPONSE_SIDE + PAPER_BALLOT_SIDE + ("ballot_token",)}
    token_columns = set(columns["ballot_token"])
    response_columns = set().union(*(columns[n] for n in RESPONSE_SIDE))
    for name in RESPONSE_SIDE:
        assert set(columns[name]) & token_columns <= {"campaign_id"}, name
    for name in PAPER_BALLOT_SIDE:
        assert set(columns[name]) & response_columns <= {"campaign_id"}, name
    for name in RESPONSE_SIDE + PAPER_BALLOT_SIDE:
        for column in columns[name].values():
            kind = str(column["type"]).upper()
            assert "TIME" not in kind, f"{name}.{column['name']} is {kind}"
    # entries of counted paper ballots are forgotten: only the half-entered one remains
    assert len(tables["paper_entry"]) == 2  # one row through the model, one by raw SQL
    assert all("'pending'" in r or "'counted'" in r for r in tables["paper_ballot"])


def test_logs_hold_no_token_and_no_answer(app, audited):
    caplog = audited["caplog"]
    records = caplog.get_records("setup") + caplog.records  # the campaign ran in the fixture
    assert any(r.name.startswith("sqlalchemy.engine") for r in records)  # the capture saw SQL
    assert any(r.name.startswith("survey") for r in records) or len(records) > 100
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    for value in audited["secrets"]["tokens"] + audited["secrets"]["hashes"]:
        assert value not in logged
    for value in audited["comments"] + ["含个人信息"]:
        assert value not in logged
    for value in audited["secrets"]["addresses"] + audited["secrets"]["agents"]:
        assert value not in logged


def test_exports_hold_no_token_address_or_time(app, runner, audited, tmp_path):
    secrets = audited["secrets"]
    contents = {}
    for raw in ([], ["--raw"]):
        for fmt in ("csv", "xlsx", "json"):
            out = tmp_path / f"{'raw' if raw else 'results'}.{fmt}"
            result = runner.invoke(args=["export", "audit-2025", "--format", fmt, "--out", str(out), *raw])
            assert result.exit_code == 0, (result.output, result.exception)
            if fmt == "xlsx":
                book = load_workbook(out)
                cells = [c.value for s in book.worksheets for row in s.iter_rows() for c in row]
                # dates are date cells (openpyxl reads them as datetimes at midnight): a day, never a time
                days = [v for v in cells if isinstance(v, dt.datetime)]
                assert all(v.time() == dt.time(0) for v in days), f"{out} holds a time of day"
                contents[str(out)] = "\n".join(str(v.date()) if isinstance(v, dt.datetime) else repr(v) for v in cells)
            else:
                contents[str(out)] = out.read_text(encoding="utf-8-sig")
    assert "到达第" in contents[str(tmp_path / "raw.csv")]
    for name, content in contents.items():
        for value in secrets["tokens"] + secrets["hashes"] + secrets["addresses"] + secrets["agents"] + secrets["cookies"]:
            assert value not in content, f"{name} holds {value!r}"
        assert not TIME_OF_DAY.search(content), f"{name} holds a time of day"
        assert "datetime" not in content


def test_storage_order_does_not_follow_arrival(app, backend, audited):
    with app.app_context():
        if backend == "postgres":
            # closing rewrote the campaign's rows in one transaction, in random-key order
            xmins = {r[0] for r in db.session.execute(text("SELECT xmin::text FROM response"))}
            token_xmins = {r[0] for r in db.session.execute(text("SELECT xmin::text FROM ballot_token"))}
            # one transaction wrote all responses and another all tokens: no pairing is left
            assert len(xmins) == 1 and len(token_xmins) == 1 and not xmins & token_xmins
            sql = ("SELECT a.text FROM response r JOIN answer a ON a.response_id = r.id "
                   "AND a.item = 'comment' ORDER BY r.ctid")
        else:
            sql = ("SELECT (SELECT text FROM answer a WHERE a.response_id = r.id AND a.item = 'comment') "
                   "FROM response r")
        texts = [t for (t,) in db.session.execute(text(sql)) if t]
    order = [int(re.search(r"第(\d+)号", t).group(1)) - 1 for t in texts]
    assert sorted(order) == list(range(len(audited["comments"])))
    assert order != sorted(order)
    assert abs(spearman(order)) < 0.6, order
