"""Hand-counted tally sheets (计票表), held to the standard of ballots.

A sheet counts one box of ballots: the serial ranges it holds, the respondent category
(chosen, never defaulted), the ballots issued, returned, valid and invalid, and per unit, item
and choice the count. Like a ballot it is entered twice, by two clerks: it counts only when
both entries agree; differing entries are listed for a supervisor (or a third entry agrees with
one of them). Accepting a sheet spends the tokens of every ballot in its ranges in the same
transaction as its counts are added, so a ballot in the box that was already answered by phone,
entered singly, or counted on another sheet is refused by serial number, and none of them can
be used afterwards. A supervisor may void an accepted sheet (the reason goes to the audit
log): its counts are taken off and its ballots freed, and it can be entered again.

Nothing is stored from a sheet that does not check: every problem is listed, naming the unit,
item and numbers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from ..db import db
from ..models import BallotBatch, BallotToken, Campaign, PaperAggregate, PaperBallot, PaperTallyEntry
from ..models import PaperTallySheet, Unit, audit
from ..responses import add_to_tally
from .ballot import (
    BLANK, INVALID, check_counting, PaperError, ReconciliationError, UnitBlock, all_categories, category_label,
    check_category, unit_blocks,
)

MAX_COUNT = 1_000_000        # no sheet counts more ballots than this: a bigger number is a typing error
MAX_SERIALS = 100_000        # serials one sheet may cover
SHOWN = 20                   # serial numbers named in one message, then "and N more"
NUMBER = re.compile(r"[0-9]{1,7}")
RANGE = re.compile(r"([0-9]{1,9})(?:\s*[-–~至到]\s*([0-9]{1,9}))?")


@dataclass
class TallyCounts:
    """One hand-counted tally sheet: the box, its serial ranges, the ballot totals and the counts
    per (unit id, item, choice); choice may be BLANK or INVALID. A unit whose counts are all
    zero is not on this sheet."""

    category: str
    issued: int
    returned: int
    valid: int
    invalid: int
    counts: dict = field(default_factory=dict)
    box: str = ""
    ranges: list = field(default_factory=list)  # [(first, last), …]

    def as_data(self) -> dict:
        """The entry as stored to compare two clerks' entries (JSON)."""
        return {"category": self.category, "issued": self.issued, "returned": self.returned, "valid": self.valid,
                "invalid": self.invalid, "ranges": [list(r) for r in sorted(self.ranges)],
                "counts": sorted([u, i, c, n] for (u, i, c), n in self.counts.items() if n)}

    @classmethod
    def from_data(cls, box: str, data: dict) -> "TallyCounts":
        return cls(category=data["category"], issued=data["issued"], returned=data["returned"], valid=data["valid"],
                   invalid=data["invalid"], box=box, ranges=[tuple(r) for r in data["ranges"]],
                   counts={(u, i, c): n for u, i, c, n in data["counts"]})


# --- reading what the clerk typed ---------------------------------------------------------------
def parse_number(raw, where: str, problems: list[str]) -> int:
    """A count typed by a clerk: ASCII digits only (not ² or ５), at most MAX_COUNT; empty is 0."""
    text = ("" if raw is None else str(raw)).strip()
    if text == "":
        return 0
    if not NUMBER.fullmatch(text):
        if text.isascii() and text.isdigit():
            problems.append(_("%(where)s: %(n)s is more than %(max)d: check the number.",
                              where=where, n=text[:30], max=MAX_COUNT))
        else:
            problems.append(_("%(where)s: “%(raw)s” is not a whole number; type digits 0–9 only.",
                              where=where, raw=text[:30]))
        return 0
    n = int(text)
    if n > MAX_COUNT:
        problems.append(_("%(where)s: %(n)s is more than %(max)d: check the number.", where=where, n=n, max=MAX_COUNT))
        return 0
    return n


