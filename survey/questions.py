"""What a questionnaire asks of a unit's raters, item by item: the one place that knows how
each item kind becomes rated questions.

The answering form, the results, paper ballots, double entry, tally sheets and the demo all
call `rated_questions` (or `expand` for one item), so adding a kind, or a choice to every rated
item, touches this module and its tests. An unknown kind raises, as the form builder does.

- "choice": one question on the item's named scale; pooled into the unit's headline rate when
  it is on the satisfaction scale (or marked ``pooled = true``; or, for questionnaires frozen
  under the old rule ``rate = "every_choice"``, whatever its scale);
- "yesno": one question on the yes/no scale (the built-in one when none was frozen); which
  answer is good is the item's ``good`` (yes by default);
- "incidence": "did this happen to you?" — 没有 / 有 on the incidence scale; 没有 is good unless
  the item says ``good = "yes"``; reported as an incidence rate, never pooled;
- "commitments": one question per public commitment of the unit (公开承诺 → 评诺), on the
  commitment scale, answer key ``item.N``;
- "members": one question per party member of the unit (民主评议党员, the five leads), on the
  appraisal scale (or the item's scale), answer key ``item.N``;
- "comment": free text, not a rated question.

A choice item on a scale with a 差评 group (好差评) may list ``poor_reasons``: a resident who picks
a poor choice may tick any of them, and each one ticked is stored and counted under the answer
key ``<item>:<reason>`` (`reason_key`), with the reason's key as its choice — beside the item's
own answer, in the same tables, so the tally, the recount, the scrub and the raw export treat
them like every answer. A reason ticked beside a choice that is not poor is not stored.

Each rated question carries its `measure`: what its rate means (满意率, 好评率, 发生率 …).

"Don't know" (不了解), a campaign setting (Campaign.dont_know), adds one more choice to every
rated question, after the scale's own (`RatedQuestion.choices`): it is stored and counted like
a choice under the key DONT_KNOW, but it is not on the scale, so it never enters a rate's
valid base; results show it apart.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .questionnaire import Choice, Item, Scale, Text

# The built-in yes/no scale, for questionnaires frozen without one.
YESNO = Scale.model_validate({"key": "yesno", "label": {"zh": "是否", "en": "Yes or no"}, "choices": [
    {"key": "yes", "label": {"zh": "是", "en": "Yes"}, "weight": 100, "positive": True},
    {"key": "no", "label": {"zh": "否", "en": "No"}, "weight": 0, "positive": False}]})
# The built-in incidence scale: "did this happen to you?" 没有 (no: good) / 有 (yes).
INCIDENCE = Scale.model_validate({"key": "incidence", "label": {"zh": "有无", "en": "Did it happen"}, "choices": [
    {"key": "no", "label": {"zh": "没有", "en": "No"}, "weight": 100, "positive": True},
    {"key": "yes", "label": {"zh": "有", "en": "Yes"}, "weight": 0, "positive": False}]})

# What an item's rate is called, by measure (the report and exports name it so).
MEASURES = {
    "satisfaction": Text(zh="满意率", en="Satisfaction rate"),
    "rating": Text(zh="好评率", en="Good-rating rate"),
    "haochaping": Text(zh="满意率", en="Satisfaction rate"),
    "incidence": Text(zh="发生率", en="Incidence rate"),
    "appraisal": Text(zh="合格率", en="Qualified rate"),
    "commitment": Text(zh="兑现率", en="Fulfilment rate"),
    "yesno": Text(zh="肯定率", en="Good-answer rate"),
}


# The scales whose items count in the unit's headline satisfaction rate by default: satisfaction
# (满意 + 基本满意 positive) and 好差评 (非常满意 + 满意 + 基本满意 positive), the same cut.
POOLED_SCALES = ("satisfaction", "haochaping")

# "Don't know": not a choice of any scale (so never in a rate's base), offered when the campaign says.
DONT_KNOW = "dont_know"
DONT_KNOW_CHOICE = Choice.model_validate({"key": DONT_KNOW, "label": {"zh": "不了解", "en": "Don't know"},
                                          "weight": 0, "positive": False})


REASON_SEPARATOR = ":"  # never in an item or reason key (survey.questionnaire.KEY, REASON_KEY)


def reason_key(item_key: str, reason: str) -> str:
    """The answer key a poor-rating reason is stored and counted under."""
    return f"{item_key}{REASON_SEPARATOR}{reason}"


def split_reason_key(key: str) -> tuple[str, str] | None:
    """(item key, reason key) of a reason's answer key, or None for any other answer key."""
    item, sep, reason = key.partition(REASON_SEPARATOR)
    return (item, reason) if sep else None


def poor_choices(scale: Scale) -> frozenset[str]:
    """The keys of a scale's choices in the 差评 group, the ones a reason may explain."""
    return frozenset(c.key for c in scale.choices if c.group == "poor")


