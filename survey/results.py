"""Campaign results (测评结果) from the running tally: rates, intervals, the line, ranking.

Every figure comes from the Tally table, which holds at most a few hundred rows per unit
however many answers there are; nothing here groups over the answer table except recount(),
the check that the tally is right. docs/results.md explains each figure to a campaign office.

- satisfaction rate of an item = answers on positive choices (满意 + 基本满意) / valid answers;
- weighted score = Σ weight × answers / valid answers, with the frozen scale's weights;
- a unit's headline rate and score pool the answers to its items on the satisfaction scale
  (survey.questions decides: `RatedQuestion.pooled`); items on other scales are reported
  beside it with their own measure (好评率, 发生率 of an incidence item, 合格率 …);
- a unit answered on two forms (its QR code's point-of-service questionnaire and its
  assembly questionnaire) has the items of both, counted together;
- 95% Wilson intervals; a unit is inconclusive when its interval straddles the line or it
  has fewer raters than the campaign's minimum sample;
- units under the line must remedy (限期整改); the share of service recipients and residents
  among raters is checked against the composition minimum (不低于30%).
"""
from __future__ import annotations

import importlib
import importlib.util
import math
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from .db import db
from .models import Answer, Campaign, CommentModeration, RespondentCategory, Response, Tally, Unit
from .questionnaire import Choice, Scale, Text
from .questions import DONT_KNOW, rated_questions, split_reason_key
from .snapshot import frozen_for

