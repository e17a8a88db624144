"""`survey plugins`: every plugin and whether it loaded."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from ..roles import command_requires


@click.command("plugins")
@click.option("--check", is_flag=True, help="Exit with status 1 if any plugin failed (for deploy scripts).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
@command_requires("plugins.view")
def plugins(check, as_json):
    """List every plugin: name, version, hooks, sectors, questionnaires and load status."""
    from ..registry import current_registry
    infos = current_registry().plugins
    if as_json:
        click.echo(json.dumps([{**vars(i), "status": i.status} for i in infos], ensure_ascii=False, indent=2))
    else:
        for i in infos:
            click.echo(f"{i.name} {i.version or '-'}: {i.status}")
            if i.error or i.runtime_error:
                click.echo(f"  error: {i.error or i.runtime_error}")
            if i.hooks:
                click.echo(f"  hooks: {', '.join(i.hooks)}")
            if i.sectors:
                click.echo(f"  sectors: {', '.join(i.sectors)}")
            if i.questionnaires:
                click.echo(f"  questionnaires: {', '.join(i.questionnaires)}")
    failed = [i.name for i in infos if i.error]
    if check and failed:
        click.echo(f"failed plugins: {', '.join(failed)}", err=True)
        sys.exit(1)
