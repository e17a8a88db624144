"""Admin sign-in: Flask-Login sessions, hashed passwords, rate-limited attempts.

A session names the user and the user's session version (User.get_id); each request loads
the user from the database and refuses a version that is no longer current, so sign-out, a
password change or reset and disabling end sessions at once in every worker.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from forms.office import OfficeForm
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from .db import db
from .limits import limiter, login_limit
from .models import User, audit

login_manager = LoginManager()
csrf = CSRFProtect()
bp = Blueprint("auth", __name__, url_prefix="/admin")


class LoginForm(OfficeForm):
    username = StringField(_l("User name"), validators=[InputRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])


def create_user(username: str, password: str, role: str = "office", **scope) -> User:
    """Add a user (an office admin unless a role is given); see survey.users.create_user.
    Raises ValueError if the name is taken or bad."""
    from .users import create_user as create
    return create(username, password, role, **scope)


@login_manager.user_loader
def load_user(user_id):
    """The user of a session, if that session's version is still the user's current one."""
    ident, _dot, version = str(user_id).partition(".")
    if not (ident.isdigit() and version.isdigit()):
        return None  # a cookie from before session versions, or forged
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    """Sign in to the campaign office's admin."""
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(db.select(User).filter_by(username=form.username.data.strip()))
        if user and user.active and check_password_hash(user.password_hash, form.password.data):
            login_user(user)
            audit(user.username, "user.login")
            db.session.commit()
            if user.must_change_password:
                flash(_("Please choose a new password before you go on."), "ok")
                return redirect(url_for("admin.password"))
            target = request.args.get("next", "")
            # only a path on this site's admin, never //elsewhere
            if not (target.startswith("/admin") and not target.startswith("//")):
                target = url_for("admin.index")
            return redirect(target)
        flash(_("Wrong user name or password."), "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out: this and every other session of the user end at once, in every worker."""
    from flask_login import current_user
    if current_user.is_authenticated:
        from .users import sign_out
        sign_out(current_user)
    logout_user()
    flash(_("You are signed out."), "ok")
    return redirect(url_for("auth.login"))


def init_app(app):
    """Sessions, CSRF on every admin form, and the sign-in pages."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in.")
    csrf.init_app(app)
    app.register_blueprint(bp)
