"""The office in a real browser (headless Chromium, Chinese): adds a clerk who must choose a
password at first sign-in, the clerk sees only paper entry and is refused the user pages, the
office previews, confirms and withdraws the results, and signs out.

Screenshots go to tmp_path, or to $SURVEY_SCREENSHOTS when set (to look at them)."""
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Campaign, Unit
from test_browser import app_config, live_server  # noqa: F401  (fixtures; browser comes from conftest)

pytestmark = pytest.mark.browser
ITEMS = ["leadership", "members", "mechanism", "results", "reputation", "serve_development",
         "serve_people", "grassroots", "integrity", "style"]


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("SURVEY_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return lambda page, name: page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def sign_in(page, base, name, password):
    page.goto(f"{base}/admin/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.locator("form button[type=submit]").click()


def test_office_adds_a_clerk_publishes_withdraws_and_signs_out(app, make_campaign, live_server, browser,  # noqa: F811
                                                                 shots):
    from survey.responses import Sheet, store
    from survey.users import create_user
    cid = make_campaign(slug="county-2025", units=[("SCH-001", "城关镇中心小学", "general"),
                                                   ("HOS-001", "县人民医院", "general")], state="open")
    with app.app_context():
        create_user("office", "office-password", "office")
        units = {u.code: u.id for u in db.session.scalars(select(Unit).filter_by(campaign_id=cid))}
        store([Sheet(cid, units["SCH-001"], "five-goods", "resident",
                     {k: ("satisfied", None, "satisfaction") for k in ITEMS}) for _ in range(35)]
              + [Sheet(cid, units["HOS-001"], "five-goods", "deputy",
                       {k: ("satisfied", None, "satisfaction") for k in ITEMS}) for _ in range(8)])

    office = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900}).new_page()
    sign_in(office, live_server, "office", "office-password")
    office.get_by_role("link", name="用户").click()
    office.get_by_role("link", name="新建用户").click()
    office.get_by_label("用户名").fill("clerk-wang")
    office.get_by_label("角色").select_option("clerk")
    office.get_by_label("活动").select_option(str(cid))
    office.get_by_label("初始密码", exact=True).fill("first-password")
    office.get_by_label("再次输入初始密码").fill("first-password")
    shots(office, "1-user-new")
    office.get_by_role("button", name="创建用户").click()
    assert "已创建用户 clerk-wang" in office.content()
    row = office.locator("#user-clerk-wang")
    assert "录入员" in row.inner_text() and "county-2025" in row.inner_text() and "须设置新密码" in row.inner_text()
    shots(office, "2-users")

    clerk = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 700}).new_page()
    sign_in(clerk, live_server, "clerk-wang", "first-password")
    clerk.wait_for_url("**/admin/password")
    assert "请先设置新密码再继续" in clerk.content()
    shots(clerk, "3-first-sign-in")
    clerk.get_by_label("当前密码").fill("first-password")
    clerk.get_by_label("新密码", exact=True).fill("wang-own-password")
    clerk.get_by_label("再次输入新密码").fill("wang-own-password")
    clerk.get_by_role("button", name="修改密码").click()
    assert "录入纸质票" in clerk.content() and "用户" not in clerk.locator("nav.adminnav").inner_text()
    shots(clerk, "4-clerk-home")
    assert clerk.goto(f"{live_server}/admin/users/").status == 403
    shots(clerk, "5-clerk-refused")

    office.goto(f"{live_server}/admin/campaigns/county-2025")
    office.locator("form[action$='/close'] button").click()
    office.get_by_role("link", name="预览并公布").click()
    checks = office.locator("ul.checks").inner_text()
    assert "评议人数不足" in checks and "县人民医院 (8)" in checks and "人员构成符合要求" in checks
    shots(office, "6-publish-preview")
    office.get_by_role("button", name="公布结果").click()  # without the confirmation
    assert "请勾选此项" in office.content()
    with app.app_context():
        assert db.session.get(Campaign, cid).state == "closed"
    office.get_by_label("我已核对预览：现在公布这些结果。").check()
    office.get_by_role("button", name="公布结果").click()
    assert "测评结果已公布" in office.content()
    office.get_by_label("撤回原因").fill("县人民医院纸质票未录完")
    shots(office, "7-published")
    office.get_by_role("button", name="撤回结果").click()
    assert "结果已撤回" in office.content()
    with app.app_context():
        assert db.session.get(Campaign, cid).state == "closed"
    assert office.goto(f"{live_server}/results/county-2025").status == 200  # the office still previews
    visitor = browser.new_context(locale="zh-CN").new_page()
    assert visitor.goto(f"{live_server}/results/county-2025").status == 404

    office.goto(f"{live_server}/admin/")
    office.get_by_role("button", name="退出").click()
    assert "您已退出登录" in office.content()
    shots(office, "8-signed-out")
    assert "/admin/login" in office.goto(f"{live_server}/admin/").url


def test_a_branch_admin_sees_only_its_units_in_english(app, make_campaign, live_server, browser, shots):  # noqa: F811
    from survey.users import create_user
    cid = make_campaign(slug="county-2025", units=[("SCH-001", "城关镇中心小学", "general"),
                                                   ("HOS-001", "县人民医院", "general")], state="open")
    with app.app_context():
        db.session.scalar(select(Unit).filter_by(campaign_id=cid, code="SCH-001")).parent = "县教育局"
        db.session.commit()
        create_user("edu", "branch-password", "branch", unit_parent="县教育局")
    page = browser.new_context(locale="en-GB", viewport={"width": 1100, "height": 800}).new_page()
    page.goto(f"{live_server}/admin/login?lang=en")
    page.get_by_label("User name").fill("edu")
    page.get_by_label("Password").fill("branch-password")
    page.locator("form button[type=submit]").click()
    page.get_by_role("link", name="测评 county-2025").click()
    assert "You see and manage only your units: units under 县教育局." in page.content()
    assert page.locator("#unit-SCH-001").count() == 1 and page.locator("#unit-HOS-001").count() == 0
    nav = page.locator("nav.adminnav").inner_text()
    assert "Branch admin" in nav and "Users" not in nav and "Audit log" not in nav
    assert page.get_by_role("button", name="Open").count() == 0 and page.get_by_role("link", name="Edit settings").count() == 0
    shots(page, "9-branch-campaign")
    assert page.goto(f"{live_server}/admin/campaigns/county-2025/units/HOS-001").status == 403
