"""The `survey report` and `survey export` commands."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..roles import command_requires
from .common import get_campaign, lang_option


@click.command("report")
@click.argument("campaign")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The PDF file to write.")
@lang_option("Language of the report.")
@with_appcontext
@command_requires("results.view")
def report(campaign, out, lang):
    """Write a campaign's result report as a PDF: summary, chart against the line, per-unit
    tables, the units that must remedy, the composition check, plugin sections and, if the
    campaign shows comments, the comments not hidden."""
    from flask_babel import force_locale

    from printouts.fonts import FontMissing
    from printouts.report import ResultReport

    from ..disclosure import disclosed_results
    c = get_campaign(campaign)
    try:
        with force_locale(lang):
            ResultReport(disclosed_results(c), lang).write(out)
    except FontMissing as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{c.slug}: report written to {out}")


@click.command("export")
@click.argument("campaign")
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "xlsx", "json"]), help="File format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The file to write.")
@click.option("--raw", is_flag=True,
              help="The anonymous raw answers (response id, unit code, category, channel, day, item, "
                   "choice or text) instead of the results: for the office only, never for publication; "
                   "each raw export is written to the audit log.")
@lang_option("Language of item labels in the result table.")
@with_appcontext
@command_requires("results.view")
def export(campaign, fmt, out, raw, lang):
    """Export a campaign's results (per unit and item: counts, rate, interval, flags; small groups
    withheld as in every report), or with --raw its anonymous raw answers for the office (written
    to the audit log). Formula-like text is neutralised for spreadsheets."""
    from ..db import db
    from ..disclosure import disclosed_results, record_raw_export
    from ..exports import write_raw, write_results
    c = get_campaign(campaign)
    if raw:
        count = write_raw(c, fmt, out)
        record_raw_export(c, fmt, count)
        db.session.commit()
        click.echo(f"{c.slug}: {count} answers written to {out} (recorded in the audit log)")
        return
    results = disclosed_results(c)
    write_results(results, fmt, out, lang)
    click.echo(f"{c.slug}: results of {len(results.units)} units written to {out}")


COMMANDS = (report, export)
