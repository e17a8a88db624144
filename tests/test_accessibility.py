"""Accessibility in the suite: axe-core (from npm, tests/a11y) runs in headless Chromium on every
resident page and every admin page, in Chinese and in English, and any violation fails; every
tap target a resident meets is at least 44×44 px on a 360×740 phone, the language switch too.

Pages are reached as people reach them: the admin signs in through the login form, forms are
sent empty to get their error states, ballots are printed so the paper-entry page has one.
"""
from pathlib import Path

import pytest

from survey.db import db
from survey.testing import ADMIN_PASSWORD, ADMIN_USER

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "a11y/node_modules/axe-core/axe.min.js"
PHONE = {"width": 360, "height": 740}
LANGS = ("zh_CN", "en")
# HTML pages only: files (any address ending in a file name), the JSON API and assets are not
NOT_PAGES = ("results.api", "assets.asset", "static")
TAP_TARGETS = ("a[href], button, label.choice, textarea, select, "
               "input:not([type=hidden]):not([type=radio]):not([type=checkbox])")


@pytest.fixture
def backend():
    """Pages look the same on either database: these checks run on SQLite only."""
    return "sqlite"


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `bash scripts/install.sh --test` (npm ci --prefix tests/a11y)")
    return AXE.read_text()


@pytest.fixture
def site(app, make_campaign, make_tokens, live_server, full_answer):
    """An open campaign with commitments, comments and printed ballots, a draft, a closed one and
    a published one; the admin user; returns what the pages need."""
    from survey import paper
    from survey.auth import create_user
    from survey.models import Campaign
    cid = make_campaign(slug="a11y-2025", units=[("GEN-001", "城关镇党委", "general"),
                                                 ("HOS-001", "县人民医院", "hospital")],
                        commitments=["三个月内修好村道"], show_comments=True)
    make_campaign(slug="draft-2025", units=[("DRF-001", "未开始单位", "general")], state="draft")
    make_campaign(slug="closed-2025", units=[("CLS-001", "已结束单位", "general")], state="closed")
    make_campaign(slug="pub-2025", units=[("PUB-001", "已公布单位", "general")], state="published")
    token, used = make_tokens(cid, n=2)
    answer = {**full_answer, "comment": "办事大厅排队太久", "commitments.1": "fulfilled"}
    assert app.test_client().post("/s/GEN-001", data=answer).status_code == 303  # counts and a comment to show
    with app.app_context():
        create_user(ADMIN_USER, ADMIN_PASSWORD)
        paper.print_ballots(db.session.get(Campaign, cid), str(Path(app.instance_path) / "b.pdf"), 1,
                            base_url=live_server, category="deputy")  # on the ballot of both units (a hospital names its own people served)
    return {"base": live_server, "token": token, "used": used}


