"""Printing numbered ballots, posters and tally sheets; the batch and its hashed tokens are
recorded in the same transaction as the PDF is written."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Iterator

from flask_babel import gettext as _
from sqlalchemy import func, insert, select

from ..campaigns import state_label
from ..db import db
from ..models import BallotBatch, BallotToken, Campaign, audit
from .ballot import (
    PRINTING_STATES, TOKEN_CHUNK, PaperError, ballot_units, categories_for, check_category, unit_blocks,
)
from ..tokens import new_token, token_hash
from .ballot import category_label


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


def campaign_key(campaign: Campaign) -> str:
    """Four hex digits (upper case: the page code stays in QR's compact alphanumeric mode, one
    small symbol) printed in every ballot page's code: which campaign a scanned page is from
    (campaigns of different offices can share serial numbers and ids, not slug and id together)."""
    return hashlib.sha256(f"{campaign.id}:{campaign.slug}".encode()).hexdigest()[:4].upper()


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
                           "its questionnaires are frozen then and ballot codes work.", state=state_label(campaign.state)))
    if not campaign.accepts_tokens:
        raise PaperError(_("This campaign is answered only by the units' QR codes: "
                           "set who may answer to ballots (or both) to print ballots."))
    if count < 1:
        raise PaperError(_("Print at least one ballot."))
    units = ballot_units(campaign.id, unit_codes)
    chosen = check_category(campaign.id, units, category)
    blocks = unit_blocks(campaign.id, units, lang, reasons=True)
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
            ballots=_tokens(campaign.id, batch.id, first, count), count=count, progress=progress,
            campaign_key=campaign_key(campaign))
        batch.layout = printout.layout
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