def parse_ranges(raw: str, problems: list[str]) -> list[tuple[int, int]]:
    """Serial ranges as typed: "21-300, 305, 310–320"."""
    out = []
    for part in re.split(r"[,，;；\s]+(?![-–~至到])", (raw or "").strip()):
        part = part.strip()
        if not part:
            continue
        match = RANGE.fullmatch(part)
        if not match:
            problems.append(_("Ballot numbers: “%(part)s” is not a number or a range like 21-300.", part=part[:30]))
            continue
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            problems.append(_("Ballot numbers: the range %(first)d-%(last)d runs backwards.", first=first, last=last))
            continue
        out.append((first, last))
    return out


def _serial_list(serials: list[int]) -> str:
    shown = ", ".join(str(s) for s in serials[:SHOWN])
    return shown if len(serials) <= SHOWN else _("%(shown)s and %(more)d more", shown=shown, more=len(serials) - SHOWN)


def _range_text(ranges) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)


# --- checking a sheet ----------------------------------------------------------------------------
def check_tally_sheet(campaign: Campaign, sheet: TallyCounts, lang: str = "en") -> list[UnitBlock]:
    """Everything a sheet must satisfy before anything is stored; raises ReconciliationError
    with every problem, or PaperError. Returns the units on the sheet's ballots.

    Checks: a box label; the category given and offered to the units counted; the ranges
    printed, in batches of that category, not overlapping; counts only for units on those
    ballots, for their items and choices, whole numbers 0 … MAX_COUNT; issued = ballots in the
    ranges; returned ≤ issued; valid + invalid = returned; no count above the returned; for every
    item its choices + items marked twice + items left blank = the valid ballots.
    """
    check_counting(campaign)
    problems: list[str] = []
    if not (sheet.box or "").strip():
        problems.append(_("Enter the box or sheet label (e.g. Box 3), so the two entries of this sheet can be compared."))
    elif len(sheet.box) > 40:
        problems.append(_("The box label is longer than 40 characters."))
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in sheet.box):
        problems.append(_("The box label holds a control character; type it again with letters and numbers only."))
    if not sheet.category:
        problems.append(_("Choose the respondent category of these ballots."))
    if not sheet.ranges:
        problems.append(_("Enter the ballot numbers this sheet counts (the ranges in the box, e.g. 21-300)."))
    for name, n in (("issued", sheet.issued), ("returned", sheet.returned), ("valid", sheet.valid),
                    ("invalid", sheet.invalid), *(("count", n) for n in sheet.counts.values())):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > MAX_COUNT:
            raise ReconciliationError([_("Every number must be a whole number from 0 to %(max)d.", max=MAX_COUNT)])
    batches, ballot_units = _ballot_units(campaign, sheet, problems)
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.campaign_id == campaign.id))}
    counted_ids = sorted({u for (u, _i, _c), n in sheet.counts.items() if n})
    unknown = [u for u in counted_ids if u not in units]
    if unknown:
        problems.append(_("There is no unit with the number %(ids)s in this campaign.", ids=", ".join(map(str, unknown))))
    off = [units[u] for u in counted_ids if u in units and ballot_units is not None and u not in ballot_units]
    if off:
        problems.append(_("Counts were typed for %(units)s, which is not on ballots %(ranges)s; "
                          "nothing was added. Check the unit and the ballot numbers.",
                          units=", ".join(f"{u.name} ({u.code})" for u in off), ranges=_range_text(sheet.ranges)))
    on_sheet = [units[u] for u in counted_ids if u in units]
    blocks = unit_blocks(campaign.id, on_sheet, lang) if on_sheet else []
    if sheet.category and on_sheet:
        try:
            check_category(campaign.id, on_sheet, sheet.category)
        except PaperError as exc:
            problems.append(str(exc))
        wrong = sorted({b.category for b in batches if b.category and b.category != sheet.category})
        if wrong:
            named = {c.key: category_label(c, lang) for c in all_categories(campaign.id)}
            problems.append(_("Ballots %(ranges)s were printed for the category %(printed)s, not %(category)s.",
                              ranges=_range_text(sheet.ranges), printed=", ".join(named.get(k, k) for k in wrong),
                              category=named.get(sheet.category, sheet.category)))
    problems += _unknown_keys(sheet, blocks)
    problems += _reconcile(sheet, blocks)
    if problems:
        raise ReconciliationError(problems)
    return blocks


