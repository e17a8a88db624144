"""The office finishes the remedies in headless Chromium, in both languages: makes the
re-evaluation (补课) from the remedies page, sees before and after side by side, downloads the
ledger, and lists a holiday on its calendar (a bad date shows its reason at the field). axe runs
on each page; screenshots are left in the test's folder (and in SURVEY_SHOTS if set)."""
from __future__ import annotations

import os
import shutil

import pytest

from test_reevaluation import BASE, answer, finish, move
from test_remedy import closed  # noqa: F401  (the fixture)
from test_roles import PASSWORD, sign_in

pytestmark = pytest.mark.browser


def shoot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("SURVEY_SHOTS"):
        shutil.copy(path, os.path.join(os.environ["SURVEY_SHOTS"], path.name))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_office_makes_the_re_evaluation_and_edits_the_calendar_in_chromium(app, closed, live_server, browser,
                                                                           tmp_path, lang):
    from test_accessibility import AXE, run_axe
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    finish(app, office, branch, codes=("R-1", "R-2"))
    words = {"zh_CN": {"make": "建立补课复评活动", "remedies": "整改", "before": "前后对比", "again": "复评仍未达线",
                       "add": "添加日期", "bad": "不是日期", "ledger": "整改台账"},
             "en": {"make": "Make the re-evaluation campaign", "remedies": "Remedies", "before": "Before and after",
                    "again": "again under the line", "add": "Add the date", "bad": "is not a date",
                    "ledger": "Remedy ledger"}}[lang]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True, accept_downloads=True)
    context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    page = context.new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("#username", "office")
    page.fill("#password", PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/admin/")
    page.goto(f"{live_server}{BASE}")
    problems = run_axe(page, AXE.read_text(), f"{lang} remedies")
    shoot(page, tmp_path, f"{lang}-1-remedies")
    page.get_by_role("button", name=words["make"]).click()
    page.wait_for_url("**/admin/campaigns/rem-2025-reeval")
    assert "rem-2025-reeval" in page.content()
    shoot(page, tmp_path, f"{lang}-2-follow-up")
    move(app, "rem-2025-reeval", "open")
    answer(app, "rem-2025-reeval", "R-1", 40, "unsatisfied")
    answer(app, "rem-2025-reeval", "R-2", 40, "satisfied")
    move(app, "rem-2025-reeval", "close")
    page.reload()
    page.get_by_role("link", name=words["before"]).first.click()
    page.wait_for_url("**/reevaluation")
    assert words["again"] in page.inner_text("#reeval-R-1") and "+100.0" in page.inner_text("#reeval-R-2")
    problems += run_axe(page, AXE.read_text(), f"{lang} before and after")
    shoot(page, tmp_path, f"{lang}-3-before-after")
    page.goto(f"{live_server}{BASE}")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").click()
    assert download.value.suggested_filename == f"rem-2025-remedy-ledger-{lang}.pdf"
    shoot(page, tmp_path, f"{lang}-4-remedies-after")
    # the calendar: a bad date, then a good one
    page.get_by_role("link", name="日历" if lang == "zh_CN" else "Calendar").click()
    page.wait_for_url("**/admin/calendar")
    page.fill("#day", "2027-02-30")
    page.get_by_role("button", name=words["add"]).click()
    page.wait_for_load_state()
    assert words["bad"] in page.inner_text("#day-error")
    problems += run_axe(page, AXE.read_text(), f"{lang} calendar refused")
    shoot(page, tmp_path, f"{lang}-5-calendar-refused")
    page.fill("#day", "2027-02-08")
    page.fill("#note", "春节")
    page.get_by_role("button", name=words["add"]).click()
    page.wait_for_url("**/admin/calendar")
    assert "春节" in page.inner_text("#day-2027-02-08")
    problems += run_axe(page, AXE.read_text(), f"{lang} calendar")
    shoot(page, tmp_path, f"{lang}-6-calendar")
    context.close()
    assert not problems, "\n".join(problems)
