"""`survey serve` (gunicorn and the background worker), `survey worker` and `survey demo`."""
from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from ..roles import command_requires


def local_base_url(url: str | None) -> bool:
    """True when url is unset or points at this machine (QR codes would lead nowhere)."""
    if not url:
        return True
    host = (urlsplit(str(url)).hostname or "").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _in_config_py() -> bool:
    """True when the instance's config.py sets SURVEY_BASE_URL."""
    path = os.path.join(current_app.instance_path, "config.py")
    try:
        with open(path, encoding="utf-8") as f:
            return "SURVEY_BASE_URL" in f.read()
    except OSError:
        return False


def check_base_url(allow_local: bool) -> None:
    """Refuse (or, with allow_local, warn) when SURVEY_BASE_URL is unset or on this machine."""
    base_url = current_app.config["SURVEY_BASE_URL"] if os.environ.get("SURVEY_BASE_URL") or _in_config_py() else None
    if local_base_url(base_url):
        message = (f"SURVEY_BASE_URL is {base_url or 'unset'}: "
                   "QR codes, posters and ballots would point to an address residents' phones cannot reach. "
                   "Set SURVEY_BASE_URL=https://your.public.address (docs/operators.md)")
        if not allow_local:
            raise click.ClickException(message + ", or give --allow-local-base-url for a demo.")
        click.echo(f"WARNING: {message}.", err=True)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port to listen on.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Print request lines: the route matched, never a token; the hour only and no "
                   "address for residents' requests.")
@click.option("--jobs/--no-jobs", "run_jobs", default=True, show_default=True,
              help="Also run the background worker that makes the admin's printouts and exports "
                   "(turn off when `survey worker` runs elsewhere).")
@click.option("--allow-local-base-url", is_flag=True,
              help="Serve although SURVEY_BASE_URL is unset or on this machine (demos and tests only: "
                   "QR codes and ballots would point to an address residents cannot reach).")
@with_appcontext
@command_requires("system")
def serve(bind, workers, access_log, run_jobs, allow_local_base_url):
    """Run the production server (gunicorn) and, beside it, the background worker. Stops
    gracefully on SIGTERM: requests in flight are finished (up to 20 s), new connections go
    to the other server."""
    from ..serving import run_gunicorn
    host, port = check_bind(bind)
    check_database()
    check_base_url(allow_local_base_url)
    if workers > 1 and str(current_app.config["SURVEY_RATELIMIT_STORAGE_URI"]).startswith("memory"):
        click.echo(f"note: rate limits are kept in each worker's memory, so an address may send up to "
                   f"{workers}× SURVEY_RATELIMIT_ANSWER; set SURVEY_RATELIMIT_STORAGE_URI=redis://… "
                   f"for one shared count (docs/operators.md)", err=True)
    worker = None
    if run_jobs:
        import subprocess

        from ..jobs import worker_command
        worker = subprocess.Popen(worker_command() + ["--parent", str(os.getpid())])
    try:
        run_gunicorn(bind=bind, workers=workers, access_log=access_log,
                     log_format=current_app.config["SURVEY_LOG_FORMAT"], instance_path=current_app.instance_path)
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=25)
            except subprocess.TimeoutExpired:
                worker.kill()


@click.command("worker")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Jobs run at the same time.")
@click.option("--parent", type=int, hidden=True, help="Stop when this process (survey serve) is gone.")
@with_appcontext
@command_requires("system")
def worker(threads, parent):
    """Run the background worker alone: it makes the posters, ballots, reports and exports
    asked for in the admin (`survey serve` runs one itself). Stop it with Ctrl+C."""
    from ..jobs import consumer
    check_database()
    app = current_app._get_current_object()
    from ..limits import _safe_uri
    queue = app.config.get("SURVEY_QUEUE_URL")
    click.echo(f"background worker for {app.instance_path} "
               f"({_safe_uri(queue) if queue else 'SQLite queue in the instance folder'})", err=True)
    if parent:
        _stop_with(parent)
    consumer(app, workers=threads).run()


def _stop_with(parent: int) -> None:
    """Interrupt this process once `survey serve` that started it is gone (even killed)."""
    import signal
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=watch, daemon=True, name="survey-serve-watch").start()


def check_bind(bind: str) -> tuple[str, int]:
    """host and port of --bind, or a one-line error if the port is impossible or taken."""
    import socket
    host, sep, port_text = bind.rpartition(":")
    if not sep or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise click.ClickException(f"--bind {bind}: not HOST:PORT with a port from 1 to 65535; "
                                   f"use e.g. --bind 127.0.0.1:8000")
    host, port = host.strip("[]") or "0.0.0.0", int(port_text)
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {bind}: {exc.strerror or exc}. Choose another "
                                   f"--bind address or port (is another server running there?)") from None
    return host, port


def check_database() -> None:
    """A one-line error unless the database answers and its schema is up to date (saying so
    when a newer toolkit made it)."""
    from ..migrate import schema_problem
    try:
        problem = schema_problem()
    except Exception as exc:  # OperationalError and friends: unreachable, refused, bad password
        raise click.ClickException(database_problem(exc)) from None
    if problem:
        raise click.ClickException(problem)


def database_problem(exc: Exception) -> str:
    """One line for a database that does not answer, or has no tables yet: what, where, and
    what to do."""
    from sqlalchemy.engine import make_url
    try:
        url = make_url(os.environ["SURVEY_DATABASE_URL"]).render_as_string(hide_password=True)
    except Exception:  # not set (the embedded SQLite file), or not a URL at all
        url = os.environ.get("SURVEY_DATABASE_URL") and "SURVEY_DATABASE_URL" or "in the instance folder"
    text = str(getattr(exc, "orig", None) or exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    if "no such table" in reason or "does not exist" in reason and "relation" in reason:
        return (f"the database {url} has no tables yet or is not up to date ({reason}): "
                f"run `survey db upgrade` first")
    return (f"cannot use the database {url}: {reason}. Check SURVEY_DATABASE_URL (host, port, "
            f"user, password, database name) and that the database server is running")

@click.command("demo")
@click.option("--serve/--no-serve", default=True, help="Serve on 127.0.0.1:5000 after preparing.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
@command_requires("system")
def demo(serve, port):
    """Create a demo campaign (units in every installed sector, open, with some answers),
    print the admin login and example survey addresses, then serve on 127.0.0.1:5000."""
    from ..demo import prepare
    if port != 5000 and "SURVEY_BASE_URL" not in os.environ:
        current_app.config["SURVEY_BASE_URL"] = f"http://127.0.0.1:{port}"
    # the demo's codes are tried on this computer: it may print them for 127.0.0.1
    current_app.config["SURVEY_ALLOW_LOCAL_QR"] = True
    if serve:
        check_bind(f"127.0.0.1:{port}")
    login, urls = prepare()
    click.echo(f"admin login: {current_app.config['SURVEY_BASE_URL'].rstrip('/')}/admin/login")
    click.echo(f"  user: {login[0]}  password: {login[1]}")
    click.echo("survey addresses:")
    for url in urls:
        click.echo(url)
    if serve:
        from werkzeug.serving import run_simple

        from ..anonymity import start_scrubber
        from ..jobs import start_in_thread
        from ..logs import dev_request_handler
        app = current_app._get_current_object()
        start_scrubber(app)
        worker = start_in_thread(app)
        click.echo(f"serving on http://127.0.0.1:{port} (Ctrl+C to stop)")
        try:
            run_simple("127.0.0.1", port, app, threaded=True, request_handler=dev_request_handler())
        finally:
            worker.stop()
