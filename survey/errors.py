"""Error pages: every failure gets a clear page and the right status, never a stack trace."""
import logging

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("survey.errors")


def _page(status, title, message):
    return render_template("answer/notice.html", title=title, message=message), status


def init_app(app):
    """Register handlers for HTTP errors, rate limits and an unavailable database."""

    @app.errorhandler(HTTPException)
    def http_error(exc):
        titles = {
            400: _("Bad request"), 403: _("Not allowed"), 404: _("Page not found"),
            405: _("Not allowed"), 413: _("Too much data"), 429: _("Too many requests"),
        }
        messages = {
            413: _("What was sent is too large. Please shorten your comment and try again."),
            429: _("Too many requests have come from this network in a short time. Please wait a minute and try again."),
            404: _("This address does not exist. Please check it or scan the code again."),
        }
        return _page(exc.code or 500, titles.get(exc.code, exc.name), messages.get(exc.code, exc.description or ""))

    @app.errorhandler(OperationalError)
    def database_unavailable(exc):
        from .db import db
        db.session.rollback()
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
        return _page(503, _("Please try again shortly"), _("The service is busy or under maintenance. Nothing was saved; please try again in a minute."))

    @app.errorhandler(Exception)
    def unexpected(exc):
        from .db import db
        db.session.rollback()
        log.exception("unexpected error")
        return _page(500, _("Something went wrong"), _("Nothing was saved. Please try again; if it happens again, tell the campaign office."))
