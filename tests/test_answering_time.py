"""How long answering takes, measured: every shipped questionnaire (the built-in ones and every
plugin's, the example branch's too) answered in headless Chromium on a 360×740 phone as a
resident would, one tap per question, then sent, on every route residents use: a unit's QR
code (/s/<code>, which shows a unit's point-of-service form) and a numbered ballot (/b/<token>:
one unit's, and ballots listing several units, which is how the assembly questionnaires are
answered by phone). The taps, screens and text to read are counted and turned into seconds by
the model in survey/answering_time.py (reading at 6 Chinese characters or 4 English words a
second, 1.5 s per tap, 1 s per further screen, 4.5 s to send); the time the page states must
be that figure rounded up to whole minutes, in Chinese and in English (docs/plugins.md,
"How long it takes"). A questionnaire's intro states its own form's time; a ballot states the
time survey.answering_time.ballot_minutes computes for the units it lists; the member
appraisal states a time per member, checked against the measured time each member adds.
"""
import importlib
import importlib.metadata
import math
import re
import sys
from pathlib import Path

import pytest

from survey import answering_time as model
from survey.db import db

EXAMPLE_BRANCH = Path(__file__).resolve().parents[1] / "plugins/example-branch"

pytestmark = pytest.mark.browser

COMMITMENTS = ["年内完成办事大厅改造", "每月公开一次办事进度", "群众反映的问题一周内答复"]  # the demo's most
NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10,
           "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "十": 10}
PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True, "locale": "zh-CN"}


@pytest.fixture
def backend():
    """The timing does not depend on the database: SQLite only."""
    return "sqlite"


@pytest.fixture
def app_config():
    """The example branch's plugin too, which scripts/install.sh does not install."""
    if any(ep.name == "example-branch" for ep in importlib.metadata.entry_points(group="survey.plugins")):
        return {}
    if str(EXAMPLE_BRANCH) not in sys.path:
        sys.path.append(str(EXAMPLE_BRANCH))
    return {"SURVEY_EXTRA_PLUGINS": [("example-branch", importlib.import_module("survey_example_branch"))]}


def stated_minutes(intro: str, lang: str) -> int | None:
    """The whole minutes an intro says answering takes: 约需两分钟 / it takes about two minutes."""
    pattern = (r"约需\s*([一二两三四五六\d]+)\s*分钟" if lang == "zh"
               else r"about (a|one|two|three|four|five|six|\d+) minutes?")
    found = re.search(pattern, intro)
    if not found:
        return None
    word = found.group(1)
    return int(word) if word.isdigit() else NUMBERS[word]


TEXTS = """() => {
  const seen = new Set(), texts = [];
  const add = t => { t = (t || '').trim(); if (t) texts.push(t); };
  document.querySelectorAll('.intro, legend, h2.unit, .q .label, .q .help, p.group').forEach(e => add(e.innerText));
  document.querySelectorAll('.choices').forEach(group => {
    const choices = [...group.querySelectorAll('label.choice')].map(l => l.innerText.trim());
    const key = choices.join('|');
    if (!seen.has(key)) { seen.add(key); choices.forEach(add); }
  });
  return texts;
}"""


def measure(page, url: str, lang: str, tap: bool) -> dict:
    """Open the form; with tap, answer every question by tapping its first choice, then send.
    Without tap (the other language of the same form) the taps are those of the tapped run."""
    page.goto(url)
    texts = page.evaluate(TEXTS)
    intro = page.locator(".intro").first.inner_text() if page.locator(".intro").count() else ""
    taps = 0
    if tap:
        groups = page.evaluate("[...new Set([...document.querySelectorAll('input[type=radio]')].map(r => r.name))]")
        for name in groups:
            page.locator(f"label.choice:has(input[name='{name}'])").first.tap()
            taps += 1
        assert page.locator("input[type=radio]:checked").count() == len(groups)
    screens = page.evaluate("document.documentElement.scrollHeight") / page.viewport_size["height"]
    if tap:
        page.locator("button.submit").tap()
        taps += 1
        page.wait_for_url(re.compile(r".*/(thanks|done)$"))
        assert page.locator("h1").inner_text().startswith(("谢谢", "Thank")), page.url
    return {"taps": taps, "screens": screens, "texts": texts, "intro": intro,
            "seconds": model.seconds(texts, lang, taps, screens) if tap else None}


