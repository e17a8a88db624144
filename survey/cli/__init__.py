"""The `survey` command: a Flask CLI group. Every command has --help.

One module per concern (database, users, units, campaigns, printing, results, plugins,
serving); `common.py` has what they share. The commands call the same functions as the
admin, so a job done from the shell and from the browser is one implementation.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup

from . import backups, campaigns, database, plugins, printing, remedies, results, scanning, scrub, serving, units, users


def _create_app(*_args, **_kwargs):
    from .. import create_app
    return create_app()


def _print_version(ctx, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from .. import __version__
    click.echo(f"survey-toolkit {__version__}")
    ctx.exit()


class SurveyGroup(FlaskGroup):
    """The `survey` group: a database that does not answer, or has no tables yet, is one line
    saying what to do, never a traceback."""

    def _load_plugin_commands(self):
        """Leave out other packages' `flask.commands` (Flask-Limiter's `limiter`, loaded only
        once a command is looked up by name): every survey command declares its permission."""

    def invoke(self, ctx):
        from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError, DBAPIError) as exc:
            from .serving import database_problem
            raise click.ClickException(database_problem(exc)) from None


@click.group(cls=SurveyGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Print the toolkit's version and exit.")
def main():
    """Mass evaluation (群众评议) toolkit. SURVEY_INSTANCE names the instance folder;
    SURVEY_DATABASE_URL switches from the embedded SQLite file to PostgreSQL."""


for _command in (database.db_group, users.user_group, units.units_group, campaigns.campaign_group,
                 *printing.COMMANDS, *results.COMMANDS, scanning.scan, plugins.plugins, plugins.plugin_group, scrub.scrub,
                 serving.serve, serving.worker, serving.demo, *backups.COMMANDS, *remedies.COMMANDS):
    main.add_command(_command)


def init_app(app):
    """Install token redaction on the loggers and put every command on app.cli as well, so
    the test runner and `flask --app survey` reach them against that app."""
    from ..logs import install
    install()
    for name, command in main.commands.items():
        app.cli.add_command(command, name)