Z95 = 1.959963984540054
def wilson(positive: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for positive / n (95% by default), or None when n is 0."""
    if n <= 0:
        return None
    p = positive / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def below(positive: int, valid: int, line: float) -> bool:
    """positive / valid < line, without a rounding error deciding a unit's fate."""
    return valid > 0 and positive < line * valid - 1e-9 * valid


@dataclass
class Figures:
    """Answers on one or more items: counts per choice, valid, positive, weighted sum."""

    counts: dict[str, int] = field(default_factory=dict)
    valid: int = 0
    positive: int = 0
    weighted: float = 0.0
    sample: int | None = None  # the interval's sample size when it is not `valid` (raters)
    dont_know: int = 0         # "don't know" answers: counted apart, never in `valid`
    withheld: str | None = None  # why survey.disclosure withheld these figures, if it did
    grouped: bool = False  # answers on a 好差评 scale (choices with a group) were counted
    good: int = 0  # answers in the 好评 group
    poor: int = 0  # answers in the 差评 group

    def withhold(self, reason: str) -> None:
        """Forget the figures (a cell too small to show): counts, rate, score and interval."""
        self.counts, self.valid, self.positive, self.weighted, self.withheld = {}, 0, 0, 0.0, reason
        self.good = self.poor = 0
        self.dont_know = 0

    def add(self, choice: Choice, n: int) -> None:
        """Count n answers on this choice."""
        self.counts[choice.key] = self.counts.get(choice.key, 0) + n
        self.valid += n
        self.positive += n if choice.positive else 0
        self.weighted += n * choice.weight
        if choice.group:
            self.grouped = True
            self.good += n if choice.group == "good" else 0
            self.poor += n if choice.group == "poor" else 0

    @property
    def rate(self) -> float | None:
        return self.positive / self.valid if self.valid else None

    @property
    def score(self) -> float | None:
        return self.weighted / self.valid if self.valid else None

    @property
    def good_rate(self) -> float | None:
        """好评率: answers in the 好评 group / valid answers (None unless on a 好差评 scale)."""
        return self.good / self.valid if self.grouped and self.valid else None

    @property
    def poor_rate(self) -> float | None:
        """差评率: answers in the 差评 group / valid answers (None unless on a 好差评 scale)."""
        return self.poor / self.valid if self.grouped and self.valid else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of the rate over `sample` (raters) or else the valid answers."""
        n = self.valid if self.sample is None else self.sample
        return wilson(self.rate * n, n) if self.valid and n else None

    def as_dict(self, with_counts: bool = True) -> dict:
        """Plain figures for JSON and exports; withheld figures are null, with the reason."""
        if self.withheld:
            data = {"valid": None, "positive": None, "rate": None, "interval": None,
                    "weighted_score": None, "withheld": self.withheld}
            if self.grouped:
                data.update(good=None, good_rate=None, poor=None, poor_rate=None)
            return {"counts": None, **data} if with_counts else data
        interval = self.interval
        data = {"valid": self.valid, "dont_know": self.dont_know, "positive": self.positive, "rate": self.rate,
                "interval": list(interval) if interval else None, "weighted_score": self.score}
        if self.grouped:
            data.update(good=self.good, good_rate=self.good_rate, poor=self.poor, poor_rate=self.poor_rate)
        if with_counts:
            data = {"counts": dict(self.counts), **data}
        return data


@dataclass
class Breakdown:
    """Figures in total, per respondent category and per channel (online, paper)."""

    total: Figures = field(default_factory=Figures)
    by_category: dict[str, Figures] = field(default_factory=dict)
    by_channel: dict[str, Figures] = field(default_factory=dict)

    def add(self, choice: Choice, category: str, channel: str, n: int) -> None:
        self.total.add(choice, n)
        self.by_category.setdefault(category, Figures()).add(choice, n)
        self.by_channel.setdefault(channel, Figures()).add(choice, n)

    def add_dont_know(self, category: str, channel: str, n: int) -> None:
        """Count n "don't know" answers, apart from the valid ones."""
        for figures in (self.total, self.by_category.setdefault(category, Figures()),
                        self.by_channel.setdefault(channel, Figures())):
            figures.dont_know += n

    def as_dict(self, with_counts: bool = True) -> dict:
        return {**self.total.as_dict(with_counts),
                "by_category": {k: v.as_dict(with_counts) for k, v in sorted(self.by_category.items())},
                "by_channel": {k: v.as_dict(with_counts) for k, v in sorted(self.by_channel.items())}}


@dataclass
class ReasonCounts:
    """How often each poor-rating reason of an item was ticked (差评原因), in total and per
    respondent category and channel. Withheld as the item's figures are (survey.disclosure)."""

    total: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    withheld: str | None = None
    withheld_category: dict[str, str] = field(default_factory=dict)
    withheld_channel: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, category: str, channel: str, n: int) -> None:
        for counts in (self.total, self.by_category.setdefault(category, {}), self.by_channel.setdefault(channel, {})):
            counts[reason] = counts.get(reason, 0) + n

    def withhold(self, why: str) -> None:
        """Forget every count (the item is withheld whole)."""
        self.total, self.by_category, self.by_channel, self.withheld = {}, {}, {}, why

    def withhold_cells(self, by_category: dict[str, str], by_channel: dict[str, str]) -> None:
        """Forget the counts of the cells the item's figures withhold, keeping why."""
        for cells, withheld, why in ((self.by_category, self.withheld_category, by_category),
                                     (self.by_channel, self.withheld_channel, by_channel)):
            for key, reason in why.items():
                cells.pop(key, None)
                withheld[key] = reason

    def count(self, reason: str) -> int | None:
        """Times this reason was ticked, or None when withheld."""
        return None if self.withheld else self.total.get(reason, 0)

    def as_dict(self, keys: list[str]) -> dict:
        """reason -> count in total and per cell; null with the reason where withheld."""
        def cell(counts):
            return {"counts": {k: counts.get(k, 0) for k in keys}}
        if self.withheld:
            return {"counts": None, "withheld": self.withheld, "by_category": {}, "by_channel": {}}
        return {**cell(self.total),
                "by_category": {**{k: cell(v) for k, v in sorted(self.by_category.items())},
                                **{k: {"counts": None, "withheld": w} for k, w in sorted(self.withheld_category.items())}},
                "by_channel": {**{k: cell(v) for k, v in sorted(self.by_channel.items())},
                               **{k: {"counts": None, "withheld": w} for k, w in sorted(self.withheld_channel.items())}}}


