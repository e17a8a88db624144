"""The office's calendar (docs/remedy.md): for dates the official calendar (chinesecalendar)
does not know yet, the office lists holidays and make-up working days in the admin; remedy
deadlines counted from then on use them. Bad dates are refused with a clear message (422) and
nothing is stored; only the office may edit it; every change is audited."""
from __future__ import annotations

import datetime as dt
from html import unescape

import chinese_calendar
import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import AuditEntry, OfficeCalendarDay
from survey.workdays import add_working_days

from test_roles import make_user, sign_in

YEAR = max(chinese_calendar.holidays).year + 1  # a year the official calendar does not know
MONDAY = next(dt.date(YEAR, 2, d) for d in range(1, 8) if dt.date(YEAR, 2, d).weekday() == 0)
SATURDAY = MONDAY - dt.timedelta(days=2)


@pytest.fixture
def users(app):
    make_user(app, "office", "office")
    make_user(app, "branch", "branch", unit_parent="城关镇")
    make_user(app, "super", "supervisor")


def stored(app):
    with app.app_context():
        return [(d.day, d.kind, d.note, d.added_by) for d in
                db.session.scalars(select(OfficeCalendarDay).order_by(OfficeCalendarDay.day))]


def add(client, day, kind="holiday", note="", lang="en"):
    return client.post(f"/admin/calendar/add?lang={lang}", data={
        "day": day, "kind": kind, "note": note, "csrf_token": client.csrf("/admin/calendar")})


def test_the_office_lists_holidays_and_make_up_days_and_deadlines_use_them(app, users):
    office = sign_in(app, "office")
    page = office.get("/admin/calendar?lang=en").get_data(as_text=True)
    assert "Office calendar" in page and str(YEAR - 1) in page and "No dates listed." in page
    plain = add_working_days(MONDAY - dt.timedelta(days=3), 3)  # Friday + 3: Mon, Tue, Wed
    assert plain.office_calendar and plain.due == MONDAY + dt.timedelta(days=2)

    assert add(office, MONDAY.isoformat(), "holiday", "春节").status_code == 302
    assert add(office, SATURDAY.isoformat(), "workday", "春节调休").status_code == 302
    assert stored(app) == [(SATURDAY, "workday", "春节调休", "office"), (MONDAY, "holiday", "春节", "office")]
    listing = office.get("/admin/calendar?lang=zh_CN").get_data(as_text=True)
    assert "法定假日（休息）" in listing and "调休上班日" in listing and "春节调休" in listing
    with app.app_context():
        from survey.workdays import office_calendar
        counted = add_working_days(MONDAY - dt.timedelta(days=3), 3, office_calendar())
        assert [e.target for e in db.session.scalars(select(AuditEntry).filter_by(action="calendar.add"))] == [
            MONDAY.isoformat(), SATURDAY.isoformat()]
    # Friday + 3 working days: the make-up Saturday, then Tuesday and Wednesday (Monday is off)
    assert counted.due == MONDAY + dt.timedelta(days=2) and counted.office_calendar
    with app.app_context():
        counted = add_working_days(SATURDAY - dt.timedelta(days=1), 2, office_calendar())
    assert counted.due == MONDAY + dt.timedelta(days=1)  # Saturday, (Monday off), Tuesday

    # removing a date
    form = {"csrf_token": office.csrf("/admin/calendar")}
    assert office.post(f"/admin/calendar/{MONDAY.isoformat()}/remove", data=form).status_code == 302
    assert stored(app) == [(SATURDAY, "workday", "春节调休", "office")]
    assert office.post(f"/admin/calendar/{MONDAY.isoformat()}/remove", data=form).status_code == 404
    assert office.post("/admin/calendar/not-a-date/remove", data=form).status_code == 404
    assert office.post(f"/admin/calendar/{SATURDAY.isoformat()}/remove").status_code == 400  # no CSRF token


def test_remedy_records_count_their_deadline_on_the_office_calendar(app, users, make_campaign):
    """create_records reads the stored calendar: a record started before a listed holiday is due a day later."""
    from survey.models import Campaign, Remedy, Unit
    from survey.remedies import create_records
    cid = make_campaign(slug="cal-2025", units=[("K-1", "城关镇卫生院", "general")], state="open")
    with app.app_context():
        from survey.responses import Sheet, store
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid))
        from test_remedy import ITEMS
        store([Sheet(cid, unit.id, "five-goods", "resident", {k: ("unsatisfied", None, "satisfaction") for k in ITEMS})
               for _ in range(40)])
        campaign = db.session.get(Campaign, cid)
        campaign.state = "closed"
        db.session.commit()
    office = sign_in(app, "office")
    assert add(office, MONDAY.isoformat(), "holiday").status_code == 302
    start = MONDAY - dt.timedelta(days=3)
    with app.app_context():
        assert create_records(db.session.get(Campaign, cid), "test", start=start) == 1
        db.session.commit()
        record = db.session.scalar(select(Remedy))
        assert record.office_calendar
        from survey.workdays import OfficeCalendar
        assert record.due_on == add_working_days(start, 15, OfficeCalendar(holidays=frozenset({MONDAY}))).due
        assert record.due_on > add_working_days(start, 15).due  # a day later than Monday to Friday alone


