"""`survey scrub`: remove the database engine's traces of who answered when, now."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import db
from ..models import Campaign
from ..roles import command_requires
from .common import get_campaign


@click.command("scrub")
@click.argument("campaign", required=False)
@with_appcontext
@command_requires("system")
def scrub(campaign):
    """Scrub CAMPAIGN now (or every campaign that is not a draft): rewrite its answers, tokens,
    tallies and paper ballots so no link or arrival order is left in the database files.
    `survey serve` does this by itself at each campaign's interval; see docs/anonymity.md."""
    from ..anonymity import HOLDER, release_lease, scrub as scrub_campaign, take_lease
    if campaign:
        ids = [get_campaign(campaign).id]
    else:
        ids = list(db.session.scalars(select(Campaign.id).where(Campaign.state != "draft").order_by(Campaign.id)))
    if not take_lease(HOLDER):
        raise click.ClickException("another process is scrubbing now; try again in a few minutes")
    try:
        for cid in ids:
            slug = db.session.get(Campaign, cid).slug
            report = scrub_campaign(cid)
            take_lease(HOLDER)
            click.echo(f"{slug}: {report.rows} rows rewritten in {report.chunks} chunks, {report.seconds:.1f} s "
                       f"(longest chunk {report.longest_chunk:.2f} s, compaction {report.compact_seconds:.1f} s)")
    finally:
        release_lease(HOLDER)
