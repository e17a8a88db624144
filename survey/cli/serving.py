"""`survey serve` (gunicorn) and `survey demo`."""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from ..roles import command_requires


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port to listen on.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Print request lines: the route matched, never a token; the hour only and no "
                   "address for residents' requests.")
@with_appcontext
@command_requires("system")
def serve(bind, workers, access_log):
    """Run the production server (gunicorn)."""
    from ..migrate import is_current
    from ..serving import run_gunicorn
    if not is_current():
        raise click.ClickException("the database schema is not up to date: run `survey db upgrade` first")
    if workers > 1 and str(current_app.config["SURVEY_RATELIMIT_STORAGE_URI"]).startswith("memory"):
        click.echo(f"note: rate limits are kept in each worker's memory, so an address may send up to "
                   f"{workers}× SURVEY_RATELIMIT_ANSWER; set SURVEY_RATELIMIT_STORAGE_URI=redis://… "
                   f"for one shared count (docs/operators.md)", err=True)
    run_gunicorn(bind=bind, workers=workers, access_log=access_log)


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