@dataclass
class ItemResult:
    """One rated item of a unit's questionnaire (a commitment counts as its own item)."""

    key: str
    kind: str
    label: Text
    scale: Scale
    pooled: bool = False  # counts in the unit's headline rate (survey.questions)
    measure: str = "satisfaction"  # what its rate means (survey.questions.MEASURES)
    figures: Breakdown = field(default_factory=Breakdown)
    not_rated: int = 0    # raters of the unit who left this item blank (or marked it twice)
    reasons: tuple = ()  # the item's poor-rating reasons (survey.questionnaire.Reason), if it has any
    reason_counts: ReasonCounts = field(default_factory=ReasonCounts)

    @property
    def negative_share(self) -> float | None:
        """The share of valid answers on negative choices: the incidence rate of an incidence
        item (有), the share rated 不合格 of a member, the share 未兑现 or 部分兑现 …"""
        total = self.figures.total
        return (total.valid - total.positive) / total.valid if total.valid else None

    def as_dict(self) -> dict:
        data = {"key": self.key, "kind": self.kind, "label": self.label.model_dump(),
                "scale": self.scale.key, "measure": self.measure, "pooled": self.pooled,
                "negative_share": self.negative_share, **self.figures.as_dict(),
                "not_rated": None if self.figures.total.withheld else self.not_rated}
        if self.reasons:
            data["poor_reasons"] = {"labels": {r.key: r.label.model_dump() for r in self.reasons},
                                    **self.reason_counts.as_dict([r.key for r in self.reasons])}
        return data


@dataclass
class UnitResult:
    """A unit's figures, the rule's verdict and its place in the ranking."""

    id: int
    code: str
    name: str
    sector: str
    items: list[ItemResult]
    raters: int = 0
    raters_by_category: dict[str, int] = field(default_factory=dict)
    raters_by_channel: dict[str, int] = field(default_factory=dict)
    overall: Breakdown = field(default_factory=Breakdown)
    share: float | None = None
    composition_met: bool = False
    must_remedy: bool = False
    inconclusive: bool = True
    remedy_items: list[ItemResult] = field(default_factory=list)
    rank: int | None = None
    sector_rank: int | None = None
    previous_rate: float | None = None
    previous_rank: int | None = None
    enough_raters: bool = True  # False: fewer raters than may be shown (评议人数不足), see disclosure
    rule: str = "satisfaction"  # the frozen questionnaire's rate rule (survey.questionnaire.RATE_RULES)

    @property
    def incidence(self) -> list[ItemResult]:
        """The incidence items ("did this happen to you?"), each with its incidence rate."""
        return [i for i in self.items if i.measure == "incidence"]

    @property
    def members(self) -> list[ItemResult]:
        """The party members appraised (民主评议党员), one per member."""
        return [i for i in self.items if i.kind == "members"]

    @property
    def rate(self) -> float | None:
        return self.overall.total.rate

    @property
    def score(self) -> float | None:
        return self.overall.total.score

    @property
    def interval(self) -> tuple[float, float] | None:
        return self.overall.total.interval

    @property
    def misses_composition(self) -> bool:
        """The unit has enough raters to be shown and too few of them are service recipients and
        residents (a unit without raters, or with too few to show, is not 'composition not
        met'). The summary tile and the table's badge both use this."""
        return bool(self.raters) and self.enough_raters and not self.composition_met

    @property
    def final(self) -> bool:
        """The verdict stands: enough raters, a clear interval, the composition met."""
        return self.composition_met and not self.inconclusive

    @property
    def change(self) -> float | None:
        """Change of the rate since the previous campaign (a fraction, e.g. 0.05 = +5 points)."""
        if self.rate is None or self.previous_rate is None:
            return None
        return self.rate - self.previous_rate

    def as_dict(self) -> dict:
        return {
            "code": self.code, "name": self.name, "sector": self.sector,
            "raters": self.raters, "raters_by_category": dict(sorted(self.raters_by_category.items())),
            "raters_by_channel": dict(sorted(self.raters_by_channel.items())),
            **self.overall.as_dict(with_counts=False),
            "composition_share": self.share, "rank": self.rank, "sector_rank": self.sector_rank,
            "previous_rate": self.previous_rate, "previous_rank": self.previous_rank, "change": self.change,
            "flags": {"must_remedy": self.must_remedy, "composition_met": self.composition_met,
                      "inconclusive": self.inconclusive, "final": self.final,
                      "not_enough_raters": not self.enough_raters},
            "remedy_items": [i.key for i in self.remedy_items],
            "incidence": {i.key: i.negative_share for i in self.incidence},
            "items": [i.as_dict() for i in self.items],
        }


