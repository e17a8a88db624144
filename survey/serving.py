"""`survey serve`: the app under gunicorn, with ballot tokens redacted from access logs."""
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from .logs import redact


class RedactingLogger(Logger):
    """gunicorn's logger, with /b/<token> replaced in every access line."""

    def access(self, resp, req, environ, request_time):
        environ = dict(environ)
        for key in ("PATH_INFO", "RAW_URI", "REQUEST_URI"):
            if key in environ:
                environ[key] = redact(environ[key])
        req.path = redact(req.path)
        req.uri = redact(req.uri)
        super().access(resp, req, environ, request_time)


class SurveyServer(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app
        return create_app()


def run_gunicorn(bind: str, workers: int, access_log: bool = False) -> None:
    """Serve with gunicorn sync workers; each worker builds its own app."""
    options = {"bind": bind, "workers": workers, "worker_class": "sync", "logger_class": RedactingLogger,
               "timeout": 60, "graceful_timeout": 20, "accesslog": "-" if access_log else None}
    SurveyServer(options).run()
