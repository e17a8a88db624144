"""Questionnaires as data: the schema of sectors, scales, respondent categories and items.

A questionnaire file (TOML) is validated on load; an error names the file, the item and the
field. A campaign freezes the questionnaires its units use when it opens (see snapshot.py),
so these objects are also rebuilt from the frozen JSON.
"""
from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

KEY = r"^[a-z][a-z0-9_\-]{0,39}$"
# a poor-rating reason's key: short, so that its answer key "<item>:<reason>" (survey.questions:
# reason_key) fits the answer and tally tables' item column (60 characters)
REASON_KEY = r"^[a-z][a-z0-9_\-]{0,18}$"
ITEM_KINDS = ("choice", "yesno", "incidence", "comment", "commitments", "members")
AUDIENCES = ("point_of_service", "assembly")
# How a unit's headline satisfaction rate is pooled (see survey.questions):
# "satisfaction": the items on the satisfaction scale (and choice items marked pooled = true);
# "every_choice": every item of kind "choice", whatever its scale (questionnaires frozen before
# the audience split were counted this way, and keep it).
RATE_RULES = ("satisfaction", "every_choice")


class QuestionnaireError(ValueError):
    """A questionnaire or plugin definition that cannot be used, with where it went wrong."""


class Text(BaseModel):
    """A label in Chinese (shown to residents by default) and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)

    def get(self, locale) -> str:
        """The label in the given locale, Chinese unless English is asked."""
        return self.en if str(locale).startswith("en") else self.zh


class Choice(BaseModel):
    """One answer on a scale: 满意, 基本满意 … with its weight and whether it counts as satisfied."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=KEY)
    label: Text
    weight: float = Field(ge=0, le=100)
    positive: bool
    # 好差评 group: "good" (好评), "fair" (中评) or "poor" (差评); a scale whose choices have
    # groups gets a 好评率 and 差评率 beside its rate (survey.results.Figures).
    group: Literal["good", "fair", "poor"] | None = None