@dataclass
class CampaignResults:
    """Every unit's results with the campaign's line and minimums."""

    campaign: Campaign
    units: list[UnitResult]
    categories: dict[str, Text]
    previous: Campaign | None = None
    disclosed: bool = False  # True once survey.disclosure has withheld what reports may not show

    def check_disclosed(self) -> None:
        """Refuse to publish the office's full figures: reports take disclosed results."""
        if not self.disclosed:
            raise ValueError("results for a report or export must come from "
                             "survey.disclosure.disclosed_results(), which withholds small groups")
    # sector -> its respondent categories' keys, in the questionnaire's order
    sector_categories: dict[str, list[str]] = field(default_factory=dict)
    # the (sector, category) pairs that count toward the composition rule
    counting: set[tuple[str, str]] = field(default_factory=set)

    def categories_of(self, unit: UnitResult) -> list[str]:
        """The categories that apply to this unit: its sector's, and any it has raters in."""
        keys = list(self.sector_categories.get(unit.sector, []))
        return keys + [k for k in unit.raters_by_category if k not in keys]

    @property
    def line(self) -> float:
        return self.campaign.satisfaction_line

    @property
    def ranked(self) -> list[UnitResult]:
        """Units in ranking order, unranked (no answers) last."""
        return sorted(self.units, key=lambda u: (u.rank is None, u.rank or 0, u.code))

    @property
    def remedy(self) -> list[UnitResult]:
        """Units under the line (限期整改), lowest rate first."""
        return sorted((u for u in self.units if u.must_remedy), key=lambda u: (u.rate, u.code))

    @property
    def composition_not_met(self) -> list[UnitResult]:
        """Units whose raters do not meet the composition minimum (the tile and the badges)."""
        return [u for u in self.ranked if u.misses_composition]

    @property
    def inconclusive(self) -> list[UnitResult]:
        """Units with enough raters to be shown whose result is inconclusive (the interval
        reaches across the line); those with too few raters are in ``not_enough_raters``."""
        return [u for u in self.ranked if u.inconclusive and u.enough_raters]

    @property
    def not_enough_raters(self) -> list[UnitResult]:
        """Units shown only with their rater counts (评议人数不足, survey.disclosure)."""
        return [u for u in self.ranked if not u.enough_raters]

    @property
    def too_few_raters(self) -> list[UnitResult]:
        """Units with fewer raters than the campaign's minimum sample (or too few to show)."""
        return [u for u in self.ranked if not u.enough_raters or u.raters < self.campaign.minimum_sample]

    def only(self, codes) -> CampaignResults:
        """The same results limited to these unit codes (ranks stay those among all units)."""
        codes = set(codes)
        return CampaignResults(self.campaign, [u for u in self.units if u.code in codes], self.categories,
                               self.previous, self.disclosed, self.sector_categories, self.counting)

    def campaign_dict(self) -> dict:
        """The campaign as plugins and the JSON see it."""
        c = self.campaign
        return {"slug": c.slug, "name": c.name, "state": c.state, "line": c.satisfaction_line,
                "composition_minimum": c.composition_minimum, "minimum_sample": c.minimum_sample,
                "minimum_cell": c.minimum_cell, "previous": self.previous.slug if self.previous else None}

    def as_dict(self) -> dict:
        """The results JSON (the API's and `survey export --format json`)."""
        return {"campaign": self.campaign_dict(),
                "categories": {k: v.model_dump() for k, v in self.categories.items()},
                "units": [u.as_dict() for u in self.ranked]}