def run_axe(page, axe_source, where):
    """axe-core on the page as shown; returns 'where: rule (impact): target …' for each violation."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{where}: {v['id']} ({v['impact']}): {v['help']} — " +
            "; ".join(" ".join(n["target"]) for n in v["nodes"][:4]) for v in result["violations"]]


def small_targets(page, where):
    """Tap targets under 44×44 px, and radio buttons and tick boxes not inside a 44-px choice."""
    found = page.evaluate(f"""() => [...document.querySelectorAll({TAP_TARGETS!r})].filter(e => {{
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && (r.width < 44 || r.height < 44);
      }}).map(e => `${{e.tagName.toLowerCase()}} "${{(e.innerText || e.name || '').trim().slice(0, 30)}}" ` +
                   `${{Math.round(e.getBoundingClientRect().width)}}x${{Math.round(e.getBoundingClientRect().height)}}`)
      .concat([...document.querySelectorAll('input[type=radio], input[type=checkbox]')].filter(e => !e.closest('label.choice'))
              .map(e => `${{e.type}} ${{e.name}} outside a choice`))""")
    return [f"{where}: {item}" for item in found]


def phone(browser, lang):
    context = browser.new_context(viewport=PHONE, bypass_csp=True, locale="zh-CN" if lang == "zh_CN" else "en-US")
    return context, context.new_page()


def resident_pages(site):
    """(name, how to reach it) for every page a resident can see."""
    base, token, used = site["base"], site["token"], site["used"]

    def submit_empty(page):
        page.locator("button[type=submit]").click()
        page.wait_for_load_state()

    def answer_all(page):
        for name in page.evaluate("[...new Set([...document.querySelectorAll('input[type=radio]')].map(r => r.name))]"):
            page.locator(f"input[type=radio][name='{name}']").first.check()
        page.locator("button[type=submit]").click()
        page.wait_for_url("**/{thanks,done}")

    return [
        ("index", f"{base}/", None),
        ("unit form", f"{base}/s/GEN-001", None),
        ("unit form, hospital", f"{base}/s/HOS-001", None),
        ("unit form refused", f"{base}/s/GEN-001", submit_empty),
        ("thank-you", f"{base}/s/GEN-001", answer_all),
        ("already answered", f"{base}/s/GEN-001", None),
        ("ballot", f"{base}/b/{token}", None),
        ("ballot refused", f"{base}/b/{token}", submit_empty),
        ("ballot thank-you", f"{base}/b/{used}", answer_all),
        ("ballot used", f"{base}/b/{used}", None),
        ("unknown unit", f"{base}/s/NOPE", None),
        ("not open yet", f"{base}/s/DRF-001", None),
        ("closed", f"{base}/s/CLS-001", None),
        ("published results", f"{base}/results/pub-2025", None),
        ("page not found", f"{base}/no/such/page", None),
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_resident_pages_pass_axe_and_have_44px_tap_targets(site, browser, axe_source, lang):
    context, page = phone(browser, lang)
    context.add_cookies([{"name": "lang", "value": lang, "url": site["base"]}])
    problems, seen = [], 0
    for name, url, action in resident_pages(site):
        page.goto(url)
        if action:
            action(page)
        where = f"{lang} {name} ({page.url})"
        problems += run_axe(page, axe_source, where) + small_targets(page, where)
        seen += 1
    context.close()
    assert seen == 15
    assert not problems, "\n".join(problems)


def admin_urls(app, base):
    """Every admin GET page of the open campaign, with the arguments it needs."""
    values = {"slug": "a11y-2025", "code": "GEN-001"}
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if (not rule.rule.startswith("/admin") or "GET" not in rule.methods or rule.endpoint in NOT_PAGES
                or "." in rule.rule.rsplit("/", 1)[-1]  # a file: qr.png, posters.pdf, template.xlsx …
                or set(rule.arguments) - set(values)):
            continue
        urls.append(base + rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1])
    return urls + [f"{base}/admin/campaigns/a11y-2025/paper/entry?serial=1", f"{base}/results/a11y-2025"]


@pytest.mark.parametrize("lang", LANGS)
def test_admin_pages_pass_axe(app, site, browser, axe_source, lang):
    base = site["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.add_cookies([{"name": "lang", "value": lang, "url": base}])
    page = context.new_page()
    problems = []
    page.goto(f"{base}/admin/login")
    page.locator("button[type=submit]").click()  # empty: the refused login page
    page.wait_for_load_state()
    problems += run_axe(page, axe_source, f"{lang} login refused")
    page.fill("#username", ADMIN_USER)
    page.fill("#password", ADMIN_PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/admin/")
    urls = admin_urls(app, base)
    for url in urls:
        response = page.goto(url)
        assert response.status < 400, (url, response.status)
        problems += run_axe(page, axe_source, f"{lang} {url}")
    for url in (f"{base}/admin/campaigns/new", f"{base}/admin/campaigns/a11y-2025/units/new"):
        page.goto(url)
        page.locator("form.settings button[type=submit], main form[method=post] button[type=submit]").last.click()
        page.wait_for_load_state()
        problems += run_axe(page, axe_source, f"{lang} {url} refused")
    context.close()
    assert len(urls) >= 14, urls
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_it_should(browser, axe_source):
    """The harness is not silent: axe reports a missing label and a missing alt text, and a
    20-px button is a small tap target."""
    context, page = phone(browser, "en")
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><img src="x.png">'
                     '<input type="text"><button>ok</button></main></body></html>')
    page.add_style_tag(content="button{width:20px;height:20px;padding:0}")
    rules = {line.split(": ")[1].split(" ")[0] for line in run_axe(page, axe_source, "sample")}
    small = small_targets(page, "sample")
    context.close()
    assert {"image-alt", "label"} <= rules, rules
    assert any("button" in line and "20x20" in line for line in small), small
