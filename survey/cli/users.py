"""`survey user …`: the people who sign in to the admin, with their roles (docs/users.md).

Passwords are read from a prompt (asked twice, not echoed) or from --password-file, never
only from the command line, where other users of the server could read them.
"""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..roles import ROLES, command_requires
from .common import get_campaign


def _password(password_file, prompt: str) -> str:
    """The password from the file (first line) or a hidden prompt asked twice."""
    if password_file is not None:
        lines = password_file.read().splitlines()
        if not lines or not lines[0]:
            raise click.ClickException(f"{password_file.name}: the first line must hold the password")
        return lines[0]
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def _actor() -> str:
    from ..roles import acting_user
    user = acting_user()
    return user.username if user else "cli"


def english():
    """Messages of the CLI are in English."""
    from flask_babel import force_locale
    return force_locale("en")


def _user(username):
    from ..users import UserError, get_user
    try:
        with english():
            return get_user(username)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None


password_file_option = click.option(
    "--password-file", type=click.File("r", encoding="utf-8"),
    help="Read the password from the first line of this file (e.g. one only you can read) "
         "instead of asking for it.")


@click.group("user")
def user_group():
    """The people who sign in at /admin: office admins, branch admins, clerks, supervisors, observers."""


@user_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="office", show_default=True,
              help="office: everything; branch: some units; clerk: paper entry; supervisor: reads, "
                   "signs off tally sheets, resolves mismatches; observer: reads results.")
@click.option("--unit-parent", metavar="PARENT", help="Branch admins: the parent organisation whose units they manage.")
@click.option("--units", "unit_codes", metavar="U1,U2", help="Branch admins: the unit codes they manage (comma-separated).")
@click.option("--campaign", "campaigns", multiple=True, metavar="SLUG",
              help="A campaign the user works in (repeatable; clerks need at least one; "
                   "for other roles none means every campaign).")
@click.option("--must-change-password", is_flag=True,
              help="Ask for a new password at first sign-in (when you set it for someone else).")
@password_file_option
@with_appcontext
@command_requires("users.manage")
def user_create(username, role, unit_parent, unit_codes, campaigns, must_change_password, password_file):
    """Create a user who can sign in at /admin with the given role."""
    from ..users import UserError, create_user
    chosen = [get_campaign(slug) for slug in campaigns]
    password = _password(password_file, "Password")
    try:
        with english():
            create_user(username, password, role, _actor(), unit_parent=unit_parent,
                        unit_codes=(unit_codes or "").split(","), campaigns=chosen,
                        must_change_password=must_change_password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {username}")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
@command_requires("users.manage")
def user_list(as_json):
    """Everyone who can sign in, with role, scope and state."""
    from sqlalchemy import select

    from ..db import db
    from ..models import User
    rows = [{"username": u.username, "role": u.role, "active": u.active,
             "unit_parent": u.unit_parent, "units": u.unit_codes or [],
             "campaigns": [c.slug for c in u.campaigns], "must_change_password": u.must_change_password}
            for u in db.session.scalars(select(User).order_by(User.username))]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        scope = r["unit_parent"] and f"units under {r['unit_parent']}" or (
            r["units"] and "units " + ",".join(r["units"])) or "all units"
        campaigns = ",".join(r["campaigns"]) or "all campaigns"
        state = "active" if r["active"] else "disabled"
        click.echo(f"{r['username']}\t{r['role']}\t{scope}\t{campaigns}\t{state}")


@user_group.command("disable")
@click.argument("username")
@with_appcontext
@command_requires("users.manage")
def user_disable(username):
    """Disable a user: they can no longer sign in and their sessions end at once."""
    from ..users import set_active
    set_active(_user(username), False, _actor())
    click.echo(f"disabled {username}; their sessions have ended")


@user_group.command("enable")
@click.argument("username")
@with_appcontext
@command_requires("users.manage")
def user_enable(username):
    """Let a disabled user sign in again."""
    from ..users import set_active
    set_active(_user(username), True, _actor())
    click.echo(f"enabled {username}")


@user_group.command("reset-password")
@click.argument("username")
@click.option("--must-change-password/--no-must-change-password", default=True, show_default=True,
              help="Ask for a new password at the next sign-in.")
@password_file_option
@with_appcontext
@command_requires("users.manage")
def user_reset_password(username, must_change_password, password_file):
    """Set a new password for a user; their sessions end at once."""
    from ..users import UserError, reset_password
    user = _user(username)
    password = _password(password_file, "New password")
    try:
        with english():
            reset_password(user, password, _actor(), must_change_password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"reset the password of {username}; their sessions have ended")
