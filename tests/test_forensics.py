"""Forensic attacks on what the app leaves behind (issue 9, attacks 1–6), performed as a hostile
reader with the database files, the server's logs and a database superuser's tools would.
Each attack is first shown to work on the traces answering leaves, then to find nothing once
the campaign is scrubbed (survey/anonymity.py). docs/security.md lists them."""
from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

import forensics
from survey.anonymity import scrub
from survey.db import db
from survey.models import Campaign, CommentModeration, Unit
from survey.testing import _backends
from survey.tokens import token_hash
from test_anonymity import spearman
from test_tokens import ballot_answer, unit_ids

def only(backend: str):
    """Run a test on one backend, if the suite runs that backend at all (SURVEY_TEST_BACKENDS)."""
    return pytest.mark.parametrize("backend", [backend] if backend in _backends() else [])


TOKEN_SIDE = {"ballot_token", "paper_ballot", "paper_entry", "form_nonce"}
RESPONSE_SIDE = {"response", "answer", "tally", "comment_moderation", "paper_aggregate"}


def answer_ballots(app, client, make_campaign, make_tokens, full_answer, n=30, **settings):
    """An open campaign whose n ballots are answered by phone, each with comment 'no <i>'.
    Returns the campaign id, the token hashes in order of answering, and response id → i."""
    campaign = make_campaign(units=[("GEN-001", "城关镇党委", "general")], **settings)
    tokens = make_tokens(campaign, n=n, category="resident")
    uid = unit_ids(app)
    for i, token in enumerate(tokens):
        reply = client.post(f"/b/{token}", data=ballot_answer(uid, {**full_answer, "comment": f"no {i}"}))
        assert reply.status_code == 303
    return campaign, [token_hash(t) for t in tokens], arrival_of_responses(app)


def arrival_of_responses(app) -> dict[str, int]:
    """Which answer each response was, read from its comment (the test knows; an attacker does not)."""
    with app.app_context():
        rows = db.session.execute(text("SELECT response_id, text FROM answer WHERE item = 'comment'")).all()
    return {rid: int(re.search(r"\d+", t).group()) for rid, t in rows}


def scrub_now(app, campaign):
    with app.app_context():
        return scrub(campaign)


def database_file(app) -> Path:
    return Path(app.instance_path) / "survey.sqlite"


# --- SQLite --------------------------------------------------------------------------------------
@only("sqlite")
def test_wal_replay_pairs_ballots_with_responses_until_scrubbed(app, client, make_campaign, make_tokens,
                                                                full_answer):
    """Attack 1: replaying the write-ahead log commit by commit pairs each redeemed token with
    the response written in the same commit; after a scrub the log holds nothing to replay."""
    campaign, hashes, arrival = answer_ballots(app, client, make_campaign, make_tokens, full_answer)
    wal = database_file(app).with_name("survey.sqlite-wal")
    by_arrival = {i: rid for rid, i in arrival.items()}
    pairs = forensics.replay_pairs(wal)
    linked = [h for i, h in enumerate(hashes) if pairs.get(h) == {by_arrival[i]}]
    assert len(linked) == len(hashes), "the attack works on the traces answering leaves"

    report = scrub_now(app, campaign)
    assert report.rows >= len(hashes) * 7  # at least each response row and its answers to the QR form (5 + comment)
    assert forensics.replay_pairs(wal) == {}
    left = [c for pages in forensics.wal_commits(wal) for n, p in pages.items() for c in forensics.leaf_cells(p, n)
            if forensics.is_token(c.values) or forensics.is_response(c.values)]
    assert left == [], "the log keeps no page of tokens or responses"


@only("sqlite")
def test_cell_offsets_give_no_arrival_order_after_scrub(app, client, make_campaign, full_answer):
    """Attack 2: after a checkpoint, the place of each response's cell inside its B-tree page
    gives its arrival order; after a scrub it follows the random ids instead."""
    campaign = make_campaign(units=[("GEN-001", "城关镇党委", "general")], allow_repeat=True)
    for i in range(40):
        assert client.post("/s/GEN-001", data={**full_answer, "comment": f"no {i}"}).status_code == 303
    arrival = arrival_of_responses(app)
    with app.app_context(), db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def order():
        cells = forensics.cells_in_file_order(database_file(app), forensics.is_response)
        return [arrival[c.values[0]] for c in cells]

    before = order()
    assert sorted(before) == list(range(40))
    assert spearman(before) > 0.9, "the attack works on the traces answering leaves"
    scrub_now(app, campaign)
    after = order()
    assert sorted(after) == list(range(40))
    assert abs(spearman(after)) < 0.6


