"""Keyboard-speed double entry in a real browser: a clerk types the ballot number, then one key
per item (1, 2, 3 … the box marked; 0 none; * two or more; - a whole unit left empty), and
Enter; nothing is clicked. The second clerk's entry agrees and the ballot counts."""
import pytest
from flask_babel import force_locale
from sqlalchemy import select

from survey.db import db
from survey.models import Answer, Campaign, PaperBallot, Response, Unit
from survey.testing import ADMIN_PASSWORD, ADMIN_USER

from test_browser import app_config, live_server  # noqa: F401 (fixtures; browser is the session's, in conftest)
from test_paper import ITEMS

pytestmark = pytest.mark.browser
UNITS = [(f"V-{n:02d}", f"第{n}村", "general") for n in range(1, 5)]
CHOICES = ["satisfied", "basic", "unsatisfied"]


def test_a_ballot_entered_by_keyboard_alone(app, runner, make_campaign, live_server, browser, tmp_path):  # noqa: F811
    from survey import paper
    from survey.auth import create_user
    make_campaign(slug="hall", units=UNITS)
    assert runner.invoke(args=["ballots", "hall", "--count", "3", "--category", "resident",
                               "--out", str(tmp_path / "b.pdf")]).exit_code == 0
    with app.app_context():
        create_user(ADMIN_USER, ADMIN_PASSWORD)
    # the paper: unit 1 all satisfied; unit 2 left empty; unit 3 basic but its last but one item
    # blank and its last marked twice; unit 4 all unsatisfied
    n = len(ITEMS)
    keys = ["1"] * n + ["-"] + ["2"] * (n - 2) + ["0", "*"] + ["3"] * n
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("input[name=username]", ADMIN_USER)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/admin/")
    page.goto(f"{live_server}/admin/campaigns/hall/paper/entry")

    pressed = []

    def press(key):
        pressed.append(key)
        page.keyboard.press(key)

    for key in "2":           # the ballot number, as typed (a scanner types B:2:P:1/1 and Enter)
        press(key)
    press("Enter")
    page.wait_for_url("**/paper/entry?serial=2")
    assert page.locator("table.entry-grid").count() == 1
    for key in keys:
        press(key)
    assert "Enter" in page.locator("#entry-status").inner_text() or page.locator("#entry-status").inner_text()
    page.screenshot(path=str(tmp_path / "typed.png"), full_page=True)
    assert page.locator("input[type=radio]:checked").count() == 4 * n
    press("Enter")
    page.wait_for_url("**/paper/entry?next=3")
    assert "2" in page.locator(".flash.ok").inner_text()
    items = 4 * n
    # ballot number + Enter, one key per item (one for the unit left empty), Enter to save
    assert len(pressed) == 1 + 1 + (items - n + 1) + 1 <= items + 3

    # the next ballot of the stack is proposed, selected: Enter opens it, its marks, Enter saves
    assert page.input_value("#serial") == "3"
    assert page.evaluate("document.activeElement.id") == "serial"
    pressed.clear()
    press("Enter")
    page.wait_for_url("**/paper/entry?serial=3")
    for key in ["1"] * items:
        press(key)
    press("Enter")
    page.wait_for_url("**/paper/entry?next=4")
    assert "3" in page.locator(".flash.ok").inner_text()
    assert len(pressed) == items + 2  # marks + 2, with no number typed
    assert page.input_value("#serial") == ""  # ballot 4 was not printed: nothing proposed
    page.keyboard.type("7")  # a number typed replaces a proposal: nothing is appended to it
    assert page.input_value("#serial") == "7"
    context.close()

    entry = {}
    with app.app_context():
        ids = {u.code: u.id for u in db.session.scalars(select(Unit))}
    for u, code in enumerate(unit[0] for unit in UNITS):
        for k, item in enumerate(ITEMS):
            entry[paper.field_name(ids[code], item)] = (
                paper.BLANK if u == 1 else paper.BLANK if (u, k) == (2, n - 2) else
                paper.INVALID if (u, k) == (2, n - 1) else CHOICES[{0: 0, 2: 1, 3: 2}[u]])
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        assert paper.enter_ballot(campaign, 2, "clerk-b", entry) == "counted"  # the same as typed
        assert db.session.get(PaperBallot, (campaign.id, 2)).status == "counted"
        rated = {db.session.get(Unit, uid).code for uid in db.session.scalars(select(Response.unit_id))}
        assert rated == {"V-01", "V-03", "V-04"}  # the unit left empty is not rated
        unit3 = db.session.scalar(select(Response.id).where(Response.unit_id == ids["V-03"]))
        stored = dict(db.session.execute(select(Answer.item, Answer.choice).where(Answer.response_id == unit3)).all())
        assert stored == {item: "basic" for item in ITEMS[:n - 2]}


def test_the_serial_as_a_scanner_types_it(app, admin_client, make_campaign, runner, tmp_path):
    make_campaign(slug="hall", units=UNITS[:1])
    assert runner.invoke(args=["ballots", "hall", "--count", "3", "--category", "resident",
                               "--out", str(tmp_path / "b.pdf")]).exit_code == 0
    page = admin_client.get("/admin/campaigns/hall/paper/entry?serial=B:3:P:1/1&lang=en")
    assert page.status_code == 200 and "Ballot No. 3" in page.get_data(as_text=True)
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"  # the entry script's file, never inline script
    bad = admin_client.get("/admin/campaigns/hall/paper/entry?serial=%C2%B2&lang=en")  # '²'
    assert bad.status_code == 404 and "is not a ballot number" in bad.get_data(as_text=True)
    missing = admin_client.get("/admin/campaigns/hall/paper/entry?serial=99&lang=en")
    assert missing.status_code == 404 and "No ballot No. 99" in missing.get_data(as_text=True)
