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


@pytest.fixture
def batch(app, make_campaign, tmp_path):
    """Like printed, without reading the tokens back (for tests that need none)."""
    from survey import paper
    make_campaign(units=UNITS)
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        paper.print_ballots(campaign, tmp_path / "b.pdf", 3, base_url="http://survey.test", category="resident")


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


def more_ballots(app, tmp_path, count=50):
    """Another batch for residents (ballots 4 … 3 + count), not read back."""
    from survey import paper
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        paper.print_ballots(campaign, tmp_path / "more.pdf", count, base_url="http://survey.test", category="resident")


def sheet(app, **totals):
    """A tally sheet of ballots 4–53 (50 issued, 49 returned, 1 wholly invalid) for unit 1."""
    from survey.paper import BLANK, INVALID, TallyCounts
    u1, _u2 = ids(app)
    counts = {}
    for item in ITEMS:
        counts.update({(u1, item, "satisfied"): 30, (u1, item, "basic"): 10, (u1, item, "unsatisfied"): 5,
                       (u1, item, INVALID): 2, (u1, item, BLANK): 1})
    base = dict(category="resident", issued=50, returned=49, valid=48, invalid=1, box="Box 1", ranges=[(4, 53)])
    base.update(totals)
    return TallyCounts(counts=counts, **base)


def enter_sheet(app, tally_sheet, *clerks):
    from survey import paper
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        return [paper.enter_tally_sheet(campaign, tally_sheet, clerk) for clerk in clerks]


def nothing_written(app):
    """No count, aggregate, sheet or sheet entry was stored and no token spent by a sheet."""
    from survey.models import BallotToken, PaperTallyEntry, PaperTallySheet
    with app.app_context():
        return (tally(app, channel="paper") == 0
                and not db.session.scalar(select(func.count()).select_from(PaperAggregate))
                and not db.session.scalar(select(func.count()).select_from(PaperTallySheet))
                and not db.session.scalar(select(func.count()).select_from(PaperTallyEntry))
                and not db.session.scalar(select(func.count()).select_from(BallotToken).filter_by(redeemed=True)))


def test_tally_sheet_reconciles_and_adds_to_the_count(app, batch, tmp_path):
    from survey import paper
    more_ballots(app, tmp_path)
    assert enter_sheet(app, sheet(app), "clerk-a") == ["waiting"]
    assert tally(app, channel="paper") == 0  # one entry is not enough
    assert enter_sheet(app, sheet(app), "clerk-b") == ["counted"]
    with app.app_context():
        counts = paper.paper_aggregate_counts(db.session.scalar(select(Campaign.id)))
    u1, _u2 = ids(app)
    assert tally(app, channel="paper", item="", choice="", unit_id=u1) == 48
    assert tally(app, channel="paper", item="leadership", choice="basic") == 10
    assert counts[(u1, "", "", "resident", "paper")] == 48
    assert counts[(u1, "contact", "unsatisfied", "resident", "paper")] == 5
    assert not any(k[2].startswith("!") for k in counts)
    with app.app_context():
        assert db.session.scalar(select(PaperAggregate.count).filter_by(unit_id=u1, item="contact", choice="!invalid")) == 2
        from survey.models import BallotToken
        assert db.session.scalar(select(func.count()).select_from(BallotToken).filter_by(redeemed=True)) == 50


def test_differing_tally_entries_wait_for_a_supervisor(app, batch, tmp_path):
    from survey import paper
    more_ballots(app, tmp_path)
    u1, _u2 = ids(app)
    other = sheet(app)
    other.counts[(u1, "leadership", "satisfied")] = 29
    other.counts[(u1, "leadership", "basic")] = 11
    assert enter_sheet(app, sheet(app), "clerk-a") + enter_sheet(app, other, "clerk-b") == ["waiting", "mismatch"]
    assert tally(app, channel="paper") == 0
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        (box, entries), = paper.tally_mismatches(campaign)
        assert box == "Box 1" and set(entries) == {"clerk-a", "clerk-b"}
        with pytest.raises(paper.PaperError, match="cannot resolve"):
            paper.resolve_tally_sheet(campaign, "Box 1", "clerk-a", "clerk-b")
        paper.resolve_tally_sheet(campaign, "Box 1", "supervisor", "clerk-a")
    assert tally(app, channel="paper", item="leadership", choice="basic") == 10


