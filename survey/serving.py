"""`survey serve`: the app under gunicorn; request lines from what the router matched
(survey/logs.py), a scrubber thread in every worker (survey/anonymity.py), the toolkit's log
line format on gunicorn's own messages, metrics shared by the workers, and a graceful stop.

On SIGTERM (``systemctl stop``/``restart``) gunicorn stops accepting connections at once and
lets every worker finish the request it is answering, for up to GRACEFUL_TIMEOUT seconds; a
connection nginx could not open is retried on the other server (docs/deployment.md).
"""
from __future__ import annotations

import os
import shutil

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from .logs import access_line, formatter

GRACEFUL_TIMEOUT = 20  # keep systemd's TimeoutStopSec above it


class PrivateLogger(Logger):
    """gunicorn's logger, writing each access line with survey.logs.access_line: the route the
    app matched instead of the raw path, and no address or time finer than the hour for
    anything but the office's pages. Its error log (gunicorn's own messages) gets the
    toolkit's line format (SURVEY_LOG_FORMAT); access lines keep theirs, which on purpose
    carries no finer time."""

    log_format = "text"

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter(self.log_format))

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


def _child_exit(_server, worker):
    """A worker is gone: prometheus_client drops its live gauges (its counters stay counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


class SurveyServer(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn >= 25.1 opens a control socket in $HOME by default: two servers on one
        # machine would share its path, and the service user's home is read-only under systemd
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self):
        from . import create_app
        from .anonymity import start_scrubber
        app = create_app()
        start_scrubber(app)
        return app


def metrics_dir(instance_path: str) -> str:
    """A fresh folder for the workers' metric files (emptied at every start: counters restart
    from zero, as Prometheus expects of a restarted process)."""
    path = os.path.join(instance_path, "metrics")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    return path


def run_gunicorn(bind: str, workers: int, access_log: bool = False, log_format: str = "text",
                 instance_path: str | None = None) -> None:
    """Serve with gunicorn sync workers; each worker builds its own app and scrubber."""
    if instance_path and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir(instance_path)
    logger = type("SurveyLogger", (PrivateLogger,), {"log_format": log_format})
    options = {"bind": bind, "workers": workers, "worker_class": "sync", "logger_class": logger,
               "timeout": 60, "graceful_timeout": GRACEFUL_TIMEOUT, "child_exit": _child_exit,
               "accesslog": "-" if access_log else None}
    SurveyServer(options).run()
