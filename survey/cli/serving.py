"""`survey serve` (gunicorn) and `survey demo`."""
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


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port to listen on.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Print request lines: the route matched, never a token; the hour only and no "
                   "address for residents' requests.")
@click.option("--allow-local-base-url", is_flag=True,
              help="Serve although SURVEY_BASE_URL is unset or on this machine (demos and tests only: "
                   "QR codes and ballots would point to an address residents cannot reach).")
@with_appcontext
@command_requires("system")
def serve(bind, workers, access_log, allow_local_base_url):
    """Run the production server (gunicorn). Stops gracefully on SIGTERM: requests in flight
    are finished (up to 20 s), new connections go to the other server."""
    from ..migrate import schema_problem
    from ..serving import run_gunicorn
    problem = schema_problem()
    if problem:
        raise click.ClickException(problem)
    base_url = current_app.config["SURVEY_BASE_URL"] if os.environ.get("SURVEY_BASE_URL") or _in_config_py() else None
    if local_base_url(base_url):
        message = (f"SURVEY_BASE_URL is {base_url or 'unset'}: "
                   "QR codes, posters and ballots would point to an address residents' phones cannot reach. "
                   "Set SURVEY_BASE_URL=https://your.public.address (docs/operators.md)")
        if not allow_local_base_url:
            raise click.ClickException(message + ", or give --allow-local-base-url for a demo.")
        click.echo(f"WARNING: {message}.", err=True)
    if workers > 1 and str(current_app.config["SURVEY_RATELIMIT_STORAGE_URI"]).startswith("memory"):
        click.echo(f"note: rate limits are kept in each worker's memory, so an address may send up to "
                   f"{workers}× SURVEY_RATELIMIT_ANSWER; set SURVEY_RATELIMIT_STORAGE_URI=redis://… "
                   f"for one shared count (docs/operators.md)", err=True)
    run_gunicorn(bind=bind, workers=workers, access_log=access_log,
                 log_format=current_app.config["SURVEY_LOG_FORMAT"], instance_path=current_app.instance_path)


def _in_config_py() -> bool:
    """True when the instance's config.py sets SURVEY_BASE_URL."""
    path = os.path.join(current_app.instance_path, "config.py")
    try:
        with open(path, encoding="utf-8") as f:
            return "SURVEY_BASE_URL" in f.read()
    except OSError:
        return False


@click.command("demo")
@click.option("--serve/--no-serve", default=True, help="Serve on 127.0.0.1:5000 after preparing.")
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
@command_requires("system")
def demo(serve, port):
    """Create a demo campaign (units in every installed sector, open, with some answers),
    print the admin login and example survey addresses, then serve on 127.0.0.1:5000."""
    from ..demo import prepare
    if port != 5000 and "SURVEY_BASE_URL" not in os.environ:
        current_app.config["SURVEY_BASE_URL"] = f"http://127.0.0.1:{port}"
    login, urls = prepare()
    click.echo(f"admin login: {current_app.config['SURVEY_BASE_URL'].rstrip('/')}/admin/login")
    click.echo(f"  user: {login[0]}  password: {login[1]}")
    click.echo("survey addresses:")
    for url in urls:
        click.echo(url)
    if serve:
        from werkzeug.serving import run_simple

        from ..anonymity import start_scrubber
        from ..logs import dev_request_handler
        click.echo(f"serving on http://127.0.0.1:{port} (Ctrl+C to stop)")
        app = current_app._get_current_object()
        start_scrubber(app)
        run_simple("127.0.0.1", port, app, threaded=True, request_handler=dev_request_handler())
