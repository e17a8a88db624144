"""`survey remedy …`: the re-evaluation (补课) of a campaign's remedied units and the remedy
ledger (整改台账), the same functions as the admin's buttons (docs/remedy.md)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..db import db
from ..roles import command_requires
from .common import get_campaign, lang_option


@click.group("remedy")
def remedy_group():
    """Remedy records (整改单): re-evaluation and the ledger."""


@remedy_group.command("reevaluate")
@click.argument("campaign")
@with_appcontext
@command_requires("remedy.office")
def remedy_reevaluate(campaign):
    """Make the re-evaluation campaign (a draft) of the units whose remedy is done or verified,
    with the same frozen questionnaires and settings. Once only: run again, it names the one made."""
    from flask_babel import force_locale

    from ..reevaluation import ReevaluationError, create_follow_up
    from ..roles import acting_user
    c = get_campaign(campaign)
    user = acting_user()
    with force_locale("en"):
        try:
            follow_up, made = create_follow_up(c, user.username if user else "cli")
        except ReevaluationError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
    db.session.commit()
    if made:
        click.echo(f"{c.slug}: re-evaluation campaign {follow_up.slug} made (draft, {len(follow_up.units)} units: "
                   f"{', '.join(u.code for u in follow_up.units)})")
    else:
        click.echo(f"{c.slug}: its re-evaluation campaign is {follow_up.slug} ({follow_up.state}), made before")


@remedy_group.command("ledger")
@click.argument("campaign")
@click.option("--format", "fmt", required=True, type=click.Choice(["xlsx", "pdf"]), help="File format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The file to write.")
@lang_option("Language of the ledger.")
@with_appcontext
@command_requires("remedy.ledger")
def remedy_ledger(campaign, fmt, out, lang):
    """Write the campaign's remedy ledger (整改台账): unit, items that pulled it down, owner,
    deadline, status, plan, report, verified date and re-evaluation result."""
    from ..ledger import make_ledger
    from ..models import Remedy
    from ..outputs import whole_file
    from .common import printing_errors
    c = get_campaign(campaign)
    with printing_errors(), whole_file(out) as tmp:  # a missing folder is a one-line error; no half file
        tmp.write_bytes(make_ledger(c, fmt, lang))
    records = db.session.query(Remedy).filter_by(campaign_id=c.id).count()
    click.echo(f"{c.slug}: remedy ledger ({records} remedy records) written to {out}")


COMMANDS = (remedy_group,)
