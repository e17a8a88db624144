"""Remedy records (整改单, docs/remedy.md): made for every unit under the line when results are
published (and by the office's button), once; deadlines in working days; the branch admin
files the plan and the report of its own units' records only; the office verifies, filters
overdue records and sends reminders the owner sees; every change audited; wrong steps refused."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import AuditEntry, Campaign, Remedy, Unit
from survey.workdays import add_working_days

from test_roles import make_user, sign_in

ITEMS = ["leadership", "members", "mechanism", "results", "reputation", "serve_development",
         "serve_people", "grassroots", "integrity", "style"]
UNITS = [("R-1", "城关镇中心小学", "general"), ("R-2", "东街社区", "general"), ("R-3", "城关镇卫生院", "general")]
PARENTS = {"R-1": "城关镇", "R-2": "东街街道", "R-3": "城关镇"}


@pytest.fixture
def closed(app, make_campaign):
    """rem-2025, closed: R-1 (城关镇) and R-2 (东街街道) under the line, R-3 (城关镇) well above;
    an office admin, and a branch admin of 城关镇."""
    from survey.campaigns import transition
    from survey.registry import current_registry
    from survey.responses import Sheet, store
    cid = make_campaign(slug="rem-2025", units=UNITS, state="open")
    with app.app_context():
        ids = {}
        for unit in db.session.scalars(select(Unit).filter_by(campaign_id=cid)):
            unit.parent = PARENTS[unit.code]
            ids[unit.code] = unit.id
        db.session.commit()

        def sheets(code, n, choice):
            return [Sheet(cid, ids[code], "five-goods", "resident",
                          {k: (choice, None, "satisfaction") for k in ITEMS}) for _ in range(n)]
        store(sheets("R-1", 40, "unsatisfied") + sheets("R-2", 40, "unsatisfied") + sheets("R-3", 40, "satisfied"))
        transition(db.session.get(Campaign, cid), "close", current_registry(), "test")
        db.session.commit()
    make_user(app, "office", "office")
    make_user(app, "branch", "branch", unit_parent="城关镇")
    return cid


def publish(client, slug="rem-2025"):
    url = f"/admin/campaigns/{slug}/publish"
    response = client.post(url, data={"confirm": "y", "csrf_token": client.csrf(url)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def records(app, cid):
    with app.app_context():
        return {r.unit.code: {"id": r.id, "status": r.status, "due": r.due_on, "start": r.starts_on,
                              "owner": r.owner, "plan": r.plan, "report": r.report, "items": r.items,
                              "reminders": r.reminders, "office_calendar": r.office_calendar}
                for r in db.session.scalars(select(Remedy).filter_by(campaign_id=cid))}


def audit_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": client.csrf()})


def test_publishing_makes_one_record_per_unit_under_the_line_with_a_working_day_deadline(app, closed):
    office = sign_in(app, "office")
    publish(office)
    made = records(app, closed)
    assert sorted(made) == ["R-1", "R-2"]  # R-3 is above the line
    today = dt.date.today()
    for code, record in made.items():
        assert record["status"] == "open" and record["start"] == today
        deadline = add_working_days(today, 15)
        assert record["due"] == deadline.due and record["office_calendar"] == deadline.office_calendar
        assert record["due"] - today >= dt.timedelta(days=19)  # 15 working days are at least 3 weeks
        assert {i["key"] for i in record["items"]} and all(i["rate"] == 0.0 and i["zh"] and i["en"]
                                                           for i in record["items"])
    assert made["R-1"]["owner"] == "branch" and made["R-2"]["owner"] is None  # no branch admin holds R-2
    # the office's button, and publishing again, make no second record
    response = post(office, "/admin/campaigns/rem-2025/remedies/create")
    assert response.status_code == 302
    with app.app_context():
        from survey.campaigns import transition, withdraw
        from survey.registry import current_registry
        campaign = db.session.get(Campaign, closed)
        withdraw(campaign, "recount", "test")
        transition(campaign, "publish", current_registry(), "test")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Remedy)) == 2
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).filter_by(action="remedy.create")) == 2
    page = office.get("/admin/campaigns/rem-2025?lang=en").get_data(as_text=True)
    assert "/admin/campaigns/rem-2025/remedies" in page


def test_the_office_can_make_the_records_before_publishing_across_the_spring_festival(app, closed):
    office = sign_in(app, "office")
    assert post(office, "/admin/campaigns/rem-2025/remedies/create").status_code == 302
    assert sorted(records(app, closed)) == ["R-1", "R-2"]
    with app.app_context():  # started on Friday 2026-02-13: the festival (15–23 Feb) and the
        from survey.remedies import create_records  # make-up Saturdays 14 and 28 Feb count as they should
        db.session.execute(Remedy.__table__.delete())
        assert create_records(db.session.get(Campaign, closed), "test", start=dt.date(2026, 2, 13)) == 2
        db.session.commit()
    due = {r["due"] for r in records(app, closed).values()}
    assert due == {add_working_days(dt.date(2026, 2, 13), 15).due}
    assert due == {dt.date(2026, 3, 12)}  # Monday–Friday alone would give 6 March


def test_branch_admin_files_plan_and_report_and_the_office_verifies(app, closed):
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    publish(office)
    made = records(app, closed)
    mine, other = made["R-1"]["id"], made["R-2"]["id"]
    base = "/admin/campaigns/rem-2025/remedies"
    listing = branch.get(f"{base}?lang=en").get_data(as_text=True)
    assert "城关镇中心小学" in listing and "东街社区" not in listing  # only its own units' records

    # the office cannot verify what is not done: 409, nothing changed
    before = audit_count(app)
    response = post(office, f"{base}/{mine}/verify")
    assert response.status_code == 409 and "cannot be verified now" in post(office, f"{base}/{mine}/verify?lang=en").get_data(as_text=True)
    assert records(app, closed)["R-1"]["status"] == "open" and audit_count(app) == before
    # an empty plan is refused
    assert post(branch, f"{base}/{mine}/plan", text="  ").status_code == 422  # nothing written: bad input, not a step out of order
    # the plan, then the report
    assert post(branch, f"{base}/{mine}/plan", text="查找原因：窗口排队长。措施：增开窗口。").status_code == 302
    assert records(app, closed)["R-1"]["status"] == "plan_submitted"
    assert post(branch, f"{base}/{mine}/plan", text="again").status_code == 409  # a second plan
    assert records(app, closed)["R-1"]["plan"] == "查找原因：窗口排队长。措施：增开窗口。"
    # the branch admin may not verify its own record
    assert post(branch, f"{base}/{mine}/verify").status_code == 403
    assert post(branch, f"{base}/{mine}/report", text="已增开两个窗口，排队时间减半。").status_code == 302
    assert records(app, closed)["R-1"]["status"] == "done"
    assert post(office, f"{base}/{mine}/verify").status_code == 302
    record = records(app, closed)["R-1"]
    assert record["status"] == "verified" and record["report"] == "已增开两个窗口，排队时间减半。"
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("remedy.%"),
                                                                          AuditEntry.target == "rem-2025/R-1")))
    assert actions == ["remedy.create", "remedy.plan", "remedy.report", "remedy.verify"]
    page = branch.get(f"{base}/{mine}?lang=en").get_data(as_text=True)
    assert "verified" in page and "已增开两个窗口" in page

    # the attack: another unit's record, by its id, whatever the step
    before, untouched = audit_count(app), records(app, closed)["R-2"]
    assert branch.get(f"{base}/{other}").status_code == 404
    for step in ("plan", "report"):
        assert branch.post(f"{base}/{other}/{step}", data={
            "text": "x", "csrf_token": branch.csrf(f"{base}/{mine}")}).status_code == 404
    assert post(branch, f"{base}/{other}/verify").status_code == 403
    assert records(app, closed)["R-2"] == untouched and audit_count(app) == before
    # without the CSRF token: refused, nothing changed
    assert office.post(f"{base}/{other}/remind").status_code == 400
    assert records(app, closed)["R-2"] == untouched


def test_overdue_filter_and_reminders_the_owner_sees(app, closed):
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    publish(office)
    made = records(app, closed)
    with app.app_context():  # R-1's deadline has passed; R-2's has not
        db.session.get(Remedy, made["R-1"]["id"]).due_on = dt.date.today() - dt.timedelta(days=1)
        db.session.commit()
    base = "/admin/campaigns/rem-2025/remedies"
    overdue = office.get(f"{base}?overdue=1&lang=en").get_data(as_text=True)
    assert "城关镇中心小学" in overdue and "东街社区" not in overdue and "1 overdue record(s)" in overdue
    everything = office.get(f"{base}?lang=en").get_data(as_text=True)
    assert "城关镇中心小学" in everything and "东街社区" in everything

    assert post(office, f"{base}/{made['R-1']['id']}/remind").status_code == 302
    assert records(app, closed)["R-1"]["reminders"] == [{"on": dt.date.today().isoformat(), "by": "office"}]
    page = branch.get(f"{base}/{made['R-1']['id']}?lang=en").get_data(as_text=True)
    assert "Reminders from the office" in page and f"{dt.date.today().isoformat()}, by office" in page
    zh = branch.get(f"{base}/{made['R-1']['id']}?lang=zh_CN").get_data(as_text=True)
    assert "逾期" in zh
    # once the report is in it is no longer overdue, and a reminder is refused (409, nothing changed)
    rid = made["R-1"]["id"]
    post(branch, f"{base}/{rid}/plan", text="计划")
    post(branch, f"{base}/{rid}/report", text="报告")
    assert "城关镇中心小学" not in office.get(f"{base}?overdue=1").get_data(as_text=True)
    before = audit_count(app)
    assert post(office, f"{base}/{rid}/remind").status_code == 409
    assert len(records(app, closed)["R-1"]["reminders"]) == 1 and audit_count(app) == before


def test_office_list_to_record_in_chromium(app, closed, live_server, browser, tmp_path):
    from test_accessibility import AXE, run_axe
    office = sign_in(app, "office")
    publish(office)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.add_cookies([{"name": "lang", "value": "zh_CN", "url": live_server}])
    page = context.new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("#username", "office")
    page.fill("#password", "long-enough-password")
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/admin/")
    page.goto(f"{live_server}/admin/campaigns/rem-2025")
    page.get_by_role("link", name="整改").first.click()
    page.wait_for_url("**/remedies")
    problems = run_axe(page, AXE.read_text(), "list")
    page.screenshot(path=str(tmp_path / "remedies.png"), full_page=True)
    page.get_by_role("link", name="R-1 城关镇中心小学").click()
    page.wait_for_url("**/remedies/*")
    assert "整改单" in page.inner_text("h1") and "R-1" in page.inner_text("h1")
    problems += run_axe(page, AXE.read_text(), "record")
    page.get_by_role("button", name="发送提醒").click()
    page.wait_for_load_state()
    assert "提醒已记录" in page.content()
    page.screenshot(path=str(tmp_path / "remedy.png"), full_page=True)
    import shutil
    shutil.copy(tmp_path / "remedy.png", "/tmp/remedy2-remedy.png")
    shutil.copy(tmp_path / "remedies.png", "/tmp/remedy2-remedies.png")
    context.close()
    assert not problems, "\n".join(problems)
