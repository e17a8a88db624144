"""One answer per ballot: a token is redeemed exactly once, also when submissions race."""
import threading

from sqlalchemy import func, select

from survey.db import db
from survey.models import BallotToken, Response, Tally

TWO_UNITS = [("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区党支部", "general")]


def ballot_answer(unit_ids, full_answer, category=None):
    data = {}
    for unit_id in unit_ids:
        for key, value in full_answer.items():
            if key != "category":
                data[f"u{unit_id}-{key}"] = value
    if category:
        data["category"] = category
    return data


def unit_ids(app):
    from survey.models import Unit
    with app.app_context():
        return list(db.session.scalars(select(Unit.id).order_by(Unit.code)))


def test_ballot_answers_every_unit_once(app, client, make_campaign, make_tokens, full_answer):
    campaign = make_campaign(units=TWO_UNITS)
    token, = make_tokens(campaign, category="deputy")
    page = client.get(f"/b/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "城关镇党委" in html and "东街社区党支部" in html
    assert 'name="category"' not in html  # the batch fixes the category
    response = client.post(f"/b/{token}", data=ballot_answer(unit_ids(app), full_answer))
    assert response.status_code == 303 and token not in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 2
        assert set(db.session.scalars(select(Response.category))) == {"deputy"}
        assert db.session.scalar(select(BallotToken.redeemed)) is True
    used = client.post(f"/b/{token}", data=ballot_answer(unit_ids(app), full_answer))
    assert used.status_code == 410
    assert client.get(f"/b/{token}").status_code == 410


def test_ballot_without_category_asks_for_one(app, client, make_campaign, make_tokens, full_answer):
    campaign = make_campaign()
    token, = make_tokens(campaign)
    missing = client.post(f"/b/{token}", data=ballot_answer(unit_ids(app), full_answer))
    assert missing.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(BallotToken.redeemed)) is False
    ok = client.post(f"/b/{token}", data=ballot_answer(unit_ids(app), full_answer, category="resident"))
    assert ok.status_code == 303


def test_unknown_malformed_and_other_state_tokens(client, make_campaign, make_tokens):
    campaign = make_campaign(state="closed")
    token, = make_tokens(campaign)
    assert client.get("/b/not-a-token").status_code == 404
    assert client.get("/b/" + "A" * 22).status_code == 404
    assert client.get("/b/" + "x" * 500).status_code == 404
    assert client.get(f"/b/{token}").status_code == 410


def test_open_only_campaign_refuses_tokens(client, make_campaign, make_tokens):
    campaign = make_campaign(access="open")
    token, = make_tokens(campaign)
    assert client.get(f"/b/{token}").status_code == 403


def test_racing_submissions_of_one_token_count_once(app, make_campaign, make_tokens, full_answer):
    """Twenty threads submit the same ballot at once: exactly one wins, on either database."""
    campaign = make_campaign(units=TWO_UNITS)
    token, = make_tokens(campaign, category="resident")
    data = ballot_answer(unit_ids(app), full_answer)
    statuses, barrier = [], threading.Barrier(20)

    def submit():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/b/{token}", data=data).status_code)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [303] + [410] * 19
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 2
        raters = db.session.scalar(select(func.sum(Tally.count)).where(Tally.item == ""))
    assert raters == 2
