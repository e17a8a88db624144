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
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install() -> None:
    """Attach the filter to the loggers that print request lines."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", "survey"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
