"""The people who sign in: create, list, disable, enable, reset or change a password.

The admin's user pages and `survey user …` both call these. Every change that should end a
user's sessions (a password change or reset, disabling) raises the user's session version,
which ends them at once in every worker (see User.get_id and auth.load_user).
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db
from .models import Campaign, User, audit
from .roles import RoleError, check_scope_settings

MIN_PASSWORD = 8


class UserError(ValueError):
    """A user change that cannot be made, with the reason in the reader's language."""


def password_problem(password: str) -> str | None:
    """Why a password cannot be used, or None."""
    if len(password) < MIN_PASSWORD:
        return _("The password must have at least %(n)d characters.", n=MIN_PASSWORD)
    if len(password) > 200:
        return _("The password must have at most 200 characters.")
    return None


def get_user(username: str) -> User:
    """The user with this name, or UserError."""
    user = db.session.scalar(select(User).filter_by(username=username.strip()))
    if user is None:
        raise UserError(_("There is no user “%(name)s”.", name=username))
    return user


def create_user(username: str, password: str, role: str = "office", actor: str = "cli", *,
                unit_parent: str | None = None, unit_codes: list[str] | None = None,
                campaigns: list[Campaign] = (), must_change_password: bool = False) -> User:
    """Add a user with a hashed password, a role and its scope (committed); UserError if the
    name is taken or bad, the password too short, or the scope does not fit the role."""
    username = username.strip()
    if not username or len(username) > 80:
        raise UserError(_("The user name must be 1 to 80 characters."))
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    unit_parent = (unit_parent or "").strip() or None
    unit_codes = [c.strip() for c in (unit_codes or []) if c.strip()] or None
    try:
        check_scope_settings(role, unit_parent, unit_codes, list(campaigns))
    except RoleError as exc:
        raise UserError(str(exc)) from None
    if db.session.scalar(select(User).filter_by(username=username)):
        raise UserError(_("The user “%(name)s” already exists.", name=username))
    user = User(username=username, password_hash=generate_password_hash(password), role=role,
                unit_parent=unit_parent, unit_codes=unit_codes, campaigns=list(campaigns),
                must_change_password=must_change_password, session_version=1)
    db.session.add(user)
    audit(actor, "user.create", username, role=role, unit_parent=unit_parent, units=unit_codes,
          campaigns=[c.slug for c in campaigns] or None)
    db.session.commit()
    return user


def set_active(user: User, active: bool, actor: str) -> None:
    """Disable (ending every session at once) or enable a user (committed)."""
    if user.active == active:
        return
    user.active = active
    if not active:
        user.end_sessions()
    audit(actor, "user.enable" if active else "user.disable", user.username)
    db.session.commit()


def reset_password(user: User, password: str, actor: str, must_change: bool = True) -> None:
    """Set a new password for someone (an office admin or the CLI), ending their sessions;
    with must_change they choose their own at the next sign-in."""
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = must_change
    user.end_sessions()
    audit(actor, "user.reset_password", user.username, must_change=must_change)
    db.session.commit()


def change_own_password(user: User, current: str, new: str) -> None:
    """A user changes their own password (the current one is asked again), ending every
    other session of theirs; the caller signs the current one in again."""
    if not check_password_hash(user.password_hash, current):
        raise UserError(_("The current password is wrong."))
    if current == new:
        raise UserError(_("Choose a password different from the current one."))
    problem = password_problem(new)
    if problem:
        raise UserError(problem)
    user.password_hash = generate_password_hash(new)
    user.must_change_password = False
    user.end_sessions()
    audit(user.username, "user.change_password", user.username)
    db.session.commit()


def sign_out(user: User) -> None:
    """Sign-out ends every session of this user, in every worker."""
    user.end_sessions()
    audit(user.username, "user.logout")
    db.session.commit()
