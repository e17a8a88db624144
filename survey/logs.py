"""Log lines: time, level and logger on every line (JSON on request), and ballot tokens never
in them, from the app, werkzeug or gunicorn.

SURVEY_LOG_FORMAT is ``text`` (default: ``2026-12-01T10:00:00+0800 WARNING survey.limits: …``)
or ``json`` (one object per line: time, level, logger, message). SURVEY_LOG_LEVEL is INFO by
default. Logs go to standard error, where systemd's journal picks them up.
"""
from __future__ import annotations

import json
import logging
import re
import sys

TOKEN_IN_PATH = re.compile(r"(/b/)[^\s/?\"']+")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def redact(text: str) -> str:
    """Replace any ballot token in a URL path with a placeholder."""
    return TOKEN_IN_PATH.sub(r"\1<token>", text)


class RedactTokens(logging.Filter):
    """A logging filter that removes ballot tokens from messages and their arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


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


class _SurveyHandler(logging.StreamHandler):
    """The one handler the toolkit adds to the root logger (so it is added once). It writes
    to whatever sys.stderr is when a line is logged."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def install() -> None:
    """Attach the filter to the loggers that print request lines."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", "survey"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def init_app(app) -> None:
    """Log the toolkit's own lines (and Flask-Limiter's) to stderr with time, level and logger."""
    kind = app.config.get("SURVEY_LOG_FORMAT", "text")
    if str(kind).lower() not in ("text", "json"):
        raise ValueError(f"SURVEY_LOG_FORMAT must be text or json, not {kind!r}")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _SurveyHandler)), None)
    if handler is None:
        handler = _SurveyHandler()
        handler.addFilter(RedactTokens())
        root.addHandler(handler)
    handler.setFormatter(formatter(kind))
    level = str(app.config.get("SURVEY_LOG_LEVEL", "INFO")).upper()
    for name in ("survey", "flask-limiter"):
        logging.getLogger(name).setLevel(level)
    install()
