"""The assembly's reconciliation record (计票结果报告单): what became of every ballot printed.

Per printed batch: ballots issued, answered by phone, entered one by one (with answers, or
left wholly blank, or still waiting for the second entry or, scanned, for a decision or a page
or the count), counted on tally sheets, and not
(yet) accounted for; per tally sheet: its ranges, issued, returned, valid and invalid; and for
the assembly (or one batch): issued, returned, valid, invalid, blank, answered by phone and not
returned, where issued = returned + answered by phone + not returned.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..db import db
from ..models import BallotBatch, BallotToken, Campaign, PaperBallot, PaperTallySheet, ScanPage
from .ballot import PaperError, all_categories


@dataclass
class BatchLine:
    """One printed batch and what became of its ballots."""

    batch: BallotBatch
    issued: int = 0
    by_phone: int = 0
    counted: int = 0     # entered one by one, with answers
    blank: int = 0       # entered one by one, wholly blank
    waiting: int = 0     # entered once, or entries differ, or scanned and not counted yet
    on_sheets: int = 0   # in the ranges of accepted tally sheets

    @property
    def unaccounted(self) -> int:
        """Neither answered by phone nor entered nor on a tally sheet: not returned (yet)."""
        return self.issued - self.by_phone - self.counted - self.blank - self.waiting - self.on_sheets


@dataclass
class Reconciliation:
    """The record of one campaign (or one of its batches)."""

    campaign: Campaign
    batches: list[BatchLine] = field(default_factory=list)
    sheets: list[PaperTallySheet] = field(default_factory=list)
    categories: dict = field(default_factory=dict)  # key -> RespondentCategory, for labels

    @property
    def issued(self) -> int:
        return sum(b.issued for b in self.batches)

    @property
    def by_phone(self) -> int:
        return sum(b.by_phone for b in self.batches)

    @property
    def returned(self) -> int:
        """Paper ballots handed back: entered one by one (counted, blank or waiting) or on sheets."""
        return sum(b.counted + b.blank + b.waiting for b in self.batches) + sum(s.returned for s in self.sheets)

    @property
    def valid(self) -> int:
        return sum(b.counted for b in self.batches) + sum(s.valid for s in self.sheets)

    @property
    def invalid(self) -> int:
        return sum(s.invalid for s in self.sheets)

    @property
    def blank(self) -> int:
        return sum(b.blank for b in self.batches)

    @property
    def waiting(self) -> int:
        return sum(b.waiting for b in self.batches)

    @property
    def not_returned(self) -> int:
        return self.issued - self.returned - self.by_phone


def reconciliation(campaign: Campaign, batch_id: int | None = None) -> Reconciliation:
    """What became of the ballots of the campaign's batches (or of one batch)."""
    query = select(BallotBatch).filter_by(campaign_id=campaign.id).order_by(BallotBatch.serial_from)
    if batch_id is not None:
        query = query.filter_by(id=batch_id)
    batches = db.session.scalars(query).all()
    if not batches:
        raise PaperError(_("No ballots were printed for this campaign.") if batch_id is None
                         else _("There is no batch %(id)d in this campaign.", id=batch_id))
    sheets = [s for s in db.session.scalars(select(PaperTallySheet).filter_by(campaign_id=campaign.id, voided_by=None)
                                            .order_by(PaperTallySheet.id))
              if any(a <= b.serial_to and b.serial_from <= z for a, z in s.serial_ranges or [] for b in batches)]
    covered = {n for s in sheets for a, z in s.serial_ranges or [] for n in range(a, z + 1)}
    entered = dict(db.session.execute(select(PaperBallot.serial, PaperBallot.status)
                                      .filter_by(campaign_id=campaign.id)).all())
    # scanned and not counted yet (read, or waiting for a decision or a page): returned, waiting
    scanned = set(db.session.scalars(select(ScanPage.serial).where(
        ScanPage.campaign_id == campaign.id, ScanPage.serial.is_not(None), ScanPage.status.in_(("read", "doubt")))))
    out = Reconciliation(campaign, sheets=sheets, categories={c.key: c for c in all_categories(campaign.id)})
    for batch in batches:
        line = BatchLine(batch, issued=batch.count)
        redeemed = set(db.session.scalars(select(BallotToken.serial).where(
            BallotToken.batch_id == batch.id, BallotToken.redeemed.is_(True))))
        line.waiting += sum(1 for n in scanned - set(entered) - covered - redeemed
                            if batch.serial_from <= n <= batch.serial_to)
        for serial in redeemed:
            status = entered.get(serial)
            if serial not in covered and status not in ("counted", "blank"):
                line.by_phone += 1
        for serial, status in entered.items():
            if batch.serial_from <= serial <= batch.serial_to and serial not in covered:
                if status == "counted":
                    line.counted += 1
                elif status == "blank":
                    line.blank += 1
                elif status in ("pending", "mismatch"):
                    line.waiting += 1
        line.on_sheets = sum(1 for n in covered if batch.serial_from <= n <= batch.serial_to)
        out.batches.append(line)
    return out


