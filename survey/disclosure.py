"""Disclosure control (统计披露控制): what of a campaign's results a report may show.

Every report view calls `disclosed_results()` — the public page /results/<slug>, the JSON
API, the result report PDF, the result exports (CSV, XLSX, JSON) and the admins' preview of
them — so no view can show a small group's answers by forgetting a rule. Only the raw answer
export shows more, and only to the office: each one is written to the audit log
(`record_raw_export`). docs/results.md states the rules for a campaign office:

1. **Not enough raters (评议人数不足).** A unit with fewer raters than the campaign's minimum
   sample (and never fewer than its minimum cell size) shows its rater counts and nothing
   else: no rate, score, interval, item figures or breakdowns; it is neither ranked nor listed
   for remedy. One deputy rating a unit leaves nothing of their answers to read.
2. **Small cells.** In a unit with enough raters, a breakdown cell — a respondent category or
   a channel, for the unit and for each item within it — with fewer raters than the
   campaign's minimum cell size (default 5, never below 3) is withheld: shown as "—", null in
   the JSON with the reason ``small_cell``.
3. **Complementary cells.** Withholding one cell is not enough when it can be worked out as the
   unit's total minus the cells shown. So, per unit and breakdown, the smallest shown cells are
   withheld too (reason ``complementary``) until the withheld cells hold at least the minimum
   cell size of raters together, or all are withheld.
3a. **Items answered by part of the raters.** A unit's raters may answer different forms (the
   assembly ballot and the point-of-service form ask different items), so an item's cells are
   counted on that item's own answers: every item hides its unit's withheld groups and, besides,
   its own small cells with their complement. An item answered by fewer raters than the
   minimum cell size is withheld whole (reason ``small_item``), and among the items pooled into
   the unit's headline figures the smallest others go with it until the withheld ones hold the
   minimum together — otherwise the headline total minus the items shown would give it back.
   An item withheld whole is not named among the items that pulled its unit down (remedy
   lists, records, the ledger) either. The headline figures withhold every group that any
   pooled item withholds, for the same reason.
3b. **Poor-rating reasons** (差评原因) of an item are withheld with the item: whole when it is,
   and in the same category and channel cells as its figures.
4. **Rater counts stay.** The raters per category and channel are shown in full: they say who
   took part, not what anyone answered, and the composition check (服务对象和群众代表不低于30%)
   needs them.
5. **The previous campaign** appears in a comparison only when it is itself published, and
   its figures pass through these same rules (a unit with too few raters then has no
   previous rate).
"""
from __future__ import annotations

from flask import has_request_context

from .db import db
from .models import Campaign, audit
from .results import Breakdown, CampaignResults, Figures, UnitResult, _compare, _rank, compute

DEFAULT_MINIMUM_CELL = 5
LOWEST_MINIMUM_CELL = 3  # a campaign may lower the cell size to 3, never further
SMALL_CELL = "small_cell"
COMPLEMENTARY = "complementary"
SMALL_ITEM = "small_item"
NOT_ENOUGH_RATERS = "not_enough_raters"


def minimum_cell(campaign: Campaign) -> int:
    """The campaign's minimum cell size, never below the lowest allowed."""
    return max(LOWEST_MINIMUM_CELL, campaign.minimum_cell or DEFAULT_MINIMUM_CELL)


def publication_minimum(campaign: Campaign) -> int:
    """Raters a unit needs before any of its figures are shown."""
    return max(campaign.minimum_sample or 0, minimum_cell(campaign))


def withheld_cells(sizes: dict[str, int], smallest: int, forced: dict[str, str] | None = None,
                   reason: str = SMALL_CELL) -> dict[str, str]:
    """Which cells of one breakdown (cell -> raters) to withhold, with the reason.

    Cells under `smallest` are withheld, and the `forced` ones present (withheld elsewhere, with
    their reason); then the smallest others as well, until the withheld ones hold at least
    `smallest` raters together (or every cell is withheld), so that no withheld cell is the
    difference between the total and the cells shown."""
    small = {key: reason for key, n in sizes.items() if n < smallest}
    small.update({key: why for key, why in (forced or {}).items() if key in sizes and key not in small})
    if not small:
        return {}
    held = sum(sizes[key] for key in small)
    for key in sorted((k for k in sizes if k not in small), key=lambda k: (sizes[k], k)):
        if held >= smallest:
            break
        small[key] = COMPLEMENTARY
        held += sizes[key]
    return small


def comparable_previous(campaign: Campaign) -> Campaign | None:
    """The previous campaign a comparison may name: only one that is itself published."""
    if not campaign.previous_campaign_id:
        return None
    previous = db.session.get(Campaign, campaign.previous_campaign_id)
    return previous if previous is not None and previous.state == "published" else None


