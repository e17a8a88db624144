"""Log hygiene: request lines say which route the router matched, never the path as sent.

A resident's request line must not carry a ballot token (however the path was spelled:
``/%62/<token>``, ``//b//<token>``, ``/B/<token>``, trailing junk), nor the address and the
exact time that, beside a response's arrival order, would name the phone behind it. So the
app records in the WSGI environ what its router matched (``request.url_rule.rule``, e.g.
``/b/<token>``), and every request line — gunicorn's access log under `survey serve`, the
development server of `survey demo` — is written from that record by :func:`access_line`:

- office routes (``admin.*``, ``auth.*``): address, time to the second, method, route;
- every other request (answering, results, unknown paths): method, route or ``-``, status,
  size and the hour only; no address, no query string.

The app also sends the matched route in an ``X-Survey-Route`` response header for the nginx
``log_format`` in docs/deployment.md, which hides it from the client.

Every other log line (the toolkit's, Flask-Limiter's, gunicorn's own messages) carries time,
level and logger: SURVEY_LOG_FORMAT is ``text`` (default: ``2026-12-01T10:00:00+0800 WARNING
survey.limits: …``) or ``json`` (one object per line: time, level, logger, message);
SURVEY_LOG_LEVEL is INFO by default. They go to standard error, where systemd's journal picks
them up. Request lines (werkzeug's, gunicorn's access log) are written as :func:`access_line`
makes them, with no finer time added.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time

ROUTE_KEY = "survey.route"
OFFICE_KEY = "survey.office"
ROUTE_HEADER = "X-Survey-Route"
OFFICE_BLUEPRINTS = ("admin", "auth")
TOKEN_IN_PATH = re.compile(r"(/b/)[^\s/?\"']+", re.IGNORECASE)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access")  # their lines are access_line's, as they are


def redact(text: str) -> str:
    """Replace a ballot token after /b/ in free text (for messages that are not request lines)."""
    return TOKEN_IN_PATH.sub(r"\1<token>", text)


def hour(now: float | None = None) -> str:
    """The hour (UTC) a private request line is stamped with."""
    return time.strftime("%Y-%m-%dT%H:00Z", time.gmtime(now))


def second(now: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def access_line(environ: dict, status, size, address: str | None = None) -> str:
    """The request line for a finished request, from what the router matched."""
    method = environ.get("REQUEST_METHOD", "-")
    if method not in ("GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"):
        method = "-"
    route = environ.get(ROUTE_KEY) or "-"
    status = str(status).split(" ")[0]
    if environ.get(OFFICE_KEY):
        who = address or environ.get("REMOTE_ADDR") or "-"
        return f'{who} [{second()}] "{method} {route}" {status} {size}'
    return f'[{hour()}] "{method} {route}" {status} {size}'


def init_app(app) -> None:
    """Log the toolkit's own lines (and Flask-Limiter's) to stderr with time, level and logger;
    record the matched route of every request in its environ and response headers."""
    configure(app.config.get("SURVEY_LOG_FORMAT", "text"), app.config.get("SURVEY_LOG_LEVEL", "INFO"))

    @app.after_request
    def _record_route(response):
        from flask import request
        rule = request.url_rule
        request.environ[ROUTE_KEY] = rule.rule if rule is not None else "-"
        blueprint = (request.endpoint or "").split(".")[0]
        request.environ[OFFICE_KEY] = rule is not None and blueprint in OFFICE_BLUEPRINTS
        response.headers[ROUTE_HEADER] = request.environ[ROUTE_KEY]
        return response


def dev_request_handler():
    """The development server's request handler, writing request lines with access_line."""
    from werkzeug.serving import WSGIRequestHandler, _log

    class PrivateRequestHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            environ = getattr(self, "environ", {}) or {}
            _log("info", "%s", access_line(environ, getattr(code, "value", code), size, self.address_string()))

        def log(self, type, message, *args):
            # werkzeug's other lines (bad request syntax …) quote the raw request: say only what
            _log(type, "%s", f"[{hour()}] {type}: a request could not be served")

    return PrivateRequestHandler


class RedactTokens(logging.Filter):
    """A filter for free-text messages (errors): removes a token after /b/."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install() -> None:
    """Attach the free-text filter to the loggers that could quote a request."""
    for name in ("werkzeug", "gunicorn.error", "survey"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record, TIME_FORMAT), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(kind: str = "text") -> logging.Formatter:
    """The formatter for SURVEY_LOG_FORMAT (``text`` or ``json``)."""
    if str(kind).lower() == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, TIME_FORMAT)


class _RequestLinesAsTheyAre(logging.Formatter):
    """Request lines keep the format access_line gave them; the rest get the toolkit's."""

    def __init__(self, other: logging.Formatter):
        super().__init__("%(message)s")
        self.other = other

    def format(self, record: logging.LogRecord) -> str:
        if record.name in REQUEST_LOGGERS:
            return super().format(record)
        return self.other.format(record)


class _SurveyHandler(logging.StreamHandler):
    """The one handler the toolkit adds to the root logger (so it is added once). It writes
    to whatever sys.stderr is when a line is logged."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(kind: str = "text", level: str = "INFO") -> None:
    """Install (once) the stderr handler with the SURVEY_LOG_FORMAT format."""
    if str(kind).lower() not in ("text", "json"):
        raise ValueError(f"SURVEY_LOG_FORMAT must be text or json, not {kind!r}")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _SurveyHandler)), None)
    if handler is None:
        handler = _SurveyHandler()
        handler.addFilter(RedactTokens())
        root.addHandler(handler)
    handler.setFormatter(_RequestLinesAsTheyAre(formatter(kind)))
    for name in ("survey", "flask-limiter"):
        logging.getLogger(name).setLevel(str(level).upper())
    install()