@only("sqlite")
def test_deleted_rows_leave_nothing_in_freed_pages(app, make_campaign, make_tokens, tmp_path):
    """Attack 3: deleted rows (the clerks' entries of a counted paper ballot) must not stay
    readable in freed pages, the file or its log, whatever SQLite's compiled default is."""
    # without secure_delete a deleted row stays in the file: the attack, shown on a copy
    plain = tmp_path / "plain.sqlite"
    with sqlite3.connect(plain) as conn:
        conn.execute("PRAGMA secure_delete=OFF")
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [(f"clerk-entry-{i}-" + "x" * 300,) for i in range(40)])
        conn.commit()
        conn.execute("DELETE FROM t")
        conn.commit()
    assert b"clerk-entry-7-" in plain.read_bytes()

    from survey import paper
    from survey.paper.double_entry import field_name
    campaign = make_campaign(units=[("GEN-001", "城关镇党委", "general")])
    make_tokens(campaign, n=3, category="resident")
    with app.app_context(), force_locale("en"):
        c = db.session.get(Campaign, campaign)
        uid = db.session.scalar(select(Unit.id))
        form = paper.ballot_form(c, 1, "en")
        entry = {field_name(uid, q.key): q.choices[-1][0] for block in form.blocks for q in block.questions}
        assert paper.enter_ballot(c, 1, "clerk-a", entry) == "waiting"
        assert paper.enter_ballot(c, 1, "clerk-b", entry) == "counted"
    marker = field_name(uid, "leadership").encode()
    wal = database_file(app).with_name("survey.sqlite-wal")
    assert marker in wal.read_bytes(), "the log holds the entries until a scrub"

    scrub_now(app, campaign)
    main = database_file(app).read_bytes()
    assert marker not in main and (not wal.exists() or marker not in wal.read_bytes())
    pages = forensics.main_file_pages(database_file(app))
    free = forensics.freelist_pages(database_file(app))
    assert all(marker not in pages[number] for number in free)


# --- PostgreSQL ----------------------------------------------------------------------------------
def xmin_groups(app) -> dict[str, dict[str, list]]:
    """Every row of the answer-side tables grouped by the transaction that wrote it."""
    groups: dict[str, dict[str, list]] = {}
    with app.app_context():
        for table in sorted(TOKEN_SIDE | RESPONSE_SIDE):
            key = {"ballot_token": "token_hash", "response": "id", "answer": "response_id", "form_nonce": "nonce_hash",
                   "comment_moderation": "response_id", "paper_ballot": "serial", "paper_entry": "serial"}.get(table, "item")
            for xmin, value in db.session.execute(text(f"SELECT xmin::text, {key} FROM {table}")):
                groups.setdefault(xmin, {}).setdefault(table, []).append(value)
    return groups


def count_paper_ballot(app, campaign, serial):
    """Two clerks enter ballot No. serial with the last box of every line marked."""
    from survey import paper
    from survey.paper.double_entry import field_name
    with app.app_context(), force_locale("en"):
        c = db.session.get(Campaign, campaign)
        form = paper.ballot_form(c, serial, "en")
        entry = {field_name(b.unit_id, q.key): q.choices[-1][0] for b in form.blocks for q in b.questions}
        paper.enter_ballot(c, serial, "clerk-a", entry)
        assert paper.enter_ballot(c, serial, "clerk-b", entry) == "counted"


