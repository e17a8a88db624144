"""What a questionnaire asks of a unit's raters, item by item: the one place that knows how
each item kind becomes rated questions.

The answering form, the results, paper ballots, double entry, tally sheets and the demo all
call `rated_questions` (or `expand` for one item), so adding a kind, or a choice to every rated
item, touches this module and its tests. An unknown kind raises, as the form builder does.

- "choice": one question on the item's named scale; pooled into the unit's overall rate;
- "yesno": one question on the yes/no scale (the built-in one when none was frozen);
- "commitments": one question per public commitment of the unit (公开承诺 → 评诺), on the
  commitment scale, answer key ``item.N``;
- "comment": free text, not a rated question.

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


# "Don't know": not a choice of any scale (so never in a rate's base), offered when the campaign says.
DONT_KNOW = "dont_know"
DONT_KNOW_CHOICE = Choice.model_validate({"key": DONT_KNOW, "label": {"zh": "不了解", "en": "Don't know"},
                                          "weight": 0, "positive": False})


class UnknownItemKind(LookupError):
    """An item kind nothing knows how to ask."""


@dataclass(frozen=True)
class RatedQuestion:
    """One rated question: where its answer is stored, its label, scale and item."""

    key: str          # the answer key: the item's key, or item.N for the unit's Nth commitment
    label: Text
    scale: Scale
    item: Item
    pooled: bool      # counts in the unit's overall satisfaction rate
    dont_know: bool = False  # the don't-know choice is offered after the scale's choices

    @property
    def kind(self) -> str:
        return self.item.kind

    @property
    def choices(self) -> tuple[Choice, ...]:
        """The choices offered, in printed order: the scale's, then don't know if offered."""
        return self.scale.choices + ((DONT_KNOW_CHOICE,) if self.dont_know else ())


EXPANDERS = {}


def expander(kind: str):
    """Register how items of a kind become rated questions."""
    def register(func):
        EXPANDERS[kind] = func
        return func
    return register


@expander("choice")
def _choice(item: Item, scales: dict, commitments: list) -> list[RatedQuestion]:
    return [RatedQuestion(item.key, item.label, scales[item.scale], item, pooled=True)]


@expander("yesno")
def _yesno(item: Item, scales: dict, commitments: list) -> list[RatedQuestion]:
    return [RatedQuestion(item.key, item.label, scales.get("yesno", YESNO), item, pooled=False)]


@expander("commitments")
def _commitments(item: Item, scales: dict, commitments: list) -> list[RatedQuestion]:
    scale = scales["commitment"]
    return [RatedQuestion(f"{item.key}.{number}", Text(zh=text, en=text), scale, item, pooled=False)
            for number, text in enumerate(commitments or [], start=1)]


@expander("comment")
def _comment(item: Item, scales: dict, commitments: list) -> list[RatedQuestion]:
    return []


def expand(item: Item, scales: dict, commitments: list) -> list[RatedQuestion]:
    """The rated questions of one item (none for a comment); an unknown kind raises."""
    try:
        func = EXPANDERS[item.kind]
    except KeyError:
        raise UnknownItemKind(f"item {item.key}: no rated questions for item kind {item.kind!r}") from None
    return func(item, scales, commitments)


def rated_questions(frozen, commitments: list | None, dont_know: bool = False) -> list[RatedQuestion]:
    """Every rated question of a frozen questionnaire for a unit with these commitments, in order;
    with dont_know, each offers the don't-know choice too."""
    out: list[RatedQuestion] = []
    for item in frozen.questionnaire.items:
        out.extend(expand(item, frozen.scales, list(commitments or [])))
    return [replace(q, dont_know=True) for q in out] if dont_know else out
