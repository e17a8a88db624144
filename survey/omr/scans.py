"""Scanned ballots from file to count: read every page, send every doubt to a person, count
each ballot once through the same path as double entry.

- A file is recognised by its SHA-256: the same file given again is not read again.
- Each page is identified by its code; a page whose ballot was not printed for this campaign,
  or whose campaign key differs, is a foreign page; a page that cannot be read is kept as a
  small image for a person to look at (who can enter that ballot by keyboard instead).
- Items read below the confidence threshold become doubts with a cropped image of the item.
- A page of a ballot read twice: the same marks, the copy is set aside (duplicate); other
  marks, a doubt for a person to choose the right page.
- A ballot is ready when every one of its pages is read and every doubt on it decided.
  `count_ready` counts the ready ballots (`survey.paper.double_entry.count_read_ballot`): the
  token is spent, a ballot answered by phone is refused and listed, one counted already is
  not counted again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from printouts.drawing import qr_matrix

from ..db import db
from ..models import (
    BallotToken,
    Campaign,
    PaperBallot,
    ScanDoubt,
    ScanFile,
    ScanPage,
    Unit,
    audit,
)
from ..campaigns import state_label
from ..paper.ballot import BLANK, COUNTING_STATES, INVALID, PaperError
from ..paper.double_entry import COUNTED, BallotBusy, count_read_ballot, field_name
from ..paper.layout import ballot_layout
from ..paper.printing import campaign_key
from . import images
from .marks import ItemReading
from .records import forget, undecided  # noqa: F401 (part of this module's interface)
from .reader import PageCode, PageUnreadable, crop, read_page

CONFIDENCE = 0.5  # an item read less surely than this goes to a person
PREVIEW_WIDTH = 900  # pixels: the image kept of a page that could not be read


class ScanError(ValueError):
    """A scan that cannot be taken, with why (in the reader's language)."""


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


STOPPED_AFTER = dt.timedelta(minutes=3)  # a page takes seconds: a read this long without one has stopped


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def stopped(scan: ScanFile) -> bool:
    """Whether a file shown waiting or reading is no longer read by anyone (the server that
    read it was restarted or killed): uploading it again reads the pages it did not."""
    return scan.state in ("waiting", "reading") and (scan.read_at is None or scan.read_at < _now() - STOPPED_AFTER)


class CountingOver(ScanError):
    """The campaign no longer counts paper (draft, or published: its count is final)."""


def check_counting(campaign: Campaign) -> None:
    """CountingOver unless the campaign counts paper now (open or closed): scanned pages of a
    published campaign would be per-ballot records with no purpose left."""
    if campaign.state not in COUNTING_STATES:
        raise CountingOver(_("Paper ballots are counted while the campaign is open or closed (it is %(state)s).",
                             state=state_label(campaign.state)))


def add_file(campaign: Campaign, path: str | Path, name: str, actor: str) -> tuple[ScanFile, bool]:
    """Record a file to read: (the file, True) or, for one read before, (that file, False).
    CountingOver once the campaign's count is final."""
    check_counting(campaign)
    with open(path, "rb") as f:
        try:
            images.kind_of(name, f.read(8))
        except images.ScanFileError:
            raise ScanError(_("%(name)s is not a PDF, TIFF, PNG or JPEG file.", name=name)) from None
    digest = file_digest(path)
    known = db.session.scalar(select(ScanFile).filter_by(campaign_id=campaign.id, sha256=digest))
    if known is not None and (known.state == "failed" or stopped(known)) and known.pages_read < known.pages:
        # not read to the end (it failed, or the process reading it stopped): read the rest
        known.state, known.error, known.read_at = "waiting", None, _now()
        db.session.commit()
        return known, True
    if known is not None:
        return known, False
    try:
        pages = images.page_count(path)
    except images.ScanFileError as exc:
        raise ScanError(str(exc).replace(Path(path).name, name)) from None
    scan = ScanFile(campaign_id=campaign.id, sha256=digest, name=name[:200], uploaded_by=actor,
                    pages=pages, state="waiting", read_at=_now())
    db.session.add(scan)
    audit(actor, "scan.upload", campaign.slug, file=name[:200], pages=scan.pages)
    try:
        db.session.commit()
    except IntegrityError:  # the same file given at the same moment by someone else: theirs is read
        db.session.rollback()
        return db.session.scalar(select(ScanFile).filter_by(campaign_id=campaign.id, sha256=digest)), False
    return scan, True


def _layout_for(campaign: Campaign):
    key = campaign_key(campaign)
    cache: dict[int, dict] = {}

    def layout_for(code: PageCode) -> dict:
        if code.key != key:  # every page printed with a layout carries its campaign's key
            raise PageUnreadable(_("this page belongs to another campaign's ballots"))
        token = db.session.scalar(select(BallotToken).filter_by(campaign_id=campaign.id, serial=code.serial))
        if token is None:
            raise PageUnreadable(_("no ballot No. %(serial)d was printed for this campaign", serial=code.serial))
        if token.batch_id not in cache:
            layout = ballot_layout(token.batch)
            if layout is None:
                raise PageUnreadable(_("ballot No. %(serial)d was printed before layouts were kept: enter it by "
                                       "keyboard", serial=code.serial))
            cache[token.batch_id] = layout
        return cache[token.batch_id]
    return layout_for


def _modules(code: PageCode) -> int:
    key = code.key
    text = f"B:{code.serial}:P:{code.page}/{code.pages}" + (f":K:{key}" if key else "")
    return len(qr_matrix(text, fixed_mask=True))


def _preview(grey) -> bytes:
    scale = PREVIEW_WIDTH / grey.shape[1]
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    ok, png = cv2.imencode(".png", small)
    return png.tobytes() if ok else b""


def _doubtful(item: ItemReading) -> bool:
    if item.unit_id == "category" and item.value in (BLANK, INVALID):
        item.doubt = item.doubt or "category"  # a ballot that asks who answered needs one box
        return True
    return item.doubt is not None or item.value is None or item.confidence < CONFIDENCE


def read_file(campaign: Campaign, scan: ScanFile, path: str | Path,
              progress: Callable[[int], None] | None = None) -> dict:
    """Read every page of a recorded file not read yet (all of them, or those after where a read
    that stopped had got to); return the counts of what was found."""
    check_counting(campaign)  # published since the file was given: nothing of it is read
    layout_for = _layout_for(campaign)
    summary = {"pages": 0, "read": 0, "doubts": 0, "unreadable": 0, "duplicate": 0}
    scan.state, scan.read_at = "reading", _now()
    db.session.commit()
    try:
        for position, grey in images.pages(path, first=scan.pages_read + 1):
            _read_one(campaign, scan, position, grey, layout_for, summary)
            scan.pages_read, scan.read_at = position, _now()
            db.session.commit()
            if progress:
                progress(1)
    except images.ScanFileError as exc:
        db.session.rollback()
        message = str(exc).replace(Path(path).name, scan.name)
        scan.state, scan.error, scan.read_at = "failed", message, None
        db.session.commit()
        raise ScanError(message) from None
    except BaseException:  # never left "reading" for ever: the office sees it failed
        db.session.rollback()
        scan.state, scan.error = "failed", _("%(name)s could not be read to the end; upload it again.",
                                             name=scan.name)
        scan.read_at = None
        db.session.commit()
        raise
    scan.state, scan.read_at = "read", None
    audit("scan", "scan.read", campaign.slug, file=scan.name, **summary)
    db.session.commit()
    return summary


def _read_one(campaign, scan, position, grey, layout_for, summary) -> None:
    summary["pages"] += 1
    try:
        reading = read_page(grey, layout_for, _modules)
    except PageUnreadable as exc:
        page = ScanPage(campaign_id=campaign.id, file_id=scan.id, position=position, status="unreadable",
                        note=str(exc), image=_preview(grey))
        db.session.add(page)
        db.session.flush()
        db.session.add(ScanDoubt(campaign_id=campaign.id, page_id=page.id, reason="unreadable"))
        summary["unreadable"] += 1
        return
    code = reading.code
    items = [i.as_dict() for i in reading.items]
    category = reading.category.as_dict() if reading.category else None
    confidence = min([i.confidence for i in reading.items] + ([reading.category.confidence] if reading.category else []),
                     default=1.0)
    page = ScanPage(campaign_id=campaign.id, file_id=scan.id, position=position, serial=code.serial,
                    page=code.page, pages=code.pages, status="read", confidence=confidence,
                    reading={"items": items, "category": category, "marks": reading.marks_found,
                             "residual": round(reading.residual, 2)})
    db.session.add(page)
    db.session.flush()
    earlier = db.session.scalars(select(ScanPage).where(
        ScanPage.campaign_id == campaign.id, ScanPage.serial == code.serial, ScanPage.page == code.page,
        ScanPage.id != page.id, ScanPage.status.in_(("read", "doubt", "counted")))).all()
    if any(e.status == "counted" for e in earlier):
        # its ballot was counted from an earlier scan: what it was read then is forgotten, so
        # there is nothing to compare; this copy is set aside (and its marks forgotten too)
        page.status, page.reading = "duplicate", None
        page.note = _("ballot No. %(serial)d is counted already; this copy is set aside", serial=code.serial)
        summary["duplicate"] += 1
        return
    if earlier:
        if any(_same_marks(e.reading, page.reading) for e in earlier):
            page.status, page.note = "duplicate", _("the same page was read before with the same marks")
            summary["duplicate"] += 1
            return
        # a person chooses the page that is right; this copy's own doubts are asked too, for
        # when it is the one chosen (those of the copy set aside are then no longer asked)
        page.status = "doubt"
        db.session.add(ScanDoubt(campaign_id=campaign.id, page_id=page.id, serial=code.serial,
                                 reason="duplicate_differs", choices=[e.id for e in earlier] + [page.id]))
        summary["doubts"] += 1
    page_h = ballot_page_height(layout_for(code))
    for item in [*reading.items, *([reading.category] if reading.category else [])]:
        if _doubtful(item):
            page.status = "doubt"
            db.session.add(ScanDoubt(
                campaign_id=campaign.id, page_id=page.id, serial=code.serial,
                unit_id=item.unit_id if isinstance(item.unit_id, int) else None,
                item="category" if item.unit_id == "category" else item.item, reason=item.doubt or "unsure",
                choices=item.choices, crop=crop(reading, item.rects, page_h)))
            summary["doubts"] += 1
    if page.status == "read":
        summary["read"] += 1


def ballot_page_height(layout: dict) -> float:
    return layout["page_size"][1]


def _same_marks(a: dict | None, b: dict | None) -> bool:
    def values(reading):
        return ([(i["unit_id"], i["item"], i["value"]) for i in reading["items"]],
                reading["category"]["value"] if reading.get("category") else None)
    return a is not None and b is not None and values(a) == values(b)


def decide(campaign: Campaign, doubt_id: int, decision: str, actor: str) -> ScanDoubt:
    """Record a person's decision on a doubt: a choice key, BLANK or INVALID for an item; the id
    of the right page for a duplicate that differs; "set_aside" for an unreadable or foreign page
    (then its ballot is entered by keyboard, or the page scanned again)."""
    doubt = db.session.get(ScanDoubt, doubt_id)
    if doubt is None or doubt.campaign_id != campaign.id:
        raise ScanError(_("No such doubt in this campaign."))
    if doubt.decision is not None:
        raise ScanError(_("This has been decided already, by %(user)s.", user=doubt.decided_by))
    page = db.session.get(ScanPage, doubt.page_id)
    if doubt.reason == "unreadable":
        if decision != "set_aside":
            raise ScanError(_("An unreadable page can only be set aside: enter its ballot by keyboard."))
    elif doubt.reason == "duplicate_differs":
        if not decision.isdigit() or int(decision) not in (doubt.choices or []):
            raise ScanError(_("Choose one of the pages shown."))
        for other in doubt.choices:
            if other != int(decision):
                row = db.session.get(ScanPage, other)
                if row is not None and row.status != "counted":
                    row.status, row.note = "duplicate", _("set aside by %(user)s", user=actor)
        chosen = db.session.get(ScanPage, int(decision))
    else:
        allowed = set(doubt.choices or []) | ({BLANK} if doubt.item != "category" else set())
        if doubt.item != "category" and len(doubt.choices or []) > 1:  # one box (a reason) is never two marked
            allowed.add(INVALID)
        if decision not in allowed:
            raise ScanError(_("Choose one of the boxes shown, “none” or “two or more”."))
    doubt.decision, doubt.decided_by = decision, actor
    db.session.flush()
    if doubt.reason == "duplicate_differs" and chosen.status in ("duplicate", "doubt"):
        chosen.status = "doubt" if _open_doubts(chosen.id) else "read"  # its own doubts still to decide
    if page.status == "doubt" and not _open_doubts(page.id):
        page.status = "read"
    audit(actor, "scan.decide", campaign.slug, serial=doubt.serial, item=doubt.item, reason=doubt.reason)
    db.session.commit()
    return doubt


def _open_doubts(page_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ScanDoubt).where(
        ScanDoubt.page_id == page_id, ScanDoubt.decision.is_(None))) or 0