@only("postgres")
def test_xmin_groups_link_nothing_after_scrub(app, client, make_campaign, make_tokens, full_answer):
    """Attack 4: rows written by one transaction share its xmin, so a redeemed token pairs with
    its responses, and a paper ballot's marks are read off the tally rows its count updated.
    After the scrub no transaction wrote both a token-side and a response-side row."""
    campaign, hashes, arrival = answer_ballots(app, client, make_campaign, make_tokens, full_answer, n=20)
    paper_tokens = make_tokens(campaign, n=1, category="resident")
    assert paper_tokens
    count_paper_ballot(app, campaign, 21)  # the only one to tick the last boxes
    by_arrival = {i: rid for rid, i in arrival.items()}
    groups = xmin_groups(app)
    linked = [h for i, h in enumerate(hashes)
              if any(h in g.get("ballot_token", []) and by_arrival[i] in g.get("response", []) for g in groups.values())]
    assert len(linked) == len(hashes), "the attack works on the traces answering leaves"
    marks = [g["tally"] for g in groups.values() if 21 in g.get("paper_ballot", []) and "tally" in g]
    assert marks and len(marks[0]) >= 10  # the raters row and every item the ballot marked

    with app.app_context():
        from survey.campaigns import transition
        from survey.registry import current_registry
        transition(db.session.get(Campaign, campaign), "close", current_registry(), "test")
        db.session.commit()
    for xmin, tables in xmin_groups(app).items():
        assert not (set(tables) & TOKEN_SIDE and set(tables) & RESPONSE_SIDE), (xmin, sorted(tables))
    with app.app_context():
        order = [arrival[r] for (r,) in db.session.execute(text(
            "SELECT id FROM response WHERE channel = 'online' ORDER BY ctid"))]
    assert sorted(order) == list(range(20)) and abs(spearman(order)) < 0.7