def test_a_voided_sheet_comes_off_the_count_and_can_be_entered_again(app, batch, tmp_path):
    from survey import paper
    from survey.models import AuditEntry, BallotToken, PaperTallySheet
    more_ballots(app, tmp_path)
    enter_sheet(app, sheet(app), "clerk-a", "clerk-b")
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        row = db.session.scalar(select(PaperTallySheet))
        with pytest.raises(paper.PaperError, match="Say why"):
            paper.void_tally_sheet(campaign, row.id, "supervisor", " ")
        paper.void_tally_sheet(campaign, row.id, "supervisor", "box 1 was counted with box 2 mixed in")
        logged = db.session.scalar(select(AuditEntry).filter_by(action="paper.tally_sheet_void"))
        assert logged.actor == "supervisor" and "mixed in" in logged.detail["reason"]
        assert not db.session.scalar(select(func.count()).select_from(BallotToken).filter_by(redeemed=True))
    assert tally(app, channel="paper") == 0
    with app.app_context():
        assert not any(n for n in db.session.scalars(select(PaperAggregate.count)))
    assert enter_sheet(app, sheet(app), "clerk-a", "clerk-c") == ["waiting", "counted"]
    assert tally(app, channel="paper", item="", choice="") == 48


def test_reconciliation_error_names_unit_item_and_counts(app, batch, tmp_path):
    from survey import paper
    more_ballots(app, tmp_path)
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
    assert nothing_written(app)


@pytest.mark.parametrize("change, message", [
    (lambda s, u: s.counts.update({(u, "made_up", "satisfied"): 1}), "has no item “made_up”"),
    (lambda s, u: s.counts.update({(u, "leadership", "superb"): 1}), "there is no choice “superb”"),
    (lambda s, u: s.counts.update({(999999, "leadership", "satisfied"): 1}), "no unit with the number 999999"),
    (lambda s, u: setattr(s, "issued", 10 ** 20), "whole number from 0 to 1000000"),
    (lambda s, u: setattr(s, "category", ""), "Choose the respondent category"),
    (lambda s, u: setattr(s, "ranges", []), "Enter the ballot numbers"),
    (lambda s, u: setattr(s, "ranges", [(4, 60)]), "No ballot No. 54, 55, 56, 57, 58, 59, 60 was printed"),
    (lambda s, u: setattr(s, "ranges", [(4, 30), (20, 53)]), "overlap"),
    (lambda s, u: setattr(s, "box", ""), "box or sheet label"),
    (lambda s, u: setattr(s, "box", "z\x00z"), "control character"),  # PostgreSQL cannot store NUL
    (lambda s, u: setattr(s, "category", "party_member"), "Unknown respondent category party_member"),
    (lambda s, u: setattr(s, "category", "deputy"),
     "were printed for the category Residents' representative, not People's congress deputy or CPPCC member"),
])
def test_bad_tally_sheets_are_refused_and_nothing_is_written(app, batch, tmp_path, change, message):
    from survey import paper
    more_ballots(app, tmp_path)
    bad = sheet(app)
    change(bad, ids(app)[0])
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        with pytest.raises(paper.PaperError) as error:
            paper.enter_tally_sheet(campaign, bad, "clerk-a")
    assert message in " ".join(getattr(error.value, "problems", [str(error.value)])), error.value
    assert nothing_written(app)


def test_a_sheet_overlapping_ballots_counted_otherwise_is_refused_by_serial(app, client, printed, tmp_path):
    """Ballot 1 answered by phone, ballot 2 entered singly, 4–53 on Box 1: a sheet of 1–53 names them."""
    more_ballots(app, tmp_path)
    answer = {f"u{u}-{k}": "satisfied" for u in ids(app) for k in ITEMS}
    assert client.post(f"/b/{printed[0]}", data=answer).status_code == 303
    from survey import paper
    with pytest.raises(paper.PaperError, match="already answered by phone"):
        enter(app, 1, "clerk-a", values(app))  # its paper copy typed in too: refused and marked so
    enter(app, 2, "clerk-a", values(app))
    enter_sheet(app, sheet(app), "clerk-a", "clerk-b")
    from survey import paper
    wide = sheet(app, issued=53, box="Box 9", ranges=[(1, 53)])
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        assert paper.enter_tally_sheet(campaign, wide, "clerk-a") == "waiting"  # checks, nothing spent yet
        with pytest.raises(paper.ReconciliationError) as error:
            paper.enter_tally_sheet(campaign, wide, "clerk-b")
    text = " ".join(error.value.problems)
    assert "Ballots No. 1 were already answered by phone" in text
    assert "Ballots No. 2 were entered one by one" in text and "1, 2 were entered" not in text
    assert "Ballots No. 4, 5, 6" in text and "and 30 more are counted on the tally sheet of Box 1" in text
    assert tally(app, channel="paper", item="", choice="", unit_id=ids(app)[0]) == 48


