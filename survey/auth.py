"""Admin sign-in: Flask-Login sessions, hashed passwords, rate-limited attempts."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from forms.office import OfficeForm
from werkzeug.security import check_password_hash, generate_password_hash
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


def create_user(username: str, password: str) -> User:
    """Add an admin with a hashed password; raise ValueError if the name is taken or bad."""
    username = username.strip()
    if not username or len(username) > 80:
        raise ValueError("the user name must be 1 to 80 characters")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    if db.session.scalar(db.select(User).filter_by(username=username)):
        raise ValueError(f"user {username!r} already exists")
    user = User(username=username, password_hash=generate_password_hash(password))
    db.session.add(user)
    audit("cli", "user.create", username)
    db.session.commit()
    return user


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id)) if str(user_id).isdigit() else None


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
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/admin") else url_for("admin.index"))
        flash(_("Wrong user name or password."), "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out."""
    logout_user()
    return redirect(url_for("auth.login"))


def init_app(app):
    """Sessions, CSRF on every admin form, and the sign-in pages."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in.")
    csrf.init_app(app)
    app.register_blueprint(bp)
