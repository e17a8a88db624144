"""Paper ballots (纸质测评票) from printing to counting.

Printing: a batch of numbered ballots for one respondent category; each ballot carries its own
one-time token (stored hashed), so its holder may answer by phone or on paper and it counts
once. The batch and its tokens are recorded in the same transaction as the PDF is written.

Counting, two ways:
- per ballot, by double entry: two clerks enter each ballot independently; it counts only when
  both agree (a third entry or a supervisor's choice resolves a mismatch). Counting spends the
  ballot's token in the same transaction as its answers are stored, so a ballot answered by
  phone is refused and counts once. The entries are deleted once the ballot is counted.
- in aggregate, from hand-counted tally sheets (计票表), reconciled before anything is stored.

Ballots are printed while a campaign is open (its questionnaires are frozen then, and a ballot
token only works while it is open); ballots are counted while it is open or closed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from .db import db
from .models import BallotBatch, BallotToken, Campaign, RespondentCategory, Unit, audit
from .paper_models import PaperAggregate, PaperBallot, PaperEntry, PaperTallySheet
from .responses import Sheet, add_to_tally, store
from .snapshot import frozen_for
from .tokens import TokenUsed, new_token, redeem, token_hash

BLANK, INVALID = "!blank", "!invalid"  # no box marked / two or more boxes marked
PRINTING_STATES = ("open",)
COUNTING_STATES = ("open", "closed")
TOKEN_CHUNK = 1000


class PaperError(ValueError):
    """A paper action that cannot be done; the message is for the person who tried it."""


class ReconciliationError(PaperError):
    """A tally sheet whose numbers do not add up; one message per problem, nothing stored."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# --- what a ballot asks ---------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """One line of a ballot: an answer key (item, or item.n for a commitment) and its boxes."""

    key: str
    label: str
    scale: str
    choices: tuple[tuple[str, str], ...]  # (choice key, label)


@dataclass(frozen=True)
class UnitBlock:
    """A unit on a ballot or tally sheet with its questions, in questionnaire order."""

    unit_id: int
    code: str
    name: str
    questionnaire: str
    questions: tuple[Question, ...] = field(default_factory=tuple)


def questions_for(frozen, unit: Unit, lang: str) -> list[Question]:
    """The paper questions of one unit: comment items are left off paper ballots."""
    out = []
    for item in frozen.questionnaire.items:
        label = item.label.get(lang)
        if item.kind == "comment":
            continue
        if item.kind == "choice":
            scale = frozen.scales[item.scale]
            out.append(Question(item.key, label, scale.key, _choices(scale, lang)))
        elif item.kind == "yesno":
            scale = frozen.scales.get("yesno")
            choices = _choices(scale, lang) if scale else (("yes", _("Yes")), ("no", _("No")))
            out.append(Question(item.key, label, "yesno", choices))
        elif item.kind == "commitments":
            scale = frozen.scales["commitment"]
            for number, text in enumerate(unit.commitments or [], start=1):
                out.append(Question(f"{item.key}.{number}", text, scale.key, _choices(scale, lang)))
        else:
            raise PaperError(f"item {item.key}: kind {item.kind!r} cannot be printed on paper")
    return out


def _choices(scale, lang):
    return tuple((c.key, c.label.get(lang)) for c in scale.choices)


def ballot_units(campaign_id: int, unit_codes: list[str] | None = None) -> list[Unit]:
    """The units a ballot lists (all of the campaign's unless codes are given), by code."""
    query = select(Unit).where(Unit.campaign_id == campaign_id).order_by(Unit.code)
    if unit_codes:
        query = query.where(Unit.code.in_(unit_codes))
    units = list(db.session.scalars(query))
    missing = sorted(set(unit_codes or ()) - {u.code for u in units})
    if missing:
        raise PaperError(_("No unit with the code %(codes)s in this campaign.", codes=", ".join(missing)))
    if not units:
        raise PaperError(_("The campaign has no units."))
    return units


def unit_blocks(campaign_id: int, units: list[Unit], lang: str) -> list[UnitBlock]:
    """Each unit with the questions of its frozen questionnaire, labelled in lang."""
    blocks = []
    with force_locale(lang):
        for unit in units:
            frozen = frozen_for(campaign_id, unit.questionnaire or "")
            if frozen is None:
                raise PaperError(_("The questionnaire of unit %(code)s is not frozen yet: open the campaign first.", code=unit.code))
            blocks.append(UnitBlock(unit.id, unit.code, unit.name, unit.questionnaire,
                                    tuple(questions_for(frozen, unit, lang))))
    return blocks


def categories_for(campaign_id: int, units: list[Unit]) -> list[RespondentCategory]:
    """The respondent categories offered to every unit listed (the campaign's frozen ones)."""
    rows = db.session.scalars(select(RespondentCategory).where(RespondentCategory.campaign_id == campaign_id)
                              .order_by(RespondentCategory.position, RespondentCategory.id)).all()
    sectors = {u.sector for u in units}
    keys = None
    for sector in sectors:
        here = {r.key for r in rows if r.sector == sector}
        keys = here if keys is None else keys & here
    seen, out = set(), []
    for r in rows:
        if r.key in (keys or set()) and r.key not in seen:
            seen.add(r.key)
            out.append(r)
    return out


def category_label(category: RespondentCategory, lang: str) -> str:
    """A category's label in lang."""
    return category.label_en if str(lang).startswith("en") else category.label_zh


def check_category(campaign_id: int, units: list[Unit], category: str | None) -> RespondentCategory | None:
    """The frozen category with this key, or PaperError naming the ones there are."""
    if category is None:
        return None
    offered = categories_for(campaign_id, units)
    for c in offered:
        if c.key == category:
            return c
    raise PaperError(_("Unknown respondent category %(key)s; this campaign has: %(keys)s.",
                       key=category, keys=", ".join(c.key for c in offered) or "-"))


# --- printing -------------------------------------------------------------------------------
def next_serial(campaign_id: int) -> int:
    """The first serial of a new batch: serials continue across a campaign's batches."""
    last = db.session.scalar(select(func.max(BallotBatch.serial_to)).where(BallotBatch.campaign_id == campaign_id))
    return (last or 0) + 1


def _tokens(campaign_id: int, batch_id: int, first: int, count: int) -> Iterator[tuple[int, str]]:
    """(serial, token) for each ballot; the hashes go to the database in chunks, never the tokens."""
    rows = []
    for serial in range(first, first + count):
        token = new_token()
        rows.append({"token_hash": token_hash(token), "campaign_id": campaign_id, "batch_id": batch_id,
                     "serial": serial, "redeemed": False})
        if len(rows) >= TOKEN_CHUNK:
            db.session.execute(insert(BallotToken), rows)
            rows = []
        yield serial, token
    if rows:
        db.session.execute(insert(BallotToken), rows)


def print_ballots(campaign: Campaign, out: str | Path, count: int, *, base_url: str,
                  category: str | None = None, unit_codes: list[str] | None = None,
                  lang: str = "zh_CN", actor: str = "cli",
                  progress: Callable[[int], None] | None = None) -> BallotBatch:
    """Print count numbered ballots to out and record the batch and its hashed tokens.

    The PDF is written to a temporary file beside out and moved into place just before the
    commit: if drawing or writing fails, nothing is recorded and no file is left.
    """
    from printouts.ballots import BallotPrintout

    if campaign.state not in PRINTING_STATES:
        raise PaperError(_("Ballots are printed while the campaign is open (it is %(state)s): "
                           "its questionnaires are frozen then and ballot codes work.", state=campaign.state))
    if not campaign.accepts_tokens:
        raise PaperError(_("This campaign is answered only by the units' QR codes: "
                           "set who may answer to ballots (or both) to print ballots."))
    if count < 1:
        raise PaperError(_("Print at least one ballot."))
    units = ballot_units(campaign.id, unit_codes)
    chosen = check_category(campaign.id, units, category)
    blocks = unit_blocks(campaign.id, units, lang)
    categories = [] if chosen else categories_for(campaign.id, units)
    first = next_serial(campaign.id)
    batch = BallotBatch(campaign_id=campaign.id, category=category, count=count,
                        unit_codes=[u.code for u in units] if unit_codes else None,
                        serial_from=first, serial_to=first + count - 1)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        db.session.add(batch)
        db.session.flush()
        audit(actor, "ballots.print", campaign.slug, batch=batch.id, count=count,
              serials=f"{batch.serial_from}-{batch.serial_to}", category=category)
        printout = BallotPrintout(
            campaign_name=campaign.name, blocks=blocks, base_url=base_url, lang=lang,
            category=category_label(chosen, lang) if chosen else None,
            categories=[(c.key, category_label(c, lang)) for c in categories],
            ballots=_tokens(campaign.id, batch.id, first, count), count=count, progress=progress)
        with open(tmp, "wb") as f:
            printout.write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
        try:
            db.session.commit()
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    except BaseException:
        db.session.rollback()
        tmp.unlink(missing_ok=True)
        raise
    return batch


# --- per-ballot double entry ----------------------------------------------------------------
@dataclass
class BallotForm:
    """What a clerk fills in for one numbered ballot."""

    serial: int
    batch: BallotBatch
    blocks: list[UnitBlock]
    category: RespondentCategory | None  # fixed by the batch, or None when the ballot asks
    categories: list[RespondentCategory]


def ballot_form(campaign: Campaign, serial: int, lang: str) -> BallotForm:
    """The units and questions of ballot No. serial, or PaperError if none was printed."""
    row = db.session.scalar(select(BallotToken).where(BallotToken.campaign_id == campaign.id,
                                                      BallotToken.serial == serial))
    if row is None:
        raise PaperError(_("No ballot No. %(serial)d was printed for this campaign.", serial=serial))
    batch = row.batch
    units = ballot_units(campaign.id, batch.unit_codes)
    chosen = check_category(campaign.id, units, batch.category)
    return BallotForm(serial, batch, unit_blocks(campaign.id, units, lang), chosen,
                      [] if chosen else categories_for(campaign.id, units))


def field_name(unit_id: int, key: str) -> str:
    """The name an answer is entered under: unit id and answer key."""
    return f"{unit_id}:{key}"


def _check_values(form: BallotForm, values: dict, category: str | None) -> dict:
    """The entry as stored for comparison; PaperError if a question is left out or unknown."""
    if form.category is not None:
        category = form.category.key
    elif category not in {c.key for c in form.categories}:
        raise PaperError(_("Please enter the respondent category ticked on the ballot."))
    clean = {}
    for block in form.blocks:
        for q in block.questions:
            name = field_name(block.unit_id, q.key)
            value = values.get(name)
            if value not in {k for k, _l in q.choices} | {BLANK, INVALID}:
                raise PaperError(_("%(unit)s: “%(item)s” has no answer entered; enter the box marked, "
                                   "“none” or “two or more”.", unit=block.name, item=q.label))
            clean[name] = value
    return {"category": category, "answers": clean}


def _lock_ballot(campaign_id: int, serial: int) -> PaperBallot:
    """The ballot's row, created if new, locked for this transaction (PostgreSQL)."""
    row = db.session.scalar(select(PaperBallot).filter_by(campaign_id=campaign_id, serial=serial)
                            .with_for_update())
    if row is None:
        row = PaperBallot(campaign_id=campaign_id, serial=serial, status="pending", clerks=[])
        db.session.add(row)
        db.session.flush()
    return row


def _refuse_online(ballot: PaperBallot, serial: int):
    db.session.execute(delete(PaperEntry).filter_by(campaign_id=ballot.campaign_id, serial=serial))
    ballot.status = "online"
    db.session.commit()
    return PaperError(_("Ballot No. %(serial)d was already answered by phone. It counts once: "
                        "put this paper ballot aside as already counted.", serial=serial))


def enter_ballot(campaign: Campaign, serial: int, clerk: str, values: dict,
                 category: str | None = None) -> str:
    """Enter one ballot as one clerk; returns 'waiting', 'counted' or 'mismatch'.

    Raises PaperError when the ballot cannot be entered: not printed, counted already,
    answered by phone (it is then marked so), or entered by this clerk already.
    """
    if campaign.state not in COUNTING_STATES:
        raise PaperError(_("Paper ballots are counted while the campaign is open or closed (it is %(state)s).",
                           state=campaign.state))
    form = ballot_form(campaign, serial, "en")
    entry = _check_values(form, values, category)
    try:
        ballot = _lock_ballot(campaign.id, serial)
        if ballot.status == "counted":
            raise PaperError(_("Ballot No. %(serial)d has been counted already.", serial=serial))
        token = db.session.scalar(select(BallotToken).filter_by(campaign_id=campaign.id, serial=serial))
        if ballot.status == "online" or token.redeemed:
            raise _refuse_online(ballot, serial)
        entries = db.session.scalars(select(PaperEntry).filter_by(campaign_id=campaign.id, serial=serial)).all()
        if any(e.clerk == clerk for e in entries):
            raise PaperError(_("You have entered ballot No. %(serial)d already; another clerk must enter it.",
                               serial=serial))
        db.session.add(PaperEntry(campaign_id=campaign.id, serial=serial, clerk=clerk, answers=entry))
        if any(e.answers == entry for e in entries):
            return _count(campaign, form, ballot, token, entry, [*(e.clerk for e in entries), clerk])
        ballot.status = "mismatch" if entries else "pending"
        db.session.commit()
        return ballot.status if entries else "waiting"
    except IntegrityError:
        db.session.rollback()
        raise PaperError(_("Someone entered ballot No. %(serial)d at the same moment; please submit again.",
                           serial=serial)) from None
    except BaseException:
        db.session.rollback()
        raise


def resolve_ballot(campaign: Campaign, serial: int, supervisor: str, chosen_clerk: str) -> str:
    """A supervisor (not one of the clerks) picks the entry that matches the paper ballot."""
    if campaign.state not in COUNTING_STATES:
        raise PaperError(_("Paper ballots are counted while the campaign is open or closed (it is %(state)s).",
                           state=campaign.state))
    form = ballot_form(campaign, serial, "en")
    try:
        ballot = _lock_ballot(campaign.id, serial)
        entries = {e.clerk: e for e in db.session.scalars(
            select(PaperEntry).filter_by(campaign_id=campaign.id, serial=serial))}
        if ballot.status != "mismatch" or chosen_clerk not in entries:
            raise PaperError(_("Ballot No. %(serial)d has no differing entries to choose from.", serial=serial))
        if supervisor in entries:
            raise PaperError(_("A clerk who entered ballot No. %(serial)d cannot resolve it; "
                               "another user must choose.", serial=serial))
        token = db.session.scalar(select(BallotToken).filter_by(campaign_id=campaign.id, serial=serial))
        if token.redeemed:
            raise _refuse_online(ballot, serial)
        return _count(campaign, form, ballot, token, entries[chosen_clerk].answers, [*entries, supervisor])
    except BaseException:
        db.session.rollback()
        raise


def _count(campaign, form: BallotForm, ballot: PaperBallot, token: BallotToken, entry: dict,
           clerks: list[str]) -> str:
    """Store the agreed answers and spend the token in one transaction; forget the entries."""
    serial = ballot.serial
    db.session.execute(delete(PaperEntry).filter_by(campaign_id=campaign.id, serial=serial))
    ballot.status = "counted"
    ballot.clerks = clerks
    sheets = []
    for block in form.blocks:
        answers = {}
        for q in block.questions:
            value = entry["answers"][field_name(block.unit_id, q.key)]
            if value not in (BLANK, INVALID):
                answers[q.key] = (value, None, q.scale)
        if answers:  # a unit left wholly blank on the ballot was not rated
            sheets.append(Sheet(campaign.id, block.unit_id, block.questionnaire, entry["category"], answers))
    try:
        if sheets:
            store(sheets, channel="paper", token_hash=token.token_hash)
        else:
            redeem(token.token_hash)
            db.session.commit()
    except TokenUsed:
        db.session.rollback()
        ballot = _lock_ballot(campaign.id, serial)
        raise _refuse_online(ballot, serial) from None
    return "counted"


@dataclass
class Mismatch:
    """A ballot whose entries differ: each differing line with every clerk's value."""

    serial: int
    clerks: list[str]
    differences: list[tuple[str, str, dict]]  # (unit name, question label, {clerk: value label})


def mismatches(campaign: Campaign, lang: str) -> list[Mismatch]:
    """The ballots waiting for a third entry or a supervisor's choice."""
    out = []
    serials = db.session.scalars(select(PaperBallot.serial).filter_by(campaign_id=campaign.id, status="mismatch")
                                 .order_by(PaperBallot.serial)).all()
    for serial in serials:
        entries = db.session.scalars(select(PaperEntry).filter_by(campaign_id=campaign.id, serial=serial)
                                     .order_by(PaperEntry.clerk)).all()
        form = ballot_form(campaign, serial, lang)
        diffs = []
        if len({e.answers["category"] for e in entries}) > 1:
            diffs.append(("", _("Respondent category"), {e.clerk: e.answers["category"] for e in entries}))
        for block in form.blocks:
            for q in block.questions:
                name = field_name(block.unit_id, q.key)
                values = {e.clerk: e.answers["answers"].get(name) for e in entries}
                if len(set(values.values())) > 1:
                    labels = dict(q.choices) | {BLANK: _("none marked"), INVALID: _("two or more marked")}
                    diffs.append((block.name, q.label, {c: labels.get(v, v) for c, v in values.items()}))
        out.append(Mismatch(serial, [e.clerk for e in entries], diffs))
    return out


def ballot_counts(campaign_id: int) -> dict[str, int]:
    """How many paper ballots are pending, mismatched, counted, or refused as answered online."""
    rows = db.session.execute(select(PaperBallot.status, func.count()).filter_by(campaign_id=campaign_id)
                              .group_by(PaperBallot.status)).all()
    return {"pending": 0, "mismatch": 0, "counted": 0, "online": 0} | {s: n for s, n in rows}


# --- aggregate entry from hand-counted tally sheets -----------------------------------------
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
                           state=campaign.state))
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


