"""`survey plugins`: every plugin and whether it loaded."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from ..roles import command_requires


@click.command("plugins")
@click.option("--check", "check", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              help="Check the installed plugins (or the plugin folder or questionnaire file PATH, before "
                   "installing it) and exit with status 1 on any error.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
@command_requires("plugins.view")
def plugins(check, as_json):
    """List every plugin: name, version, hooks, sectors, questionnaires and load status.
    With --check, also call the hooks that run while residents answer, report hook errors
    seen while the app ran, and name file, item and line of every problem."""
    from ..registry import current_registry
    if check:
        _check(check, None, as_json)
        return
    infos = current_registry().plugins
    if as_json and check is None:
        click.echo(json.dumps([{**vars(i), "status": i.status} for i in infos], ensure_ascii=False, indent=2))
        return
    if not as_json:
        _listing(infos, current_registry())
    if check is not None:
        _check(None, current_registry(), as_json)


def _listing(infos, registry) -> None:
    for i in infos:
        click.echo(f"{i.name} {i.version or '-'}: {i.status}")
        if i.error or i.runtime_error:
            click.echo(f"  error: {i.error or i.runtime_error}")
        for warning in i.warnings:
            click.echo(f"  warning: {warning}")
        if i.hooks:
            click.echo(f"  hooks: {', '.join(i.hooks)}")
        if i.sectors:
            click.echo(f"  sectors: {', '.join(i.sectors)}")
        if i.questionnaires:
            click.echo(f"  questionnaires: {', '.join(_shown(registry, k) for k in i.questionnaires)}")


def _shown(registry, key: str) -> str:
    """A questionnaire key with its audience and pair: five-goods (assembly → general-visit)."""
    q = registry.questionnaires.get(key)
    if q is None:
        return key
    if q.audience == "point_of_service":
        return f"{key} (point of service)"
    return f"{key} (assembly" + (f" → {q.point_of_service})" if q.point_of_service else ")")


def _check(path, registry, as_json) -> None:
    from ..plugin_check import check
    report = check(path, registry)
    if as_json:
        click.echo(json.dumps(vars(report), ensure_ascii=False, indent=2))
    else:
        for line in report.warnings:
            click.echo(f"warning: {line}", err=True)
        for line in report.errors:
            click.echo(f"error: {line}", err=True)
        checked = ", ".join(report.checked) or "nothing"
        click.echo(f"checked {checked}: " + ("ok" if report.ok else f"{len(report.errors)} error(s)"))
    if not report.ok:
        sys.exit(1)


@click.group("plugin")
def plugin_group():
    """Write your branch's own plugin."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--sector", required=True, help="The key of the sector the plugin adds, e.g. community.")
@click.option("--label-zh", help="The sector's Chinese name, e.g. 城市社区.")
@click.option("--label-en", help="The sector's English name, e.g. Urban communities.")
@click.option("--out", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The folder to create the plugin's folder in.")
@command_requires("local")
def plugin_new(name, sector, label_zh, label_en, out):
    """Create a ready plugin distribution NAME (pyproject with the entry point, package, a
    questionnaire, a category, tests using the toolkit's fixtures, README) that installs with
    `pip install -e NAME` and passes its own tests as generated."""
    from pathlib import Path

    from ..scaffold import ScaffoldError, new_plugin
    try:
        files = new_plugin(name, sector, Path(out), label_zh, label_en)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    root = Path(out) / name
    click.echo(f"created {root} ({len(files)} files). Next:")
    click.echo(f"  pip install -e {root}")
    click.echo(f"  survey plugins --check {root}")
    click.echo(f"  python -m pytest {root} -q")