def disclosed_results(campaign: Campaign, with_previous: bool = True) -> CampaignResults:
    """The campaign's results as every report view shows them: small groups withheld, units
    with too few raters unranked and off the remedy list, compared only with a published
    previous campaign."""
    results = compute(campaign)
    apply_rules(results)
    previous = comparable_previous(campaign) if with_previous else None
    if previous is not None:
        _compare(results.units, disclosed_results(previous, with_previous=False))
        results.previous = previous
    return results


def apply_rules(results: CampaignResults) -> None:
    """Withhold in place what the rules above do not let a report show, then rank again."""
    campaign = results.campaign
    cell, needed = minimum_cell(campaign), publication_minimum(campaign)
    for unit in results.units:
        if unit.raters < needed:
            _not_enough_raters(unit)
            continue
        _apply_to_unit(unit, cell)
    _rank(results.units)
    results.disclosed = True


def _size(figures: Figures) -> int:
    """Raters behind figures: the interval's sample where set, else the valid answers."""
    return figures.valid if figures.sample is None else figures.sample


def _apply_to_unit(unit: UnitResult, cell: int) -> None:
    """Rules 2, 3 and 3a for one unit with enough raters."""
    by_category = withheld_cells(unit.raters_by_category, cell)
    by_channel = withheld_cells(unit.raters_by_channel, cell)
    headline_category, headline_channel = dict(by_category), dict(by_channel)
    whole = {item.key: SMALL_ITEM for item in unit.items
             if not item.pooled and 0 < _size(item.figures.total) < cell}
    whole.update(withheld_cells({item.key: _size(item.figures.total) for item in unit.items
                                 if item.pooled and _size(item.figures.total)}, cell, reason=SMALL_ITEM))
    for item in unit.items:
        figures = item.figures
        if item.key in whole:
            if item.pooled:  # its groups would come back as headline minus the items shown
                headline_category.update({k: COMPLEMENTARY for k in figures.by_category if k not in headline_category})
                headline_channel.update({k: COMPLEMENTARY for k in figures.by_channel if k not in headline_channel})
            for part in [figures.total, *figures.by_category.values(), *figures.by_channel.values()]:
                part.withhold(whole[item.key])
            item.reason_counts.withhold(whole[item.key])
            continue
        item_category = withheld_cells({k: _size(f) for k, f in figures.by_category.items()}, cell, by_category)
        item_channel = withheld_cells({k: _size(f) for k, f in figures.by_channel.items()}, cell, by_channel)
        _withhold(figures, item_category, item_channel)
        item.reason_counts.withhold_cells(item_category, item_channel)  # the same groups as the item
        if item.pooled:
            headline_category.update({k: r for k, r in item_category.items() if k not in headline_category})
            headline_channel.update({k: r for k, r in item_channel.items() if k not in headline_channel})
    # an item withheld whole is not named under the line either: that would tell its few answers
    unit.remedy_items = [i for i in unit.remedy_items if i.key not in whole]
    _withhold(unit.overall,
              withheld_cells({k: _size(f) for k, f in unit.overall.by_category.items()}, cell, headline_category),
              withheld_cells({k: _size(f) for k, f in unit.overall.by_channel.items()}, cell, headline_channel))


def _withhold(breakdown: Breakdown, by_category: dict[str, str], by_channel: dict[str, str]) -> None:
    for key, reason in by_category.items():
        if key in breakdown.by_category:
            breakdown.by_category[key].withhold(reason)
    for key, reason in by_channel.items():
        if key in breakdown.by_channel:
            breakdown.by_channel[key].withhold(reason)


def _not_enough_raters(unit: UnitResult) -> None:
    """Keep only a unit's rater counts (评议人数不足): no figures, no rank, no remedy listing."""
    unit.enough_raters = False
    for item in unit.items:
        item.reason_counts.withhold(NOT_ENOUGH_RATERS)
    for breakdown in [unit.overall] + [item.figures for item in unit.items]:
        for figures in [breakdown.total, *breakdown.by_category.values(), *breakdown.by_channel.values()]:
            figures.withhold(NOT_ENOUGH_RATERS)
    unit.must_remedy, unit.remedy_items, unit.inconclusive = False, [], True


def record_raw_export(campaign: Campaign, fmt: str, rows: int, actor: str | None = None) -> None:
    """Write a download of the raw answers to the audit log (committed by the caller)."""
    if actor is None:
        actor = _current_actor()
    audit(actor, "export.raw", campaign.slug, format=fmt, rows=rows)


def _current_actor() -> str:
    """The signed-in admin in a request, else the operating-system user of the command line."""
    if has_request_context():
        from flask_login import current_user
        if current_user.is_authenticated:
            return current_user.username
    import getpass
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