def verdict_words(u: UnitResult) -> list[str]:
    """A unit's verdict in words (in the current locale), as the report and the exports say it."""
    from flask_babel import gettext as _
    if not u.enough_raters:
        return [_("Not enough raters")]
    words = [_("Must remedy") if u.must_remedy else (_("Meets the line") if u.rate is not None else _("No answers"))]
    if u.inconclusive:
        words.append(_("Inconclusive"))
    if not u.composition_met:
        words.append(_("Composition not met"))
    if not u.final:
        words.append(_("Not final"))
    return words


def _rated_items(frozens: list, unit: Unit) -> list[ItemResult]:
    """The unit's rated items in questionnaire order, commitments and members expanded one per
    entry: its own questionnaire's, then its point-of-service pair's not asked there already."""
    items: dict[str, ItemResult] = {}
    for frozen in frozens:
        for q in rated_questions(frozen, unit.commitments, unit.members):
            items.setdefault(q.key, ItemResult(q.key, q.kind, q.label, q.scale, q.pooled, q.measure,
                                               reasons=q.item.poor_reasons if q.key == q.item.key else ()))
    return list(items.values())


def _forms_of(frozen, frozens: dict) -> list:
    """A unit's frozen questionnaire and, when it names one that was frozen, its QR code's pair."""
    pair = frozens.get(frozen.questionnaire.point_of_service) if frozen.questionnaire.point_of_service else None
    return [frozen] + ([pair] if pair else [])


def _categories(campaign_id: int) -> tuple[dict[str, Text], set[tuple[str, str]], dict[str, list[str]]]:
    """Category labels by key, the (sector, key) pairs counting toward the share, and each
    sector's category keys."""
    labels, toward, by_sector = {}, set(), {}
    for c in db.session.scalars(select(RespondentCategory).filter_by(campaign_id=campaign_id)
                                .order_by(RespondentCategory.position)):
        labels.setdefault(c.key, Text(zh=c.label_zh, en=c.label_en))
        by_sector.setdefault(c.sector, [])
        if c.key not in by_sector[c.sector]:
            by_sector[c.sector].append(c.key)
        if c.counts_toward_share:
            toward.add((c.sector, c.key))
    return labels, toward, by_sector


def compute(campaign: Campaign) -> CampaignResults:
    """Every unit's results from the tally (one indexed read), ranked, with the rule applied.

    These are the office's full figures, small groups included: reports and exports show
    `survey.disclosure.disclosed_results()` instead, which withholds them and compares with
    the previous campaign."""
    units = db.session.scalars(select(Unit).where(Unit.campaign_id == campaign.id).order_by(Unit.code)).all()
    labels, toward, by_sector = _categories(campaign.id)
    results: dict[int, UnitResult] = {}
    items: dict[int, dict[str, ItemResult]] = {}
    frozens = {key: frozen_for(campaign.id, key) for key in {u.questionnaire for u in units} if key}
    pairs = {f.questionnaire.point_of_service for f in frozens.values() if f} - {None} - set(frozens)
    frozens.update({key: frozen_for(campaign.id, key) for key in pairs})
    for unit in units:
        frozen = frozens.get(unit.questionnaire)
        rated = _rated_items(_forms_of(frozen, frozens), unit) if frozen else []
        results[unit.id] = UnitResult(unit.id, unit.code, unit.name, unit.sector, rated,
                                      rule=frozen.questionnaire.rate if frozen else "satisfaction")
        items[unit.id] = {i.key: i for i in rated}
    # in key order: the figures (their float sums, the order of their counts) must not depend on
    # where the database keeps the rows, or a restored backup would export differently
    rows = db.session.execute(
        select(Tally.unit_id, Tally.item, Tally.choice, Tally.category, Tally.channel, Tally.count)
        .where(Tally.campaign_id == campaign.id, Tally.count != 0)
        .order_by(Tally.unit_id, Tally.item, Tally.choice, Tally.category, Tally.channel))
    for unit_id, item_key, choice_key, category, channel, n in rows:
        unit = results.get(unit_id)
        if unit is None:
            continue
        if item_key == "":
            unit.raters += n
            unit.raters_by_category[category] = unit.raters_by_category.get(category, 0) + n
            unit.raters_by_channel[channel] = unit.raters_by_channel.get(channel, 0) + n
            continue
        reason = split_reason_key(item_key)
        if reason is not None:  # a poor-rating reason ticked (survey.questions.reason_key)
            item = items[unit_id].get(reason[0])
            if item is not None and reason[1] in {r.key for r in item.reasons}:
                item.reason_counts.add(reason[1], category, channel, n)
            continue
        item = items[unit_id].get(item_key)
        if item is not None and choice_key == DONT_KNOW:
            item.figures.add_dont_know(category, channel, n)
            if item.pooled:
                unit.overall.add_dont_know(category, channel, n)
            continue
        choice = _choice(item.scale, choice_key) if item else None
        if choice is None:
            continue  # an item or choice the frozen questionnaire does not rate
        item.figures.add(choice, category, channel, n)
        if item.pooled:
            unit.overall.add(choice, category, channel, n)
    for unit in results.values():
        for item in unit.items:
            item.not_rated = max(0, unit.raters - item.figures.total.valid - item.figures.total.dont_know)
        _pool_by_raters(unit)
        _apply_rule(unit, campaign, toward)
    _rank(list(results.values()))
    return CampaignResults(campaign, list(results.values()), labels, sector_categories=by_sector, counting=toward)