class Reason(BaseModel):
    """One reason a resident may tick for a poor rating (差评原因): 态度不好, 办事慢, 多次跑腿 …"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=REASON_KEY)
    label: Text


class Scale(BaseModel):
    """A named scale (satisfaction, rating, appraisal, commitment, or a plugin's own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=KEY)
    label: Text
    choices: tuple[Choice, ...] = Field(min_length=2, max_length=10)

    @field_validator("choices")
    @classmethod
    def _distinct(cls, choices):
        keys = [c.key for c in choices]
        if len(set(keys)) != len(keys):
            raise ValueError("choice keys must be distinct")
        return choices

    def choice(self, key: str) -> Choice:
        """The choice with this key."""
        for c in self.choices:
            if c.key == key:
                return c
        raise KeyError(key)


class Category(BaseModel):
    """A respondent category (服务对象, 普通群众代表, 党代表 …).

    counts_toward_share marks the categories of "service recipients and residents" whose share
    of the raters must reach the campaign's minimum (服务对象和群众代表不低于30%).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=KEY)
    label: Text
    counts_toward_share: bool


class Sector(BaseModel):
    """A kind of unit: school, hospital, village, enterprise, government office …"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=KEY)
    label: Text


class Item(BaseModel):
    """One question of a questionnaire.

    good: for yes/no and incidence items, which answer is the good one ("yes" or "no"; by
    default yes for yesno, no — it did not happen — for incidence).
    pooled: for choice items, whether the answers count in the unit's headline satisfaction
    rate (by default: only items on the satisfaction scale do).
    poor_reasons: for a choice item on a scale with a 差评 group (好差评), the reasons a resident
    who picks a poor choice may tick (optional, any number; docs/plugins.md). Each reason ticked
    is stored and counted under its own answer key (survey.questions.reason_key).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=KEY)
    kind: Literal["choice", "yesno", "incidence", "comment", "commitments", "members"]
    label: Text
    help: Optional[Text] = None
    section: Optional[Text] = None
    scale: Optional[str] = None
    required: bool = True
    max_length: Optional[int] = Field(default=None, ge=1, le=5000)
    good: Optional[Literal["yes", "no"]] = None
    pooled: Optional[bool] = None
    poor_reasons: tuple[Reason, ...] = Field(default=(), max_length=12)

    @model_validator(mode="after")
    def _kind_fields(self):
        if self.kind == "choice" and not self.scale:
            raise ValueError("a choice item needs a scale")
        if self.kind not in ("choice", "commitments", "members") and self.scale:
            raise ValueError(f"a {self.kind} item takes no scale")
        if self.kind != "comment" and self.max_length is not None:
            raise ValueError("max_length is for comment items")
        if self.good is not None and self.kind not in ("yesno", "incidence"):
            raise ValueError("good is for yesno and incidence items")
        if self.pooled is not None and self.kind != "choice":
            raise ValueError("pooled is for choice items")
        if self.poor_reasons and self.kind != "choice":
            raise ValueError("poor_reasons is for choice items")
        keys = [r.key for r in self.poor_reasons]
        if len(set(keys)) != len(keys):
            raise ValueError("poor_reasons keys must be distinct")
        return self


class Questionnaire(BaseModel):
    """A sector's questionnaire: title, version and items, frozen by a campaign when it opens.

    audience: "point_of_service" (reached by the unit's QR code: only the rater's own visit)
    or "assembly" (delegates and representatives at an evaluation assembly, on paper or with a
    numbered ballot: the five goods and 评诺). An assembly questionnaire may name its sector's
    point-of-service questionnaire in point_of_service; a unit answering the assembly form on
    ballots then answers that one through its QR code (docs/plugins.md, "Two forms per unit").
    rate: which items the unit's headline satisfaction rate pools (RATE_RULES).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=KEY)
    version: str = Field(min_length=1, max_length=40)
    sector: str = Field(pattern=KEY)
    audience: Literal["point_of_service", "assembly"] = "assembly"
    point_of_service: Optional[str] = Field(default=None, pattern=KEY)
    rate: Literal["satisfaction", "every_choice"] = "satisfaction"
    title: Text
    intro: Optional[Text] = None
    items: tuple[Item, ...] = Field(min_length=1, max_length=200)

    @field_validator("items")
    @classmethod
    def _distinct_items(cls, items):
        seen = set()
        for item in items:
            if item.key in seen:
                raise ValueError(f"item key {item.key!r} is used twice")
            seen.add(item.key)
        return items

    @model_validator(mode="after")
    def _pairing(self):
        if self.point_of_service is not None:
            if self.audience != "assembly":
                raise ValueError("only an assembly questionnaire names a point_of_service questionnaire")
            if self.point_of_service == self.key:
                raise ValueError("point_of_service names this questionnaire itself")
        return self

    def item(self, key: str) -> Item:
        """The item with this key."""
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    def scales_used(self) -> set[str]:
        """Keys of the scales this questionnaire's items name."""
        used = {i.scale for i in self.items if i.kind == "choice"}
        for item in self.items:
            if item.kind in IMPLIED_SCALES:
                used.add(item.scale if item.kind == "members" and item.scale else IMPLIED_SCALES[item.kind])
        return used


# The scale an item kind is counted on when the item names none.
IMPLIED_SCALES = {"commitments": "commitment", "yesno": "yesno", "incidence": "incidence", "members": "appraisal"}


# Words that mark a question about the leadership or the party members: a point-of-service
# rater (a patient, a parent, a visitor) cannot know these from one visit.
NOT_AT_POINT_OF_SERVICE = ("领导", "班子", "党员", "党组织", "支部", "两委", "leader", "party member")


def point_of_service_problems(q: Questionnaire) -> list[str]:
    """Why a point-of-service questionnaire asks what its raters cannot know from their own
    visit: leadership, party members, 评诺 or a member appraisal (empty for an assembly one)."""
    return not_judgeable_at_point_of_service(q) if q.audience == "point_of_service" else []


def not_judgeable_at_point_of_service(q: Questionnaire) -> list[str]:
    """The items of any questionnaire that a rater at the point of service (a patient, a parent,
    a passer-by) cannot judge from their own visit, each with why: a `commitments` or `members`
    item, or an item keyed `leadership` or `members` or whose text names the leadership or the
    party members (NOT_AT_POINT_OF_SERVICE). The toolkit has no "don't know" choice: such items
    belong only on an assembly questionnaire, one its units' QR codes never show."""
    problems = []
    for item in q.items:
        if item.kind in ("commitments", "members"):
            problems.append(f"item {item.key}: a {item.kind} item belongs on the assembly questionnaire")
            continue
        texts = [item.label.zh, item.label.en.lower()]
        texts += [t for t in (item.help, item.section) if t for t in (t.zh, t.en.lower())]
        found = sorted({w for w in NOT_AT_POINT_OF_SERVICE for t in texts if w in t})
        if found or item.key in ("leadership", "members"):
            problems.append(f"item {item.key}: asks about the leadership or party members "
                            f"({', '.join(found) or item.key}), which a point-of-service rater cannot know")
    return problems


def shown_by_qr_code(q: Questionnaire, known: dict) -> Questionnaire | None:
    """The questionnaire a unit answering q shows through its QR code: q's point-of-service
    pair when it names one, None when q is answered at the assembly only (`assembly_only`),
    else q itself. known: the questionnaires by key."""
    if assembly_only(q):
        return None
    return known.get(q.point_of_service, q) if q.point_of_service else q


def assembly_only(q: Questionnaire) -> bool:
    """Whether a questionnaire is never answered through a unit's QR code: one that appraises the
    unit's party members (a `members` item), which only the branch's assembly can judge; its
    unit's QR code says to answer with the numbered ballot or on paper instead."""
    return any(item.kind == "members" for item in q.items)


def suggest(word: str, known, what: str) -> str:
    """"; did you mean `x`? (what: a, b, c)" for a misspelt name, or the valid ones."""
    known = sorted(str(k) for k in known)
    close = difflib.get_close_matches(str(word), known, n=1, cutoff=0.6)
    listed = f" ({what}: {', '.join(known)})" if known and len(known) <= 30 else ""
    return (f"; did you mean `{close[0]}`?" if close else "") + listed


def _item_lines(source_text: str | None) -> list[int]:
    """The line number of each [[items]] table in a TOML text, in order."""
    if not source_text:
        return []
    return [n for n, line in enumerate(source_text.splitlines(), start=1)
            if re.match(r"\s*\[\[\s*items\s*\]\]", line)]


MODELS_BY_PLACE = {"items": "Item", "title": "Text", "intro": "Text", "label": "Text", "help": "Text",
                   "section": "Text"}


def _hint(e: dict, model_name: str | None) -> str:
    """A suggestion for an unknown field or a misspelt choice."""
    if e["type"] == "extra_forbidden" and model_name in _FIELDS:
        return suggest(str(e["loc"][-1]), _FIELDS[model_name], "fields")
    if e["type"] == "literal_error" and isinstance(e.get("input"), str):
        expected = re.findall(r"'([^']+)'", e.get("ctx", {}).get("expected", ""))
        close = difflib.get_close_matches(e["input"], expected, n=1, cutoff=0.6)
        return f"; did you mean `{close[0]}`?" if close else ""
    return ""


def describe_error(source: str, data: dict, error: ValidationError, source_text: str | None = None) -> str:
    """Turn a pydantic error into lines naming the file, the line, the item and the field, with
    the nearest valid name where one was misspelt."""
    lines = []
    items = data.get("items") if isinstance(data, dict) else None
    item_lines = _item_lines(source_text)
    errors = error.errors()
    item_errors = any(len(e["loc"]) > 2 and e["loc"][0] == "items" for e in errors)
    for e in errors:
        loc = list(e["loc"])
        if item_errors and loc == ["items"] and e["type"] == "too_short":
            continue  # follows from the bad item reported above
        where, place, model_name = [], source, "Questionnaire"
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
            key = None
            if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
                key = items[loc[1]].get("key")
            if loc[1] < len(item_lines):
                place = f"{source}:{item_lines[loc[1]]}"
            where.append(f"item {loc[1] + 1}" + (f" ({key})" if key else ""))
            loc, model_name = loc[2:], "Item"
        shown = [p for p in loc if not str(p).startswith("function-")]
        if len(shown) > 1 and str(shown[0]) in MODELS_BY_PLACE:
            model_name = MODELS_BY_PLACE[str(shown[0])]
        field = ".".join(_shown(p) for p in shown)
        if field:
            where.append(f"field {field}")
        message = e["msg"].removeprefix("Value error, ")
        lines.append(f"{place}: {', '.join(where) or 'top level'}: {message}{_hint(e, model_name)}")
    return "\n".join(lines)


def describe_model_error(where: str, data, error: ValidationError) -> str:
    """A plugin's sector, scale or category dict that does not validate: one line per field."""
    lines = []
    key = data.get("key") if isinstance(data, dict) else None
    name = f"{where}" + (f" ({key})" if key else "")
    for e in error.errors():
        field = ".".join(_shown(p) for p in e["loc"]) or "top level"
        lines.append(f"{name}: field {field}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


def _shown(part) -> str:
    """A field name as the message shows it: quoted when it is not plain printable text."""
    part = str(part)
    return part if part.isprintable() and part.strip() == part and part else repr(part)


def parse_questionnaire(data: dict, source: str = "<questionnaire>", source_text: str | None = None) -> Questionnaire:
    """Validate a questionnaire given as a dict; raise QuestionnaireError saying where."""
    try:
        return Questionnaire.model_validate(data)
    except ValidationError as exc:
        raise QuestionnaireError(describe_error(source, data, exc, source_text)) from None


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Read and validate a questionnaire TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise QuestionnaireError(f"{path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_questionnaire(data, str(path), text)


_FIELDS = {"Questionnaire": list(Questionnaire.model_fields), "Item": list(Item.model_fields),
           "Text": list(Text.model_fields)}


def load_any_questionnaire(path: str | Path) -> tuple[Questionnaire, dict[str, Scale]]:
    """A questionnaire file, TOML or an XLSForm workbook (.xlsx), and the scales a workbook's
    choice lists define (none for TOML: its scales come from plugins)."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from .xlsform import read_xlsform
        return read_xlsform(path)
    return load_questionnaire(path), {}
