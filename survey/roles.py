"""Who may do what: the roles, their permissions and the scope each user's role applies to.

The one home of the permission rule. Admin views declare what they need with
``@require("permission")``; the admin blueprint checks it before every request (a view that
declares nothing is refused to everyone, so a new route cannot ship unchecked), and checks
the campaign (``<slug>``) and unit (``<code>``) in the address against the user's scope.
CLI commands declare theirs with ``@command_requires``; see ``acting_user``.

Roles (docs/users.md):
- office admin (office): everything;
- branch admin (branch): sets up, imports, prints and sees results for the units of one parent
  organisation (Unit.parent) or a listed set of unit codes;
- clerk: paper ballot entry only, in the campaigns assigned;
- supervisor (监票人): reads everything, signs off tally sheets and resolves double-entry
  mismatches;
- observer: reads results only.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from flask import abort, current_app, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select, true

from .db import db
from .models import Campaign, Unit, User

ROLES = ("office", "branch", "clerk", "supervisor", "observer")
ROLE_LABELS = {"office": _l("Office admin"), "branch": _l("Branch admin"), "clerk": _l("Clerk"),
               "supervisor": _l("Supervisor (监票人)"), "observer": _l("Observer")}

# permission → the roles that have it
PERMISSIONS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "campaigns.list": ROLES,                                     # the campaign list (scoped)
    "account": ROLES,                                            # one's own password
    "campaign.view": ("office", "branch", "supervisor"),         # campaign and unit pages
    "campaign.manage": ("office",),                              # create, edit, open, close
    "campaign.publish": ("office",),                             # preview, publish, withdraw
    "units.manage": ("office", "branch"),                        # add, edit, delete, import
    "print": ("office", "branch"),                               # posters, QR codes, tally sheet
    "paper.view": ("office", "branch", "supervisor"),            # batches and counting progress
    "paper.enter": ("office", "clerk"),                          # double entry of ballots
    "paper.resolve": ("office", "supervisor"),                   # resolve mismatches
    "paper.tally": ("office", "supervisor"),                     # sign off tally sheets
    "scan": ("office", "clerk", "supervisor"),                   # upload scanned ballots, decide their doubts
    "results.view": ("office", "branch", "supervisor", "observer"),
    "results.raw": ("office",),                                  # the raw answers, never published
    "comments.view": ("office", "supervisor", "observer"),
    "comments.moderate": ("office",),
    "remedy.view": ("office", "branch", "supervisor"),           # remedy records (scoped to units)
    "remedy.fill": ("office", "branch"),                         # a record's plan and report
    "remedy.office": ("office",),                                # create records, verify, remind
    "remedy.ledger": ("office", "supervisor"),                   # the remedy ledger (整改台账), every unit
    "calendar.manage": ("office",),                              # the office's holiday calendar
    "audit.view": ("office", "supervisor"),
    "plugins.view": ("office", "branch", "supervisor"),
    "users.manage": ("office",),
    "system": ("office",),                                       # database, serving (CLI)
    "local": ROLES,                                              # writes local files only, reads no data
}.items()}


class RoleError(ValueError):
    """A role or scope that cannot be given, or an action the acting user may not do."""


def allows(role: str, permission: str) -> bool:
    """The role has this permission (an unknown permission is allowed to no one)."""
    return role in PERMISSIONS.get(permission, ())


@dataclass(frozen=True)
class Scope:
    """What a user's role applies to: campaign ids (None: all) and, for a branch admin, units."""

    role: str
    campaign_ids: frozenset[int] | None
    unit_parent: str | None = None
    unit_codes: frozenset[str] | None = None

    @property
    def all_units(self) -> bool:
        return self.role != "branch"

    def campaign(self, campaign: Campaign) -> bool:
        """The user may act on this campaign."""
        return self.campaign_ids is None or campaign.id in self.campaign_ids

    def unit(self, code: str, parent: str | None) -> bool:
        """A unit with this code and parent organisation is within the scope."""
        if self.all_units:
            return True
        return bool((self.unit_parent and parent == self.unit_parent)
                    or (self.unit_codes and code in self.unit_codes))

    def unit_clause(self):
        """A SQL condition on Unit for the units in scope."""
        if self.all_units:
            return true()
        parts = []
        if self.unit_parent:
            parts.append(Unit.parent == self.unit_parent)
        if self.unit_codes:
            parts.append(Unit.code.in_(sorted(self.unit_codes)))
        return or_(*parts) if parts else false()

    def campaign_clause(self):
        """A SQL condition on Campaign for the campaigns in scope."""
        return true() if self.campaign_ids is None else Campaign.id.in_(sorted(self.campaign_ids))

    def units(self, units):
        """Only the units (models or anything with code and parent) in scope."""
        return list(units) if self.all_units else [u for u in units if self.unit(u.code, u.parent)]


def scope_of(user: User) -> Scope:
    """The scope a user's role applies to."""
    ids = frozenset(c.id for c in user.campaigns)
    return Scope(role=user.role, campaign_ids=ids if (ids or user.role == "clerk") else None,
                 unit_parent=user.unit_parent if user.role == "branch" else None,
                 unit_codes=frozenset(user.unit_codes or ()) if user.role == "branch" else None)


def scope_text(user: User) -> str:
    """The user's scope in the reader's language, e.g. 'units under 城关镇 · campaigns: a, b'."""
    from flask_babel import gettext as _
    parts = []
    if user.role == "branch" and user.unit_parent:
        parts.append(_("units under %(parent)s", parent=user.unit_parent))
    elif user.role == "branch":
        parts.append(_("units %(codes)s", codes=", ".join(user.unit_codes or [])))
    if user.campaigns:
        parts.append(_("campaigns: %(slugs)s", slugs=", ".join(c.slug for c in user.campaigns)))
    return " · ".join(parts) or _("everything")