@dataclass
class BallotState:
    """Where one scanned ballot stands."""

    serial: int
    pages: int
    read: list[int] = field(default_factory=list)      # pages read, with no doubt left
    scanned: list[int] = field(default_factory=list)   # pages scanned (read or with a doubt)
    doubts: int = 0
    status: str = "waiting"  # waiting (pages or doubts missing), ready, counted, refused


def ballots(campaign: Campaign) -> list[BallotState]:
    """Every ballot some page of which was scanned, with what it still needs."""
    out: dict[int, BallotState] = {}
    # the columns needed only: what was read on the pages (200 items a page) is not loaded here
    rows = db.session.execute(select(ScanPage.serial, ScanPage.page, ScanPage.pages, ScanPage.status).where(
        ScanPage.campaign_id == campaign.id, ScanPage.serial.is_not(None)).order_by(ScanPage.serial, ScanPage.page))
    open_doubts = dict(db.session.execute(
        select(ScanDoubt.serial, func.count()).where(*undecided(campaign.id)).group_by(ScanDoubt.serial)).all())
    for page in rows:
        state = out.setdefault(page.serial, BallotState(page.serial, page.pages or 1))
        if page.status in ("read", "counted") and page.page not in state.read:
            state.read.append(page.page)
        if page.status in ("read", "counted", "doubt") and page.page not in state.scanned:
            state.scanned.append(page.page)
        if page.status == "counted":
            state.status = "counted"
        if page.status == "refused":
            state.status = "refused"
    settled = dict(db.session.execute(select(PaperBallot.serial, PaperBallot.status).where(
        PaperBallot.campaign_id == campaign.id, PaperBallot.status.in_((*COUNTED, "online")))).all())
    for state in out.values():
        state.doubts = open_doubts.get(state.serial, 0)
        if state.status in ("counted", "refused"):
            continue
        if state.serial in settled:  # counted by keyboard, or answered by phone (refused when counted)
            state.status = "refused" if settled[state.serial] == "online" else "counted"
        elif not state.doubts and sorted(state.read) == list(range(1, state.pages + 1)):
            state.status = "ready"
    return sorted(out.values(), key=lambda s: s.serial)