# --- the other printouts --------------------------------------------------------------------
def poster_printout(campaign: Campaign, base_url: str, lang: str = "zh_CN", a5: bool = False,
                    unit_codes: list[str] | None = None, progress=None):
    """QR posters of a campaign's units (any state: posters go up before it opens)."""
    from printouts.posters import PosterPrintout
    units = ballot_units(campaign.id, unit_codes)
    return PosterPrintout(campaign_name=campaign.name, units=[(u.code, u.name) for u in units],
                          base_url=base_url, lang=lang, a5=a5, progress=progress)


def tally_sheet_printout(campaign: Campaign, lang: str = "zh_CN", category: str | None = None,
                         unit_codes: list[str] | None = None):
    """A tally sheet for hand counting the campaign's ballots (needs its frozen questionnaires)."""
    from printouts.tally_sheet import TallySheetPrintout
    if campaign.state == "draft":
        raise PaperError(_("Open the campaign first: the tally sheet lists its frozen questionnaires."))
    units = ballot_units(campaign.id, unit_codes)
    chosen = check_category(campaign.id, units, category)
    return TallySheetPrintout(campaign_name=campaign.name, blocks=unit_blocks(campaign.id, units, lang),
                              lang=lang, category=category_label(chosen, lang) if chosen else None)
