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

    from ..results import compute
    c = get_campaign(campaign)
    try:
        with force_locale(lang):
            ResultReport(compute(c), lang).write(out)
    except FontMissing as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{c.slug}: report written to {out}")


@click.command("export")
@click.argument("campaign")
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "xlsx", "json"]), help="File format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The file to write.")
@click.option("--raw", is_flag=True,
              help="The anonymous raw answers (response id, unit code, category, channel, day, item, "
                   "choice or text) instead of the results.")
@lang_option("Language of item labels in the result table.")
@with_appcontext
@command_requires("results.view")
def export(campaign, fmt, out, raw, lang):
    """Export a campaign's results (per unit and item: counts, rate, interval, flags), or with
    --raw its anonymous raw answers. Formula-like text is neutralised for spreadsheets."""
    from ..exports import write_raw, write_results
    from ..results import compute
    c = get_campaign(campaign)
    if raw:
        count = write_raw(c, fmt, out)
        click.echo(f"{c.slug}: {count} answers written to {out}")
        return
    results = compute(c)
    write_results(results, fmt, out, lang)
    click.echo(f"{c.slug}: results of {len(results.units)} units written to {out}")


COMMANDS = (report, export)
