"""`survey scan`: read scanned ballots (OMR) into counted ballots and a review queue."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..roles import command_requires
from .common import get_campaign, progress


@click.command("scan")
@click.argument("campaign")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--count/--no-count", default=False, show_default=True,
              help="Count the ballots that are ready (every page read, every doubt decided) after reading.")
@click.option("--report", type=click.Path(dir_okay=False, writable=True),
              help="Write the read report (per ballot and page, what was read and how sure) as JSON.")
@with_appcontext
@command_requires("scan")
def scan(campaign, files, count, report):
    """Read scanned ballot FILES (PDF, multi-page TIFF, PNG, JPEG; pages in any order, some
    upside down): every doubt goes to the review queue in the admin; a file read before is
    recognised and not read again."""
    from flask_babel import force_locale

    from ..omr.scans import (
        ScanError,
        add_file,
        ballots,
        count_ready,
        read_file,
        read_report,
    )
    from ..roles import acting_user, allows
    user = acting_user()
    if count and user is not None and not allows(user.role, "paper.resolve"):
        # counting is a supervisor's or the office's, as in the admin (its Count button)
        raise click.ClickException(f"{user.username} is a {user.role} and may read scans but not count them "
                                   "(it needs 'paper.resolve'; docs/users.md)")
    actor = user.username if user else "cli"
    c = get_campaign(campaign)
    with force_locale("en"):
        for name in files:
            try:
                scan_file, new = add_file(c, name, Path(name).name, actor)
                if not new:
                    click.echo(f"{name}: read before ({scan_file.pages} pages), not read again")
                    continue
                with progress(scan_file.pages * 100, f"reading {Path(name).name}") as step:
                    summary = read_file(c, scan_file, name, progress=lambda n: step(100 * n))
            except ScanError as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"{name}: {summary['pages']} pages, {summary['read']} read, {summary['doubts']} doubts, "
                       f"{summary['unreadable']} unreadable, {summary['duplicate']} duplicate")
        states = ballots(c)
        ready = sum(s.status == "ready" for s in states)
        waiting = [s for s in states if s.status == "waiting"]
        click.echo(f"{c.slug}: {ready} ballots ready, {len(waiting)} waiting for pages or a person's decision")
        if count:
            done = count_ready(c, actor)
            click.echo(f"counted {len(done['counted'])} ballots")
            for serial, why in done["refused"].items():
                click.echo(f"  ballot No. {serial} not counted: {why}", err=True)
        if report:
            Path(report).write_text(json.dumps(read_report(c), ensure_ascii=False, indent=1), encoding="utf-8")
            click.echo(f"read report written to {report}")
    if count and done["refused"]:
        sys.exit(1)