def reconciliation_printout(campaign: Campaign, lang: str = "zh_CN", batch_id: int | None = None):
    """The reconciliation record as a printout (PDF), in lang."""
    from printouts.reconciliation import ReconciliationRecord
    with force_locale(lang):
        record = reconciliation(campaign, batch_id)
    return ReconciliationRecord(record, lang)


def left_uncounted(campaign: Campaign) -> list[str]:
    """What of the paper is still on its way to the count, in the reader's language: ballots
    entered by one clerk or entered differently, scanned ballots read and not counted or with
    doubts undecided, scanned files not read to the end, tally sheets waiting for their second
    entry. Publishing ends counting, so it is refused while this is not empty
    (survey.campaigns.transition), unless the office says to leave them out."""
    from ..models import PaperTallyEntry, ScanDoubt, ScanFile, ScanPage
    from .tally_sheets import _serial_list
    out = []
    waiting = sorted(db.session.scalars(select(PaperBallot.serial).where(
        PaperBallot.campaign_id == campaign.id, PaperBallot.status.in_(("pending", "mismatch")))))
    if waiting:
        out.append(_("ballots No. %(serials)s wait for a second clerk's entry or for their entries to be "
                     "reconciled", serials=_serial_list(waiting)))
    counted = set(db.session.scalars(select(PaperBallot.serial).where(
        PaperBallot.campaign_id == campaign.id, PaperBallot.status.in_(("counted", "blank", "online")))))
    scanned = set(db.session.scalars(select(ScanPage.serial).where(
        ScanPage.campaign_id == campaign.id, ScanPage.serial.is_not(None),
        ScanPage.status.in_(("read", "doubt")))))
    from ..omr.records import undecided
    doubts = set(db.session.scalars(select(ScanDoubt.serial).where(
        *undecided(campaign.id), ScanDoubt.serial.is_not(None))))
    scanned = sorted(scanned - counted - set(waiting))
    if scanned:
        out.append(_("scanned ballots No. %(serials)s are not counted yet (count them, decide their doubts "
                     "or scan their missing pages)", serials=_serial_list(scanned)))
    unplaced = db.session.scalar(select(func.count()).select_from(ScanDoubt).where(
        *undecided(campaign.id), ScanDoubt.serial.is_(None)))
    if unplaced or (doubts - set(scanned) - counted):
        out.append(_("%(n)d scanned pages wait for a person's decision", n=unplaced + len(doubts - set(scanned) - counted)))
    files = db.session.scalars(select(ScanFile).where(
        ScanFile.campaign_id == campaign.id, ScanFile.pages_read < ScanFile.pages,
        ScanFile.state.in_(("waiting", "reading")) | ((ScanFile.state == "failed") & (ScanFile.pages_read > 0)))
        .order_by(ScanFile.id)).all()
    if files:
        out.append(_("the scanned files %(files)s are not read to the end (upload them again to read the rest)",
                     files=", ".join(f"{f.name} ({f.pages_read}/{f.pages})" for f in files)))
    boxes = sorted(set(db.session.scalars(select(PaperTallyEntry.box).where(PaperTallyEntry.campaign_id == campaign.id))))
    if boxes:
        out.append(_("the tally sheets of %(boxes)s wait for their second entry",
                     boxes=", ".join(str(b) for b in boxes)))
    return out
