"""`survey campaign …`: create, list, open, close, publish, and the units' addresses."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import db
from ..models import Campaign
from ..roles import command_requires
from .common import get_campaign


@click.group("campaign")
def campaign_group():
    """Evaluation campaigns."""


@campaign_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
@command_requires("campaigns.list")
def campaign_list(as_json):
    """List campaigns: slug, name, state, units."""
    rows = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
    if as_json:
        click.echo(json.dumps([{"id": c.id, "slug": c.slug, "name": c.name, "state": c.state,
                                "units": len(c.units)} for c in rows], ensure_ascii=False, indent=2))
        return
    for c in rows:
        click.echo(f"{c.slug}\t{c.state}\t{len(c.units)} units\t{c.name}")


@campaign_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The campaign's name, e.g. 2025年度群众满意度测评.")
@click.option("--line", default=70.0, show_default=True, type=click.FloatRange(1, 100),
              help="Satisfaction line in percent; units below it must remedy.")
@click.option("--composition-minimum", default=30.0, show_default=True, type=click.FloatRange(0, 100),
              help="Minimum share (percent) of service recipients and residents among raters.")
@click.option("--access", default="both", show_default=True, type=click.Choice(["open", "tokens", "both"]),
              help="open: anyone scanning a unit's QR; tokens: one-time ballots only; both.")
@click.option("--minimum-cell", default=5, show_default=True, type=click.IntRange(3, 1000),
              help="Smallest group (raters) whose figures the results show; never below 3.")
@click.option("--previous", default=None, metavar="CAMPAIGN",
              help="The same units' previous campaign (compared with once it is published).")
@click.option("--dont-know", is_flag=True, help="Offer “don't know” (不了解) on every rated item; counted apart.")
@click.option("--leave-out", default="none", show_default=True, type=click.Choice(["none", "unit", "items"]),
              help="What a ballot holder may leave out by phone: nothing, a whole unit, or any item.")
@with_appcontext
@command_requires("campaign.manage")
def campaign_create(slug, name, line, composition_minimum, access, minimum_cell, previous, dont_know, leave_out):
    """Create a draft campaign."""
    from ..campaigns import CampaignError, create_campaign
    previous_id = get_campaign(previous).id if previous else None
    try:
        create_campaign(slug, name, "cli", satisfaction_line=line / 100,
                        composition_minimum=composition_minimum / 100, access=access,
                        minimum_cell=minimum_cell, previous_campaign_id=previous_id, dont_know=dont_know,
                        leave_out=leave_out)
    except CampaignError as exc:
        raise click.BadParameter(str(exc), param_hint="SLUG")
    db.session.commit()
    click.echo(f"created draft campaign {slug}")


def _transition_command(action, help_text):
    @campaign_group.command(action, help=help_text)
    @click.argument("campaign")
    @with_appcontext
    @command_requires("campaign.publish" if action == "publish" else "campaign.manage")
    @(click.option("--leave-uncounted", is_flag=True,
                   help="Publish although paper ballots are not all counted (they can no longer be).")
      if action == "publish" else (lambda f: f))
    def command(campaign, leave_uncounted=False):
        from ..campaigns import CampaignError, transition
        from ..registry import current_registry
        c = get_campaign(campaign)
        try:
            transition(c, action, current_registry(), "cli", leave_uncounted=leave_uncounted)
            db.session.commit()
        except CampaignError as exc:
            db.session.rollback()
            from ..campaigns import PaperNotCounted
            hint = " (--leave-uncounted)" if isinstance(exc, PaperNotCounted) else ""
            raise click.ClickException(f"{c.slug}: {exc}{hint}")
        click.echo(f"{c.slug} is now {c.state}")
    return command


_transition_command("open", "Open a campaign for answers (freezes its questionnaires).")
_transition_command("close", "Close a campaign: no more answers.")
_transition_command("publish", "Publish a closed campaign's results (check them first with "
                               "`survey export CAMPAIGN --format json` or the admin's publish preview).")


@campaign_group.command("withdraw")
@click.argument("campaign")
@click.option("--reason", required=True, help="Why the results are withdrawn (kept in the audit log).")
@with_appcontext
@command_requires("campaign.publish")
def campaign_withdraw(campaign, reason):
    """Withdraw published results: the campaign returns to closed and the public page to 404."""
    from flask_babel import force_locale

    from ..campaigns import CampaignError, withdraw
    c = get_campaign(campaign)
    try:
        with force_locale("en"):
            withdraw(c, reason, "cli")
        db.session.commit()
    except CampaignError as exc:
        db.session.rollback()
        raise click.ClickException(f"{c.slug}: {exc}")
    click.echo(f"{c.slug}: results withdrawn, the campaign is closed again")


@campaign_group.command("urls")
@click.argument("campaign")
@with_appcontext
@command_requires("print")
def campaign_urls(campaign):
    """Print each unit's public answering address, one per line."""
    from printouts.qr import unit_url
    c = get_campaign(campaign)
    for unit in c.units:
        click.echo(f"{unit_url(current_app.config['SURVEY_BASE_URL'], unit.code)}\t{unit.name}")
