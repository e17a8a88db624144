"""Per-ballot double entry: two clerks enter each ballot; it counts only when they agree.

Counting spends the ballot's token in the same transaction as its answers are stored, so a
ballot answered by phone is refused and counts once; entries are deleted once it is counted."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..db import db
from ..models import BallotBatch, BallotToken, Campaign, RespondentCategory, Unit
from ..models import PaperBallot, PaperEntry
from ..responses import Sheet, store
from ..tokens import TokenUsed, redeem
from ..tokens import find as find_token
from .tally_sheets import sheet_covering
from .ballot import (
    BLANK, INVALID, check_counting, PaperError, UnitBlock, ballot_units, categories_for, check_category, keep_reasons,
    unit_blocks,
)


COUNTED = ("counted", "blank")  # a ballot counted: with answers, or left wholly blank


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
    return BallotForm(serial, batch, unit_blocks(campaign.id, units, lang, reasons=True), chosen,
                      [] if chosen else categories_for(campaign.id, units))


SERIAL_CODE = re.compile(r"(?:0*([0-9]{1,9}))|(?:B:([0-9]{1,9}):P:[0-9]{1,3}/[0-9]{1,3}(?::K:([0-9A-F]{1,16}))?)")


def parse_serial(campaign: Campaign, raw: str | None) -> int | None:
    """The ballot number typed or scanned: digits, a page code B:<serial>:P:<page>/<pages>
    (what a USB scanner types from a ballot page's small QR code), or the ballot's own
    answering address …/b/<token>. None when nothing was given; PaperError when unreadable, or
    when the page code's campaign key (K:) is another campaign's: its ballot of that number is
    not this campaign's."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = SERIAL_CODE.fullmatch(raw)
    if match:
        from .printing import campaign_key
        if match.group(3) and match.group(3) != campaign_key(campaign):
            raise PaperError(_("“%(raw)s” is the page code of another campaign's ballot; enter this campaign's "
                               "ballots here.", raw=raw[:40]))
        return int(match.group(1) or match.group(2))
    token = raw.rsplit("/b/", 1)[1] if "/b/" in raw else None
    if token:
        row = find_token(token)
        if row is not None and row.campaign_id == campaign.id:
            return row.serial
    raise PaperError(_("“%(raw)s” is not a ballot number: type the number printed on the ballot, "
                       "or scan the small code at its foot.", raw=raw[:40]))


def field_name(unit_id: int, key: str) -> str:
    """The name an answer is entered under: unit id and answer key."""
    return f"{unit_id}:{key}"


def _check_values(form: BallotForm, values: dict, category: str | None) -> dict:
    """The entry as stored for comparison; PaperError if a question is left out or unknown."""
    if form.category is not None:
        category = form.category.key
    elif category not in {c.key for c in form.categories}:
        raise PaperError(_("Please enter the respondent category ticked on the ballot."))
    expected = {field_name(b.unit_id, q.key) for b in form.blocks for q in b.questions}
    foreign = sorted(k for k in values if k not in expected)
    if foreign:
        on_ballot = {b.unit_id for b in form.blocks}
        names = dict(db.session.execute(select(Unit.id, Unit.code).where(Unit.campaign_id == form.batch.campaign_id)).all())
        units = sorted({k.split(":", 1)[0] for k in foreign})
        off = [u for u in units if not (u.isdigit() and int(u) in on_ballot)]
        if off:
            raise PaperError(_("Ballot No. %(serial)d does not list the unit %(units)s: answers for it were "
                               "typed but are not counted; check the ballot number.", serial=form.serial,
                               units=", ".join(names.get(int(u), u) if u.isdigit() else u for u in off)))
        raise PaperError(_("Ballot No. %(serial)d has no item %(items)s.", serial=form.serial,
                           items=", ".join(k.split(":", 1)[1] for k in foreign)))
    clean = {}
    for block in form.blocks:
        for q in block.questions:
            name = field_name(block.unit_id, q.key)
            value = values.get(name)
            if value is None and q.reason_of is not None:
                value = BLANK  # a reason box is optional (and not on ballots printed before reasons were)
            if value not in {k for k, _l in q.choices} | {BLANK, INVALID}:
                raise PaperError(_("%(unit)s: “%(item)s” has no answer entered; enter the box marked, "
                                   "“none” or “two or more”.", unit=block.name, item=q.label))
            clean[name] = value
        for q in block.questions:  # a reason beside a rating that is not poor never counts: no need to agree on it
            if q.reason_of is not None and clean[field_name(block.unit_id, q.reason_of)] not in q.poor:
                clean[field_name(block.unit_id, q.key)] = BLANK
    return {"category": category, "answers": clean}


def _as_now(form: BallotForm, stored: dict) -> dict:
    """A stored entry with a blank for every reason box it lacks (an entry saved before ballots
    printed reasons), so it compares with and counts like one entered now."""
    answers = dict(stored["answers"])
    for block in form.blocks:
        for q in block.questions:
            if q.reason_of is not None:
                answers.setdefault(field_name(block.unit_id, q.key), BLANK)
    return {**stored, "answers": answers}


def _lock_ballot(campaign_id: int, serial: int) -> PaperBallot:
    """The ballot's row, created if new, locked for this transaction (PostgreSQL)."""
    row = db.session.scalar(select(PaperBallot).filter_by(campaign_id=campaign_id, serial=serial)
                            .with_for_update())
    if row is None:
        row = PaperBallot(campaign_id=campaign_id, serial=serial, status="pending", clerks=[])
        db.session.add(row)
        db.session.flush()
    return row


def _open_to_count(campaign: Campaign, serial: int) -> tuple[PaperBallot, BallotToken]:
    """The ballot's row (locked) and token, or PaperError when it cannot be counted any more:
    counted already, on a tally sheet, or answered by phone (then marked so)."""
    ballot = _lock_ballot(campaign.id, serial)
    if ballot.status in COUNTED:
        raise PaperError(_("Ballot No. %(serial)d has been counted already.", serial=serial))
    covering = sheet_covering(campaign.id, serial)
    if covering is not None:
        raise PaperError(_("Ballot No. %(serial)d is counted on the tally sheet of %(box)s; it cannot be "
                           "entered again.", serial=serial, box=covering.box))
    token = db.session.scalar(select(BallotToken).filter_by(campaign_id=campaign.id, serial=serial))
    if ballot.status == "online" or token.redeemed:
        raise _refuse_online(ballot, serial)
    return ballot, token


def _refuse_online(ballot: PaperBallot, serial: int):
    db.session.execute(delete(PaperEntry).filter_by(campaign_id=ballot.campaign_id, serial=serial))
    ballot.status = "online"
    db.session.commit()
    return PaperError(_("Ballot No. %(serial)d was already answered by phone. It counts once: "
                        "put this paper ballot aside as already counted.", serial=serial))


def _reader_lang() -> str:
    """The language the clerk reads messages in (items and units are named in it)."""
    from flask_babel import get_locale
    return str(get_locale() or "zh_CN")


def enter_ballot(campaign: Campaign, serial: int, clerk: str, values: dict,
                 category: str | None = None) -> str:
    """Enter one ballot as one clerk; returns 'waiting', 'counted' or 'mismatch'.

    Raises PaperError when the ballot cannot be entered: not printed, counted already,
    answered by phone (it is then marked so), or entered by this clerk already.
    """
    check_counting(campaign)
    form = ballot_form(campaign, serial, _reader_lang())
    entry = _check_values(form, values, category)
    try:
        ballot, token = _open_to_count(campaign, serial)
        entries = db.session.scalars(select(PaperEntry).filter_by(campaign_id=campaign.id, serial=serial)).all()
        if any(e.clerk == clerk for e in entries):
            raise PaperError(_("You have entered ballot No. %(serial)d already; another clerk must enter it.",
                               serial=serial))
        db.session.add(PaperEntry(campaign_id=campaign.id, serial=serial, clerk=clerk, answers=entry))
        if any(_as_now(form, e.answers) == entry for e in entries):
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


class BallotBusy(PaperError):
    """The ballot is being counted in another transaction at the same moment (not a refusal)."""


def count_read_ballot(campaign: Campaign, serial: int, values: dict, category: str | None,
                      readers: list[str]) -> str:
    """Count a ballot read from its scanned pages (survey.omr), through the same checks and the
    same counting as two agreeing clerks: its token is spent, a ballot answered by phone is
    refused (PaperError, and marked so), one counted already is refused. readers: "scan" and
    the people who resolved its doubts, kept like the clerks' names."""
    check_counting(campaign)
    form = ballot_form(campaign, serial, _reader_lang())
    entry = _check_values(form, values, category)
    try:
        ballot, token = _open_to_count(campaign, serial)
        return _count(campaign, form, ballot, token, entry, readers)
    except IntegrityError:
        db.session.rollback()
        raise BallotBusy(_("Ballot No. %(serial)d is being counted by someone else at this moment.",
                           serial=serial)) from None
    except BaseException:
        db.session.rollback()
        raise


def resolve_ballot(campaign: Campaign, serial: int, supervisor: str, chosen_clerk: str) -> str:
    """A supervisor (not one of the clerks) picks the entry that matches the paper ballot."""
    check_counting(campaign)
    form = ballot_form(campaign, serial, _reader_lang())
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
        return _count(campaign, form, ballot, token, _as_now(form, entries[chosen_clerk].answers),
                      [*entries, supervisor])
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
                answers[q.key] = (value, None, q.scale or None)
        answers = keep_reasons(answers, block.questions)
        if answers:  # a unit left wholly blank on the ballot was not rated
            sheets.append(Sheet(campaign.id, block.unit_id, block.questionnaire, entry["category"], answers))
    try:
        if sheets:
            store(sheets, channel="paper", token_hash=token.token_hash)
        else:  # a ballot left wholly blank: counted as returned, rating no unit
            ballot.status = "blank"
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
        typed = {e.clerk: _as_now(form, e.answers)["answers"] for e in entries}
        if len({e.answers["category"] for e in entries}) > 1:
            diffs.append(("", _("Respondent category"), {e.clerk: e.answers["category"] for e in entries}))
        for block in form.blocks:
            for q in block.questions:
                name = field_name(block.unit_id, q.key)
                values = {clerk: answers.get(name) for clerk, answers in typed.items()}
                if len(set(values.values())) > 1:
                    labels = dict(q.choices) | {BLANK: _("none marked"), INVALID: _("two or more marked")}
                    diffs.append((block.name, q.label, {c: labels.get(v, v) for c, v in values.items()}))
        out.append(Mismatch(serial, [e.clerk for e in entries], diffs))
    return out


def ballot_counts(campaign_id: int) -> dict[str, int]:
    """How many paper ballots are pending, mismatched, counted, or refused as answered online."""
    rows = db.session.execute(select(PaperBallot.status, func.count()).filter_by(campaign_id=campaign_id)
                              .group_by(PaperBallot.status)).all()
    return {"pending": 0, "mismatch": 0, "counted": 0, "blank": 0, "online": 0} | {s: n for s, n in rows}
