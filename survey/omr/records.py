"""What is kept of scanned ballots, and when it goes (without loading OpenCV: the scrub and
the publish preview use this).

Scan records are per-ballot records like a clerk's entries: what was read on each page of a
numbered ballot, the cropped images of its doubts, the image of a page that could not be read.
- Once a ballot is counted, what was read on it is forgotten (survey.omr.scans.count_ready).
- Every scrub forgets what was read on a ballot finished another way (counted by keyboard,
  answered by phone) and the image of an unreadable page a person has set aside.
- Once the campaign is published (its count final) every scan record of it goes, and so does
  any upload a read that never finished left in the instance's scans folder: at publishing,
  and again at every scrub of it (publishing makes a scrub due, which also takes the deleted
  rows' traces out of the database files).
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, update

from ..db import db
from ..models import Campaign, PaperBallot, ScanDoubt, ScanFile, ScanPage

FINISHED = ("counted", "blank", "online")  # a ballot whose count is settled for good


def scan_folder() -> Path:
    """Where the admin keeps an uploaded file while it is read (deleted once read)."""
    folder = Path(current_app.instance_path) / "scans"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def upload_prefix(campaign_id: int) -> str:
    """The start of the name of every upload kept for this campaign while it is read."""
    return f"upload-c{campaign_id}-"


def undecided(campaign_id: int) -> tuple:
    """The conditions on ScanDoubt of what a person must still decide: undecided, and not on a
    page set aside as a copy of another (a copy's doubts are moot once the other is chosen)."""
    set_aside = select(ScanPage.id).where(ScanPage.campaign_id == campaign_id, ScanPage.status == "duplicate")
    return ScanDoubt.campaign_id == campaign_id, ScanDoubt.decision.is_(None), ScanDoubt.page_id.not_in(set_aside)


def forget(campaign_id: int) -> int:
    """Delete every scan record of a campaign and its uploads left on disk; the rows deleted."""
    rows = 0
    for table in (ScanDoubt, ScanPage, ScanFile):
        rows += db.session.execute(delete(table).where(table.campaign_id == campaign_id)).rowcount or 0
    for leftover in scan_folder().glob(upload_prefix(campaign_id) + "*"):
        leftover.unlink(missing_ok=True)
    return rows


def forget_finished(campaign_id: int) -> int:
    """What a scrub removes of a campaign's scans (see the module's docstring); the rows changed.
    The caller commits."""
    state = db.session.scalar(select(Campaign.state).where(Campaign.id == campaign_id))
    if state == "published":
        return forget(campaign_id)
    finished = select(PaperBallot.serial).where(PaperBallot.campaign_id == campaign_id,
                                                PaperBallot.status.in_(FINISHED))
    of_finished = (ScanPage.campaign_id == campaign_id, ScanPage.serial.in_(finished))
    rows = db.session.execute(delete(ScanDoubt).where(ScanDoubt.campaign_id == campaign_id,
                                                      ScanDoubt.serial.in_(finished))).rowcount or 0
    rows += db.session.execute(update(ScanPage).where(*of_finished, ScanPage.reading.is_not(None))
                               .values(reading=None, image=None)).rowcount or 0
    set_aside = select(ScanDoubt.page_id).where(ScanDoubt.campaign_id == campaign_id,
                                                ScanDoubt.reason == "unreadable", ScanDoubt.decision.is_not(None))
    rows += db.session.execute(update(ScanPage).where(ScanPage.campaign_id == campaign_id, ScanPage.id.in_(set_aside),
                                                      ScanPage.image.is_not(None)).values(image=None)).rowcount or 0
    return rows
