"""A resident's whole path in a real browser: scan the unit's QR (decoded by zbarimg), answer in
Chinese in headless Chromium, see the thank-you page, and find the answer in the database."""
import subprocess
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from survey.db import db
from survey.models import Answer, Response
from survey.testing import free_port

PORT = free_port()

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config():
    # codes for 127.0.0.1 are tried on this computer, as in the demo
    return {"SURVEY_BASE_URL": f"http://127.0.0.1:{PORT}", "SURVEY_ALLOW_LOCAL_QR": True}


@pytest.fixture
def live_server(app):
    # bound to a port the kernel picks (a port chosen earlier may be taken since by another
    # worker's server); the codes carry it
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["SURVEY_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def decode_qr(png: bytes, tmp_path) -> str:
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_resident_scans_and_answers_in_chinese(app, admin_client, make_campaign, live_server, browser, tmp_path):
    make_campaign(slug="city-2025", units=[("HOS-001", "县人民医院", "general")])
    png = admin_client.get("/admin/campaigns/city-2025/units/HOS-001/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    url = decode_qr(png.data, tmp_path)
    assert url == f"{live_server}/s/HOS-001"

    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740},
                                  user_agent="Mozilla/5.0 (Linux; Android 10) MicroMessenger/8.0")
    page = context.new_page()
    page.goto(url)
    # the QR code answers the point-of-service form: this visit only, no leadership questions
    assert "县人民医院" in page.content() and "接待" in page.content() and "领导班子好" not in page.content()
    page.get_by_label("普通群众代表").check()
    for group in page.locator("input[type=radio][value=satisfied]").all():
        group.check()
    page.locator("input[name=told_once][value=yes]").check()
    page.locator("input[name=asked_favours][value=no]").check()  # 没有: the good answer
    page.get_by_label("您的意见和建议（选填）").fill("挂号排队时间还可以再缩短")
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/thanks")
    assert "谢谢" in page.locator("h1").inner_text()
    context.close()

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        comment = db.session.scalar(select(Answer.text).where(Answer.item == "comment"))
    assert comment == "挂号排队时间还可以再缩短"


def test_missing_answer_keeps_the_others_in_the_browser(make_campaign, live_server, browser):
    make_campaign(slug="city-2025", units=[("SCH-9", "城关第一小学", "general")])
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server}/s/SCH-9")
    page.get_by_label("家长").check() if page.get_by_label("家长").count() else page.get_by_label("服务对象").check()
    page.locator("input[name=told_once][value=yes]").check()
    page.locator("input[name=asked_favours][value=no]").check()
    radios = page.locator("input[type=radio][value=basic]").all()
    for radio in radios[:-1]:
        radio.check()
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("input[type=radio][value=basic]:checked").count() == len(radios) - 1
    assert page.locator(".q.bad").count() == 1
    context.close()
