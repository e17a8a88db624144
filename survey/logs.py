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
"""
from __future__ import annotations

import logging
import re
import time

ROUTE_KEY = "survey.route"
OFFICE_KEY = "survey.office"
ROUTE_HEADER = "X-Survey-Route"
OFFICE_BLUEPRINTS = ("admin", "auth")
TOKEN_IN_PATH = re.compile(r"(/b/)[^\s/?\"']+", re.IGNORECASE)


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
    """Record the matched route of every request in its environ and response headers."""

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