def both_languages(page, url: str) -> tuple[dict, dict]:
    """The form read in English, then answered in Chinese (a ballot is answered once), the
    English figure counted with the Chinese run's taps."""
    en = measure(page, f"{url}?lang=en", "en", tap=False)
    zh = measure(page, f"{url}?lang=zh_CN", "zh", tap=True)
    en["taps"] = zh["taps"]
    en["seconds"] = model.seconds(en["texts"], "en", zh["taps"], en["screens"])
    return zh, en


def row(name: str, lang: str, m: dict, stated) -> str:
    return (f"{name} [{lang}]: {m['taps']} taps, {m['screens']:.1f} screens, {m['seconds']:.0f} s "
            f"-> {model.minutes(m['seconds'])} min; the page says {stated}")


def open_campaign(app, slug, units, **settings):
    """An open campaign with these units: (code, name, sector, questionnaire, members)."""
    from survey.campaigns import transition
    from survey.models import Campaign, Unit
    from survey.registry import current_registry
    with app.app_context():
        campaign = Campaign(slug=slug, name="2025年度基层站所群众满意度测评", allow_repeat=True, **settings)
        db.session.add(campaign)
        for code, name, sector, key, members in units:
            db.session.add(Unit(campaign=campaign, code=code, name=name, sector=sector, questionnaire=key,
                                commitments=COMMITMENTS, members=list(members)))
        db.session.flush()
        transition(campaign, "open", current_registry(), "test")
        db.session.commit()
        return campaign.id


def shipped(app) -> dict:
    """Every questionnaire the installed plugins and the example branch ship, by key."""
    from survey.registry import current_registry
    with app.app_context():
        return dict(current_registry().questionnaires)


MEMBERS = ["张明", "李华", "王芳", "赵强", "陈静", "刘洋"]


def test_every_questionnaire_a_qr_code_shows_states_the_time_it_takes(app, live_server, browser, record_property):
    questionnaires = shipped(app)
    # a unit's QR code answers its point-of-service form: measure each of those through a unit of
    # the assembly form it is paired with, and every form not paired through a unit of its own;
    # the member appraisal states its time per member (the next test)
    paired = {q.point_of_service for q in questionnaires.values() if q.point_of_service}
    reached = {k: q for k, q in questionnaires.items()
               if k not in paired and not any(i.kind == "members" for i in q.items)}
    shown = {k: questionnaires.get(q.point_of_service or k, q) for k, q in reached.items()}
    assert {"five-goods", "hospital", "library"} <= set(reached), sorted(reached)
    assert set(shown.values()) | {q for q in questionnaires.values() if q.audience == "assembly"} >= {
        q for q in questionnaires.values() if not any(i.kind == "members" for i in q.items)}
    units = [(f"T-{n:02d}", f"测评单位{n}", q.sector, key, ()) for n, (key, q) in enumerate(sorted(reached.items()), 1)]
    open_campaign(app, "timing-2025", units)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    table, wrong = [], []
    for code, _name, _sector, key, _m in units:
        for lang, m in zip(("zh", "en"), both_languages(page, f"{live_server}/s/{code}")):
            stated = stated_minutes(m["intro"], lang)
            table.append(row(f"QR /s/ {shown[key].key}", lang, m, stated))
            if stated != model.minutes(m["seconds"]):
                wrong.append(table[-1])
    context.close()
    record_property("answering_time_qr", "\n".join(table))
    print("\n" + "\n".join(table))
    assert len(table) == 2 * len(units)
    assert not wrong, "the intro's time is not what the measurement supports:\n" + "\n".join(wrong)