def _choice(scale: Scale, key: str) -> Choice | None:
    try:
        return scale.choice(key)
    except KeyError:
        return None


def _pool_by_raters(unit: UnitResult) -> None:
    """A unit's pooled rate takes its interval over raters, not answers: one rater's answers
    to a dozen items move together, so counting each as independent would overstate certainty."""
    unit.overall.total.sample = unit.raters
    for key, figures in unit.overall.by_category.items():
        figures.sample = unit.raters_by_category.get(key, 0)
    for key, figures in unit.overall.by_channel.items():
        figures.sample = unit.raters_by_channel.get(key, 0)


def _apply_rule(unit: UnitResult, campaign: Campaign, toward: set[tuple[str, str]]) -> None:
    """The line (限期整改 below it), the composition check and the inconclusive flag."""
    line = campaign.satisfaction_line
    total = unit.overall.total
    unit.must_remedy = below(total.positive, total.valid, line)
    # the items that pulled the headline rate down (under the old rule, every rated item)
    candidates = unit.items if unit.rule == "every_choice" else [i for i in unit.items if i.pooled]
    unit.remedy_items = sorted(
        (i for i in candidates if below(i.figures.total.positive, i.figures.total.valid, line)),
        key=lambda i: (i.figures.total.rate, i.key)) if unit.must_remedy else []
    counted = sum(n for cat, n in unit.raters_by_category.items() if (unit.sector, cat) in toward)
    unit.share = counted / unit.raters if unit.raters else None
    unit.composition_met = unit.share is not None and unit.share >= campaign.composition_minimum - 1e-9
    interval = total.interval
    straddles = interval is not None and interval[0] < line < interval[1]
    unit.inconclusive = total.valid == 0 or unit.raters < campaign.minimum_sample or straddles


def _order_key(unit: UnitResult):
    return (-unit.rate, -(unit.score or 0.0), -unit.raters)


def _competition_ranks(units: list[UnitResult]) -> list[tuple[UnitResult, int]]:
    """Ranks 1, 2, 2, 4 …: by rate, ties by weighted score, then rater count."""
    ranked = sorted((u for u in units if u.rate is not None), key=lambda u: (_order_key(u), u.code))
    out, previous_key, rank = [], None, 0
    for position, unit in enumerate(ranked, start=1):
        key = _order_key(unit)
        if key != previous_key:
            rank, previous_key = position, key
        out.append((unit, rank))
    return out


def _rank(units: list[UnitResult]) -> None:
    """Rank within the campaign and within each sector; units without a rate stay unranked."""
    for unit in units:
        unit.rank = unit.sector_rank = None
    for unit, rank in _competition_ranks(units):
        unit.rank = rank
    for sector in {u.sector for u in units}:
        for unit, rank in _competition_ranks([u for u in units if u.sector == sector]):
            unit.sector_rank = rank