def _ballot_units(campaign, sheet, problems) -> tuple[list[BallotBatch], set[int] | None]:
    """The batches the sheet's serials were printed in and the units on those ballots."""
    ranges = sorted(sheet.ranges)
    for (a1, b1), (a2, b2) in zip(ranges, ranges[1:]):
        if a2 <= b1:
            problems.append(_("Ballot numbers: the ranges %(one)s and %(two)s overlap.",
                              one=_range_text([(a1, b1)]), two=_range_text([(a2, b2)])))
    total = sum(b - a + 1 for a, b in ranges)
    if total > MAX_SERIALS:
        problems.append(_("Ballot numbers: %(n)d ballots is more than one sheet can count.", n=total))
        return [], None
    if not ranges:
        return [], None
    printed = db.session.execute(select(BallotBatch).where(
        BallotBatch.campaign_id == campaign.id,
        BallotBatch.serial_to >= ranges[0][0], BallotBatch.serial_from <= ranges[-1][1])).scalars().all()
    missing = [s for a, b in ranges for s in range(a, b + 1)
               if not any(p.serial_from <= s <= p.serial_to for p in printed)]
    if missing:
        problems.append(_("No ballot No. %(serials)s was printed for this campaign.", serials=_serial_list(missing)))
    batches = [p for p in printed if any(a <= p.serial_to and p.serial_from <= b for a, b in ranges)]
    if total != sheet.issued and not missing:
        problems.append(_("Ballots issued (%(issued)d) are not the %(n)d ballots numbered %(ranges)s.",
                          issued=sheet.issued, n=total, ranges=_range_text(ranges)))
    units: set[int] = set()
    for batch in batches:
        query = select(Unit.id).where(Unit.campaign_id == campaign.id)
        if batch.unit_codes:
            query = query.where(Unit.code.in_(batch.unit_codes))
        units |= set(db.session.scalars(query))
    return batches, units


def _unknown_keys(sheet: TallyCounts, blocks: list[UnitBlock]) -> list[str]:
    problems = []
    by_id = {b.unit_id: b for b in blocks}
    for (u, item, choice), n in sorted(sheet.counts.items(), key=lambda kv: tuple(map(str, kv[0]))):
        block = by_id.get(u)
        if block is None:
            continue  # an unknown unit or one not on the ballots: reported already
        question = next((q for q in block.questions if q.key == item), None)
        if question is None:
            problems.append(_("%(unit)s (%(code)s) has no item “%(item)s”.", unit=block.name, code=block.code,
                              item=str(item)[:60]))
        elif choice not in {k for k, _l in question.choices} | {BLANK, INVALID}:
            problems.append(_("%(unit)s (%(code)s), “%(item)s”: there is no choice “%(choice)s”.", unit=block.name,
                              code=block.code, item=question.label, choice=str(choice)[:40]))
    return problems


def _reconcile(sheet: TallyCounts, blocks: list[UnitBlock]) -> list[str]:
    problems = []
    if sheet.returned > sheet.issued:
        problems.append(_("Ballots returned (%(returned)d) are more than ballots issued (%(issued)d).",
                          returned=sheet.returned, issued=sheet.issued))
    if sheet.valid + sheet.invalid != sheet.returned:
        problems.append(_("Valid ballots (%(valid)d) + invalid ballots (%(invalid)d) = %(sum)d, "
                          "but %(returned)d ballots were returned.", valid=sheet.valid, invalid=sheet.invalid,
                          sum=sheet.valid + sheet.invalid, returned=sheet.returned))
    for block in blocks:
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
    if not blocks and sheet.valid:
        problems.append(_("The sheet has no counts for any unit."))
    return problems


def _label(key: str) -> str:
    return {INVALID: _("two or more marked"), BLANK: _("none marked")}.get(key, key)


