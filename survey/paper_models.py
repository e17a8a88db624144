"""Tables for counting paper ballots (纸质测评票): double entry per ballot, hand-counted tally sheets.

Anonymity: a ballot's entries (the answers two clerks typed in, kept only to compare them) are
deleted as soon as the ballot is counted; what stays is the serial, its status and the clerks'
user names. Nothing here carries a time finer than a day.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import db
from .models import today

BALLOT_STATES = ("pending", "mismatch", "counted", "online")


class PaperBallot(db.Model):
    """A numbered paper ballot being entered: pending → counted, or mismatch, or online (refused)."""

    __tablename__ = "paper_ballot"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    serial: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    clerks: Mapped[list] = mapped_column(JSON, default=list)


class PaperEntry(db.Model):
    """One clerk's entry of one ballot, kept only until the ballot is counted (then deleted)."""

    __tablename__ = "paper_entry"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    serial: Mapped[int] = mapped_column(Integer, primary_key=True)
    clerk: Mapped[str] = mapped_column(String(80), primary_key=True)
    answers: Mapped[dict] = mapped_column(JSON)


class PaperTallySheet(db.Model):
    """A hand-counted tally sheet (计票表) accepted after reconciliation."""

    __tablename__ = "paper_tally_sheet"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    issued: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    valid: Mapped[int] = mapped_column(Integer)
    invalid: Mapped[int] = mapped_column(Integer)
    entered_by: Mapped[str] = mapped_column(String(80))
    entered_on: Mapped[dt.date] = mapped_column(Date, default=today)


class PaperAggregate(db.Model):
    """Counts from accepted tally sheets, summed, so a full recount can include them.

    item '' and choice '' count raters (valid ballots) per unit; choice '!invalid' and '!blank'
    count items marked twice or not at all (never added to the tally).
    """

    __tablename__ = "paper_aggregate"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(60), primary_key=True)
    choice: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