def values_of(campaign: Campaign, serial: int) -> tuple[dict, str | None]:
    """The ballot's answers as double entry takes them, with every person's decision applied."""
    pages = db.session.scalars(select(ScanPage).where(
        ScanPage.campaign_id == campaign.id, ScanPage.serial == serial, ScanPage.status == "read")).all()
    decisions = {(d.page_id, d.unit_id, d.item): d.decision for d in db.session.scalars(
        select(ScanDoubt).where(ScanDoubt.campaign_id == campaign.id, ScanDoubt.serial == serial,
                                ScanDoubt.decision.is_not(None)))}
    values, category = {}, None
    for page in pages:
        if page.reading is None:  # forgotten (survey.omr.records): nothing of it is counted
            continue
        for item in page.reading["items"]:
            value = decisions.get((page.id, item["unit_id"], item["item"]), item["value"])
            values[field_name(item["unit_id"], item["item"])] = value
        cat = page.reading.get("category")
        if cat:
            category = decisions.get((page.id, None, "category"), cat["value"])
            if category in (BLANK, INVALID):
                category = None
    return values, category


def _counted_meanwhile(campaign: Campaign, serial: int) -> bool:
    """Whether the ballot was counted from its scan since this count began (another person
    pressed Count at the same moment): a fresh look, past this session's cache."""
    db.session.expire_all()
    ballot = db.session.scalar(select(PaperBallot).filter_by(campaign_id=campaign.id, serial=serial))
    return ballot is not None and ballot.status in COUNTED and "scan" in (ballot.clerks or [])