def test_a_sheet_for_one_school_that_prints_can_be_entered(app, make_campaign, tmp_path):
    """The parents' sheet of one school: the category exists only for schools."""
    from survey import paper
    make_campaign(slug="schools", units=[("SCH-001", "城关第一小学", "school"), ("GEN-001", "城关镇党委", "general")])
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        school = db.session.scalar(select(Unit).filter_by(code="SCH-001"))
        keys = {c.key for c in paper.categories_for(campaign.id, [school])}
        category = "parent" if "parent" in keys else sorted(keys)[0]
        paper.print_ballots(campaign, tmp_path / "p.pdf", 5, base_url="http://survey.test", category=category,
                            unit_codes=["SCH-001"])
        printout = paper.tally_sheet_printout(campaign, "en", category, ["SCH-001"])
        assert printout.get_pdf().startswith(b"%PDF")
        block, = paper.unit_blocks(campaign.id, [school], "en")
        counts = {}
        for q in block.questions:
            counts[(school.id, q.key, q.choices[0][0])] = 5
        tally_sheet = paper.TallyCounts(category=category, issued=5, returned=5, valid=5, invalid=0, counts=counts,
                                        box="School box", ranges=[(1, 5)])
        assert paper.enter_tally_sheet(campaign, tally_sheet, "clerk-a") == "waiting"
        assert paper.enter_tally_sheet(campaign, tally_sheet, "clerk-b") == "counted"
        general = db.session.scalar(select(Unit).filter_by(code="GEN-001"))
        counts[(general.id, "leadership", "satisfied")] = 5
        tally_sheet.box, tally_sheet.ranges = "Box 2", [(1, 5)]
        with pytest.raises(paper.ReconciliationError, match="城关镇党委 \\(GEN-001\\), which is not on ballots 1-5"):
            paper.enter_tally_sheet(campaign, tally_sheet, "clerk-c")


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


def tally_form(app, client, **extra):
    """The admin's tally sheet form filled in for ballots 1–3 of unit 1 (3 returned, all valid)."""
    from survey.paper import BLANK, INVALID
    page = client.get("/admin/campaigns/test-2025/paper/tally")
    assert page.status_code == 200
    u1, _u2 = ids(app)
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "category": "resident", "box": "Box A",
            "ranges": "1-3", "issued": "3", "returned": "3", "valid": "3", "invalid": "0"}
    for item, (choice, n) in itertools.product(ITEMS, [("satisfied", 2), ("basic", 1), (INVALID, 0), (BLANK, 0)]):
        data[f"c:{u1}:{item}:{choice}"] = str(n)
    data.update(extra)
    return data


def test_admin_tally_sheet_error_then_accepted_by_two_clerks(app, admin_client, batch):
    admin_client.set_cookie("lang", "en", domain="localhost")
    url = "/admin/campaigns/test-2025/paper/tally"
    u1, _u2 = ids(app)
    page = admin_client.get(url).get_data(as_text=True)
    assert '<option value="" selected>' in page  # the category is chosen, never defaulted
    refused = admin_client.post(url, data=tally_form(app, admin_client, **{f"c:{u1}:clean:basic": "2"}))
    assert refused.status_code == 422
    assert "城关镇党委" in refused.get_data(as_text=True) and "= 4" in refused.get_data(as_text=True)
    assert nothing_written(app)
    first = admin_client.post(url, data=tally_form(app, admin_client), follow_redirects=True)
    assert "a second clerk must enter it too" in first.get_data(as_text=True)
    assert tally(app, channel="paper") == 0
    other = second_clerk(app)
    second = other.post(url, data=tally_form(app, other), follow_redirects=True)
    assert "both entries agree" in second.get_data(as_text=True)
    assert tally(app, channel="paper", item="", choice="") == 3
    index = admin_client.get("/admin/campaigns/test-2025/paper/").get_data(as_text=True)
    assert "Box A" in index and ">Void</button>" in index
    record = admin_client.get("/admin/campaigns/test-2025/paper/reconciliation.pdf")
    assert record.status_code == 200 and record.data.startswith(b"%PDF")


