"""`survey serve`: the app under gunicorn; request lines from what the router matched
(survey/logs.py), and a scrubber thread in every worker (survey/anonymity.py)."""
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from .logs import access_line


class PrivateLogger(Logger):
    """gunicorn's logger, writing each access line with survey.logs.access_line: the route the
    app matched instead of the raw path, and no address or time finer than the hour for
    anything but the office's pages."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        try:
            self.access_log.info("%s", access_line(environ, resp.status, getattr(resp, "sent", "-")))
        except Exception:
            self.error("an access line could not be written")

    # gunicorn's own messages about a request quote its address and raw request line
    def warning(self, msg, *args, **kwargs):
        if str(msg).startswith("Invalid request from ip="):
            msg, args = "Invalid request (its address and request line are not logged)", ()
        super().warning(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        if str(msg).startswith("Error handling request"):
            msg, args = "Error handling a request (its address is not logged)", ()
        super().exception(msg, *args, **kwargs)


class SurveyServer(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app
        from .anonymity import start_scrubber
        app = create_app()
        start_scrubber(app)
        return app


def run_gunicorn(bind: str, workers: int, access_log: bool = False) -> None:
    """Serve with gunicorn sync workers; each worker builds its own app and scrubber."""
    options = {"bind": bind, "workers": workers, "worker_class": "sync", "logger_class": PrivateLogger,
               "timeout": 60, "graceful_timeout": 20, "accesslog": "-" if access_log else None}
    SurveyServer(options).run()