# --- double entry ------------------------------------------------------------------------------------
def enter_tally_sheet(campaign: Campaign, sheet: TallyCounts, clerk: str, lang: str = "en") -> str:
    """Enter a checked sheet as one clerk; returns 'waiting', 'counted' or 'mismatch'.

    The entry is checked in full first (nothing is stored if it does not check). It counts when
    another clerk's entry of the same box agrees with it.
    """
    check_tally_sheet(campaign, sheet, lang)
    box = sheet.box.strip()
    try:
        if db.session.scalar(select(PaperTallySheet.id).filter_by(campaign_id=campaign.id, box=box, voided_by=None)):
            raise PaperError(_("The tally sheet of %(box)s has been counted already; a supervisor may void it "
                               "to have it entered again.", box=box))
        entries = db.session.scalars(select(PaperTallyEntry).filter_by(campaign_id=campaign.id, box=box)
                                     .with_for_update()).all()
        if any(e.clerk == clerk for e in entries):
            raise PaperError(_("You have entered the tally sheet of %(box)s already; another clerk must enter it.",
                               box=box))
        data = sheet.as_data()
        db.session.add(PaperTallyEntry(campaign_id=campaign.id, box=box, clerk=clerk, data=data))
        db.session.flush()
        if any(e.data == data for e in entries):
            _accept(campaign, sheet, [*(e.clerk for e in entries if e.data == data), clerk], lang)
            return "counted"
        db.session.commit()
        return "mismatch" if entries else "waiting"
    except BaseException:
        db.session.rollback()
        raise


def resolve_tally_sheet(campaign: Campaign, box: str, supervisor: str, chosen_clerk: str, lang: str = "en") -> None:
    """A supervisor who entered neither picks the entry of a differing sheet that matches the paper."""
    try:
        entries = {e.clerk: e for e in db.session.scalars(
            select(PaperTallyEntry).filter_by(campaign_id=campaign.id, box=box).with_for_update())}
        if len(entries) < 2 or chosen_clerk not in entries:
            raise PaperError(_("The tally sheet of %(box)s has no differing entries to choose from.", box=box))
        if supervisor in entries:
            raise PaperError(_("A clerk who entered the tally sheet of %(box)s cannot resolve it; "
                               "another user must choose.", box=box))
        sheet = TallyCounts.from_data(box, entries[chosen_clerk].data)
        check_tally_sheet(campaign, sheet, lang)
        _accept(campaign, sheet, [chosen_clerk, supervisor], lang)
    except BaseException:
        db.session.rollback()
        raise


def _accept(campaign: Campaign, sheet: TallyCounts, clerks: list[str], lang: str) -> PaperTallySheet:
    """Spend the ballots' tokens, add the counts, keep the sheet, forget the entries: one transaction."""
    blocks = unit_blocks(campaign.id, db.session.scalars(select(Unit).where(
        Unit.id.in_({u for (u, _i, _c), n in sheet.counts.items() if n}))).all(), lang)
    _spend(campaign, sheet)
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
    row = PaperTallySheet(campaign_id=campaign.id, category=sheet.category, issued=sheet.issued,
                          returned=sheet.returned, valid=sheet.valid, invalid=sheet.invalid,
                          entered_by=", ".join(clerks)[:80], box=sheet.box.strip(),
                          serial_ranges=[list(r) for r in sorted(sheet.ranges)],
                          counts=[[u, i, c, n] for (u, i, c), n in sorted(aggregate.items())])
    db.session.add(row)
    add_to_tally(tallies)
    _add_to_aggregate(campaign.id, sheet.category, aggregate)
    db.session.execute(delete(PaperTallyEntry).filter_by(campaign_id=campaign.id, box=row.box))
    audit(clerks[-1], "paper.tally_sheet", campaign.slug, box=row.box, category=sheet.category,
          returned=sheet.returned, serials=_range_text(sheet.ranges), clerks=clerks)
    db.session.commit()
    return row


def _serials_in(column, ranges):
    from sqlalchemy import or_
    return or_(*[column.between(a, b) for a, b in ranges])


