"""Aggregate entry from hand-counted tally sheets (计票表), reconciled before anything is stored."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from ..campaigns import state_label
from ..db import db
from ..models import Campaign, audit
from ..models import PaperAggregate, PaperTallySheet
from ..responses import add_to_tally
from .ballot import (
    BLANK, COUNTING_STATES, INVALID, PaperError, ReconciliationError, UnitBlock, ballot_units, check_category, unit_blocks,
)


@dataclass
class TallyCounts:
    """One hand-counted tally sheet: the ballot totals and counts per (unit id, item, choice).

    choice may be BLANK or INVALID; a unit whose counts are all zero is not on this sheet.
    """

    category: str
    issued: int
    returned: int
    valid: int
    invalid: int
    counts: dict = field(default_factory=dict)


def enter_tally_sheet(campaign: Campaign, sheet: TallyCounts, clerk: str, lang: str = "en") -> PaperTallySheet:
    """Reconcile a tally sheet and add it to the tally (channel paper); nothing is stored on error.

    Checks: returned ≤ issued; valid + invalid ballots = returned; no count above the ballots
    returned; for every item, its choices + items marked twice (invalid) + items left blank
    (blank) = the valid ballots (= returned when no whole ballot was invalid).
    """
    if campaign.state not in COUNTING_STATES:
        raise PaperError(_("Paper ballots are counted while the campaign is open or closed (it is %(state)s).",
                           state=state_label(campaign.state)))
    units = ballot_units(campaign.id)
    check_category(campaign.id, units, sheet.category)
    blocks = unit_blocks(campaign.id, units, lang)
    problems = _reconcile(sheet, blocks)
    if problems:
        raise ReconciliationError(problems)
    tallies, aggregate = {}, {}
    for block in blocks:
        mine = {k: n for k, n in sheet.counts.items() if k[0] == block.unit_id and n}
        if not mine:
            continue
        tallies[(block.unit_id, "", "", sheet.category, "paper")] = (campaign.id, sheet.valid)
        aggregate[(block.unit_id, "", "")] = sheet.valid
        for (_u, item, choice), n in mine.items():
            aggregate[(block.unit_id, item, choice)] = n
            if choice not in (BLANK, INVALID):
                tallies[(block.unit_id, item, choice, sheet.category, "paper")] = (campaign.id, n)
    try:
        row = PaperTallySheet(campaign_id=campaign.id, category=sheet.category, issued=sheet.issued,
                              returned=sheet.returned, valid=sheet.valid, invalid=sheet.invalid,
                              entered_by=clerk)
        db.session.add(row)
        add_to_tally(tallies)
        _add_to_aggregate(campaign.id, sheet.category, aggregate)
        audit(clerk, "paper.tally_sheet", campaign.slug, category=sheet.category, returned=sheet.returned)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return row


def _reconcile(sheet: TallyCounts, blocks: list[UnitBlock]) -> list[str]:
    problems = []
    for name, n in (("issued", sheet.issued), ("returned", sheet.returned), ("valid", sheet.valid),
                    ("invalid", sheet.invalid), *(("count", n) for n in sheet.counts.values())):
        if n is None or n < 0:
            problems.append(_("Every number must be 0 or more."))
            return problems
    if sheet.returned > sheet.issued:
        problems.append(_("Ballots returned (%(returned)d) are more than ballots issued (%(issued)d).",
                          returned=sheet.returned, issued=sheet.issued))
    if sheet.valid + sheet.invalid != sheet.returned:
        problems.append(_("Valid ballots (%(valid)d) + invalid ballots (%(invalid)d) = %(sum)d, "
                          "but %(returned)d ballots were returned.", valid=sheet.valid, invalid=sheet.invalid,
                          sum=sheet.valid + sheet.invalid, returned=sheet.returned))
    counted_units = 0
    for block in blocks:
        if not any(n for (u, _i, _c), n in sheet.counts.items() if u == block.unit_id):
            continue
        counted_units += 1
        for q in block.questions:
            labels = dict(q.choices)
            keys = [k for k, _l in q.choices] + [INVALID, BLANK]
            counts = {k: sheet.counts.get((block.unit_id, q.key, k), 0) for k in keys}
            for k, n in counts.items():
                if n > sheet.returned:
                    problems.append(_("%(unit)s (%(code)s), “%(item)s”: %(choice)s %(n)d is more than the "
                                      "%(returned)d ballots returned.", unit=block.name, code=block.code,
                                      item=q.label, choice=labels.get(k, _label(k)), n=n, returned=sheet.returned))
            total = sum(counts.values())
            if total != sheet.valid:
                parts = " + ".join(f"{labels.get(k, _label(k))} {n}" for k, n in counts.items())
                problems.append(_("%(unit)s (%(code)s), “%(item)s”: %(parts)s = %(total)d, but there are "
                                  "%(valid)d valid ballots.", unit=block.name, code=block.code, item=q.label,
                                  parts=parts, total=total, valid=sheet.valid))
    if not counted_units and sheet.valid:
        problems.append(_("The sheet has no counts for any unit."))
    return problems


def _label(key: str) -> str:
    return {INVALID: _("two or more marked"), BLANK: _("none marked")}.get(key, key)


def _add_to_aggregate(campaign_id: int, category: str, counts: dict) -> None:
    """Add (unit id, item, choice) counts to the kept paper aggregate with one upsert."""
    if not counts:
        return
    rows = [{"campaign_id": campaign_id, "unit_id": u, "item": i, "choice": c, "category": category, "count": n}
            for (u, i, c), n in sorted(counts.items())]
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(PaperAggregate)
    stmt = stmt.on_conflict_do_update(index_elements=["unit_id", "item", "choice", "category"],
                                      set_={"count": PaperAggregate.count + stmt.excluded.count})
    db.session.execute(stmt, rows)


def paper_aggregate_counts(campaign_id) -> dict[tuple[int, str, str, str, str], int]:
    """Counts from accepted tally sheets as (unit_id, item, choice, category, 'paper') -> n.

    The same keys the tally uses (item '' and choice '' count raters), so a full recount from
    the answer rows can add them; items marked twice or left blank are not included.
    """
    rows = db.session.execute(
        select(PaperAggregate.unit_id, PaperAggregate.item, PaperAggregate.choice, PaperAggregate.category,
               PaperAggregate.count)
        .where(PaperAggregate.campaign_id == campaign_id, PaperAggregate.choice.not_in([BLANK, INVALID]))).all()
    return {(u, i, c, cat, "paper"): n for u, i, c, cat, n in rows if n}
