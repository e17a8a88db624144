"""The stored model: campaigns, units, frozen questionnaires, responses, tallies, tokens.

Anonymity shapes the response tables: a response has a random id, the day (never the time)
it was given, and no address, agent, cookie or token. On SQLite the response and answer
tables are WITHOUT ROWID, keyed by the random id; what the database engine keeps of arrival
order (write-ahead log, cell order, xmin) is removed by the scrub (survey/anonymity.py).
Ballot tokens are stored hashed and share no key with responses.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets

from sqlalchemy import false
from sqlalchemy import (
    JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .config import office_today
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
    """Someone who signs in to the admin, with a role (docs/users.md) and the scope it applies to.

    The scope: the campaigns assigned (none listed: every campaign; a clerk always has some),
    and for a branch admin the units of one parent organisation or a listed set of unit codes.
    session_version is part of the session cookie's user id: raising it (sign-out, a password
    change or reset, disabling) ends every session of this user in every worker at once.
    """

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[str] = mapped_column(String(12), default="office", server_default="office")
    unit_parent: Mapped[str | None] = mapped_column(String(200))
    unit_codes: Mapped[list | None] = mapped_column(JSON)
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    campaigns: Mapped[list[Campaign]] = relationship(secondary="user_campaign", order_by="Campaign.id")

    # Flask-Login
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """The id the session cookie carries: user id and session version, so an ended
        session's cookie names a version that no longer exists."""
        return f"{self.id}.{self.session_version}"

    def end_sessions(self) -> None:
        """End every session of this user (the next request of each is signed out)."""
        self.session_version = (self.session_version or 0) + 1


class UserCampaign(db.Model):
    """A campaign assigned to a user (clerks enter paper ballots only in these)."""

    __tablename__ = "user_campaign"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)


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
    # breakdown cells with fewer raters are withheld from every report (survey/disclosure.py)
    minimum_cell: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    access: Mapped[str] = mapped_column(String(10), default="both")
    allow_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    show_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    # a mobile or ID number in a comment: "refuse" the answer with a message, or "mask" and store
    personal_data: Mapped[str] = mapped_column(String(10), default="refuse", server_default="refuse")
    previous_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    # minutes between scrubs while open (at most 60), when the last one finished (UTC), and
    # what had been written by then (survey/anonymity.py: writes_mark)
    scrub_interval: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    scrubbed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    scrub_mark: Mapped[str | None] = mapped_column(String(120))
    # respondent category keys this campaign does not offer (docs/plugins.md: how categories combine)
    hidden_categories: Mapped[list | None] = mapped_column(JSON)
    # "Don't know" (不了解) on every rated item, counted apart; and what a ballot holder may
    # leave out by phone: "none" (every item), "unit" (a whole unit), "items" (any item).
    dont_know: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    leave_out: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    # a re-evaluation (补课) follows this campaign: its units are those whose remedy was done
    # (survey/reevaluation.py); at most one follow-up per campaign
    follows_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"),
                                                            unique=True)

    units: Mapped[list[Unit]] = relationship(back_populates="campaign", order_by="Unit.code",
                                             cascade="all, delete-orphan")

    @validates("minimum_cell")
    def _check_minimum_cell(self, _key, value):
        """A cell of fewer than 3 raters would expose people: refuse it (docs/results.md)."""
        if value is not None and int(value) < 3:
            raise ValueError("minimum_cell must be at least 3 raters")
        return value

    @property
    def accepts_open(self) -> bool:
        """Residents may answer by scanning the unit's QR code."""
        return self.access in ("open", "both")

    @property
    def accepts_tokens(self) -> bool:
        """Holders of one-time ballot tokens may answer."""
        return self.access in ("tokens", "both")


# once a campaign opens, a unit's code is printed on QR codes and its answers follow its
# questionnaire and numbered commitments: the admin and the units import change only its
# name and parent
UNIT_FIELDS_FIXED_AT_OPENING = ("code", "sector", "questionnaire", "commitments", "members")


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
    # party members appraised by a branch (民主评议党员): one question each on a "members" item
    members: Mapped[list] = mapped_column(JSON, default=list)

    campaign: Mapped[Campaign] = relationship(back_populates="units")

    def as_dict(self) -> dict:
        """What plugins see of a unit."""
        return {"code": self.code, "name": self.name, "sector": self.sector,
                "parent": self.parent, "commitments": list(self.commitments or []),
                "members": list(self.members or [])}


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
    """The answer to one item: a choice key, or the text of a comment.

    On PostgreSQL the table is 16 hash partitions of response_id (migration 0004_scrub), so a
    scrub rewrites a sixteenth of it at a time."""

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


class ScrubLease(db.Model):
    """Which server process may scrub now (survey/anonymity.py): one row, taken until expires_at."""

    __tablename__ = "scrub_lease"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