def check_scope_settings(role: str, unit_parent: str | None, unit_codes: list[str] | None,
                         campaigns: list[Campaign]) -> None:
    """Refuse a role with a scope it cannot have (RoleError, in the reader's language)."""
    from flask_babel import gettext as _
    if role not in ROLES:
        raise RoleError(_("Unknown role “%(role)s”: use one of %(roles)s.", role=role, roles=", ".join(ROLES)))
    if role == "branch" and not (unit_parent or unit_codes):
        raise RoleError(_("A branch admin needs a parent organisation or a list of unit codes."))
    if role != "branch" and (unit_parent or unit_codes):
        raise RoleError(_("Only a branch admin is limited to some units."))
    if role == "branch" and unit_parent and unit_codes:
        raise RoleError(_("Give a parent organisation or a list of unit codes, not both."))
    if role == "clerk" and not campaigns:
        raise RoleError(_("A clerk needs at least one campaign to enter ballots in."))


# --- the admin ---------------------------------------------------------------------------------
def require(permission: str):
    """Declare the permission an admin view needs (checked by ``check_request``)."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def decorate(view):
        view.required_permission = permission
        return view
    return decorate


def current_scope() -> Scope:
    """The signed-in user's scope (cached for the request)."""
    from flask_login import current_user
    if "survey_scope" not in g:
        g.survey_scope = scope_of(current_user)
    return g.survey_scope


def can(permission: str) -> bool:
    """The signed-in user has this permission (for templates: which buttons to show)."""
    from flask_login import current_user
    return bool(current_user.is_authenticated and allows(current_user.role, permission))


def check_request() -> None:
    """403 unless the signed-in user's role has the view's permission and the campaign and
    unit the address names are within the user's scope. A view without a declared
    permission is refused to everyone."""
    from flask_login import current_user
    view = current_app.view_functions.get(request.endpoint)
    permission = getattr(view, "required_permission", None)
    if permission is None or not allows(current_user.role, permission):
        abort(403)
    from .campaigns import SLUG_PATTERN
    from .models import CODE_PATTERN
    args = request.view_args or {}
    if "slug" in args and SLUG_PATTERN.match(str(args["slug"])):  # one that cannot exist is the view's 404
        campaign = db.session.scalar(select(Campaign).filter_by(slug=str(args["slug"])))
        if campaign is not None:  # a campaign that does not exist is the view's 404
            scope = current_scope()
            if not scope.campaign(campaign):
                abort(403)
            if "code" in args and not scope.all_units and CODE_PATTERN.match(str(args["code"])):
                unit = db.session.scalar(select(Unit).filter_by(campaign_id=campaign.id, code=str(args["code"])))
                if unit is not None and not scope.unit(unit.code, unit.parent):
                    abort(403)


# --- the command line --------------------------------------------------------------------------
ACTING_USER = "SURVEY_USER"


def acting_user() -> User | None:
    """The user a CLI command acts as: the one named by SURVEY_USER, or None for the server's
    operator (who holds the database and so is an office admin). Naming a user narrows what
    a command may do to that user's role and scope; it does not sign in."""
    name = os.environ.get(ACTING_USER, "").strip()
    if not name:
        return None
    user = db.session.scalar(select(User).filter_by(username=name))
    if user is None or not user.active:
        raise RoleError(f"{ACTING_USER}={name}: no such active user")
    return user


def command_requires(permission: str):
    """Declare (and check) the permission a CLI command needs. When SURVEY_USER names a user,
    the command runs only if that user's role has the permission, the CAMPAIGN argument is in
    the user's campaigns and every code given with --units is among the user's units (a branch
    admin giving no --units gets only theirs)."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def decorate(callback):
        @functools.wraps(callback)
        def wrapper(*args, **kwargs):
            import click
            if permission == "local":  # no data is read: whoever runs it may
                return callback(*args, **kwargs)
            try:
                user = acting_user()
            except RoleError as exc:
                raise click.ClickException(str(exc)) from None
            if user is not None:
                _check_command(user, permission, kwargs)
            return callback(*args, **kwargs)
        wrapper.required_permission = permission
        return wrapper
    return decorate


def _check_command(user: User, permission: str, kwargs: dict) -> None:
    import click
    if not allows(user.role, permission):
        raise click.ClickException(
            f"{user.username} is a {user.role} and may not do this (it needs {permission!r}; docs/users.md)")
    scope = scope_of(user)
    slug = kwargs.get("campaign")
    if not isinstance(slug, str):
        return
    campaign = db.session.scalar(select(Campaign).filter_by(slug=slug)) if "\x00" not in slug else None
    if campaign is None:
        return  # the command says the campaign does not exist
    if not scope.campaign(campaign):
        raise click.ClickException(f"{user.username} may not act on campaign {slug!r}")
    if scope.all_units:
        return
    mine = {u.code for u in scope.units(campaign.units)}
    if "units" in kwargs:
        given = [c.strip() for c in (kwargs["units"] or "").split(",") if c.strip()]
        outside = [c for c in given if c not in mine]
        if outside:
            raise click.ClickException(f"{user.username} may not act on units {', '.join(outside)}")
        if not given:
            kwargs["units"] = ",".join(sorted(mine)) or "-"
    elif permission not in ("units.manage",):
        raise click.ClickException(f"{user.username} is limited to some units; this command covers all of them")
