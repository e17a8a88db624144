"""The poor-rating reasons on a phone (360×740) in headless Chromium with JavaScript off: the
tick boxes are hidden while the 好差评 rating is good and show once a 差评 choice is picked (CSS
only), a reason ticked is stored with the rating, axe-clean with 44-px tap targets, in Chinese
and in English."""
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Answer

from test_accessibility import PHONE, axe_source, run_axe, small_targets  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ["SURVEY_SCREENSHOTS"]) if os.environ.get("SURVEY_SCREENSHOTS") else None


@pytest.fixture
def backend():
    """The page looks the same on either database: this runs on SQLite only."""
    return "sqlite"


@pytest.mark.parametrize("lang", ("zh_CN", "en"))
def test_reasons_show_with_a_poor_rating_without_script(app, make_campaign, live_server, browser, axe_source,
                                                        lang, tmp_path):  # noqa: F811
    make_campaign(slug="gov-2025", units=[("GOV-1", "县政务服务中心", "government")])
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, bypass_csp=True,
                                  locale="zh-CN" if lang == "zh_CN" else "en-US")
    context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    page = context.new_page()
    page.goto(f"{live_server}/s/GOV-1")
    reasons = page.locator("fieldset.reasons")
    assert reasons.count() == 1 and not reasons.is_visible()  # nothing to explain yet
    for radio in page.locator("input[type=radio]").all():
        name = radio.get_attribute("name")
        if not page.locator(f"input[name='{name}']:checked").count():
            radio.check()
    page.locator("input[name=visit_overall][value=satisfied]").check()
    assert not reasons.is_visible()  # a good rating asks for no reason
    page.locator("input[name=visit_overall][value=dissatisfied]").check()
    assert reasons.is_visible()
    slow = {"zh_CN": "办事慢", "en": "Slow service"}[lang]
    page.locator("fieldset.reasons label.choice", has_text=slow).click()
    page.locator("fieldset.reasons").scroll_into_view_if_needed()
    (SHOTS or tmp_path).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str((SHOTS or tmp_path) / f"poor-reasons-{lang}.png"), full_page=True)
    page.locator("fieldset.reasons").screenshot(path=str((SHOTS or tmp_path) / f"poor-reasons-{lang}-detail.png"))
    problems = run_axe_with_script(browser, page, axe_source, lang)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/thanks")
    context.close()
    with app.app_context():
        answers = dict(db.session.execute(select(Answer.item, Answer.choice)
                                          .where(Answer.item.like("visit_overall%"))).all())
    assert answers == {"visit_overall": "dissatisfied", "visit_overall:slow": "slow"}
    assert not problems, "\n".join(problems)


def run_axe_with_script(browser, page, axe_source, lang):
    """axe needs script: open the same form in a context with it on, pick the same poor rating
    and reason, so the tick boxes are shown when axe looks."""
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    context.add_cookies([{"name": "lang", "value": lang, "url": page.url}])
    other = context.new_page()
    other.goto(page.url)
    other.locator("input[name=visit_overall][value=dissatisfied]").check()
    other.locator("input[name='visit_overall:reasons']").first.check()
    assert other.locator("fieldset.reasons").is_visible()
    where = f"{lang} unit form with poor-rating reasons"
    problems = run_axe(other, axe_source, where) + small_targets(other, where)
    context.close()
    return problems
