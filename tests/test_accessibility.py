"""Accessibility in the suite: axe-core (from npm, tests/a11y) runs in headless Chromium on every
resident page and every admin page, in Chinese and in English, and any violation fails; every
tap target a resident meets is at least 44×44 px on a 360×740 phone, the language switch too.

Pages are reached as people reach them: the admin signs in through the login form, forms are
sent empty to get their error states, ballots are printed so the paper-entry page has one.
Every shipped questionnaire (the core's, every plugin's, the example branch's) is shown through
a unit's QR code and on a ballot listing every unit; every admin page the url_map has is visited
(the test fails on one it cannot build), the campaign page in each state too.
"""
import datetime as dt
import importlib
import importlib.metadata
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.db import db
from survey.testing import ADMIN_PASSWORD, ADMIN_USER

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "a11y/node_modules/axe-core/axe.min.js"
PHONE = {"width": 360, "height": 740}
LANGS = ("zh_CN", "en")
# HTML pages only: files (any address ending in a file name), the JSON API and assets are not
NOT_PAGES = ("results.api", "assets.asset", "static")
EXAMPLE_BRANCH = Path(__file__).resolve().parents[1] / "plugins/example-branch"
# admin addresses that send a file, not a page (the last part of the address is a file name)
TAP_TARGETS = ("a[href], button, label.choice, textarea, select, "
               "input:not([type=hidden]):not([type=radio]):not([type=checkbox])")


@pytest.fixture
def backend():
    """Pages look the same on either database: these checks run on SQLite only."""
    return "sqlite"


@pytest.fixture
def app_config():
    """The example branch's plugin too, which scripts/install.sh does not install."""
    if any(ep.name == "example-branch" for ep in importlib.metadata.entry_points(group="survey.plugins")):
        return {}
    if str(EXAMPLE_BRANCH) not in sys.path:
        sys.path.append(str(EXAMPLE_BRANCH))
    return {"SURVEY_EXTRA_PLUGINS": [("example-branch", importlib.import_module("survey_example_branch"))]}


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
    from survey.models import Campaign, Unit
    cid = make_campaign(slug="a11y-2025", units=[("GEN-001", "城关镇党委", "general"),
                                                 ("HOS-001", "县人民医院", "hospital")],
                        commitments=["三个月内修好村道"], show_comments=True)
    make_campaign(slug="draft-2025", units=[("DRF-001", "未开始单位", "general")], state="draft")
    make_campaign(slug="closed-2025", units=[("CLS-001", "已结束单位", "general")], state="closed")
    make_campaign(slug="pub-2025", units=[("PUB-001", "已公布单位", "general")], state="published")
    make_campaign(slug="ballots-only", units=[("TOK-001", "只收测评票单位", "general")], access="tokens")
    open_only = make_campaign(slug="qr-only", units=[("OPN-001", "只扫码单位", "general")], access="open")
    no_ballots, = make_tokens(open_only)
    token, used = make_tokens(cid, n=2)
    answer = {**full_answer, "comment": "办事大厅排队太久", "commitments.1": "fulfilled"}
    assert app.test_client().post("/s/GEN-001", data=answer).status_code == 303  # counts and a comment to show
    with app.app_context():
        create_user(ADMIN_USER, ADMIN_PASSWORD)
        paper.print_ballots(db.session.get(Campaign, cid), str(Path(app.instance_path) / "b.pdf"), 1,
                            base_url=live_server, category="deputy")  # on the ballot of both units (a hospital names its own people served)
        forms_token = every_questionnaire(app)
        extra = records(app, cid)
        form_codes = sorted(db.session.scalars(select(Unit.code).where(Unit.code.like("Q-%"))))
    return {"base": live_server, "token": token, "used": used, "forms_token": forms_token, "no_ballots": no_ballots,
            "form_codes": form_codes, **extra}


def every_questionnaire(app) -> str:
    """An open campaign with a unit answering each shipped questionnaire (commitments and party
    members on every unit); returns a ballot token listing all of them."""
    from survey.campaigns import transition
    from survey.models import BallotBatch, BallotToken, Campaign, Unit
    from survey.registry import current_registry
    from survey.tokens import new_token, token_hash
    registry = current_registry()
    campaign = Campaign(slug="forms-2025", name="2025年度全部问卷")
    db.session.add(campaign)
    for n, (key, q) in enumerate(sorted(registry.questionnaires.items()), 1):
        db.session.add(Unit(campaign=campaign, code=f"Q-{n:02d}", name=f"{key} 单位", sector=q.sector, questionnaire=key,
                            commitments=["三个月内修好村道"], members=["张三", "李四"]))
    db.session.flush()
    transition(campaign, "open", registry, "test")
    batch = BallotBatch(campaign_id=campaign.id, count=1, serial_from=1, serial_to=1)
    db.session.add(batch)
    db.session.flush()
    token = new_token()
    db.session.add(BallotToken(token_hash=token_hash(token), campaign_id=campaign.id, batch_id=batch.id, serial=1))
    db.session.commit()
    return token