BAD = [
    ("2027-13-01", "holiday", "is not a date: write it as YYYY-MM-DD"),
    ("2027-02-30", "holiday", "“2027-02-30” is not a date"),
    ("", "holiday", "is not a date"),
    ("next monday", "holiday", "“next monday” is not a date"),
    ("2026-02-16", "holiday", "is on the official calendar already"),
    (MONDAY.isoformat(), "workday", "is a weekday, a working day anyway"),
    (SATURDAY.isoformat(), "holiday", "is a Saturday or Sunday, a day off anyway"),
    (MONDAY.isoformat(), "weekend", "Not a valid choice"),
]


def test_bad_dates_are_refused_with_a_clear_message_and_nothing_stored(app, users):
    office = sign_in(app, "office")
    with app.app_context():
        audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    for day, kind, words in BAD:
        response = add(office, day, kind)
        text = unescape(response.get_data(as_text=True))
        assert response.status_code == 422 and words in text, (day, kind, text[-3000:])
        assert 'aria-invalid="true"' in text
    assert stored(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audits


def test_a_date_twice_and_the_chinese_message(app, users):
    office = sign_in(app, "office")
    assert add(office, MONDAY.isoformat(), "holiday").status_code == 302
    again = add(office, MONDAY.isoformat(), "holiday", lang="zh_CN")
    assert again.status_code == 422 and "已列入" in again.get_data(as_text=True)
    bad = add(office, "2027/02/08", lang="zh_CN")
    assert bad.status_code == 422 and "不是日期：请按 YYYY-MM-DD 填写" in unescape(bad.get_data(as_text=True))
    assert len(stored(app)) == 1


def test_only_the_office_edits_the_calendar(app, users):
    for name in ("branch", "super"):
        client = sign_in(app, name)
        assert client.get("/admin/calendar").status_code == 403
        token = client.csrf()
        assert client.post("/admin/calendar/add", data={"day": MONDAY.isoformat(), "kind": "holiday",
                                                        "csrf_token": token}).status_code == 403
        assert client.post(f"/admin/calendar/{MONDAY.isoformat()}/remove", data={"csrf_token": token}).status_code == 403
        assert "/admin/calendar" not in client.get("/admin/").get_data(as_text=True)
    assert stored(app) == []
    assert "/admin/calendar" in sign_in(app, "office").get("/admin/").get_data(as_text=True)


def test_a_holiday_listed_later_moves_the_deadlines_still_to_be_met_and_says_so(app, users, make_campaign):
    """A record counted on the office's calendar is due a working day later once a weekday in its window
    is listed as a holiday, and back again when it is removed; a record reported done keeps its
    date; each move is in the audit log with the old and the new date."""
    from survey.models import Campaign, Remedy, Unit
    from survey.remedies import create_records
    from survey.responses import Sheet, store
    from test_remedy import ITEMS
    cid = make_campaign(slug="cal-2026", units=[("K-1", "城关镇卫生院", "general"), ("K-2", "东街卫生室", "general")],
                        state="open")
    with app.app_context():
        for unit in db.session.scalars(select(Unit).filter_by(campaign_id=cid)):
            store([Sheet(cid, unit.id, "five-goods", "resident", {k: ("unsatisfied", None, "satisfaction") for k in ITEMS})
                   for _ in range(40)])
        campaign = db.session.get(Campaign, cid)
        campaign.state = "closed"
        db.session.commit()
        start = MONDAY - dt.timedelta(days=3)  # the Friday before
        assert create_records(db.session.get(Campaign, cid), "test", start=start) == 2
        first, second = db.session.scalars(select(Remedy).order_by(Remedy.id)).all()
        second.status, second.report = "done", "已整改"
        db.session.commit()
        due = first.due_on
    assert due == add_working_days(start, 15).due
    from survey.workdays import OfficeCalendar
    later = add_working_days(start, 15, OfficeCalendar(holidays=frozenset({MONDAY}))).due
    assert later > due
    office = sign_in(app, "office")
    response = add(office, MONDAY.isoformat(), "holiday", "春节")
    assert response.status_code == 302
    flashed = office.get("/admin/calendar?lang=en").get_data(as_text=True)
    assert "1 remedy record(s) still to be done have a new due date" in unescape(flashed)
    with app.app_context():
        first, second = db.session.scalars(select(Remedy).order_by(Remedy.id)).all()
        assert first.due_on == later and second.due_on == due
        [moved] = db.session.scalars(select(AuditEntry).filter_by(action="remedy.due")).all()
        assert moved.target == "cal-2026/K-1" and moved.actor == "office"
        assert moved.detail == {"was": due.isoformat(), "due": later.isoformat()}
    form = {"csrf_token": office.csrf("/admin/calendar")}
    assert office.post(f"/admin/calendar/{MONDAY.isoformat()}/remove", data=form).status_code == 302
    with app.app_context():
        first, second = db.session.scalars(select(Remedy).order_by(Remedy.id)).all()
        assert (first.due_on, second.due_on) == (due, due)
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).filter_by(action="remedy.due")) == 2


