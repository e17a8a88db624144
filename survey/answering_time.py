"""How long answering takes: the one model behind every time a resident is told ("约需两分钟")
and behind tests/test_answering_time.py, which measures each questionnaire on a phone.

The model is a careful reader on a small screen, not a fast one:

- reading: 6 Chinese characters a second, or 4 English words a second (the average adult's
  silent reading, 240 words a minute), over the intro, the headings, every question, its help,
  and each distinct set of answer choices once;
- 1.5 s to decide and tap, for every answer (one tap per question);
- 1 s for every further screen scrolled to (a 740-px phone screen);
- 4.5 s for the submit tap and the thank-you page (bench/resident.py's goal on Slow 3G).

A time is stated in whole minutes, rounded up. A questionnaire's intro states the time of its
own form (a fixed text, checked by the test); a ballot, which lists any number of units, states
the time computed here from the forms it shows (`ballot_minutes`), with the screens estimated
from the number of questions (`SCREEN_PER_QUESTION`, as measured; the test fails when the time
a ballot states drifts from the one measured on it).
"""
from __future__ import annotations

import math
import re

ZH_CHARS_PER_S = 6
EN_WORDS_PER_S = 4
DECIDE_AND_TAP_S = 1.5
SCROLL_S = 1.0
SEND_S = 4.5
# the part of a 360×740 screen one question with its choices takes on a ballot, in Chinese and
# in English, as tests/test_answering_time.py measured it (34.4 and 45.3 screens for 127 questions)
SCREEN_PER_QUESTION = {"zh": 0.26, "en": 0.34}
SCREEN_PER_UNIT = 0.1  # a unit's heading
SCREENS_AROUND = 0.8  # the header, the ballot's intro, "you are …" and the submit button


def reading_seconds(texts, lang: str) -> float:
    """Seconds to read these texts: Chinese characters (a run of Latin letters or digits counts
    as one) at ZH_CHARS_PER_S, or English words at EN_WORDS_PER_S."""
    if lang == "zh":
        return sum(len(re.findall(r"[\u3400-\u9fff]|[A-Za-z0-9]+", t)) for t in texts) / ZH_CHARS_PER_S
    return sum(len(t.split()) for t in texts) / EN_WORDS_PER_S


def seconds(texts, lang: str, taps: int, screens: float) -> float:
    """The model's seconds for a page: its texts read, every tap but the submit one decided and
    tapped, every further screen scrolled to, and the submission sent (taps counts the submit)."""
    return (reading_seconds(texts, lang) + DECIDE_AND_TAP_S * max(taps - 1, 0)
            + SCROLL_S * max(math.ceil(screens) - 1, 0) + SEND_S)


def minutes(secs: float) -> int:
    """Whole minutes, rounded up: the time a page states."""
    return max(1, math.ceil(secs / 60))


def ballot_texts_and_taps(forms, category_labels, lang: str, optional: str = "") -> tuple[list[str], int, int]:
    """What a ballot page asks one to read beyond its intro, the taps it takes (each question
    with choices, "you are …" when asked, and the submit) and its number of questions with
    choices. forms: (unit, form) as the page lists them; category_labels: the choices of "you
    are …", empty when the ballot's category is fixed; optional: the mark beside a question
    one may leave out ("(optional)")."""
    texts, seen, taps, questions = list(category_labels), set(), 1, 0
    if category_labels:
        taps += 1
        questions += 1
    for number, (unit, form) in enumerate(forms, start=1):
        texts.append(f"{number}. {unit.name}")
        for section in form.sections:
            if section.title:
                texts.append(section.title)
            for item, specs in section.items:
                if item.kind == "commitments":
                    texts.append(item.label.get(lang))
                for spec in specs:
                    field = form[spec.name]
                    shown_optional = optional and not item.required and field.type != "TextAreaField"
                    texts.append(f"{field.label.text} {optional}" if shown_optional else str(field.label.text))
                    if field.description:
                        texts.append(str(field.description))
                    if field.type == "TextAreaField":
                        continue
                    choices = tuple(str(option.label.text) for option in field)
                    if choices not in seen:
                        seen.add(choices)
                        texts += choices
                    taps += 1
                    questions += 1
    return texts, taps, questions


def ballot_minutes(forms, category_labels, lang: str, shown=(), optional: str = "") -> int:
    """The whole minutes a ballot page takes, by the model: its texts (and the others shown:
    the intro, the category question), its taps and its screens, estimated from its units and
    questions."""
    texts, taps, questions = ballot_texts_and_taps(forms, category_labels, lang, optional)
    screens = SCREENS_AROUND + SCREEN_PER_UNIT * len(forms) + SCREEN_PER_QUESTION[lang] * questions
    return minutes(seconds(texts + list(shown), lang, taps, screens))
