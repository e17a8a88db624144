"""`survey plugins`: every plugin and whether it loaded."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext


@click.command("plugins")
@click.option("--check", is_flag=True, help="Exit with status 1 if any plugin failed (for deploy scripts).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def plugins(check, as_json):
    """List every plugin: name, version, hooks, sectors, questionnaires and load status."""
    from ..registry import current_registry
    registry = current_registry()
    infos = registry.plugins
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
                click.echo(f"  questionnaires: {', '.join(_shown(registry, k) for k in i.questionnaires)}")
    failed = [i.name for i in infos if i.error]
    if check and not failed:
        click.echo("checked: every questionnaire is valid; no point-of-service form asks about the "
                   "leadership or party members")
    if check and failed:
        click.echo(f"failed plugins: {', '.join(failed)}", err=True)
        sys.exit(1)


def _shown(registry, key: str) -> str:
    """A questionnaire key with its audience and pair: five-goods (assembly → general-visit)."""
    q = registry.questionnaires.get(key)
    if q is None:
        return key
    if q.audience == "point_of_service":
        return f"{key} (point of service)"
    return f"{key} (assembly" + (f" → {q.point_of_service})" if q.point_of_service else ")")