def test_every_ballot_states_the_time_it_takes(app, live_server, browser, make_tokens, record_property):
    """Every assembly questionnaire on a one-unit ballot, then ballots of several units: three
    of one sector (a township's offices), with "you are …" asked and with the category printed
    on the ballot, and every sector at once; the ballot's own intro states the time."""
    questionnaires = shipped(app)
    assembly = sorted(k for k, q in questionnaires.items() if q.audience == "assembly")
    assert {"five-goods", "five-leads", "hospital", "school", "village"} <= set(assembly), assembly
    units = [(f"B-{n:02d}", f"测评单位{n}", questionnaires[key].sector, key,
              MEMBERS if any(i.kind == "members" for i in questionnaires[key].items) else ())
             for n, key in enumerate(assembly, 1)]
    units += [(f"G-{n:02d}", f"城关镇第{n}办事处", "general", "five-goods", ()) for n in (1, 2, 3)]
    cid = open_campaign(app, "ballots-2025", units)
    ballots = [(f"ballot of {key}", [code]) for code, _n, _s, key, _m in units[:len(assembly)]]
    ballots += [("ballot of 3 five-goods units", ["G-01", "G-02", "G-03"]),
                (f"ballot of all {len(units)} units", None)]
    context = browser.new_context(**PHONE)
    page = context.new_page()
    table, wrong = [], []
    for name, codes, category in [(n, c, None) for n, c in ballots] + [
            ("ballot of 3 five-goods units, category printed", ["G-01", "G-02", "G-03"], "deputy")]:
        token, = make_tokens(cid, n=1, unit_codes=codes, category=category)
        zh, en = both_languages(page, f"{live_server}/b/{token}")
        for lang, m in (("zh", zh), ("en", en)):
            stated = stated_minutes(m["intro"], lang)
            table.append(row(name, lang, m, stated))
            if not agrees(stated, m["seconds"]):
                wrong.append(table[-1])
    context.close()
    record_property("answering_time_ballots", "\n".join(table))
    print("\n" + "\n".join(table))
    assert len(table) == 2 * (len(ballots) + 1)
    assert not wrong, "the ballot's stated time is not what the measurement supports:\n" + "\n".join(wrong)


def agrees(stated: int | None, measured: float) -> bool:
    """A ballot's time is computed for the units it lists (survey.answering_time.ballot_minutes,
    screens estimated from its questions): it must be the measured time rounded up to whole
    minutes, give or take 5% of the measurement where that lands near a minute's edge."""
    return stated is not None and stated * 60 >= 0.95 * measured and (stated - 1) * 60 < 1.05 * measured


def test_the_member_appraisal_states_the_time_each_member_takes(app, live_server, browser, make_tokens):
    """The five leads' intro states seconds per member: what one more member adds, measured on
    the phone's numbered ballot (the only way it is answered by phone: a unit's QR code refuses
    it) as the difference between a branch of one member and a branch of six, rounded up to
    whole five seconds."""
    questionnaires = shipped(app)
    appraisals = sorted(k for k, q in questionnaires.items() if any(i.kind == "members" for i in q.items))
    assert "five-leads" in appraisals
    units = [(f"M{n}-{size}", f"第{n}党支部", questionnaires[key].sector, key, MEMBERS[:size])
             for n, key in enumerate(appraisals, 1) for size in (1, len(MEMBERS))]
    cid = open_campaign(app, "members-2025", units)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    wrong = []
    for number, key in enumerate(appraisals, 1):
        measured = {}
        for size in (1, len(MEMBERS)):
            token, = make_tokens(cid, unit_codes=[f"M{number}-{size}"], category="party_delegate")
            measured[size] = both_languages(page, f"{live_server}/b/{token}")
        for index, lang in enumerate(("zh", "en")):
            a, b = measured[1][index], measured[len(MEMBERS)][index]
            assert b["taps"] - a["taps"] == len(MEMBERS) - 1
            per_member = (b["seconds"] - a["seconds"]) / (len(MEMBERS) - 1)
            stated = stated_seconds_per_member(questionnaires[key].intro.get(lang), lang)
            print(f"{key} [{lang}]: {per_member:.1f} s per member; the intro says {stated} s")
            if stated != 5 * math.ceil(per_member / 5):
                wrong.append(f"{key} [{lang}]: {per_member:.1f} s per member, the intro says {stated}")
    page.goto(f"{live_server}/s/M1-1")
    refused = page.locator("main").inner_text()
    context.close()
    assert "评议大会" in refused and "编号测评票" in refused, refused
    assert not wrong, wrong


def stated_seconds_per_member(intro: str, lang: str) -> int | None:
    """每人约需五秒 / About five seconds per member."""
    found = re.search(r"每人约需\s*([一二两三四五六十\d]+)\s*秒" if lang == "zh"
                      else r"[Aa]bout (ten|five|\d+) seconds per member", intro)
    if not found:
        return None
    word = found.group(1)
    return int(word) if word.isdigit() else NUMBERS[word]
