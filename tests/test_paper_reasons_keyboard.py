"""Poor-rating reasons entered by keyboard in a real browser: one key per reason box (1 ticked,
0 not), and '-' leaves a whole unit empty, its reason boxes with it."""
import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Answer, Response, Unit
from survey.testing import ADMIN_PASSWORD, ADMIN_USER

from test_browser import app_config, live_server  # noqa: F401 (fixtures; browser is the session's, in conftest)
from test_paper_reasons import windows  # noqa: F401

pytestmark = pytest.mark.browser


def test_reasons_typed_one_key_a_box_and_a_unit_left_empty(app, runner, windows, live_server, browser,  # noqa: F811
                                                           tmp_path):
    from survey.auth import create_user
    cid, ids = windows
    assert runner.invoke(args=["ballots", "gov-2026", "--count", "2", "--category", "applicant",
                               "--out", str(tmp_path / "b.pdf")]).exit_code == 0
    with app.app_context():
        create_user(ADMIN_USER, ADMIN_PASSWORD)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("input[name=username]", ADMIN_USER)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/admin/")
    page.goto(f"{live_server}/admin/campaigns/gov-2026/paper/entry?serial=1")
    assert "差评原因" in page.locator("table.entry-grid thead").inner_text()
    # window 1 left empty; window 2: the first box of items 1-4, item 5 very dissatisfied (its
    # fifth box), reasons 1 and 3 ticked, the first box of items 6 and 7
    for key in ["-"] + ["1"] * 4 + ["5", "1", "0", "1", "0", "1", "1"]:
        page.keyboard.press(key)
    page.screenshot(path=str(tmp_path / "typed.png"), full_page=True)
    assert page.locator("input[type=radio]:checked").count() == 2 * 11
    page.keyboard.press("Enter")
    page.wait_for_url("**/paper/entry?next=2")
    context.close()
    with app.app_context():
        from survey.models import PaperEntry
        typed = db.session.scalar(select(PaperEntry.answers))["answers"]
        w1 = {k: v for k, v in typed.items() if k.startswith(f"{ids['W-1']}:")}
        assert set(w1.values()) == {"!blank"} and len(w1) == 11
        w2 = {k.split(":", 1)[1]: v for k, v in typed.items() if k.startswith(f"{ids['W-2']}:")}
        assert w2["visit_overall"] == "very_dissatisfied"
        assert [w2[f"visit_overall:{r}"] for r in ("attitude", "slow", "many_trips", "fees")] == \
            ["attitude", "!blank", "many_trips", "!blank"]
