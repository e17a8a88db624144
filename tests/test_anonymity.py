"""Anonymity: a response carries no address, agent, token, cookie or time finer than a day;
ids are random; nothing links the token table to responses, not even arrival order."""
import logging
import re

from sqlalchemy import inspect, select, text

from survey.db import db
from survey.logs import RedactTokens
from survey.models import Response

from test_tokens import ballot_answer, unit_ids

RESPONSE_COLUMNS = {"id", "campaign_id", "unit_id", "questionnaire", "category", "channel", "day"}
ANSWER_COLUMNS = {"response_id", "item", "choice", "text"}


def spearman(order):
    """Rank correlation between positions and values of a permutation of range(n)."""
    n = len(order)
    d2 = sum((i - v) ** 2 for i, v in enumerate(order))
    return 1 - 6 * d2 / (n * (n * n - 1))


def test_response_and_answer_tables_hold_nothing_identifying(app):
    with app.app_context():
        inspector = inspect(db.engine)
        response = {c["name"]: c for c in inspector.get_columns("response")}
        answer = {c["name"] for c in inspector.get_columns("answer")}
        token = {c["name"] for c in inspector.get_columns("ballot_token")}
    assert set(response) == RESPONSE_COLUMNS
    assert answer == ANSWER_COLUMNS
    assert str(response["day"]["type"]).upper() == "DATE"
    # no key is shared between tokens and responses
    assert token & set(response) == {"campaign_id"}


def test_response_ids_are_random_and_nothing_identifying_is_stored(app, client, make_campaign, full_answer):
    make_campaign(units=[("GEN-001", "城关镇党委", "general")], allow_repeat=True)
    for n in range(30):
        client.post("/s/GEN-001", data={**full_answer, "comment": f"第{n}份"},
                    headers={"User-Agent": "Agent-Marker/1.0", "X-Forwarded-For": "203.0.113.77"},
                    environ_base={"REMOTE_ADDR": "198.51.100.23"})
    with app.app_context():
        rows = db.session.execute(select(Response)).scalars().all()
        ids = [r.id for r in rows]
        dump = "\n".join(str(tuple(r)) for r in db.session.execute(text("SELECT * FROM response")))
        dump += "\n".join(str(tuple(r)) for r in db.session.execute(text("SELECT * FROM answer")))
    assert len(set(ids)) == 30 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    for marker in ("198.51.100.23", "203.0.113.77", "Agent-Marker", "answered_", "test-secret-key"):
        assert marker not in dump
    assert not re.search(r"\d{2}:\d{2}", dump), "no time of day is stored"


def _submission_order(app, stored_order_sql):
    """Positions of responses in storage order, as their submission numbers."""
    with app.app_context():
        rows = db.session.execute(text(stored_order_sql)).all()
    return [int(re.search(r"(\d+)", t).group(1)) for _rid, t in rows]


def test_storage_order_does_not_follow_arrival(app, client, backend, make_campaign, make_tokens, full_answer):
    """The order rows are stored in says nothing about the order tokens were redeemed in."""
    campaign = make_campaign(units=[("GEN-001", "城关镇党委", "general")])
    tokens = make_tokens(campaign, n=40, category="resident")
    uid = unit_ids(app)
    for n, token in enumerate(tokens):
        answer = {**full_answer, "comment": f"no {n}"}
        assert client.post(f"/b/{token}", data=ballot_answer(uid, answer)).status_code == 303
    if backend == "postgres":
        # on PostgreSQL arrival order lives in system columns until the campaign closes
        from survey.campaigns import transition
        from survey.models import Campaign
        from survey.registry import current_registry
        with app.app_context():
            transition(db.session.get(Campaign, campaign), "close", current_registry(), "test")
            db.session.commit()
            xmins = {r[0] for r in db.session.execute(text("SELECT xmin::text FROM response"))}
            token_xmins = {r[0] for r in db.session.execute(text("SELECT xmin::text FROM ballot_token"))}
        # one transaction wrote all responses and another all tokens: no pairing is left
        assert len(xmins) == 1 and len(token_xmins) == 1 and not xmins & token_xmins
        sql = ("SELECT r.id, a.text FROM response r JOIN answer a ON a.response_id = r.id "
               "AND a.item = 'comment' ORDER BY r.ctid")
    else:
        sql = ("SELECT r.id, (SELECT text FROM answer a WHERE a.response_id = r.id AND a.item = 'comment') "
               "FROM response r")  # natural order: how the rows lie in the file
    order = _submission_order(app, sql)
    assert sorted(order) == list(range(40))
    assert order != sorted(order)
    assert abs(spearman(order)) < 0.6


def test_logs_never_print_tokens_or_answers(app, client, make_campaign, make_tokens, full_answer, caplog):
    campaign = make_campaign()
    token, = make_tokens(campaign, category="resident")
    caplog.set_level(logging.DEBUG)
    for name in ("werkzeug", "survey"):
        logging.getLogger(name).addFilter(RedactTokens())
    client.get(f"/b/{token}")
    client.post(f"/b/{token}", data=ballot_answer(unit_ids(app), {**full_answer, "comment": "秘密意见"}))
    logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /b/%s HTTP/1.1" 200 -', token)
    logging.getLogger("werkzeug").info(f'127.0.0.1 - - "POST /b/{token}?x=1 HTTP/1.1" 303 -')
    text_logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/b/<token>" in text_logged
    assert token not in text_logged and "秘密意见" not in text_logged