def count_ready(campaign: Campaign, actor: str) -> dict:
    """Count every ready ballot; return the serials counted and those refused, with why."""
    counted, refused = [], {}
    for state in ballots(campaign):
        if state.status != "ready" or _counted_meanwhile(campaign, state.serial):
            continue
        values, category = values_of(campaign, state.serial)
        deciders = sorted({d for d in db.session.scalars(select(ScanDoubt.decided_by).where(
            ScanDoubt.campaign_id == campaign.id, ScanDoubt.serial == state.serial,
            ScanDoubt.decided_by.is_not(None)))})
        pages = select(ScanPage.id).where(ScanPage.campaign_id == campaign.id, ScanPage.serial == state.serial,
                                          ScanPage.status == "read")
        try:
            count_read_ballot(campaign, state.serial, values, category, ["scan", *deciders])
        except BallotBusy:
            continue  # another count has it: it counts there, once
        except PaperError as exc:
            if _counted_meanwhile(campaign, state.serial):
                continue  # another count took it while this one read it: counted there, once
            refused[state.serial] = str(exc)
            db.session.execute(ScanPage.__table__.update().where(ScanPage.id.in_(pages)).values(
                status="refused", note=str(exc)[:500]))
            db.session.commit()
            continue
        # counted: what was read on its pages is forgotten, like two clerks' entries of a ballot
        db.session.execute(delete(ScanDoubt).where(ScanDoubt.campaign_id == campaign.id,
                                                   ScanDoubt.serial == state.serial))
        of_ballot = (ScanPage.campaign_id == campaign.id, ScanPage.serial == state.serial)
        db.session.execute(ScanPage.__table__.update().where(*of_ballot).values(reading=None, image=None))
        db.session.execute(ScanPage.__table__.update().where(*of_ballot, ScanPage.status != "duplicate")
                           .values(status="counted"))  # a second copy of a page stays marked as one
        db.session.commit()
        counted.append(state.serial)
    if counted or refused:
        audit(actor, "scan.count", campaign.slug, counted=len(counted), refused=len(refused))
        db.session.commit()
    return {"counted": counted, "refused": refused}