def _compare(units: list[UnitResult], previous: CampaignResults) -> None:
    """The same units' rate and rank in the previous campaign, matched by unit code."""
    by_code = {u.code: u for u in previous.units}
    for unit in units:
        before = by_code.get(unit.code)
        if before is not None:
            unit.previous_rate, unit.previous_rank = before.rate, before.rank


# --- checking the tally -----------------------------------------------------------------------
def tally_counts(campaign_id: int) -> dict[tuple, int]:
    """The running tally: (unit_id, item, choice, category, channel) -> count, zeros left out.
    In key order, so that figures built from it (and their exports) do not depend on where
    the database keeps the rows: a restored backup gives byte-identical exports."""
    rows = db.session.execute(
        select(Tally.unit_id, Tally.item, Tally.choice, Tally.category, Tally.channel, Tally.count)
        .where(Tally.campaign_id == campaign_id, Tally.count != 0)
        .order_by(Tally.unit_id, Tally.item, Tally.choice, Tally.category, Tally.channel))
    return {tuple(r[:5]): int(r[5]) for r in rows}


def recount(campaign_id: int) -> dict[tuple, int]:
    """A full recount from the stored answers (and the paper tally sheets, when that module is
    installed), in the tally's shape. Slow by design: it reads every answer."""
    counts: Counter = Counter()
    raters = db.session.execute(
        select(Response.unit_id, Response.category, Response.channel, func.count())
        .where(Response.campaign_id == campaign_id)
        .group_by(Response.unit_id, Response.category, Response.channel))
    for unit_id, category, channel, n in raters:
        counts[(unit_id, "", "", category, channel)] += n
    answers = db.session.execute(
        select(Response.unit_id, Answer.item, Answer.choice, Response.category, Response.channel, func.count())
        .join(Response, Response.id == Answer.response_id)
        .where(Response.campaign_id == campaign_id, Answer.choice.is_not(None))
        .group_by(Response.unit_id, Answer.item, Answer.choice, Response.category, Response.channel))
    for unit_id, item, choice, category, channel, n in answers:
        counts[(unit_id, item, choice, category, channel)] += n
    if importlib.util.find_spec("survey.paper") is not None:
        paper = importlib.import_module("survey.paper")
        if hasattr(paper, "paper_aggregate_counts"):
            for key, n in paper.paper_aggregate_counts(campaign_id).items():
                counts[tuple(key)] += n
    return {k: n for k, n in counts.items() if n}


# --- comments ---------------------------------------------------------------------------------
def comments_query(campaign_id: int, unit_id: int | None = None, visible_only: bool = False):
    """Comments (free-text answers) of a campaign with their unit and any moderation.

    Rows: response_id, item, text, unit_id, reason (None unless hidden), hidden_by.
    """
    query = (select(Answer.response_id, Answer.item, Answer.text, Response.unit_id,
                    CommentModeration.reason, CommentModeration.hidden_by)
             .join(Response, Response.id == Answer.response_id)
             .outerjoin(CommentModeration, (CommentModeration.response_id == Answer.response_id)
                        & (CommentModeration.item == Answer.item))
             .where(Response.campaign_id == campaign_id, Answer.text.is_not(None), Answer.text != ""))
    if unit_id is not None:
        query = query.where(Response.unit_id == unit_id)
    if visible_only:
        query = query.where(CommentModeration.reason.is_(None))
    return query.order_by(Response.unit_id, Answer.response_id, Answer.item)


def visible_comments(campaign: Campaign) -> dict[int, list[str]]:
    """The comments a report may show, per unit id: none unless the campaign shows comments,
    and never a hidden one."""
    if not campaign.show_comments:
        return {}
    shown: dict[int, list[str]] = {}
    for row in db.session.execute(comments_query(campaign.id, visible_only=True)):
        shown.setdefault(row.unit_id, []).append(row.text)
    return shown
