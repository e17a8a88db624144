"""`survey posters`, `survey ballots`, `survey tally-sheet`, `survey reconciliation`: the printed
matter of a campaign.

Ballot tokens are never printed to the console: only counts and serial ranges are.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..roles import command_requires
from .common import get_campaign, lang_option, printing_errors, progress, unit_codes


@click.command("posters")
@click.argument("campaign")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The PDF to write.")
@click.option("--a5", is_flag=True, help="Two A5 posters side by side on each A4 sheet, to cut in half.")
@lang_option("Language of the poster's texts.")
@click.option("--units", "units", help="Only these unit codes, comma-separated.")
@with_appcontext
@command_requires("print")
def posters(campaign, out, a5, lang, units):
    """One QR poster per unit: unit and campaign name, how to answer, the QR code of the
    unit's address and the address as text. A4, printed at 100%."""
    from ..outputs import make_posters
    c = get_campaign(campaign)
    codes = unit_codes(units)
    with printing_errors(), progress(len(codes or c.units), "posters") as step:
        summary = make_posters(c, out, lang=lang, a5=a5, unit_codes=codes, progress=step)
    click.echo(f"{out}: {summary} for {c.slug}")


@click.command("ballots")
@click.argument("campaign")
@click.option("--count", required=True, type=click.IntRange(1, 1_000_000), help="How many ballots to print.")
@click.option("--category", help="The respondent category of this batch (e.g. resident, service_recipient); "
                                 "without it each ballot asks the respondent.")
@click.option("--units", "units", help="Only these unit codes, comma-separated (default: every unit).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The PDF to write.")
@lang_option("Language of the ballot's texts.")
@with_appcontext
@command_requires("print")
def ballots(campaign, count, category, units, out, lang):
    """Print COUNT numbered ballots, each with its own one-time code (answer by phone or on
    paper; it counts once). Serials continue across a campaign's batches. The campaign must
    be open. The batch is recorded only if the PDF is written."""
    from ..outputs import make_ballots
    c = get_campaign(campaign)
    if category is None:
        click.echo("note: no --category: each ballot asks who the respondent is; a category per batch "
                   "lets you plan the share of service recipients and residents.", err=True)
    with printing_errors(), progress(count, "ballots") as step:
        summary = make_ballots(c, out, count=count, category=category, unit_codes=unit_codes(units),
                               lang=lang, progress=step)
    click.echo(f"{out}: {summary} for {c.slug}" + (f", category {category}" if category else ""))


@click.command("tally-sheet")
@click.argument("campaign")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The PDF to write.")
@click.option("--category", help="Print this respondent category on the sheet.")
@click.option("--units", "units", help="Only these unit codes, comma-separated.")
@lang_option("Language of the sheet's texts.")
@with_appcontext
@command_requires("print")
def tally_sheet(campaign, out, category, units, lang):
    """A tally sheet (计票表) for counting ballots by hand: per unit, item and choice a box to
    count in strokes, the ballots issued/returned/valid/invalid, and signature lines."""
    from ..outputs import make_tally_sheet
    c = get_campaign(campaign)
    with printing_errors():
        summary = make_tally_sheet(c, out, lang=lang, category=category, unit_codes=unit_codes(units))
    click.echo(f"{out}: {summary} for {c.slug}")


@click.command("reconciliation")
@click.argument("campaign")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The PDF to write.")
@click.option("--batch", type=int, help="Only this printed batch (its number in the admin's list of batches).")
@lang_option("Language of the record's texts.")
@with_appcontext
@command_requires("paper.view")
def reconciliation(campaign, out, batch, lang):
    """The assembly's reconciliation record (计票结果报告单): ballots issued, returned, valid,
    invalid, blank, answered by phone and not returned, per batch and tally sheet, with the
    counter's and the supervisor's signature lines."""
    from ..paper import reconciliation_printout
    c = get_campaign(campaign)
    with printing_errors():
        printout = reconciliation_printout(c, lang, batch)
        printout.write(out)
    r = printout.record
    click.echo(f"{out}: {c.slug}: issued {r.issued}, returned {r.returned}, valid {r.valid}, invalid {r.invalid}, "
               f"blank {r.blank}, by phone {r.by_phone}, not returned {r.not_returned}")


COMMANDS = (posters, ballots, tally_sheet, reconciliation)
