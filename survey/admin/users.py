"""User management in the admin (office admins): list, create with a role and scope, disable,
enable, reset a password (forcing a new one at the next sign-in); and every user's own
password page. The work is done by survey/users.py, which `survey user …` calls too."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from forms.fields import choice_list
from forms.office import OfficeForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Optional

from .. import users as people
from ..db import db
from ..limits import limiter, login_limit
from ..models import Campaign, User
from ..roles import ROLE_LABELS, ROLES, require
from . import bp


class UserForm(OfficeForm):
    """A new user: name, role, scope, first password."""

    username = StringField(_l("User name"), validators=[InputRequired(), Length(max=80)])
    role = SelectField(_l("Role"), default="clerk")
    unit_parent = StringField(_l("Parent organisation (branch admins)"), validators=[Optional(), Length(max=200)],
                              description=_l("A branch admin manages the units whose parent organisation is this."))
    unit_codes = StringField(_l("Or these unit codes (branch admins)"), validators=[Optional(), Length(max=2000)],
                             description=_l("Comma-separated, e.g. GEN-001,GEN-002."))
    campaigns = SelectMultipleField(_l("Campaigns"), validators=[Optional()],
                                    description=_l("Clerks enter ballots only in these; for other roles none "
                                                   "selected means every campaign."))
    password = PasswordField(_l("First password"), validators=[InputRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("First password again"), validators=[
        InputRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    must_change = BooleanField(_l("Must choose a new password at first sign-in"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = choice_list([(r, ROLE_LABELS[r]) for r in ROLES])
        self.campaigns.choices = [(str(c.id), f"{c.name} ({c.slug})") for c in
                                  db.session.scalars(select(Campaign).order_by(Campaign.id.desc()))]


class ResetForm(OfficeForm):
    """A new password set by an office admin."""

    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("New password again"), validators=[
        InputRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    must_change = BooleanField(_l("Must choose a new password at next sign-in"), default=True)


class PasswordForm(OfficeForm):
    """One's own password change."""

    current = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("New password again"), validators=[
        InputRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class ActiveForm(OfficeForm):
    """Disable or enable: only the CSRF token."""


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users/")
@require("users.manage")
def users():
    """Everyone who can sign in, with role, scope and state."""
    people_ = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=people_, form=ActiveForm())


@bp.route("/users/new", methods=["GET", "POST"])
@require("users.manage")
def user_new():
    """Create a user with a role, its scope and a first password."""
    form = UserForm()
    if form.validate_on_submit():
        ids = [int(i) for i in form.campaigns.data or [] if str(i).isdigit()]
        campaigns = db.session.scalars(select(Campaign).where(Campaign.id.in_(ids))).all() if ids else []
        try:
            people.create_user(form.username.data, form.password.data, form.role.data, current_user.username,
                               unit_parent=form.unit_parent.data,
                               unit_codes=(form.unit_codes.data or "").split(","),
                               campaigns=campaigns, must_change_password=form.must_change.data)
        except people.UserError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("admin/user_form.html", form=form), 422
        flash(_("User %(name)s created.", name=form.username.data.strip()), "ok")
        return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form), status


@bp.post("/users/<int:user_id>/<any(disable, enable):action>")
@require("users.manage")
def user_active(user_id, action):
    """Disable a user (their sessions end at once) or enable them again."""
    user = _user(user_id)
    if not ActiveForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id and action == "disable":
        flash(_("You cannot disable yourself."), "error")
        return redirect(url_for("admin.users"), code=303)
    people.set_active(user, action == "enable", current_user.username)
    flash(_("User %(name)s disabled; their sessions have ended.", name=user.username) if action == "disable"
          else _("User %(name)s enabled.", name=user.username), "ok")
    return redirect(url_for("admin.users"), code=303)


@bp.route("/users/<int:user_id>/reset-password", methods=["GET", "POST"])
@require("users.manage")
def user_reset(user_id):
    """Set a new password for a user (their sessions end at once)."""
    user = _user(user_id)
    form = ResetForm()
    if form.validate_on_submit():
        try:
            people.reset_password(user, form.password.data, current_user.username, form.must_change.data)
        except people.UserError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("admin/user_reset.html", form=form, user=user), 422
        if user.id == current_user.id:
            login_user(user)  # the office admin who reset their own password stays signed in here
        flash(_("The password of %(name)s is reset; their sessions have ended.", name=user.username), "ok")
        return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/user_reset.html", form=form, user=user), status


@bp.route("/password", methods=["GET", "POST"])
@require("account")
@limiter.limit(login_limit, methods=["POST"])  # asking the current password again is a sign-in
def password():
    """Change one's own password (required before anything else when it was set by someone else)."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            people.change_own_password(user, form.current.data, form.password.data)
        except people.UserError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("admin/password.html", form=form), 422
        login_user(user)  # this session goes on with the new version; every other one has ended
        flash(_("Your password is changed; your other sessions have ended."), "ok")
        return redirect(url_for("admin.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/password.html", form=form), status