@pytest.mark.parametrize("field, value, message", [
    ("issued", "²", "Ballots issued: “²” is not a whole number"),
    ("returned", "100000000000000000000", "Ballots returned: 100000000000000000000 is more than 1000000"),
    ("valid", "٣", "is not a whole number"),
    ("c:{u1}:leadership:satisfied", "2.5", "城关镇党委 (GEN-001), Good leadership team, Satisfied: “2.5” is not a whole number"),
    ("c:{u1}:made_up:satisfied", "1", "has no item “made_up”"),
    ("c:{u1}:leadership:superb", "1", "there is no choice “superb”"),
    ("c:abc:leadership:satisfied", "1", "names no unit of this campaign"),
    ("c:{u1}", "1", "names no unit of this campaign"),
    ("c:424242:leadership:satisfied", "1", "no unit with the number 424242"),
    ("category", "", "Choose the respondent category"),
    ("category", "nobody", "Unknown respondent category nobody"),
    ("ranges", "", "Enter the ballot numbers"),
    ("ranges", "1-3x", "is not a number or a range"),
    ("ranges", "3-1", "runs backwards"),
    ("ranges", "1-9", "No ballot No. 4, 5, 6, 7, 8, 9 was printed"),
    ("box", "", "box or sheet label"),
    ("box", "z\x00z", "control character"),
])
def test_admin_bad_tally_input_is_named_and_nothing_is_written(app, admin_client, batch, field, value, message):
    admin_client.set_cookie("lang", "en", domain="localhost")
    u1, _u2 = ids(app)
    data = tally_form(app, admin_client, **{field.format(u1=u1): value})
    response = admin_client.post("/admin/campaigns/test-2025/paper/tally", data=data)
    assert response.status_code == 422, response.status_code
    assert message in response.get_data(as_text=True)
    assert nothing_written(app)


def test_admin_counts_for_a_unit_not_on_the_ballots_are_refused(app, admin_client, batch, tmp_path):
    """Ballots 4–8 list only unit 1: counts typed for unit 2 are refused, not dropped."""
    from survey import paper
    admin_client.set_cookie("lang", "en", domain="localhost")
    with app.app_context(), force_locale("en"):
        paper.print_ballots(db.session.scalar(select(Campaign)), tmp_path / "u1.pdf", 5, base_url="http://survey.test",
                            category="resident", unit_codes=["GEN-001"])
    u1, u2 = ids(app)
    data = tally_form(app, admin_client, ranges="4-8", issued="5", returned="3")
    data.update({f"c:{u2}:{item}:satisfied": "3" for item in ITEMS})
    response = admin_client.post("/admin/campaigns/test-2025/paper/tally", data=data)
    assert response.status_code == 422
    assert "东街社区党支部 (GEN-002), which is not on ballots 4-8" in response.get_data(as_text=True)
    assert nothing_written(app)