def records(app, cid) -> dict:
    """A finished job, a remedy record (on the published campaign) and the admin's user id, so
    the pages that show one have one."""
    from survey.models import Campaign, Job, Remedy, Unit, User
    job = Job(kind="report", campaign_id=cid, params={}, state="done", total=1, filename="report.pdf",
              mimetype="application/pdf", content=b"%PDF-1.4", size=8, created_by=ADMIN_USER,
              finished_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    published = db.session.scalar(select(Campaign).filter_by(slug="pub-2025"))
    unit = db.session.scalar(select(Unit).filter_by(campaign_id=published.id))
    remedy = Remedy(campaign_id=published.id, unit_id=unit.id, owner=None, starts_on=dt.date(2025, 12, 1),
                    due_on=dt.date(2025, 12, 29), status="open", reminders=[],
                    items=[{"key": "speed", "zh": "办事效率", "en": "Speed", "rate": 0.5}])
    db.session.add_all([job, remedy])
    db.session.commit()
    user = db.session.scalar(select(User).filter_by(username=ADMIN_USER))
    return {"job_id": job.id, "remedy_id": remedy.id, "user_id": user.id}


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
        ("ballot only", f"{base}/s/TOK-001", None),
        ("ballots not accepted", f"{base}/b/{site['no_ballots']}", None),
        ("ballot of every questionnaire", f"{base}/b/{site['forms_token']}", None),
        ("ballot of every questionnaire refused", f"{base}/b/{site['forms_token']}", submit_empty),
    ] + [(f"unit form {code}", f"{base}/s/{code}", None) for code in site["form_codes"]]


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
        if not page.locator("nav.lang a[href]").count():
            problems.append(f"{where}: no language switch")
        seen += 1
    context.close()
    assert seen == 19 + len(site["form_codes"]) and len(site["form_codes"]) >= 16
    assert not problems, "\n".join(problems)


def admin_urls(app, base, site):
    """Every admin GET page the url_map has, with the arguments it needs (a remedy's on the
    published campaign, which has one); fails on a page it cannot build, so a new page with a
    new argument is not silently left out."""
    values = {"slug": "a11y-2025", "code": "GEN-001", "job_id": site["job_id"], "user_id": site["user_id"],
              "remedy_id": site["remedy_id"]}
    urls, unbuilt = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if (not rule.rule.startswith("/admin") or "GET" not in rule.methods or rule.endpoint in NOT_PAGES
                or "." in rule.rule.rsplit("/", 1)[-1]  # a file: qr.png, posters.pdf, template.xlsx …
                or rule.endpoint == "admin.job_file"):  # the finished job's file
            continue
        if set(rule.arguments) - set(values):
            unbuilt.append(rule.rule)
            continue
        args = {k: values[k] for k in rule.arguments}
        if "remedy_id" in args or rule.endpoint == "admin.remedies":
            args["slug"] = "pub-2025"
        urls.append(base + rule.build(args, append_unknown=False)[1])
    assert not unbuilt, f"admin pages this test cannot reach (give it their arguments): {unbuilt}"
    return urls + [f"{base}/admin/campaigns/a11y-2025/paper/entry?serial=1", f"{base}/results/a11y-2025",
                   *(f"{base}/admin/campaigns/{slug}" for slug in ("draft-2025", "closed-2025", "pub-2025"))]


# forms sent with their text fields emptied: the refused page, with its messages
REFUSED = ("/admin/campaigns/new", "/admin/campaigns/a11y-2025/units/new", "/admin/campaigns/a11y-2025/edit",
           "/admin/campaigns/a11y-2025/units/GEN-001/edit", "/admin/users/new", "/admin/password",
           "/admin/users/{user_id}/reset-password")
EMPTY_THE_FORM = """() => {
  const form = [...document.querySelectorAll('main form[method=post], main form[method=POST]')]
    .filter(f => f.querySelector('input[type=text], input[type=password], input:not([type])')).pop();
  form.querySelectorAll('input[type=text], input[type=password], input:not([type]), textarea')
    .forEach(e => { e.value = ''; });
  return !!form;
}"""


@pytest.mark.parametrize("lang", LANGS)
def test_admin_pages_pass_axe(app, site, browser, axe_source, lang):
    """Every admin page (admin_urls), the campaign page in every state, and the refused state
    of every form one types into."""
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
    urls = admin_urls(app, base, site)
    for url in urls:
        response = page.goto(url)
        assert response.status < 400, (url, response.status)
        problems += run_axe(page, axe_source, f"{lang} {url}")
    for path in REFUSED:
        url = base + path.format(**site)
        page.goto(url)
        assert page.evaluate(EMPTY_THE_FORM), url
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.locator("main form[method=post] button[type=submit]").last.click()
        page.wait_for_load_state()
        assert sent.value.status == 422, (url, sent.value.status)
        problems += run_axe(page, axe_source, f"{lang} {url} refused")
    context.close()
    assert len(urls) >= 25, urls
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
