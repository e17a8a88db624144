"""A resident rates a government service window on the 好差评 scale, on a phone (360×740) in
headless Chromium: the five choices show, a 差评 is stored and counted."""
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey.db import db
from survey.models import Answer, Campaign
from survey.results import compute
from survey.testing import free_port

PORT = free_port()

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{PORT}"
    server.shutdown()


def test_a_poor_rating_on_the_phone(app, make_campaign, live_server, browser, tmp_path):
    cid = make_campaign(slug="gov-2025", units=[("GOV-1", "县政务服务中心", "government")])
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/s/GOV-1")
    item = page.locator("input[name=visit_overall]")
    assert [item.nth(n).get_attribute("value") for n in range(item.count())] == [
        "very_satisfied", "satisfied", "fairly", "dissatisfied", "very_dissatisfied"]
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert page.locator("label.choice", has_text=label).count() >= 1
    for radio in page.locator("input[type=radio]").all():
        name = radio.get_attribute("name")
        if not page.locator(f"input[name='{name}']:checked").count():
            radio.check()
    page.locator("input[name=visit_overall][value=very_dissatisfied]").check()
    page.screenshot(path=str(tmp_path / "haochaping-phone.png"), full_page=True)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/thanks")
    context.close()
    with app.app_context():
        assert db.session.scalar(select(Answer.choice).where(Answer.item == "visit_overall")) == "very_dissatisfied"
        [unit] = compute(db.session.get(Campaign, cid)).units
    [overall] = [i for i in unit.items if i.key == "visit_overall"]
    assert overall.figures.total.poor_rate == 1 and overall.figures.total.good_rate == 0
