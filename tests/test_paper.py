"""Counting paper ballots: double entry per ballot, online-then-paper counts once, mismatches
block until resolved, tally sheets reconcile or store nothing; and the admin pages for them."""
import itertools
import subprocess

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from survey.db import db
from survey.models import Campaign, Response, Tally, Unit
from survey.models import PaperAggregate, PaperBallot, PaperEntry
from survey.testing import GENERAL_ITEMS, csrf_from

UNITS = [("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区党支部", "general")]
ITEMS = GENERAL_ITEMS  # the five-goods (assembly) form's satisfaction items


def tokens_on_ballots(pdf, folder):
    """The one-time tokens printed on each page, read with pdftoppm and zbarimg, in page order."""
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(pdf), str(folder / "page")], check=True)
    tokens = []
    for page in sorted(folder.glob("page-*.png")):
        codes = subprocess.run(["zbarimg", "--raw", "-q", str(page)], capture_output=True, text=True).stdout.split()
        tokens += [code.rsplit("/b/", 1)[1] for code in codes if "/b/" in code]
    return tokens


@pytest.fixture
def printed(app, make_campaign, tmp_path):
    """An open campaign of two units with ballots 1–3 printed for residents; their tokens."""
    from survey import paper
    make_campaign(units=UNITS)
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        paper.print_ballots(campaign, tmp_path / "b.pdf", 3, base_url="http://survey.test", category="resident")
    tokens = tokens_on_ballots(tmp_path / "b.pdf", tmp_path)
    assert len(tokens) == 3
    return tokens


def ids(app):
    with app.app_context():
        return [u.id for u in db.session.scalars(select(Unit).order_by(Unit.code))]


def values(app, choice="satisfied", **overrides):
    """A full paper entry: every item of every unit marked with choice."""
    out = {f"{u}:{k}": choice for u in ids(app) for k in ITEMS}
    out.update(overrides)
    return out


def enter(app, serial, clerk, entry, category=None):
    from survey import paper
    with app.app_context(), force_locale("en"):
        return paper.enter_ballot(db.session.scalar(select(Campaign)), serial, clerk, entry, category)


def tally(app, **where):
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(Tally.count), 0)).filter_by(**where))


def test_two_agreeing_entries_count_once_and_are_forgotten(app, printed):
    assert enter(app, 1, "clerk-a", values(app)) == "waiting"
    assert tally(app, channel="paper") == 0
    assert enter(app, 1, "clerk-b", values(app)) == "counted"
    assert tally(app, channel="paper", item="", choice="") == 2  # one rater for each unit
    assert tally(app, channel="paper", item="leadership", choice="satisfied", category="resident") == 2
    with app.app_context():
        ballot = db.session.get(PaperBallot, (db.session.scalar(select(Campaign.id)), 1))
        assert ballot.status == "counted" and ballot.clerks == ["clerk-a", "clerk-b"]
        assert db.session.scalar(select(func.count()).select_from(PaperEntry)) == 0
        assert set(db.session.scalars(select(Response.channel))) == {"paper"}
    from survey.paper import PaperError
    with pytest.raises(PaperError, match="counted already"):
        enter(app, 1, "clerk-c", values(app))


def test_same_clerk_cannot_enter_twice_and_unknown_serial(app, printed):
    from survey.paper import PaperError
    enter(app, 2, "clerk-a", values(app))
    with pytest.raises(PaperError, match="another clerk"):
        enter(app, 2, "clerk-a", values(app))
    with pytest.raises(PaperError, match="No ballot No. 99"):
        enter(app, 99, "clerk-a", values(app))
    with pytest.raises(PaperError, match="no answer entered"):
        enter(app, 3, "clerk-a", {})


def test_blank_and_invalid_lines_are_not_counted(app, printed):
    from survey.paper import BLANK, INVALID
    u1, u2 = ids(app)
    entry = values(app, **{f"{u1}:leadership": INVALID, f"{u1}:members": BLANK},
                   **{f"{u2}:{k}": BLANK for k in ITEMS})
    enter(app, 3, "clerk-a", entry)
    assert enter(app, 3, "clerk-b", entry) == "counted"
    assert tally(app, channel="paper", item="", choice="") == 1  # the wholly blank unit was not rated
    assert tally(app, channel="paper", item="leadership") == 0
    assert tally(app, channel="paper", item="mechanism") == 1