class UnknownItemKind(LookupError):
    """An item kind nothing knows how to ask."""


@dataclass(frozen=True)
class RatedQuestion:
    """One rated question: where its answer is stored, its label, scale and item.

    measure: what its rate means, a key of MEASURES (for a choice item, its scale's key);
    for "incidence" the figure to report is the share of negative answers (有)."""

    key: str          # the answer key: the item's key, or item.N for the unit's Nth commitment/member
    label: Text
    scale: Scale
    item: Item
    pooled: bool      # counts in the unit's headline satisfaction rate
    measure: str = "satisfaction"
    dont_know: bool = False  # the don't-know choice is offered after the scale's choices

    @property
    def kind(self) -> str:
        return self.item.kind

    @property
    def choices(self) -> tuple[Choice, ...]:
        """The choices offered, in printed order: the scale's, then don't know if offered."""
        return self.scale.choices + ((DONT_KNOW_CHOICE,) if self.dont_know else ())


@dataclass(frozen=True)
class Lists:
    """What an expander may need beyond the item: the frozen scales, the unit's lists, the rule."""

    scales: dict
    commitments: tuple = ()
    members: tuple = ()
    rule: str = "satisfaction"


EXPANDERS = {}


def expander(kind: str):
    """Register how items of a kind become rated questions: func(item, lists) -> [RatedQuestion]."""
    def register(func):
        EXPANDERS[kind] = func
        return func
    return register


def pools(item: Item, rule: str) -> bool:
    """Whether a choice item's answers count in the unit's headline satisfaction rate."""
    if item.pooled is not None:
        return item.pooled
    return rule == "every_choice" or item.scale in POOLED_SCALES


def _good(scale: Scale, good_key: str) -> Scale:
    """The scale with `good_key` as its one positive choice (weight 100) and the other at 0."""
    if all(c.positive == (c.key == good_key) for c in scale.choices):
        return scale
    choices = tuple(c.model_copy(update={"positive": c.key == good_key, "weight": 100.0 if c.key == good_key else 0.0})
                    for c in scale.choices)
    return scale.model_copy(update={"choices": choices})


@expander("choice")
def _choice(item: Item, lists: Lists) -> list[RatedQuestion]:
    return [RatedQuestion(item.key, item.label, lists.scales[item.scale], item,
                          pooled=pools(item, lists.rule), measure=item.scale)]


@expander("yesno")
def _yesno(item: Item, lists: Lists) -> list[RatedQuestion]:
    scale = _good(lists.scales.get("yesno", YESNO), item.good or "yes")
    return [RatedQuestion(item.key, item.label, scale, item, pooled=False, measure="yesno")]


@expander("incidence")
def _incidence(item: Item, lists: Lists) -> list[RatedQuestion]:
    scale = _good(lists.scales.get("incidence", INCIDENCE), item.good or "no")
    return [RatedQuestion(item.key, item.label, scale, item, pooled=False, measure="incidence")]


@expander("commitments")
def _commitments(item: Item, lists: Lists) -> list[RatedQuestion]:
    scale = lists.scales["commitment"]
    return [RatedQuestion(f"{item.key}.{number}", Text(zh=text, en=text), scale, item, pooled=False,
                          measure="commitment")
            for number, text in enumerate(lists.commitments, start=1)]


@expander("members")
def _members(item: Item, lists: Lists) -> list[RatedQuestion]:
    scale = lists.scales[item.scale or "appraisal"]
    return [RatedQuestion(f"{item.key}.{number}", Text(zh=name, en=name), scale, item, pooled=False,
                          measure="appraisal")
            for number, name in enumerate(lists.members, start=1)]


@expander("comment")
def _comment(item: Item, lists: Lists) -> list[RatedQuestion]:
    return []


def expand(item: Item, scales: dict, commitments=(), members=(), rule: str = "satisfaction") -> list[RatedQuestion]:
    """The rated questions of one item (none for a comment); an unknown kind raises."""
    try:
        func = EXPANDERS[item.kind]
    except KeyError:
        raise UnknownItemKind(f"item {item.key}: no rated questions for item kind {item.kind!r}") from None
    return func(item, Lists(scales, tuple(commitments or ()), tuple(members or ()), rule))


def rated_questions(frozen, commitments, members=(), dont_know: bool = False) -> list[RatedQuestion]:
    """Every rated question of a frozen questionnaire for a unit with these commitments (and
    party members, for a member appraisal), in order; with dont_know, each offers the
    don't-know choice too."""
    q = frozen.questionnaire
    out: list[RatedQuestion] = []
    for item in q.items:
        out.extend(expand(item, frozen.scales, list(commitments or ()), members or (), q.rate))
    return [replace(rq, dont_know=True) for rq in out] if dont_know else out

