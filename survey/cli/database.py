"""`survey db upgrade`: the database schema."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..db import db
from ..roles import command_requires


@click.group("db")
def db_group():
    """Database schema commands."""


@db_group.command("upgrade")
@with_appcontext
@command_requires("system")
def db_upgrade():
    """Create or migrate the database schema to the newest version."""
    from ..migrate import upgrade
    upgrade()
    click.echo(f"database is up to date: {_safe_url()}")


def _safe_url() -> str:
    return db.engine.url.render_as_string(hide_password=True)