def test_answered_online_then_on_paper_counts_once(app, client, printed):
    answer = {f"u{u}-{k}": "satisfied" for u in ids(app) for k in ITEMS}
    assert client.post(f"/b/{printed[0]}", data=answer).status_code == 303
    from survey.paper import PaperError
    with pytest.raises(PaperError, match="already answered by phone"):
        enter(app, 1, "clerk-a", values(app))
    with pytest.raises(PaperError, match="already answered by phone"):
        enter(app, 1, "clerk-b", values(app))
    assert tally(app, item="", choice="") == 2  # two units, one ballot
    assert tally(app, channel="paper") == 0
    with app.app_context():
        assert db.session.scalar(select(PaperBallot.status)) == "online"


def test_paper_first_then_phone_is_refused(app, client, printed):
    enter(app, 2, "clerk-a", values(app))
    enter(app, 2, "clerk-b", values(app))
    answer = {f"u{u}-{k}": "satisfied" for u in ids(app) for k in ITEMS}
    assert client.post(f"/b/{printed[1]}", data=answer).status_code == 410
    assert tally(app, item="", choice="") == 2


def test_mismatch_blocks_until_resolved(app, printed):
    from survey import paper
    u1, _u2 = ids(app)
    enter(app, 1, "clerk-a", values(app))
    assert enter(app, 1, "clerk-b", values(app, **{f"{u1}:contact": "basic"})) == "mismatch"
    assert tally(app, channel="paper") == 0
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        listed, = paper.mismatches(campaign, "en")
        assert listed.serial == 1 and listed.clerks == ["clerk-a", "clerk-b"]
        assert listed.differences == [("城关镇党委", "In touch with people: the cadres often listen to people's views",
                                       {"clerk-a": "Satisfied", "clerk-b": "Basically satisfied"})]
        with pytest.raises(paper.PaperError, match="cannot resolve"):
            paper.resolve_ballot(campaign, 1, "clerk-a", "clerk-a")
        assert paper.resolve_ballot(campaign, 1, "supervisor", "clerk-b") == "counted"
    assert tally(app, channel="paper", item="contact", choice="basic") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaperEntry)) == 0


def test_third_entry_resolves(app, printed):
    u1, _u2 = ids(app)
    enter(app, 2, "clerk-a", values(app))
    enter(app, 2, "clerk-b", values(app, **{f"{u1}:contact": "basic"}))
    assert enter(app, 2, "clerk-c", values(app)) == "counted"
    assert tally(app, channel="paper", item="contact", choice="satisfied") == 2


def sheet(app, **totals):
    from survey.paper import BLANK, INVALID, TallyCounts
    u1, _u2 = ids(app)
    counts = {}
    for item in ITEMS:
        counts.update({(u1, item, "satisfied"): 30, (u1, item, "basic"): 10, (u1, item, "unsatisfied"): 5,
                       (u1, item, INVALID): 2, (u1, item, BLANK): 1})
    base = dict(category="resident", issued=50, returned=49, valid=48, invalid=1)
    base.update(totals)
    return TallyCounts(counts=counts, **base)


def test_tally_sheet_reconciles_and_adds_to_the_count(app, printed):
    from survey import paper
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        paper.enter_tally_sheet(campaign, sheet(app), "clerk-a")
        counts = paper.paper_aggregate_counts(campaign.id)
    u1, _u2 = ids(app)
    assert tally(app, channel="paper", item="", choice="", unit_id=u1) == 48
    assert tally(app, channel="paper", item="leadership", choice="basic") == 10
    assert counts[(u1, "", "", "resident", "paper")] == 48
    assert counts[(u1, "contact", "unsatisfied", "resident", "paper")] == 5
    assert not any(k[2].startswith("!") for k in counts)
    with app.app_context():
        assert db.session.scalar(select(PaperAggregate.count).filter_by(unit_id=u1, item="contact", choice="!invalid")) == 2