def test_a_change_outside_a_records_window_leaves_its_deadline(app, users, make_campaign):
    """Only a record whose window (after its start, up to its due date) holds the date added or
    removed is recounted. A record made by the previous version, which kept its due date when a
    holiday was listed on it later, is due on a day off: adding or removing a date months away
    moved it a working day earlier (its days recounted as one fewer)."""
    from survey.models import Campaign, Remedy, Unit
    from survey.remedies import create_records
    from survey.responses import Sheet, store
    from survey.workdays import add_office_day
    from test_remedy import ITEMS
    cid = make_campaign(slug="cal-old", units=[("K-1", "城关镇卫生院", "general")], state="open")
    start = MONDAY - dt.timedelta(days=3)
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid))
        store([Sheet(cid, unit.id, "five-goods", "resident", {k: ("unsatisfied", None, "satisfaction") for k in ITEMS})
               for _ in range(40)])
        db.session.get(Campaign, cid).state = "closed"
        db.session.commit()
        assert create_records(db.session.get(Campaign, cid), "test", start=start) == 1
        due = db.session.scalar(select(Remedy.due_on))
        add_office_day(due, "holiday", "office")  # listed as the previous version did: no recount
        db.session.commit()
    far = next(dt.date(YEAR, 11, d) for d in range(2, 9) if dt.date(YEAR, 11, d).weekday() == 2)
    office = sign_in(app, "office")
    assert add(office, far.isoformat(), "holiday").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Remedy.due_on)) == due
    form = {"csrf_token": office.csrf("/admin/calendar")}
    assert office.post(f"/admin/calendar/{far.isoformat()}/remove", data=form).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Remedy.due_on)) == due
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).filter_by(action="remedy.due")) == 0


def test_a_make_up_day_that_makes_a_record_overdue_at_once_names_it(app, users, make_campaign, monkeypatch):
    """A make-up working day listed in a record's window brings its due date a working day
    forward; on its old due date that is yesterday: the page names the record as overdue now,
    rather than leaving the office to find it."""
    from survey import models
    from survey.models import Campaign, Remedy, Unit
    from survey.remedies import create_records
    from survey.responses import Sheet, store
    from test_remedy import ITEMS
    cid = make_campaign(slug="late-2026", units=[("K-1", "城关镇卫生院", "general")], state="open")
    start = SATURDAY - dt.timedelta(days=1)  # the Friday before the make-up Saturday
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid))
        store([Sheet(cid, unit.id, "five-goods", "resident", {k: ("unsatisfied", None, "satisfaction") for k in ITEMS})
               for _ in range(40)])
        campaign = db.session.get(Campaign, cid)
        campaign.state = "closed"
        db.session.commit()
        assert create_records(db.session.get(Campaign, cid), "test", start=start) == 1
        db.session.commit()
        due = db.session.scalar(select(Remedy.due_on))
    monkeypatch.setattr(models, "office_today", lambda: due)  # the office's clock: the record's due date
    office = sign_in(app, "office")
    assert add(office, SATURDAY.isoformat(), "workday", "调休").status_code == 302
    page = unescape(office.get("/admin/calendar?lang=en").get_data(as_text=True))
    with app.app_context():
        now_due = db.session.scalar(select(Remedy.due_on))
    assert now_due < due
    assert f"Overdue now after the change: 城关镇卫生院 (测评 late-2026), due {now_due.isoformat()}." in page
