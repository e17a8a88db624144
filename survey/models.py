"""The stored model: campaigns, units, frozen questionnaires, responses, tallies, tokens.

Anonymity shapes the response tables: a response has a random id, the day (never the time)
it was given, and no address, agent, cookie or token. On SQLite the response and answer
tables are WITHOUT ROWID, so their physical order follows the random id, not arrival.
Ballot tokens are stored hashed and share no key with responses.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import db

STATES = ("draft", "open", "closed", "published")
ACCESS_MODES = ("open", "tokens", "both")
CHANNELS = ("online", "paper")
# a unit code, printed in its QR address /s/<code>
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


def today() -> dt.date:
    """The day an answer is stored with: responses never carry a finer time."""
    return dt.date.today()


def random_id() -> str:
    """A random response id: ids say nothing about arrival order."""
    return secrets.token_hex(16)


class User(db.Model):
    """An admin of the campaign office."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    # Flask-Login
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)


class Campaign(db.Model):
    """An evaluation of many units over a period (测评活动), draft → open → closed → published."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    satisfaction_line: Mapped[float] = mapped_column(Float, default=0.70)
    composition_minimum: Mapped[float] = mapped_column(Float, default=0.30)
    minimum_sample: Mapped[int] = mapped_column(Integer, default=30)
    access: Mapped[str] = mapped_column(String(10), default="both")
    allow_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    show_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    # a mobile or ID number in a comment: "refuse" the answer with a message, or "mask" and store
    personal_data: Mapped[str] = mapped_column(String(10), default="refuse", server_default="refuse")
    previous_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    # "Don't know" (不了解) on every rated item, counted apart; and what a ballot holder may
    # leave out by phone: "none" (every item), "unit" (a whole unit), "items" (any item).
    dont_know: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    leave_out: Mapped[str] = mapped_column(String(10), default="none", server_default="none")

    units: Mapped[list[Unit]] = relationship(back_populates="campaign", order_by="Unit.code",
                                             cascade="all, delete-orphan")

    @property
    def accepts_open(self) -> bool:
        """Residents may answer by scanning the unit's QR code."""
        return self.access in ("open", "both")

    @property
    def accepts_tokens(self) -> bool:
        """Holders of one-time ballot tokens may answer."""
        return self.access in ("tokens", "both")


class Unit(db.Model):
    """A unit under evaluation (被测评单位): a school, hospital, village, enterprise, office."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("campaign_id", "code", name="uq_unit_campaign_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(40))
    questionnaire: Mapped[str | None] = mapped_column(String(40))
    parent: Mapped[str | None] = mapped_column(String(200))
    commitments: Mapped[list] = mapped_column(JSON, default=list)

    campaign: Mapped[Campaign] = relationship(back_populates="units")

    def as_dict(self) -> dict:
        """What plugins see of a unit."""
        return {"code": self.code, "name": self.name, "sector": self.sector,
                "parent": self.parent, "commitments": list(self.commitments or [])}


class QuestionnaireSnapshot(db.Model):
    """A questionnaire frozen when its campaign opened: items, scales and categories as JSON."""

    __tablename__ = "questionnaire_snapshot"
    __table_args__ = (UniqueConstraint("campaign_id", "key", name="uq_snapshot_campaign_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    sector: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    plugin: Mapped[str | None] = mapped_column(String(100))
    definition: Mapped[str] = mapped_column(Text)

    def data(self) -> dict:
        return json.loads(self.definition)


class RespondentCategory(db.Model):
    """A respondent category as a campaign froze it (服务对象, 普通群众代表, 党代表 …)."""

    __tablename__ = "respondent_category"
    __table_args__ = (UniqueConstraint("campaign_id", "sector", "key", name="uq_category_campaign_sector_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    sector: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    counts_toward_share: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Response(db.Model):
    """One anonymous answer sheet for one unit: random id, day, category, channel."""

    __tablename__ = "response"
    __table_args__ = {"sqlite_with_rowid": False}
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    questionnaire: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10), default="online")
    day: Mapped[dt.date] = mapped_column(Date, default=today)


class Answer(db.Model):
    """The answer to one item: a choice key, or the text of a comment."""

    __tablename__ = "answer"
    __table_args__ = {"sqlite_with_rowid": False}
    response_id: Mapped[str] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(60), primary_key=True)
    choice: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)


class Tally(db.Model):
    """Running counts kept in the same transaction as each answer, so results need no recount.

    item '' and choice '' count responses (raters) per unit, category and channel.
    """

    __tablename__ = "tally"
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(60), primary_key=True)
    choice: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class BallotBatch(db.Model):
    """A printed batch of numbered ballots for one respondent category (e.g. 200 for residents)."""

    __tablename__ = "ballot_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    category: Mapped[str | None] = mapped_column(String(40))
    unit_codes: Mapped[list | None] = mapped_column(JSON)
    count: Mapped[int] = mapped_column(Integer)
    serial_from: Mapped[int] = mapped_column(Integer)
    serial_to: Mapped[int] = mapped_column(Integer)
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)
    note: Mapped[str | None] = mapped_column(String(200))
    layout: Mapped[dict | None] = mapped_column(JSON)  # every printed box; see survey.paper.layout

    campaign: Mapped[Campaign] = relationship()


class BallotToken(db.Model):
    """A one-time ballot token, stored as its SHA-256 hash; redeemed exactly once."""

    __tablename__ = "ballot_token"
    __table_args__ = (
        UniqueConstraint("campaign_id", "serial", name="uq_token_campaign_serial"),
        {"sqlite_with_rowid": False},
    )
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ballot_batch.id", ondelete="CASCADE"), index=True)
    serial: Mapped[int] = mapped_column(Integer)
    redeemed: Mapped[bool] = mapped_column(Boolean, default=False)

    batch: Mapped[BallotBatch] = relationship()


class AuditEntry(db.Model):
    """An admin action: who did what to which campaign or unit, and when. Never tokens."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)


def audit(actor: str, action: str, target: str | None = None, **detail) -> None:
    """Record an admin action in the audit log (added to the current transaction)."""
    db.session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail or None))


# --- paper counting (纸质测评票) ------------------------------------------------------------
# A ballot's entries (the answers two clerks typed in, kept only to compare them) are deleted
# as soon as the ballot is counted; what stays is the serial, its status and the clerks' user
# names. Nothing here carries a time finer than a day.
BALLOT_STATES = ("pending", "mismatch", "counted", "blank", "online")


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
    box: Mapped[str | None] = mapped_column(String(40))           # the box / sheet label the clerks typed
    serial_ranges: Mapped[list | None] = mapped_column(JSON)     # [[first, last], …] of the ballots counted
    counts: Mapped[list | None] = mapped_column(JSON)            # [[unit id, item, choice, n], …] as added
    voided_by: Mapped[str | None] = mapped_column(String(80))   # set when a supervisor voids the sheet


class PaperTallyEntry(db.Model):
    """One clerk's entry of one tally sheet (box), kept until a second entry agrees with it."""

    __tablename__ = "paper_tally_entry"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    box: Mapped[str] = mapped_column(String(40), primary_key=True)
    clerk: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)


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


# --- results ----------------------------------------------------------------------------------
class CommentModeration(db.Model):
    """A comment an admin hid from reports, with the reason. Hidden comments stay counted
    and stored; only the day of hiding is kept, never a time."""

    __tablename__ = "comment_moderation"
    __table_args__ = {"sqlite_with_rowid": False}
    response_id: Mapped[str] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(60), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    hidden_by: Mapped[str] = mapped_column(String(80))
    hidden_on: Mapped[dt.date] = mapped_column(Date, default=today)
