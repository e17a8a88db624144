"""A hostile reader of remedy records (issue 15, docs/remedy.md): record ids no database can hold,
calendar dates that are not written YYYY-MM-DD, the Chinese message of a refused verification,
and the name `survey remedy reevaluate` gives the follow-up campaign residents will see."""
from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select, update

from survey.db import db
from survey.models import Campaign, OfficeCalendarDay

from test_reevaluation import BASE, finish
from test_remedy import closed, post, publish, records  # noqa: F401  (the fixture)
from test_roles import PASSWORD, sign_in

HUGE = ("9223372036854775808", "99999999999999999999")  # 2**63, beyond any SQL integer


def test_an_id_no_database_can_hold_is_not_found_not_a_server_error(app, closed):
    office = sign_in(app, "office")
    publish(office)
    for rid in HUGE:
        assert office.get(f"{BASE}/{rid}").status_code == 404, rid
        for step in ("plan", "report", "verify", "remind"):
            assert post(office, f"{BASE}/{rid}/{step}", text="x").status_code == 404, (rid, step)
    # the other numbered admin addresses alike
    for url in (f"/admin/users/{HUGE[1]}/disable", f"/admin/campaigns/rem-2025/paper/tally-sheets/{HUGE[1]}/void",
                f"/admin/campaigns/rem-2025/paper/mismatches/{HUGE[1]}"):
        assert post(office, url).status_code == 404, url
    assert office.get(f"/admin/users/{HUGE[1]}/reset-password").status_code == 404
    assert office.get(f"/admin/campaigns/rem-2025/scans/doubt/{HUGE[1]}.png").status_code == 404


def test_the_calendar_takes_only_dates_written_yyyy_mm_dd(app, closed):
    office = sign_in(app, "office")
    for day in ("20270208", "2027W061", "2027-W06-1"):  # Python's fromisoformat reads all three as 2027-02-08
        response = office.post("/admin/calendar/add?lang=en", data={
            "day": day, "kind": "holiday", "note": "", "csrf_token": office.csrf("/admin/calendar")})
        assert response.status_code == 422, day
        assert "write it as YYYY-MM-DD" in unescape(response.get_data(as_text=True)), day
    with app.app_context():
        assert db.session.scalars(select(OfficeCalendarDay)).all() == []


def test_a_refused_verification_reads_as_chinese(app, closed):
    office = sign_in(app, "office")
    publish(office)
    rid = records(app, closed)["R-1"]["id"]
    refused = office.post(f"{BASE}/{rid}/verify", data={"csrf_token": office.csrf()})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "现在不能验收" in text and "不能已验收" not in text


def test_the_command_names_the_follow_up_in_the_language_residents_read(app, closed, runner):
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    finish(app, office, branch, codes=("R-1",))
    result = runner.invoke(args=["remedy", "reevaluate", "rem-2025"])
    assert result.exit_code == 0 and "re-evaluation campaign rem-2025-reeval made" in result.output
    with app.app_context():
        original = db.session.get(Campaign, closed)
        follow = db.session.scalar(select(Campaign).filter_by(slug="rem-2025-reeval"))
        assert follow.name == f"{original.name} · 补课复评"  # posters and the public page show it


def test_two_plans_at_once_one_is_taken_the_other_refused(app, closed):
    """A double tap or two admins: the second request read the record while it was still open."""
    from survey.models import AuditEntry, Remedy
    from survey.remedies import RemedyError, take_step
    office = sign_in(app, "office")
    publish(office)
    rid = records(app, closed)["R-1"]["id"]
    with app.app_context():
        stale = db.session.get(Remedy, rid)
        assert stale.status == "open"
        with db.engine.begin() as other:  # the first request takes the step meanwhile
            other.execute(update(Remedy).where(Remedy.id == rid).values(status="plan_submitted", plan="第一份方案"))
        with pytest.raises(RemedyError):
            take_step(stale, "plan", "branch", office=False, text="第二份方案")
        db.session.rollback()
        assert db.session.scalars(select(AuditEntry).filter_by(action="remedy.plan")).all() == []
    assert records(app, closed)["R-1"]["plan"] == "第一份方案"


def test_an_item_withheld_for_its_few_answers_is_not_named_under_the_line(app, client, make_campaign):
    """40 raters, all unsatisfied; only 2 of them answered `overall` (fewer than the minimum cell
    of 5): its figures are withheld (small_item), so naming it among the items that pulled the
    unit down would say what those 2 answered — on the public page, the API and the record."""
    from survey.campaigns import transition
    from survey.models import Remedy, Unit
    from survey.registry import current_registry
    from survey.responses import Sheet, store
    from test_ballot_results import ITEMS
    cid = make_campaign(slug="few-2025", units=[("F-1", "城关镇中心小学", "general")], state="open")
    with app.app_context():
        uid = db.session.scalar(select(Unit.id).filter_by(campaign_id=cid))

        def sheet(items):
            return Sheet(cid, uid, "five-goods", "resident", {k: ("unsatisfied", None, "satisfaction") for k in items})
        store([sheet([k for k in ITEMS if k != "overall"]) for _ in range(38)] + [sheet(ITEMS) for _ in range(2)])
        campaign = db.session.get(Campaign, cid)
        transition(campaign, "close", current_registry(), "test")
        transition(campaign, "publish", current_registry(), "test")
        db.session.commit()
        record = db.session.scalar(select(Remedy).filter_by(campaign_id=cid))
        named = [i["key"] for i in record.items]
    api = client.get("/api/campaigns/few-2025/results").get_json()["units"][0]
    overall = next(i for i in api["items"] if i["key"] == "overall")
    assert overall["rate"] is None  # withheld: 2 answers
    assert "overall" not in api["remedy_items"]
    assert "overall" not in named and "leadership" in named