def signed_in(app, name, role, **scope):
    """A client signed in as a new user with this role."""
    from survey.auth import create_user
    with app.app_context():
        if role == "clerk":
            scope = {"campaigns": [db.session.scalar(select(Campaign))], **scope}
        create_user(name, "a-long-enough-password", role, **scope)
    client = app.test_client()
    client.set_cookie("lang", "en", domain="localhost")
    page = client.get("/admin/login").get_data(as_text=True)
    response = client.post("/admin/login", data={"username": name, "password": "a-long-enough-password",
                                                 "csrf_token": csrf_from(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_clerks_enter_tally_sheets_and_only_a_supervisor_voids_one(app, batch):
    from survey.models import PaperTallySheet
    one, two = signed_in(app, "clerk-one", "clerk"), signed_in(app, "clerk-two", "clerk")
    url = "/admin/campaigns/test-2025/paper/tally"
    home = one.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/campaigns/test-2025/paper/tally"' in home  # a clerk finds the sheets from home
    assert one.post(url, data=tally_form(app, one)).status_code == 302
    entered = two.post(url, data=tally_form(app, two), follow_redirects=True)
    shown = entered.get_data(as_text=True)
    assert entered.status_code == 200 and "both entries agree" in shown, shown[-800:]  # the outcome, not a 403
    assert tally(app, channel="paper", item="", choice="") == 3
    with app.app_context():
        sheet_id = db.session.scalar(select(PaperTallySheet.id))
    void = f"/admin/campaigns/test-2025/paper/tally-sheets/{sheet_id}/void"
    page = one.get(url).get_data(as_text=True)
    assert one.post(void, data={"csrf_token": csrf_from(page), "reason": "wrong box"}).status_code == 403
    assert tally(app, channel="paper", item="", choice="") == 3
    supervisor = signed_in(app, "watcher", "supervisor")
    index = supervisor.get("/admin/campaigns/test-2025/paper/").get_data(as_text=True)
    assert ">Void</button>" in index
    done = supervisor.post(void, data={"csrf_token": csrf_from(index), "reason": "wrong box"}, follow_redirects=True)
    assert "is voided" in done.get_data(as_text=True)
    assert tally(app, channel="paper", item="", choice="") == 0


def test_a_category_the_campaign_hides_is_neither_printed_nor_entered(app, batch, tmp_path):
    """The campaign's hidden categories (issue 14) hold on paper too: a ballot cannot be
    printed for one, a tally sheet for one is refused by name and nothing is written."""
    from survey import paper
    more_ballots(app, tmp_path)
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        campaign.hidden_categories = ["resident"]
        db.session.commit()
        assert "resident" not in {c.key for c in paper.all_categories(campaign.id)}
        with pytest.raises(paper.PaperError, match="Unknown respondent category resident"):
            paper.print_ballots(campaign, tmp_path / "hidden.pdf", 2, base_url="http://survey.test",
                                category="resident")
        with pytest.raises(paper.PaperError, match="Unknown respondent category resident"):
            paper.enter_tally_sheet(campaign, sheet(app), "clerk-a")
    assert not (tmp_path / "hidden.pdf").exists()
    assert nothing_written(app)


def test_publishing_is_refused_while_paper_is_not_all_counted(app, admin_client, runner, printed):
    """Publishing ends counting: a ballot entered by one clerk only (and a tally sheet entered
    once) would be lost without a word. The admin's preview and the CLI name them and refuse;
    the office may publish without them, ticking so, and the audit log keeps what was left."""
    from survey.models import AuditEntry
    from survey.campaigns import transition
    from survey.registry import current_registry
    assert enter(app, 2, "clerk-a", values(app)) == "waiting"
    with app.app_context():
        transition(db.session.scalar(select(Campaign)), "close", current_registry(), "test")
        db.session.commit()
    refused = runner.invoke(args=["campaign", "publish", "test-2025"])
    assert refused.exit_code != 0 and "2" in refused.output and "--leave-uncounted" in refused.output
    assert "second clerk" in refused.output or "第二名录入员" in refused.output, refused.output
    admin_client.set_cookie("lang", "en", domain="localhost")
    preview = admin_client.get("/admin/campaigns/test-2025/publish").get_data(as_text=True)
    assert "Paper not all counted" in preview and "ballots No. 2 wait for a second clerk" in preview
    token = csrf_from(preview)
    posted = admin_client.post("/admin/campaigns/test-2025/publish", data={"csrf_token": token, "confirm": "y"})
    assert posted.status_code == 409 and "not all counted" in posted.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Campaign.state)) == "closed"
    # the second clerk enters it: nothing is left, and publishing goes through
    assert enter(app, 2, "clerk-b", values(app)) == "counted"
    assert enter(app, 3, "clerk-a", values(app)) == "waiting"  # another, left out knowingly
    posted = admin_client.post("/admin/campaigns/test-2025/publish",
                               data={"csrf_token": token, "confirm": "y", "leave_uncounted": "y"})
    assert posted.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Campaign.state)) == "published"
        logged = db.session.scalar(select(AuditEntry).filter_by(action="campaign.publish"))
        assert "3" in " ".join(logged.detail["left_uncounted"])
