"""`survey user …`: the campaign office's admins."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("user")
def user_group():
    """Campaign office admins."""


@user_group.command("create")
@click.argument("username")
@click.password_option(help="The password (asked twice when not given).")
@with_appcontext
def user_create(username, password):
    """Create an admin who can sign in at /admin."""
    from ..auth import create_user
    try:
        create_user(username, password)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"created admin {username}")
