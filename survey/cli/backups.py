"""`survey backup` and `survey restore`: database, secret key and config in one private file."""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from ..roles import command_requires


def _passphrase(file: str | None, prompt: bool, confirm: bool) -> str | None:
    """A passphrase from a file (first line) or the prompt; never from the command line."""
    if file:
        try:
            with open(file, encoding="utf-8") as f:
                phrase = f.readline().rstrip("\r\n")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="--passphrase-file")
        if not phrase:
            raise click.BadParameter(f"{file} is empty", param_hint="--passphrase-file")
        return phrase
    if prompt:
        return click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm)
    return None


@click.command("backup")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The backup file to write (mode 0600).")
@click.option("--encrypt", is_flag=True, help="Encrypt with a passphrase asked at the prompt (twice).")
@click.option("--passphrase-file", type=click.Path(dir_okay=False),
              help="Encrypt with the passphrase on the first line of this file.")
@with_appcontext
@command_requires("system")
def backup(out, encrypt, passphrase_file):
    """Back up the database (SQLite online backup, or pg_dump), the instance's secret key and
    config.py into one file readable by its owner only. Safe while residents answer."""
    from ..backup import BackupError, make_backup
    phrase = _passphrase(passphrase_file, encrypt, confirm=True)
    try:
        made = make_backup(current_app, out, phrase)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{out}: {made.database} backup, schema {', '.join(made.revisions) or 'none'}, "
               f"{made.size} bytes{', encrypted' if made.encrypted else ''}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--passphrase-file", type=click.Path(dir_okay=False),
              help="The passphrase of an encrypted backup (first line of this file); else it is asked.")
@click.option("--force", is_flag=True, help="Replace a database that is not empty, and a different secret key.")
@with_appcontext
@command_requires("system")
def restore(file, passphrase_file, force):
    """Restore FILE (made by `survey backup`) into this instance: its database, which must be
    empty (a fresh instance, or a new PostgreSQL database owned by the app's role), and its
    secret key and config.py. Stop the app servers first."""
    from ..backup import BackupError, needs_passphrase, restore_backup
    from ..migrate import is_current
    phrase = _passphrase(passphrase_file, needs_passphrase(file), confirm=False)
    try:
        manifest = restore_backup(current_app, file, phrase, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"restored {file} (made {manifest['created']} by toolkit {manifest['toolkit']}) into "
               f"{os.path.abspath(current_app.instance_path)}")
    if manifest.get("config_kept"):
        click.echo(f"note: this instance has its own config.py; the backup's is in {manifest['config_kept']}", err=True)
    if not is_current():
        click.echo("the schema is older than this toolkit: run `survey db upgrade` next", err=True)
    if os.environ.get("SURVEY_SECRET_KEY"):
        click.echo("note: SURVEY_SECRET_KEY is set and wins over the restored secret_key file", err=True)


COMMANDS = (backup, restore)
