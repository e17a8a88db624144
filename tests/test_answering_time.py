"""How long answering takes, measured: every shipped questionnaire (the built-in one and every
plugin's, the example branch's too) answered in headless Chromium on a 360×740 phone as a
resident would, one tap per question, then sent; the taps, screens and text to read are
counted, turned into seconds by the model below, and the intro's stated time must be that
figure rounded up to whole minutes, in Chinese and in English (docs/plugins.md).

The model (a careful reader on a small screen, not a fast one):
- reading: 6 Chinese characters a second, or 4 English words a second (about the average
  adult's silent reading, 240 words a minute), over the intro, the headings, every question,
  the category choices and each distinct set of answer choices once;
- 1.5 s to decide and tap, for every answer;
- 1 s for every further screen scrolled to;
- 4.5 s for the submit tap and the thank-you page (bench/resident.py's goal on Slow 3G).
"""
import importlib
import importlib.metadata
import math
import re
import sys
from pathlib import Path

import pytest

from survey.db import db

EXAMPLE_BRANCH = Path(__file__).resolve().parents[1] / "plugins/example-branch"

pytestmark = pytest.mark.browser

ZH_CHARS_PER_S = 6
EN_WORDS_PER_S = 4
DECIDE_AND_TAP_S = 1.5
SCROLL_S = 1.0
SEND_S = 4.5
COMMITMENTS = ["年内完成办事大厅改造", "每月公开一次办事进度", "群众反映的问题一周内答复"]  # the demo's most
NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}


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


def reading_seconds(texts: list[str], lang: str) -> float:
    if lang == "zh":
        return sum(len(re.findall(r"[\u3400-\u9fff]|[A-Za-z0-9]+", t)) for t in texts) / ZH_CHARS_PER_S
    return sum(len(t.split()) for t in texts) / EN_WORDS_PER_S


TEXTS = """() => {
  const seen = new Set(), texts = [];
  const add = t => { t = (t || '').trim(); if (t) texts.push(t); };
  document.querySelectorAll('.intro, legend, .q .label, .q .help, p.group').forEach(e => add(e.innerText));
  document.querySelectorAll('.choices').forEach(group => {
    const choices = [...group.querySelectorAll('label.choice')].map(l => l.innerText.trim());
    const key = choices.join('|');
    if (!seen.has(key)) { seen.add(key); choices.forEach(add); }
  });
  return texts;
}"""


def measure(page, url: str, lang: str, tap: bool) -> dict:
    """Open the form; with tap, answer every question by tapping its first choice, then send."""
    page.goto(url)
    texts = page.evaluate(TEXTS)
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
        page.wait_for_url("**/thanks")
    seconds = (reading_seconds(texts, lang) + DECIDE_AND_TAP_S * (taps - 1 if tap else 0)
               + SCROLL_S * (math.ceil(screens) - 1) + SEND_S)
    return {"taps": taps, "screens": screens, "seconds": seconds, "texts": len(texts)}


def test_every_shipped_questionnaire_states_the_time_it_takes(app, live_server, browser, record_property):
    from survey.campaigns import transition
    from survey.models import Campaign, Unit
    from survey.registry import current_registry
    with app.app_context():
        registry = current_registry()
        # a unit's QR code answers its point-of-service form: measure each of those through a unit of
        # the assembly form it is paired with (an assembly form alone is answered on a ballot);
        # the member appraisal (five leads) is asked once per member, so its time is the branch's
        paired = {getattr(q, "point_of_service", None) for q in registry.questionnaires.values()}
        questionnaires = {k: q for k, q in registry.questionnaires.items()
                          if k not in paired and not any(i.kind == "members" for i in q.items)}
        shown = {k: registry.questionnaires.get(getattr(q, "point_of_service", None) or k, q)
                 for k, q in questionnaires.items()}
        campaign = Campaign(slug="timing-2025", name="2025年度基层站所群众满意度测评", allow_repeat=True)
        db.session.add(campaign)
        for number, (key, q) in enumerate(sorted(questionnaires.items()), start=1):
            db.session.add(Unit(campaign=campaign, code=f"T-{number:02d}", name=f"测评单位{number}", sector=q.sector,
                                questionnaire=key, commitments=COMMITMENTS))
        db.session.flush()
        transition(campaign, "open", registry, "test")
        db.session.commit()
    assert {"five-goods", "hospital", "library"} <= set(questionnaires), sorted(questionnaires)
    context = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True,
                                  locale="zh-CN")
    page = context.new_page()
    table, wrong = [], []
    for number, (key, q) in enumerate(sorted(questionnaires.items()), start=1):
        url = f"{live_server}/s/T-{number:02d}"
        zh = measure(page, f"{url}?lang=zh_CN", "zh", tap=True)
        en = measure(page, f"{url}?lang=en", "en", tap=False)
        en["taps"] = zh["taps"]
        en["seconds"] += DECIDE_AND_TAP_S * (zh["taps"] - 1)
        for lang, m in (("zh", zh), ("en", en)):
            needed = math.ceil(m["seconds"] / 60)
            form = shown[key]
            stated = stated_minutes(form.intro.get(lang) if form.intro else "", lang)
            table.append(f"{form.key} [{lang}]: {m['taps']} taps, {m['screens']:.1f} screens, {m['seconds']:.0f} s "
                         f"-> {needed} min; intro says {stated}")
            if stated != needed:
                wrong.append(table[-1])
    context.close()
    record_property("answering_time", "\n".join(table))
    print("\n" + "\n".join(table))
    assert not wrong, "the intro's time is not what the measurement supports:\n" + "\n".join(wrong)