@only("postgres")
def test_dead_tuples_and_page_bytes_tell_nothing_after_scrub(app, client, make_campaign, make_tokens, full_answer):
    """Attack 4: pageinspect reads dead tuple versions: a token's old version ends (xmax) in
    the transaction its responses begin in (xmin). After a scrub no dead tuple is left, and no
    byte of an old version either (plain VACUUM would leave them in the page)."""
    campaign, hashes, arrival = answer_ballots(app, client, make_campaign, make_tokens, full_answer, n=20)
    with app.app_context():
        db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        db.session.commit()

    def heap_pages(table):
        """(relation, page number) of every page of a table or of its partitions."""
        parts = list(db.session.scalars(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass)"), {"t": table})) or [table]
        return [(part, page) for part in parts for page in range(db.session.scalar(
            text(f"SELECT pg_relation_size('{part}') / current_setting('block_size')::int")))]

    def dead(table):
        with app.app_context():
            rows = []
            for part, page in heap_pages(table):
                rows += db.session.execute(text(
                    f"SELECT t_xmin::text, t_xmax::text FROM heap_page_items(get_raw_page('{part}', {page})) "
                    "WHERE (t_xmax <> '0' AND t_infomask & 128 = 0) OR lp_flags <> 1")).all()
            return rows

    def raw(table) -> bytes:
        with app.app_context():
            return b"".join(db.session.scalar(text(f"SELECT get_raw_page('{part}', {page})"))
                            for part, page in heap_pages(table))

    with app.app_context():
        response_xmins = {x for (x,) in db.session.execute(text("SELECT xmin::text FROM response"))}
    ended = {xmax for _xmin, xmax in dead("ballot_token")}
    assert len(ended & response_xmins) == len(hashes), "the attack works on the traces answering leaves"

    scrub_now(app, campaign)
    for table in ("ballot_token", "response", "answer", "tally"):
        assert dead(table) == [], table
    answers = raw("answer")
    for i in range(20):
        assert len(re.findall(rf"no {i}(?!\d)".encode(), answers)) == 1, f"an old version of comment {i} is left"


# --- both databases ------------------------------------------------------------------------------
def test_hidden_comment_stays_hidden_through_scrubs(app, admin_client, make_campaign, make_tokens, full_answer):
    """Attack 5: the scrub deletes and re-inserts responses; a hidden comment must stay hidden."""
    from survey.results import comments_query
    campaign, _hashes, arrival = answer_ballots(app, admin_client, make_campaign, make_tokens, full_answer, n=6)
    secret = next(rid for rid, i in arrival.items() if i == 3)
    slug = "test-2025"
    reply = admin_client.post(f"/admin/campaigns/{slug}/comments/hide", data={
        "response_id": secret, "item": "comment", "reason": "names a person",
        "csrf_token": admin_client.csrf(f"/admin/campaigns/{slug}/comments")})
    assert reply.status_code == 303

    def visible():
        with app.app_context():
            return {r.response_id for r in db.session.execute(comments_query(campaign, visible_only=True))}

    assert secret not in visible() and len(visible()) == 5
    scrub_now(app, campaign)
    with app.app_context():
        from survey.campaigns import transition
        from survey.registry import current_registry
        transition(db.session.get(Campaign, campaign), "close", current_registry(), "test")
        db.session.commit()
        row = db.session.get(CommentModeration, (secret, "comment"))
        assert row is not None and row.reason == "names a person"
    assert secret not in visible() and len(visible()) == 5


def test_scrub_under_answering_loses_nothing(app, make_campaign, make_tokens, full_answer, monkeypatch):
    """Answering goes on during a scrub: every acknowledged answer is stored and counted once."""
    from survey import anonymity
    monkeypatch.setattr(anonymity, "RESPONSES_PER_CHUNK", 10)
    monkeypatch.setattr(anonymity, "TOKENS_PER_CHUNK", 10)
    campaign = make_campaign(units=[("GEN-001", "城关镇党委", "general")], allow_repeat=True)
    tokens = make_tokens(campaign, n=40, category="resident")
    uid = unit_ids(app)
    client = app.test_client()
    for i in range(60):
        assert client.post("/s/GEN-001", data={**full_answer, "comment": f"early {i}"}).status_code == 303
    acknowledged, failures = [], []

    def answer(worker):
        c = app.test_client()
        for _ in range(25):
            if worker == 0 and tokens:
                reply = c.post(f"/b/{tokens.pop()}", data=ballot_answer(uid, full_answer))
            else:
                reply = c.post("/s/GEN-001", data=full_answer)
            (acknowledged if reply.status_code == 303 else failures).append(reply.status_code)

    workers = [threading.Thread(target=answer, args=(w,)) for w in range(3)]
    for w in workers:
        w.start()
    reports = []
    while any(w.is_alive() for w in workers) or len(reports) < 2:
        reports.append(scrub_now(app, campaign))
    for w in workers:
        w.join(timeout=120)
    assert failures == [] and len(acknowledged) == 75
    assert all(r.chunks > 3 for r in reports)
    with app.app_context():
        stored = db.session.scalar(text("SELECT count(*) FROM response WHERE campaign_id = :c"), {"c": campaign})
        counted = db.session.scalar(text("SELECT sum(count) FROM tally WHERE item = '' AND campaign_id = :c"),
                                    {"c": campaign})
        redeemed = db.session.scalar(text("SELECT count(*) FROM ballot_token WHERE redeemed"))
    assert stored == counted == 60 + len(acknowledged)
    assert redeemed == 40 - len(tokens)


# --- logs --------------------------------------------------------------------------------------
def spellings(token: str) -> list[str]:
    """Every way a ballot address can be typed and still reach (or nearly reach) the ballot."""
    first = "%{:02X}".format(ord(token[0]))
    return [f"/b/{token}", f"/%62/{token}", f"//b//{token}", f"/B/{token}", f"/b/{token}/junk",
            f"/b/{token}?x={token}", f"/b/{token};x", f"/b/{first}{token[1:]}", f"/b/./{token}",
            f"/s/../b/{token}", f"/b/{token}%20", f"/b/{token}/", f"/%2F/b/{token}"]


def check_request_lines(log: str, tokens: list[str], resident: str) -> list[str]:
    """The request lines of a log, after checking none has a token (even part of one), the
    resident's address or a time finer than the hour."""
    for token in tokens:
        for start in range(0, len(token) - 8):
            assert token[start:start + 9] not in log, f"a piece of a token is in the log: {token[start:start + 9]}"
    assert resident not in log
    lines = [line for line in log.splitlines() if re.search(r'"(GET|POST|HEAD|-) ', line)]
    for line in lines:
        stamp = re.search(r"\[([^\]]*)\]", line).group(1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00Z?", stamp), line
        assert not re.search(r"\d\d:\d\d:\d\d|T\d\d:[0-5]\d:", line), line
    print("\n".join(lines))
    return lines


@only("sqlite")
def test_access_logs_keep_no_token_address_or_time(app, make_campaign, make_tokens, full_answer, tmp_path):
    """Attack 6: `survey serve --access-log` behind the documented nginx config, asked for a
    ballot in every spelling, answered by QR and by ballot from one resident's address: neither
    log has a token (nor a piece of one), the address or the minute."""
    import os
    import sys

    from stack import HOUR_MAP, LOG_FORMAT, NGINX_CONF, PROXY_LINES, BODY_AND_GZIP, request, spawn, stop_group, wait_listening
    from survey.testing import free_port
    campaign = make_campaign(allow_repeat=True)
    tokens = make_tokens(campaign, n=2, category="resident")
    app_port, port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=app.instance_path, SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"],
               SURVEY_SECRET_KEY="x", SURVEY_PROXY_COUNT="1", SURVEY_RATELIMIT_ENABLED="0")
    (tmp_path / "nginx-temp").mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = NGINX_CONF.format(user=user, tmp=tmp_path, port=port, servers=f"        server 127.0.0.1:{app_port};",
                             hour_map=HOUR_MAP, log_format=LOG_FORMAT, proxy_lines=PROXY_LINES,
                             body_and_gzip=BODY_AND_GZIP)
    (tmp_path / "nginx.conf").write_text(conf)
    processes = [spawn([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{app_port}",
                        "--workers", "2", "--access-log", "--allow-local-base-url"], tmp_path / "app.log", env=env, cwd=tmp_path)]
    try:
        wait_listening(app_port, processes[0], tmp_path / "app.log", timeout=60)
        processes.append(spawn(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                                "-g", f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;"],
                               tmp_path / "nginx.log"))
        wait_listening(port, processes[1], tmp_path / "nginx.log")
        resident = "127.0.5.77"
        uid = unit_ids(app)
        statuses = [request(port, "GET", path, source=resident).status for path in spellings(tokens[0])]
        assert statuses[0] == 200 and statuses[1] == 200, statuses
        answered = request(port, "POST", f"/%62/{tokens[1]}", data=ballot_answer(uid, full_answer), source=resident)
        assert answered.status == 303 and "X-Survey-Route" not in answered.headers
        assert request(port, "POST", "/s/GEN-001", data=full_answer, source=resident).status == 303
        import socket
        with socket.create_connection(("127.0.0.1", app_port), source_address=(resident, 0)) as raw:
            raw.sendall(f"GET /b/{tokens[0]} HTTP/1.1 junk\r\nHost: x\r\n\r\n".encode())  # a malformed line
            assert b" 400 " in raw.recv(200)
        time.sleep(0.5)  # gunicorn writes a line just after its response
    finally:
        for process in reversed(processes):
            stop_group(process)
    nginx_lines = check_request_lines((tmp_path / "access.log").read_text(), tokens, resident)
    app_lines = check_request_lines((tmp_path / "app.log").read_text(), tokens, resident)
    for lines in (nginx_lines, app_lines):
        assert any('"GET /b/<token>" 200' in line for line in lines), lines
        assert any('"POST /b/<token>" 303' in line for line in lines)
        assert any('"POST /s/<code>" 303' in line for line in lines)
    assert len(nginx_lines) == len(spellings(tokens[0])) + 2


@only("sqlite")
def test_dev_server_log_keeps_no_token_address_or_time(app, make_campaign, make_tokens, caplog):
    """Attack 6 on `survey demo`'s development server: the same request lines."""
    import logging

    from werkzeug.serving import make_server

    from stack import request
    from survey.logs import dev_request_handler
    from survey.testing import free_port
    campaign = make_campaign()
    tokens = make_tokens(campaign, n=1, category="resident")
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=dev_request_handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    caplog.set_level(logging.INFO, logger="werkzeug")
    thread.start()
    try:
        for path in spellings(tokens[0]):
            request(port, "GET", path, source="127.0.5.78")
    finally:
        server.shutdown()
        thread.join(timeout=10)
    log = "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")
    lines = check_request_lines(log, tokens, "127.0.5.78")
    assert sum('"GET /b/<token>" 200' in line for line in lines) >= 2