def test_reconciliation_error_names_unit_item_and_counts(app, printed):
    from survey import paper
    bad = sheet(app)
    u1, _u2 = ids(app)
    bad.counts[(u1, "leadership", "satisfied")] = 31
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        with pytest.raises(paper.ReconciliationError) as error:
            paper.enter_tally_sheet(campaign, bad, "clerk-a")
        problem, = error.value.problems
        assert "城关镇党委" in problem and "GEN-001" in problem and "Good leadership team" in problem
        assert "Satisfied 31" in problem and "= 49" in problem and "48 valid ballots" in problem
        with pytest.raises(paper.ReconciliationError, match=r"returned \(60\) are more than ballots issued \(50\)"):
            paper.enter_tally_sheet(campaign, sheet(app, returned=60, valid=59), "clerk-a")
    assert tally(app, channel="paper") == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaperAggregate)) == 0


# --- the admin pages ------------------------------------------------------------------------
def second_clerk(app):
    """Another signed-in admin, in its own client."""
    from survey.auth import create_user
    with app.app_context():
        create_user("clerk-two", "another-long-password")
    other = app.test_client()
    other.set_cookie("lang", "en", domain="localhost")
    page = other.get("/admin/login").get_data(as_text=True)
    assert other.post("/admin/login", data={"username": "clerk-two", "password": "another-long-password",
                                            "csrf_token": csrf_from(page)}).status_code == 302
    return other


def post_entry(client, serial, entry):
    url = "/admin/campaigns/test-2025/paper/entry"
    page = client.get(f"{url}?serial={serial}")
    assert page.status_code == 200
    return client.post(url, data={"serial": serial, "csrf_token": csrf_from(page.get_data(as_text=True)), **entry},
                       follow_redirects=True)


def test_admin_double_entry_and_pages(app, admin_client, printed):
    admin_client.set_cookie("lang", "en", domain="localhost")
    index = admin_client.get("/admin/campaigns/test-2025/paper/")
    assert index.status_code == 200 and "1–3" in index.get_data(as_text=True)
    form = admin_client.get("/admin/campaigns/test-2025/paper/entry?serial=2").get_data(as_text=True)
    assert "城关镇党委" in form and 'type="radio"' in form
    no_csrf = admin_client.post("/admin/campaigns/test-2025/paper/entry", data={"serial": 2, **values(app)})
    assert no_csrf.status_code == 400
    first = post_entry(admin_client, 2, values(app))
    assert "second clerk" in first.get_data(as_text=True)
    other = second_clerk(app)
    u1, _u2 = ids(app)
    second = post_entry(other, 2, values(app, **{f"{u1}:results": "unsatisfied"}))
    assert "differ" in second.get_data(as_text=True)
    listed = admin_client.get("/admin/campaigns/test-2025/paper/mismatches").get_data(as_text=True)
    assert "Ballot No. 2" in listed or "2" in listed
    for pdf in ("tally-sheet.pdf", "posters.pdf", "posters.pdf?a5=1"):
        got = admin_client.get(f"/admin/campaigns/test-2025/paper/{pdf}")
        assert got.status_code == 200 and got.data.startswith(b"%PDF")
    assert 'href="/admin/campaigns/test-2025/paper/"' in admin_client.get("/admin/campaigns/test-2025").get_data(as_text=True)


def test_admin_tally_sheet_error_then_accepted(app, admin_client, printed):
    admin_client.set_cookie("lang", "en", domain="localhost")
    from survey.paper import BLANK, INVALID
    url = "/admin/campaigns/test-2025/paper/tally"
    page = admin_client.get(url)
    assert page.status_code == 200
    u1, _u2 = ids(app)
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "category": "resident",
            "issued": "10", "returned": "10", "valid": "10", "invalid": "0"}
    for item, (choice, n) in itertools.product(ITEMS, [("satisfied", 6), ("basic", 3), (INVALID, 1), (BLANK, 0)]):
        data[f"c:{u1}:{item}:{choice}"] = str(n)
    data[f"c:{u1}:clean:basic"] = "4"
    refused = admin_client.post(url, data=data)
    assert refused.status_code == 422
    assert "城关镇党委" in refused.get_data(as_text=True) and "= 11" in refused.get_data(as_text=True)
    assert tally(app, channel="paper") == 0
    data[f"c:{u1}:clean:basic"] = "3"
    accepted = admin_client.post(url, data=data)
    assert accepted.status_code == 302
    assert tally(app, channel="paper", item="", choice="") == 10