def test_a_record_to_do_is_not_painted_as_a_running_campaign(app, closed):
    """The list and the record showed "open, no plan yet" in the green of an open campaign
    (class "state open") and "verified" in plain grey."""
    import re
    from pathlib import Path

    import survey
    office = sign_in(app, "office")
    publish(office)
    rid = records(app, closed)["R-1"]["id"]
    css = (Path(survey.__file__).parent / "static/office.css").read_text()

    def colour(cls):
        found = re.search(r"\.state\.%s[,{][^}]*?background:(#[0-9a-f]+)" % re.escape(cls), css)
        return found and found.group(1)
    for url in (BASE, f"{BASE}/{rid}"):
        page = office.get(url).get_data(as_text=True)
        assert 'class="state remedy-open"' in page and 'class="state open"' not in page, url
    shades = {status: colour(f"remedy-{status}") for status in ("open", "plan_submitted", "done", "verified")}
    assert all(shades.values()) and shades["open"] != shades["verified"]


def test_the_ledger_command_into_a_missing_folder_says_so_in_one_line(app, closed, runner, tmp_path):
    office = sign_in(app, "office")
    publish(office)
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(args=["remedy", "ledger", "rem-2025", "--format", "xlsx",
                                 "--out", str(out / "no-such-folder" / "ledger.xlsx")])
    assert result.exit_code == 1 and "does not exist: create it first" in result.output, result.output
    assert not isinstance(result.exception, FileNotFoundError)
    good = runner.invoke(args=["remedy", "ledger", "rem-2025", "--format", "pdf", "--out", str(out / "l.pdf")])
    assert good.exit_code == 0 and "(2 remedy records)" in good.output, good.output
    assert (out / "l.pdf").read_bytes().startswith(b"%PDF") and list(out.iterdir()) == [out / "l.pdf"]


def test_the_day_a_record_starts_is_the_offices_day_not_the_servers(app, closed):
    """Servers often keep UTC: from 00:00 to 08:00 China time their date is still yesterday, so a
    record made then started (and fell overdue) a day early. The office's time zone decides."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from survey.models import Remedy
    # of UTC−12 and UTC+14 one always has another date than this machine's
    zone = next(z for z in ("Etc/GMT+12", "Etc/GMT-14") if dt.datetime.now(ZoneInfo(z)).date() != dt.date.today())
    app.config["SURVEY_TIME_ZONE"] = zone
    office_day = dt.datetime.now(ZoneInfo(zone)).date()
    office = sign_in(app, "office")
    publish(office)
    made = records(app, closed)["R-1"]
    assert made["start"] == office_day
    with app.app_context():
        record = db.session.get(Remedy, made["id"])
        record.due_on = office_day - dt.timedelta(days=1)  # due yesterday, office time
        db.session.commit()
        assert record.overdue()
        record.due_on = office_day
        assert not record.overdue()  # due today, office time: not yet


def test_a_unit_no_longer_under_the_line_shows_no_remedy_to_the_public(app, closed):
    """The office made the records early (closed), then more answers were counted (paper ballots)
    and R-2 rose above the line before publishing: its record stays for the office, but the public
    page, the API and a ballot's address must not show "must remedy, due …" beside "meets the line"."""
    from survey.responses import Sheet, store
    from test_remedy import ITEMS
    office = sign_in(app, "office")
    assert post(office, f"{BASE}/create").status_code == 302
    assert sorted(records(app, closed)) == ["R-1", "R-2"]
    with app.app_context():
        from survey.models import Unit
        uid = db.session.scalar(select(Unit.id).filter_by(campaign_id=closed, code="R-2"))
        store([Sheet(closed, uid, "five-goods", "resident", {k: ("satisfied", None, "satisfaction") for k in ITEMS})
               for _ in range(200)])
    publish(office)
    units = {u["code"]: u for u in office.get("/api/campaigns/rem-2025/results").get_json()["units"]}
    assert units["R-1"]["flags"]["must_remedy"] and units["R-1"]["remedy"]["status"] == "open"
    assert not units["R-2"]["flags"]["must_remedy"] and units["R-2"]["remedy"] is None
    page = office.get("/results/rem-2025?lang=en").get_data(as_text=True)
    assert page.count('class="remedy-status"') == 1


