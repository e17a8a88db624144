"""The `survey report` and `survey export` commands (the same functions as the admin's jobs)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..roles import command_requires
from .common import get_campaign, lang_option, printing_errors


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
    from ..outputs import make_report
    c = get_campaign(campaign)
    with printing_errors():
        summary = make_report(c, out, lang=lang)
    click.echo(f"{c.slug}: {summary} written to {out}")


@click.command("export")
@click.argument("campaign")
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "xlsx", "json"]), help="File format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The file to write.")
@click.option("--raw", is_flag=True,
              help="The anonymous raw answers (response id, unit code, category, channel, day, item, "
                   "choice or text) instead of the results: for the office only, never for publication; "
                   "each raw export is written to the audit log.")
@lang_option("Language of the headers, sheet names and labels.")
@with_appcontext
@command_requires("results.view")
def export(campaign, fmt, out, raw, lang):
    """Export a campaign's results (a summary sheet, a sheet per item, the rater categories;
    small groups withheld as in every report), or with --raw its anonymous raw answers for the
    office (written to the audit log). Formula-like text is neutralised for spreadsheets."""
    from ..outputs import make_export
    if raw:  # the raw answers are the office's alone (results.view lets others export results)
        from ..roles import RoleError, acting_user, allows
        try:
            user = acting_user()
        except RoleError as exc:
            raise click.ClickException(str(exc)) from None
        if user is not None and not allows(user.role, "results.raw"):
            raise click.ClickException(f"{user.username} is a {user.role} and may not export the raw answers "
                                       "(it needs 'results.raw', the office's; docs/users.md)")
    c = get_campaign(campaign)
    with printing_errors():
        summary = make_export(c, out, fmt=fmt, lang=lang, raw=raw)
    click.echo(f"{c.slug}: {summary} written to {out}" + (" (recorded in the audit log)" if raw else ""))


COMMANDS = (report, export)
