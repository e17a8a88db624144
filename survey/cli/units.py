"""`survey units import`: a campaign's units from CSV or XLSX."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..roles import command_requires
from .common import get_campaign


@click.group("units")
def units_group():
    """Units under evaluation."""


@units_group.command("import")
@click.argument("campaign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
@command_requires("units.manage")
def units_import(campaign, file):
    """Add or update a campaign's units from a CSV or XLSX FILE (columns: code, name,
    sector, and optionally parent, questionnaire, commitments; Chinese headers work too).
    A bad file is reported row by row and nothing is imported."""
    from ..registry import current_registry
    from ..roles import acting_user, scope_of
    from ..units_import import UnitImportError, import_units
    c = get_campaign(campaign)
    with open(file, "rb") as f:
        content = f.read()
    try:
        user = acting_user()
        result = import_units(c, file, content, current_registry(), user.username if user else "cli",
                              scope=scope_of(user) if user else None)
    except UnitImportError as exc:
        click.echo(f"{file}: nothing imported, {len(exc.problems)} problem(s):", err=True)
        for line in exc.problems:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo(f"{file}: {result.added} added, {result.updated} updated in {c.slug}")


@units_group.command("template")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--lang", default="zh_CN", show_default=True, type=click.Choice(["zh_CN", "en"]),
              help="Language of the headers and the drop-down lists.")
@with_appcontext
@command_requires("local")
def units_template(file, lang):
    """Write an XLSX template to fill in: headers, an example row, and drop-down lists of the
    installed sectors and questionnaires."""
    from ..outputs import OutputError, whole_file
    from ..registry import current_registry
    from ..units_import import template_xlsx
    try:
        with whole_file(file) as tmp:
            tmp.write_bytes(template_xlsx(current_registry(), lang))
    except OutputError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{file}: template with {len(current_registry().sectors)} sectors")