def _spend(campaign: Campaign, sheet: TallyCounts) -> None:
    """Spend every token of the sheet's ranges, or refuse naming the ballots already counted."""
    ranges = sorted(sheet.ranges)
    single = sorted(db.session.scalars(select(PaperBallot.serial).where(  # a row marked online was answered by phone
        PaperBallot.campaign_id == campaign.id, PaperBallot.status != "online", _serials_in(PaperBallot.serial, ranges))))
    used = sorted(db.session.scalars(select(BallotToken.serial).where(
        BallotToken.campaign_id == campaign.id, BallotToken.redeemed.is_(True),
        _serials_in(BallotToken.serial, ranges)).with_for_update()))
    other = {}
    for s in db.session.scalars(select(PaperTallySheet).filter_by(campaign_id=campaign.id, voided_by=None)):
        for a, b in s.serial_ranges or []:
            for serial in used:
                if a <= serial <= b:
                    other[serial] = s.box
    problems = []
    if single:
        problems.append(_("Ballots No. %(serials)s were entered one by one already.", serials=_serial_list(single)))
    phone = [s for s in used if s not in other and s not in single]
    if phone:
        problems.append(_("Ballots No. %(serials)s were already answered by phone.", serials=_serial_list(phone)))
    for box in sorted(set(other.values())):
        mine = [s for s, b in other.items() if b == box]
        problems.append(_("Ballots No. %(serials)s are counted on the tally sheet of %(box)s.",
                          serials=_serial_list(sorted(mine)), box=box))
    if problems:
        raise ReconciliationError([*problems, _("They would count twice: take them out of this sheet's ranges "
                                                "and its counts, then enter it again. Nothing was added.")])
    spent = db.session.execute(update(BallotToken).where(
        BallotToken.campaign_id == campaign.id, BallotToken.redeemed.is_(False),
        _serials_in(BallotToken.serial, ranges)).values(redeemed=True)).rowcount
    if spent != sum(b - a + 1 for a, b in ranges):
        raise PaperError(_("Some ballots of %(ranges)s were answered at the same moment; please enter the sheet again.",
                           ranges=_range_text(ranges)))


def void_tally_sheet(campaign: Campaign, sheet_id: int, supervisor: str, reason: str) -> PaperTallySheet:
    """Take an accepted sheet's counts off and free its ballots; the reason goes to the audit log."""
    reason = (reason or "").strip()
    if not reason:
        raise PaperError(_("Say why the sheet is voided (it goes to the audit log)."))
    check_counting(campaign)
    try:
        row = db.session.scalar(select(PaperTallySheet).filter_by(campaign_id=campaign.id, id=sheet_id)
                                .with_for_update())
        if row is None or row.voided_by is not None or row.counts is None:
            raise PaperError(_("There is no accepted tally sheet with the number %(id)d to void.", id=sheet_id))
        tallies, aggregate = {}, {}
        for u, item, choice, n in row.counts:
            aggregate[(u, item, choice)] = -n
            if choice not in (BLANK, INVALID):
                tallies[(u, item, choice, row.category, "paper")] = (campaign.id, -n)
        add_to_tally(tallies)
        _add_to_aggregate(campaign.id, row.category, aggregate)
        if row.serial_ranges:
            db.session.execute(update(BallotToken).where(
                BallotToken.campaign_id == campaign.id,
                _serials_in(BallotToken.serial, [tuple(r) for r in row.serial_ranges])).values(redeemed=False))
        row.voided_by = supervisor
        audit(supervisor, "paper.tally_sheet_void", campaign.slug, sheet=row.id, box=row.box, reason=reason[:500],
              serials=_range_text(row.serial_ranges or []))
        db.session.commit()
        return row
    except BaseException:
        db.session.rollback()
        raise


def tally_mismatches(campaign: Campaign) -> list[tuple[str, dict]]:
    """Boxes whose entries differ: (box, {clerk: entry data}) for a supervisor to resolve."""
    boxes: dict[str, dict] = {}
    for e in db.session.scalars(select(PaperTallyEntry).filter_by(campaign_id=campaign.id)
                                .order_by(PaperTallyEntry.box, PaperTallyEntry.clerk)):
        boxes.setdefault(e.box, {})[e.clerk] = e.data
    return [(box, entries) for box, entries in boxes.items() if len(entries) > 1]


def sheet_covering(campaign_id: int, serial: int) -> PaperTallySheet | None:
    """The accepted tally sheet whose ranges hold this ballot, if any."""
    for s in db.session.scalars(select(PaperTallySheet).filter_by(campaign_id=campaign_id, voided_by=None)):
        if any(a <= serial <= b for a, b in s.serial_ranges or []):
            return s
    return None


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
