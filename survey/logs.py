"""Log hygiene: ballot tokens never reach a log line, from the app, werkzeug or gunicorn."""
import logging
import re

TOKEN_IN_PATH = re.compile(r"(/b/)[^\s/?\"']+")


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


def install() -> None:
    """Attach the filter to the loggers that print request lines."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", "survey"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
