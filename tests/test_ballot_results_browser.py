"""A ballot's address on a phone (360×740) in headless Chromium once the campaign is published:
the units on the ballot with their results, remedy status and the verified report, in Chinese
and in English, axe-clean with 44-px tap targets; the page looks the same for an answered
ballot, and the report's HTML is shown as text, never run."""
import os
from pathlib import Path

import pytest

from test_accessibility import PHONE, axe_source, run_axe, small_targets  # noqa: F401 (fixture)
from test_ballot_results import INJECTION, published  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("SURVEY_SCREENSHOTS", "")) if os.environ.get("SURVEY_SCREENSHOTS") else None


@pytest.fixture
def backend():
    """The page looks the same on either database: this runs on SQLite only."""
    return "sqlite"


@pytest.mark.parametrize("lang", ("zh_CN", "en"))
def test_ballot_results_on_a_phone(published, live_server, browser, axe_source, lang, tmp_path, caplog):  # noqa: F811
    context = browser.new_context(viewport=PHONE, java_script_enabled=True, bypass_csp=True,
                                  locale="zh-CN" if lang == "zh_CN" else "en-US")
    context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    shots = []
    for name in ("answered", "unanswered"):
        token = published[name] if name == "answered" else published[name][0]
        page.goto(f"{live_server}/b/{token}")
        path = (SHOTS or tmp_path) / f"ballot-results-{lang}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(page.locator("main").inner_text())
    assert shots[0] == shots[1]
    cards = page.locator("section.unit-card")
    assert cards.count() == 2
    words = {"zh_CN": ("已验收", "逾期", "限期整改"), "en": ("verified", "overdue", "Must remedy")}[lang]
    for word in words:
        assert page.get_by_text(word).count() >= 1
    report = page.locator(".remedy-report")
    assert INJECTION in report.inner_text()  # shown as the text it is
    assert page.locator(".remedy-report script, .remedy-report img").count() == 0 and not dialogs
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    problems = run_axe(page, axe_source, f"{lang} ballot results") + small_targets(page, f"{lang} ballot results")
    page.goto(f"{live_server}/results/pub-2025")
    page.screenshot(path=str((SHOTS or tmp_path) / f"public-results-{lang}.png"), full_page=True)
    problems += run_axe(page, axe_source, f"{lang} public results") + small_targets(page, f"{lang} public results")
    context.close()
    assert not problems, "\n".join(problems)
    # the served requests' log lines (werkzeug's, through the toolkit's filter) carry no token
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /b/<token>" in logged
    assert published["answered"] not in logged and published["unanswered"][0] not in logged