def test_a_plan_keeps_its_lines_on_the_record_page(app, closed, live_server, browser):
    """The owner writes causes, measures and dates on separate lines; the office read one run-on line."""
    office = sign_in(app, "office")
    publish(office)
    rid = records(app, closed)["R-2"]["id"]  # no branch admin: the office files it
    assert post(office, f"{BASE}/{rid}/plan", text="原因：窗口少\n措施：增设窗口\n时限：3月底").status_code == 302
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("#username", "office")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}{BASE}/{rid}")
    lines = page.locator(".remedy-text").first.evaluate("e => e.innerText.split('\\n').length")
    report_box = page.locator("#report-text").bounding_box()
    context.close()
    assert lines == 3
    assert report_box["width"] >= 300  # the whole phone's width, not a third of it


def test_the_owner_shown_is_the_branch_admin_over_the_unit_now(app, closed):
    """Records name their owner when made: a branch admin added after publishing was never shown
    as the owner ("none (the office)" on the list, the record and the ledger), and a disabled one
    stayed the owner."""
    from survey.ledger import ledger_rows
    from survey.models import User
    from test_roles import make_user
    office = sign_in(app, "office")
    publish(office)
    assert records(app, closed)["R-2"]["owner"] is None  # 东街街道 has no branch admin yet
    make_user(app, "dongjie", "branch", unit_parent="东街街道")
    with app.app_context():
        db.session.scalar(select(User).filter_by(username="branch")).active = False
        db.session.commit()
        owners = {r.code: r.owner for r in ledger_rows(db.session.get(Campaign, closed), "en")}
    assert owners == {"R-1": "none (the office)", "R-2": "dongjie"}
    listing = office.get(f"{BASE}?lang=en").get_data(as_text=True)
    assert "dongjie" in listing
    rid = records(app, closed)["R-1"]["id"]
    assert "none (the office)" in office.get(f"{BASE}/{rid}?lang=en").get_data(as_text=True)


def test_the_office_files_no_plan_for_a_unit_its_branch_admin_owns(app, closed):
    """docs/remedy.md: the office may file a plan or report for a unit that has no branch admin."""
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    publish(office)
    made = records(app, closed)
    mine, orphan = made["R-1"]["id"], made["R-2"]["id"]  # 城关镇, the branch admin's; R-2: nobody's
    assert "plan-text" not in office.get(f"{BASE}/{mine}").get_data(as_text=True)
    refused = post(office, f"{BASE}/{mine}/plan?lang=en", text="the office's plan")
    assert refused.status_code == 409 and "branch, the branch admin of this unit, files" in refused.get_data(as_text=True)
    assert records(app, closed)["R-1"]["plan"] is None
    assert post(branch, f"{BASE}/{mine}/plan", text="分级管理员的方案").status_code == 302
    assert "plan-text" in office.get(f"{BASE}/{orphan}").get_data(as_text=True)
    assert post(office, f"{BASE}/{orphan}/plan", text="测评办代为提交").status_code == 302


def test_a_report_with_a_phone_or_id_number_is_refused_before_residents_read_it(app, closed):
    """The verified report is shown on the public page: a complainant's mobile or ID number in it
    is refused (422, naming why), nothing is stored, and the same report without it is taken."""
    from survey.models import Remedy
    office = sign_in(app, "office")
    publish(office)
    rid = records(app, closed)["R-2"]["id"]  # no branch admin: the office files it
    assert post(office, f"{BASE}/{rid}/plan", text="增设窗口").status_code == 302
    for text in ("已回访投诉人张先生（13912345678），问题已解决", "投诉人身份证 11010519491231002X 已核实"):
        response = post(office, f"{BASE}/{rid}/report?lang=en", text=text)
        assert response.status_code == 422
        assert "remove the phone number or ID number" in unescape(response.get_data(as_text=True))
        with app.app_context():
            record = db.session.get(Remedy, rid)
            assert (record.status, record.report) == ("plan_submitted", None)
    assert post(office, f"{BASE}/{rid}/report", text="已回访投诉人，问题已解决").status_code == 302


def test_two_reminders_at_once_are_both_kept(app, closed):
    """The second request read the record before the first one's reminder was written: it appends
    to the list as it is now, not to the one it read (which lost a reminder, audited twice)."""
    from survey.models import Remedy
    from survey.remedies import remind
    office = sign_in(app, "office")
    publish(office)
    rid = records(app, closed)["R-1"]["id"]
    with app.app_context():
        stale = db.session.get(Remedy, rid)
        assert stale.reminders == []
        with db.engine.begin() as other:  # the first reminder is written meanwhile
            other.execute(update(Remedy).where(Remedy.id == rid).values(reminders=[{"on": "2026-03-01", "by": "a"}]))
        remind(stale, "b")
        db.session.commit()
        assert [r["by"] for r in db.session.get(Remedy, rid).reminders] == ["a", "b"]
