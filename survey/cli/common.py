"""What the `survey` commands share: finding a campaign, the language option, unit lists,
progress bars and turning refusals into one-line errors."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from sqlalchemy import select

from ..db import db
from ..models import Campaign

LANGS = click.Choice(["zh_CN", "en"])
LONG_JOB = 200  # show a progress bar from this many ballots or posters


def get_campaign(slug: str) -> Campaign:
    """The campaign with this slug (or numeric id), or a clear CLI error."""
    campaign = db.session.scalar(select(Campaign).filter_by(slug=slug))
    if campaign is None and slug.isdigit():
        campaign = db.session.get(Campaign, int(slug))
    if campaign is None:
        known = ", ".join(db.session.scalars(select(Campaign.slug)).all()) or "none yet"
        raise click.BadParameter(f"no campaign {slug!r} (campaigns: {known})", param_hint="CAMPAIGN")
    return campaign


def lang_option(help_text: str = "Language of the texts."):
    """The --lang option every printing and export command takes."""
    return click.option("--lang", default="zh_CN", show_default=True, type=LANGS, help=help_text)


def unit_codes(value: str | None) -> list[str] | None:
    """A comma-separated --units value as a list of codes (None for every unit)."""
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


@contextmanager
def progress(length: int, label: str):
    """A progress bar on stderr for long jobs; a no-op callback for short ones."""
    if length < LONG_JOB:
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@contextmanager
def printing_errors():
    """Turn a missing font, an unreachable QR address, a missing folder or a refused paper
    action into a one-line CLI error (in English) and a non-zero exit."""
    from flask_babel import force_locale

    from printouts.fonts import FontMissing

    from ..outputs import OutputError
    from ..paper import PaperError
    try:
        with force_locale("en"):
            yield
    except (FontMissing, PaperError, OutputError) as exc:
        raise click.ClickException(str(exc)) from None