def scanned_serials(campaign: Campaign) -> list[int]:
    """The serial numbers of every ballot some page of which was scanned, in order."""
    return list(db.session.scalars(select(ScanPage.serial).where(
        ScanPage.campaign_id == campaign.id, ScanPage.serial.is_not(None)).distinct().order_by(ScanPage.serial)))


def read_report(campaign: Campaign, serials: tuple[int, int] | None = None) -> dict:
    """Per ballot and page, what was read and how sure: for the supervisor before counting.
    serials: (first, last) for the ballots numbered so only (the admin shows the report in
    parts: 2,000 ballots of 200 items are 400,000 lines), and no unidentified pages."""
    units = dict(db.session.execute(select(Unit.id, Unit.code).where(Unit.campaign_id == campaign.id)).all())
    out = {"campaign": campaign.slug, "ballots": [], "unreadable": []}
    names = dict(db.session.execute(select(ScanFile.id, ScanFile.name).where(ScanFile.campaign_id == campaign.id)).all())
    states = {s.serial: s for s in ballots(campaign)}
    query = select(ScanPage).where(ScanPage.campaign_id == campaign.id)
    if serials is not None:
        query = query.where(ScanPage.serial.between(*serials))
    for page in db.session.scalars(query.order_by(ScanPage.serial, ScanPage.page, ScanPage.id)):
        if page.serial is None:
            out["unreadable"].append({"file": page.file_id, "file_name": names.get(page.file_id), "position": page.position,
                                      "why": page.note})
            continue
        entry = {"serial": page.serial, "page": page.page, "pages": page.pages, "status": page.status,
                 "ballot": states[page.serial].status if page.serial in states else None,
                 "confidence": page.confidence, "note": page.note, "items": []}
        for item in (page.reading or {}).get("items", []):
            entry["items"].append({"unit": units.get(item["unit_id"]), "item": item["item"], "value": item["value"],
                                   "confidence": item["confidence"], "doubt": item["doubt"]})
        out["ballots"].append(entry)
    return out
