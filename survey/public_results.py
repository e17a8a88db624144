"""Published results: the public page /results/<slug> and the JSON API.

Both read the running tally through survey.results, so a campaign of millions of answers
renders at once, and both show it through survey.disclosure: small groups withheld, units
with too few raters neither ranked nor listed for remedy. Before a campaign is published the
page and the API answer 404 to the public; a signed-in user whose role may see results
(survey/roles.py) may see both at any time, limited to the units of their scope (the page then
says it is a preview). A withdrawn result (published, then back to closed) is no longer public.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from .db import db
from .models import Campaign
from .registry import current_registry
from .disclosure import disclosed_results, minimum_cell
from .roles import can, current_scope

bp = Blueprint("results", __name__)


def visible_campaign(slug: str) -> Campaign:
    """The campaign if its results may be shown to this visitor, else 404."""
    from .campaigns import SLUG_PATTERN
    # a slug that cannot exist is not looked up (PostgreSQL refuses NUL and the like: a 500)
    campaign = db.session.scalar(select(Campaign).filter_by(slug=slug)) if SLUG_PATTERN.match(slug) else None
    if campaign is None:
        abort(404)
    if campaign.state != "published":
        if not current_user.is_authenticated or not can("results.view"):
            abort(404)
        if not current_scope().campaign(campaign):
            abort(403)
    return campaign


def visible_results(campaign: Campaign):
    """The results this visitor may see: every unit once published, else the user's units."""
    results = disclosed_results(campaign)
    if campaign.state != "published" and not current_scope().all_units:
        results = results.only(u.code for u in current_scope().units(campaign.units))
    return results


def pct(value, digits: int = 1) -> str:
    """A fraction as a percentage for people, or a dash when there is none."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def points(value) -> str:
    """A change of rate in percentage points, signed."""
    return "—" if value is None else f"{value * 100:+.1f}"


def sector_label(key: str, locale) -> str:
    """A sector's label from the installed plugins, or its key if none provides it now."""
    sector = current_registry().sectors.get(key)
    return sector.label.get(locale) if sector else key


@bp.get("/results/<slug>")
def page(slug):
    """Per unit: rate, interval, line and rule flags, ranking; readable on a phone, printable."""
    campaign = visible_campaign(slug)
    results = visible_results(campaign)
    locale = str(get_locale())
    return render_template("results/campaign.html", campaign=campaign, results=results,
                           locale=locale, pct=pct, points=points, minimum_cell=minimum_cell(campaign),
                           sector=lambda key: sector_label(key, locale))


@bp.get("/api/campaigns/<slug>/results")
def api(slug):
    """The results as JSON: the line and minimums, and per unit counts, rate, interval, flags."""
    return jsonify(visible_results(visible_campaign(slug)).as_dict())