class FormNonce(db.Model):
    """A spent form id (一次性表单号): the hash of the single-use id an answer form was issued
    with, and the day it was issued, so a repeated submission of the same form (a double tap,
    a browser resending, a proxy retrying a POST on another server) counts once.

    Written by the answering transaction, together with the response, answer and tally rows
    (survey/nonces.py, survey/responses.py): a scrub that removes the answering transaction's
    traces (xmin, dead tuples, page order) must treat this table like theirs. It links to
    nothing — no response id, unit, campaign or time finer than the day — and its rows are
    purged once the form id could no longer be submitted (survey.nonces.purge_expired).
    """

    __tablename__ = "form_nonce"
    __table_args__ = {"sqlite_with_rowid": False}
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_on: Mapped[dt.date] = mapped_column(Date, index=True)


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


# --- background jobs (printing, reports, exports from the admin) ------------------------------
JOB_STATES = ("queued", "running", "done", "failed", "interrupted")


def utcnow() -> dt.datetime:
    """Now in UTC without a zone (how DateTime columns are stored)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Job(db.Model):
    """A printout, report or export made in the background for the admin (see survey/jobs.py).

    The finished file is kept in the database, so it stays downloadable after a restart and
    from every server; a job that was running when its worker stopped is marked interrupted.
    """

    __tablename__ = "job"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    kind: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    campaign: Mapped[Campaign] = relationship()


# --- remedies (整改单) -----------------------------------------------------------------------
REMEDY_STATES = ("open", "plan_submitted", "done", "verified")


class Remedy(db.Model):
    """A unit's remedy record (整改单) for a campaign it fell under the line in: the items that
    pulled it down (as disclosed), its owner (the branch admin holding the unit, if any), a
    deadline in working days (survey/workdays.py), the plan, the report and its status
    open → plan_submitted → done → verified. Reminders are a list of {on, by}."""

    __tablename__ = "remedy"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id", name="uq_remedy_campaign_unit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    items: Mapped[list] = mapped_column(JSON, default=list)
    owner: Mapped[str | None] = mapped_column(String(80))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    office_calendar: Mapped[bool] = mapped_column(Boolean, default=False)
    plan: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reminders: Mapped[list] = mapped_column(JSON, default=list)
    verified_on: Mapped[dt.date | None] = mapped_column(Date)

    unit: Mapped[Unit] = relationship()
    campaign: Mapped[Campaign] = relationship()

    def overdue(self, on: dt.date | None = None) -> bool:
        """Past its due date and neither done nor verified."""
        return self.due_on < (on or office_today()) and self.status not in ("done", "verified")


# --- scanned ballots (OMR) --------------------------------------------------------------------
# Per-ballot records like a clerk's entry: what was read on each page of a numbered ballot and
# the images a reviewer needs. Deleted with the campaign's other per-ballot records at the
# scrub (survey.anonymity). The scanned file itself is deleted once it has been read.
SCAN_FILE_STATES = ("waiting", "reading", "read", "failed")
SCAN_PAGE_STATES = ("read", "doubt", "unreadable", "duplicate", "counted", "refused")


class ScanFile(db.Model):
    """A file of scanned pages (PDF, TIFF, PNG, JPEG), recognised by its SHA-256 so it is read once."""

    __tablename__ = "scan_file"
    __table_args__ = (UniqueConstraint("campaign_id", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    pages_read: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(12), default="waiting")
    error: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_on: Mapped[dt.date] = mapped_column(Date, default=today)
    # while it is read: when reading last moved on (cleared at the end); minutes old, the read stopped
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ScanPage(db.Model):
    """One scanned page: which ballot and page it is, what was read, or why it could not be."""

    __tablename__ = "scan_page"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("scan_file.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # page number within the file
    serial: Mapped[int | None] = mapped_column(Integer, index=True)
    page: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    reading: Mapped[dict | None] = mapped_column(JSON)  # items as read, with their confidence
    confidence: Mapped[float | None] = mapped_column(Float)
    image: Mapped[bytes | None] = mapped_column(LargeBinary)  # a small PNG, for a page that could not be read


class ScanDoubt(db.Model):
    """Something on a scanned page a person must decide: an unsure item, an unreadable page,
    a foreign page, a duplicate page with other marks. The decision is recorded."""

    __tablename__ = "scan_doubt"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("scan_page.id", ondelete="CASCADE"), index=True)
    serial: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    item: Mapped[str | None] = mapped_column(String(60))  # an answer key, "category", or None for the page
    reason: Mapped[str] = mapped_column(String(40))
    choices: Mapped[list | None] = mapped_column(JSON)
    crop: Mapped[bytes | None] = mapped_column(LargeBinary)
    decision: Mapped[str | None] = mapped_column(String(60))
    decided_by: Mapped[str | None] = mapped_column(String(80))


# --- the office's calendar (docs/remedy.md) ----------------------------------------------------
OFFICE_DAY_KINDS = ("holiday", "workday")


class OfficeCalendarDay(db.Model):
    """A date on the office's calendar (survey/workdays.py), for dates the official calendar
    does not know yet: a public holiday (a day off) or a make-up working day (调休上班)."""

    __tablename__ = "office_calendar_day"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(80))
