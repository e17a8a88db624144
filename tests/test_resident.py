"""The resident's minute: pages that paint from one response, compressed; clear refusals that
count what is missing and bring it into view; feedback while sending; a double tap counted
once. The Slow-3G timings themselves are a benchmark (bench/resident.py), not a test."""
import base64
import gzip
import hashlib
import re

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import Response

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def same_page(a: bytes, b: bytes) -> bool:
    """The same page, but for the single-use form id each form gets."""
    from survey.nonces import FIELD
    pattern = rb'(name="' + FIELD.encode() + rb'" value=")[^"]*'
    return re.sub(pattern, rb"\1", a) == re.sub(pattern, rb"\1", b)


# --- one response to paint, compressed ------------------------------------------------------
def test_pages_are_gzipped_for_clients_that_accept_it(client, make_campaign, full_answer):
    make_campaign(slug="pub-2025", state="published")
    make_campaign(units=[("GEN-001", "城关镇党委", "general")])
    for url in ("/s/GEN-001", "/", "/results/pub-2025", "/api/campaigns/pub-2025/results"):
        plain = client.get(url)
        packed = client.get(url, headers=GZIP)
        assert packed.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"], url
        assert "Content-Encoding" not in plain.headers, url
        assert same_page(gzip.decompress(packed.data), plain.data), url
        assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 2, url
    refused = client.get("/s/GEN-001", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
    head = client.head("/s/GEN-001", headers=GZIP)
    assert "Content-Encoding" not in head.headers and head.data == b""
    redirect = client.post("/s/GEN-001", data=full_answer, headers=GZIP)  # a few bytes: left as they are
    assert redirect.status_code == 303 and "Content-Encoding" not in redirect.headers


def test_files_are_not_gzipped_twice_or_at_all(admin_client, make_campaign):
    make_campaign()
    png = admin_client.get("/admin/campaigns/test-2025/units/GEN-001/qr.png", headers=GZIP)
    assert png.status_code == 200 and "Content-Encoding" not in png.headers and png.data[:4] == b"\x89PNG"
    posters = admin_client.get("/admin/campaigns/test-2025/paper/posters.pdf", headers=GZIP)
    assert posters.data[:5] == b"%PDF-" and "Content-Encoding" not in posters.headers


def test_resident_pages_wait_for_no_other_request_to_paint(client, make_campaign, make_tokens):
    cid = make_campaign()
    token, = make_tokens(cid)
    for url in ("/", "/s/GEN-001", f"/b/{token}", "/s/GEN-001/thanks", "/b/done", "/s/NOPE"):
        html = client.get(url).get_data(as_text=True)
        assert "<style>" in html and 'rel="stylesheet"' not in html, url
        assert 'rel="icon" href="data:,"' in html, url  # no favicon request either
        for tag in re.findall(r"<script[^>]*>", html):
            assert " defer" in tag and 'integrity="sha256-' in tag, (url, tag)


def test_linked_files_are_cached_a_year_under_their_content_hash(app, admin_client, make_campaign):
    make_campaign()
    page = admin_client.get("/admin/").get_data(as_text=True)
    office = re.search(r'href="(/assets/([0-9a-f]{12})/office.css)"', page)
    css = admin_client.get(office.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert hashlib.sha256(css.data).hexdigest()[:12] == office.group(2)
    packed = admin_client.get(office.group(1), headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip" and gzip.decompress(packed.data) == css.data
    stale = admin_client.get("/assets/000000000000/office.css")  # a page cached before an upgrade
    assert stale.data == css.data and stale.headers["Cache-Control"] == "no-cache"
    form = app.test_client().get("/s/GEN-001").get_data(as_text=True)
    script = re.search(r'src="(/assets/[0-9a-f]{12}/answer.js)" integrity="(sha256-[^"]+)"', form)
    js = app.test_client().get(script.group(1))
    assert js.mimetype == "text/javascript"
    assert "sha256-" + base64.b64encode(hashlib.sha256(js.data).digest()).decode() == script.group(2)
    for bad in ("/assets/x/resident.css", "/assets/x/survey.py", "/assets/x/..%2Fsurvey.py", "/assets/x/nothing.js"):
        assert app.test_client().get(bad).status_code == 404, bad


# --- refusals a resident understands ----------------------------------------------------------
def autofocused(html):
    return re.findall(r'<(?:input|textarea) [^>]*\bautofocus\b[^>]*>', html)


def test_a_fresh_form_focuses_nothing(client, make_campaign, make_tokens):
    cid = make_campaign()
    token, = make_tokens(cid)
    for url in ("/s/GEN-001", f"/b/{token}"):
        html = client.get(url).get_data(as_text=True)
        assert not autofocused(html) and 'class="error' not in html, url


def test_refusal_counts_missing_and_corrections_in_both_languages(client, make_campaign, full_answer):
    make_campaign()
    answer = {**full_answer, "comment": "长" * 501}
    del answer["reception"], answer["speed"]  # the point-of-service form the QR code answers
    zh = client.post("/s/GEN-001", data=answer).get_data(as_text=True)
    assert "还有 2 题未作答。有 1 处回答需要修改。您已填写的答案都已保留。" in zh
    assert 'href="#q-reception"' in zh
    assert [re.search(r'name="([^"]+)"', tag).group(1) for tag in autofocused(zh)] == ["reception"]
    en = client.post("/s/GEN-001?lang=en", data=answer).get_data(as_text=True)
    assert "2 questions are not answered yet. 1 answer needs a correction. Your other answers are kept." in en
    only_comment = client.post("/s/GEN-001?lang=en", data={**full_answer, "comment": "长" * 501}).get_data(as_text=True)
    assert "1 answer needs a correction." in only_comment and "not answered" not in only_comment
    assert [re.search(r"<(\w+)", tag).group(1) for tag in autofocused(only_comment)] == ["textarea"]


def test_ballot_refusal_starts_with_the_category(client, make_campaign, make_tokens):
    cid = make_campaign(units=[("GEN-001", "城关镇党委", "general"), ("GEN-002", "城关镇政府", "general")])
    token, = make_tokens(cid)
    html = client.post(f"/b/{token}", data={}).get_data(as_text=True)
    missing = int(re.search(r"还有 (\d+) 题未作答。", html).group(1))
    required = len(re.findall(r'<div class="q bad" id="q-u\d+-', html))
    assert missing == required + 1 and required >= 16  # who you are, then every required rating of both units
    assert 'href="#q-category"' in html and len(autofocused(html)) == 1 and 'name="category"' in autofocused(html)[0]


# --- in the browser ---------------------------------------------------------------------------
@pytest.fixture
def backend():
    """Browser checks of page behaviour: on SQLite only (the storage is tested on both)."""
    return "sqlite"


def phone(browser, **options):
    return browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", **options)


def answer_all_but(page, skip=()):
    """Tick the first choice of every question except those named."""
    names = page.evaluate("[...new Set([...document.querySelectorAll('input[type=radio]')].map(r => r.name))]")
    for name in names:
        if name not in skip:
            page.locator(f"input[type=radio][name='{name}']").first.check()
    return names


def slow(context, page, latency_ms=1500):
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency_ms,
                                                  "downloadThroughput": 50 * 1024, "uploadThroughput": 50 * 1024})


REDDISH = """el => ['borderTopColor', 'backgroundColor', 'outlineColor', 'color'].map(p => getComputedStyle(el)[p])"""


def is_red(css_colour: str) -> bool:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return r > 150 and g < 110 and b < 110


@pytest.mark.browser
def test_the_first_missing_question_is_in_view_and_focused_and_chosen_answers_are_not_red(
        make_campaign, live_server, browser, tmp_path):
    make_campaign(units=[("HOS-001", "县人民医院", "hospital")])
    for javascript in (True, False):
        context = phone(browser, java_script_enabled=javascript)
        page = context.new_page()
        page.goto(f"{live_server}/s/HOS-001")
        names = answer_all_but(page, skip=())
        missing = [n for n in names if n != "category"][6]
        page.locator(f"input[name='{missing}']").first.evaluate("r => { r.checked = false }")
        page.locator("button[type=submit]").click()
        page.wait_for_load_state()
        page.screenshot(path=str(tmp_path / f"refused-js-{javascript}.png"))
        assert page.evaluate("document.activeElement.name") == missing
        box = page.locator(f"#q-{missing}").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 740, box  # the whole question is on screen
        assert page.locator(".summary").inner_text().startswith("还有 1 题未作答。")
        bad_outline = page.locator(f"#q-{missing}").evaluate("el => getComputedStyle(el).outlineColor")
        assert is_red(bad_outline)
        chosen = page.locator("label.choice:has(input:checked)")
        assert chosen.count() == len(names) - 1
        for i in range(chosen.count()):
            question = chosen.nth(i).locator("xpath=ancestor::div[contains(@class,'q')][1]")
            colours = chosen.nth(i).evaluate(REDDISH) + question.evaluate(REDDISH)
            assert not any(is_red(c) for c in colours), colours
        context.close()


# the page's own script cannot be asked while its form is being sent (Playwright waits for the
# navigation), so the button reports its changes to the console
WATCH_BUTTON = """document.addEventListener('DOMContentLoaded', () => {
  const b = document.querySelector('button.submit');
  const report = () => console.log(['button', b.className, b.textContent, b.getAttribute('aria-disabled')].join('|'));
  if (b) new MutationObserver(report)
    .observe(b, {attributes: true, childList: true, subtree: true});
});"""


@pytest.mark.browser
def test_a_double_tap_sends_once_and_the_button_says_it_is_sending(app, make_campaign, live_server, browser, tmp_path):
    make_campaign(units=[("HOS-001", "县人民医院", "hospital")], allow_repeat=True)
    context = phone(browser)
    page = context.new_page()
    page.add_init_script(WATCH_BUTTON)
    seen, posts = [], []
    page.on("console", lambda m: seen.append(m.text) if m.text.startswith("button|") else None)
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{live_server}/s/HOS-001")
    page.wait_for_load_state("load")
    answer_all_but(page)
    slow(context, page)
    button = page.locator("button.submit")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(200)
    page.mouse.click(x, y)  # the second tap, while the first is on its way
    page.wait_for_url("**/thanks", timeout=20_000)
    context.close()
    assert seen and seen[0] == "button|submit sending|正在提交…|true", seen
    assert len(posts) == 1, posts
    assert stored(app) == 1


@pytest.mark.browser
def test_the_form_works_with_javascript_off(app, make_campaign, live_server, browser):
    make_campaign(units=[("HOS-001", "县人民医院", "hospital")])
    context = phone(browser, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/s/HOS-001")
    answer_all_but(page)
    page.locator("button.submit").click()
    page.wait_for_url("**/thanks")
    assert "谢谢" in page.locator("h1").inner_text()
    context.close()
    assert stored(app) == 1


@pytest.mark.browser
def test_a_double_tap_without_javascript_stores_one_answer(app, make_campaign, live_server, browser):
    make_campaign(units=[("HOS-001", "县人民医院", "hospital")], allow_repeat=True)
    context = phone(browser, java_script_enabled=False)
    page = context.new_page()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{live_server}/s/HOS-001")
    answer_all_but(page)
    slow(context, page)
    button = page.locator("button.submit")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(200)
    page.mouse.click(x, y)
    arrive(page, "**/thanks")
    context.close()
    assert len(posts) == 2  # the browser sends both: nothing on the page can stop it,
    assert stored(app) == 1  # but the form's single-use id counts the second as the first


def arrive(page, pattern: str) -> None:
    """Wait for the page a double tap leads to. Without script the browser drops the first
    request's navigation for the second (net::ERR_ABORTED for the first): wait on."""
    from playwright.sync_api import Error
    for _attempt in range(3):
        try:
            page.wait_for_url(pattern, timeout=20_000)
            return
        except Error as exc:
            if "ERR_ABORTED" not in str(exc):
                raise
    page.wait_for_url(pattern, timeout=20_000)


@pytest.mark.browser
@pytest.mark.parametrize("javascript", (True, False))
def test_a_double_tap_on_a_ballot_stores_one_ballot_and_thanks(app, make_campaign, make_tokens, live_server, browser,
                                                               javascript):
    """A numbered ballot tapped twice while it is on its way: one ballot stored, the token spent
    once, and the thank-you page (never "ballot already used") on the phone."""
    cid = make_campaign(units=[("GEN-001", "城关镇党委", "general"), ("GEN-002", "城关镇政府", "general")])
    token, = make_tokens(cid, category="deputy")
    context = phone(browser, java_script_enabled=javascript)
    page = context.new_page()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{live_server}/b/{token}")
    answer_all_but(page)
    slow(context, page)
    button = page.locator("button.submit")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(200)
    page.mouse.click(x, y)
    arrive(page, "**/b/done")
    heading = page.locator("h1").inner_text()
    context.close()
    assert "谢谢" in heading
    assert len(posts) == (1 if javascript else 2)
    assert stored(app) == 2  # one sheet per unit of the one ballot


@pytest.mark.browser
def test_a_refused_ballot_focuses_the_first_missing_question_and_chosen_answers_are_not_red(
        make_campaign, make_tokens, live_server, browser):
    cid = make_campaign(units=[("GEN-001", "城关镇党委", "general"), ("GEN-002", "城关镇政府", "general")])
    token, = make_tokens(cid, category="deputy")
    for javascript in (True, False):
        context = phone(browser, java_script_enabled=javascript)
        page = context.new_page()
        page.goto(f"{live_server}/b/{token}")
        names = answer_all_but(page)
        second = sorted({n.split("-")[0] for n in names})[1]  # u<id>-…: the second unit's questions
        missing = [n for n in names if n.startswith(second + "-")][3]
        page.locator(f"input[name='{missing}']").first.evaluate("r => { r.checked = false }")
        page.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.evaluate("document.activeElement.name") == missing
        box = page.locator(f"#q-{missing}").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 740, box
        assert page.locator(".summary").inner_text().startswith("还有 1 题未作答。")
        chosen = page.locator("label.choice:has(input:checked)")
        assert chosen.count() == len(names) - 1
        for i in range(chosen.count()):
            question = chosen.nth(i).locator("xpath=ancestor::div[contains(@class,'q')][1]")
            colours = chosen.nth(i).evaluate(REDDISH) + question.evaluate(REDDISH)
            assert not any(is_red(c) for c in colours), colours
        context.close()
