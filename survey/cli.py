"""The `survey` command: a Flask CLI group. Every command has --help."""
from __future__ import annotations

import json
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from .db import db
from .models import Campaign


def _create_app(*_args, **_kwargs):
    from . import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def main():
    """Mass evaluation (群众评议) toolkit. SURVEY_INSTANCE names the instance folder;
    SURVEY_DATABASE_URL switches from the embedded SQLite file to PostgreSQL."""


def get_campaign(slug: str) -> Campaign:
    """The campaign with this slug (or numeric id), or a clear CLI error."""
    campaign = db.session.scalar(select(Campaign).filter_by(slug=slug))
    if campaign is None and slug.isdigit():
        campaign = db.session.get(Campaign, int(slug))
    if campaign is None:
        known = ", ".join(db.session.scalars(select(Campaign.slug)).all()) or "none yet"
        raise click.BadParameter(f"no campaign {slug!r} (campaigns: {known})", param_hint="CAMPAIGN")
    return campaign


# --- db -------------------------------------------------------------------------------------
@main.group("db")
def db_group():
    """Database schema commands."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Create or migrate the database schema to the newest version."""
    from .migrate import upgrade
    upgrade()
    click.echo(f"database is up to date: {_safe_url()}")


def _safe_url() -> str:
    return db.engine.url.render_as_string(hide_password=True)


# --- users ----------------------------------------------------------------------------------
@main.group("user")
def user_group():
    """Campaign office admins."""


@user_group.command("create")
@click.argument("username")
@click.password_option(help="The password (asked twice when not given).")
@with_appcontext
def user_create(username, password):
    """Create an admin who can sign in at /admin."""
    from .auth import create_user
    try:
        create_user(username, password)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"created admin {username}")


# --- units ----------------------------------------------------------------------------------
@main.group("units")
def units_group():
    """Units under evaluation."""


@units_group.command("import")
@click.argument("campaign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def units_import(campaign, file):
    """Add or update a campaign's units from a CSV or XLSX FILE (columns: code, name,
    sector, and optionally parent, questionnaire, commitments; Chinese headers work too).
    A bad file is reported row by row and nothing is imported."""
    from .registry import current_registry
    from .units_import import UnitImportError, import_units
    c = get_campaign(campaign)
    with open(file, "rb") as f:
        content = f.read()
    try:
        result = import_units(c, file, content, current_registry(), "cli")
    except UnitImportError as exc:
        click.echo(f"{file}: nothing imported, {len(exc.problems)} problem(s):", err=True)
        for line in exc.problems:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo(f"{file}: {result.added} added, {result.updated} updated in {c.slug}")


# --- campaigns ------------------------------------------------------------------------------
@main.group("campaign")
def campaign_group():
    """Evaluation campaigns."""


@campaign_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
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
@click.option("--previous", default=None, metavar="CAMPAIGN",
              help="The same units' previous campaign, for the change since then in the results.")
@with_appcontext
def campaign_create(slug, name, line, composition_minimum, access, previous):
    """Create a draft campaign."""
    from .admin.campaigns import SLUG_PATTERN
    from .models import audit
    if not SLUG_PATTERN.match(slug):
        raise click.BadParameter("use lower-case letters, digits and '-' (at most 60)", param_hint="SLUG")
    if db.session.scalar(select(Campaign).filter_by(slug=slug)):
        raise click.BadParameter(f"campaign {slug!r} already exists", param_hint="SLUG")
    previous_id = get_campaign(previous).id if previous else None
    db.session.add(Campaign(slug=slug, name=name, satisfaction_line=line / 100,
                            composition_minimum=composition_minimum / 100, access=access,
                            previous_campaign_id=previous_id))
    audit("cli", "campaign.create", slug)
    db.session.commit()
    click.echo(f"created draft campaign {slug}")


def _transition_command(action, help_text):
    @campaign_group.command(action, help=help_text)
    @click.argument("campaign")
    @with_appcontext
    def command(campaign):
        from .campaigns import CampaignError, transition
        from .registry import current_registry
        c = get_campaign(campaign)
        try:
            transition(c, action, current_registry(), "cli")
            db.session.commit()
        except CampaignError as exc:
            db.session.rollback()
            raise click.ClickException(f"{c.slug}: {exc}")
        click.echo(f"{c.slug} is now {c.state}")
    return command


_transition_command("open", "Open a campaign for answers (freezes its questionnaires).")
_transition_command("close", "Close a campaign: no more answers.")
_transition_command("publish", "Publish a closed campaign's results.")


@campaign_group.command("urls")
@click.argument("campaign")
@with_appcontext
def campaign_urls(campaign):
    """Print each unit's public answering address, one per line."""
    from printouts.qr import unit_url
    c = get_campaign(campaign)
    for unit in c.units:
        click.echo(f"{unit_url(current_app.config['SURVEY_BASE_URL'], unit.code)}\t{unit.name}")


# --- plugins --------------------------------------------------------------------------------
@main.command("plugins")
@click.option("--check", is_flag=True, help="Exit with status 1 if any plugin failed (for deploy scripts).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def plugins(check, as_json):
    """List every plugin: name, version, hooks, sectors, questionnaires and load status."""
    from .registry import current_registry
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


# --- serving --------------------------------------------------------------------------------
@main.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port to listen on.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Print request lines (ballot tokens are redacted).")
@with_appcontext
def serve(bind, workers, access_log):
    """Run the production server (gunicorn)."""
    from .migrate import is_current
    from .serving import run_gunicorn
    if not is_current():
        raise click.ClickException("the database schema is not up to date: run `survey db upgrade` first")
    if workers > 1 and str(current_app.config["SURVEY_RATELIMIT_STORAGE_URI"]).startswith("memory"):
        click.echo(f"note: rate limits are kept in each worker's memory, so an address may send up to "
                   f"{workers}× SURVEY_RATELIMIT_ANSWER; set SURVEY_RATELIMIT_STORAGE_URI=redis://… "
                   f"for one shared count (docs/operators.md)", err=True)
    run_gunicorn(bind=bind, workers=workers, access_log=access_log)


@main.command("demo")
@click.option("--serve/--no-serve", default=True, help="Serve on 127.0.0.1:5000 after preparing.")
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def demo(serve, port):
    """Create a demo campaign (units in every installed sector, open, with some answers),
    print the admin login and example survey addresses, then serve on 127.0.0.1:5000."""
    from .demo import prepare
    if port != 5000 and "SURVEY_BASE_URL" not in os.environ:
        current_app.config["SURVEY_BASE_URL"] = f"http://127.0.0.1:{port}"
    login, urls = prepare()
    click.echo(f"admin login: {current_app.config['SURVEY_BASE_URL'].rstrip('/')}/admin/login")
    click.echo(f"  user: {login[0]}  password: {login[1]}")
    click.echo("survey addresses:")
    for url in urls:
        click.echo(url)
    if serve:
        from werkzeug.serving import run_simple
        click.echo(f"serving on http://127.0.0.1:{port} (Ctrl+C to stop)")
        run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)


def init_app(app):
    """Install token redaction on the loggers and put every command on app.cli as well, so
    the test runner and `flask --app survey` reach them against that app."""
    from .logs import install
    install()
    for name, command in main.commands.items():
        app.cli.add_command(command, name)


# Commands of the paper-ballot and results modules, kept beside their own code.
from . import print_commands, result_commands  # noqa: E402

print_commands.register(main)
result_commands.register(main)


if __name__ == "__main__":
    main()
