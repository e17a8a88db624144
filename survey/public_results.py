"""Published results: the public page /results/<slug> and the JSON API.

Both read the running tally through survey.results, so a campaign of millions of answers
renders at once, and both show it through survey.disclosure: small groups withheld, units
with too few raters neither ranked nor listed for remedy. Before a campaign is published the
page and the API answer 404 to the public; a signed-in user whose role may see results
(survey/roles.py) may see both at any time, limited to the units of their scope (the page then
says it is a preview). A withdrawn result (published, then back to closed) is no longer public.

Beside each unit that must remedy, both show its remedy record's status (open, plan submitted,
done, verified, or overdue) and, once the office has verified it, the report of what was done
(docs/remedy.md, "What residents see"). A ballot's address shows the same for the units on
that ballot (`ballot_results`, called by the ballot route in survey/answering.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, abort, jsonify, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from .config import office_today
from .db import db
from .models import Campaign, Remedy
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


# what residents read for a record's status: the office's words (survey/remedies.py), and overdue
PUBLIC_STATUSES = ("open", "plan_submitted", "done", "verified", "overdue")
OVERDUE = _l("overdue")


@dataclass(frozen=True)
class PublicRemedy:
    """What the public sees of a unit's remedy record: its status, the due date, and the report
    of what was done once the office verified it (never the plan, owner or reminders)."""

    status: str  # one of PUBLIC_STATUSES
    due_on: dt.date
    report: str | None

    @property
    def label(self) -> str:
        from .remedies import STATUS_LABELS
        return str(OVERDUE if self.status == "overdue" else STATUS_LABELS[self.status])

    def as_dict(self) -> dict:
        return {"status": self.status, "due_on": self.due_on.isoformat(), "report": self.report}


def public_remedies(campaign: Campaign, results, on: dt.date | None = None) -> dict[int, PublicRemedy]:
    """unit id -> its remedy record as the public sees it, for the units these (disclosed) results
    list under the line (a read: nothing is written). A record made before more answers were
    counted stays for the office, but a unit that now meets the line shows no remedy beside it."""
    on = on or office_today()
    listed = {u.id for u in results.units if u.must_remedy}
    shown = {}
    for record in db.session.scalars(select(Remedy).filter_by(campaign_id=campaign.id)):
        if record.unit_id not in listed:
            continue
        status = "overdue" if record.overdue(on) else record.status
        shown[record.unit_id] = PublicRemedy(status, record.due_on,
                                             record.report if record.status == "verified" else None)
    return shown


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
                           remedies=public_remedies(campaign, results), **page_helpers(campaign, locale))


def page_helpers(campaign: Campaign, locale: str) -> dict:
    """What the results templates use to show figures: percentages, points, sector labels."""
    return {"locale": locale, "pct": pct, "points": points, "minimum_cell": minimum_cell(campaign),
            "sector": lambda key: sector_label(key, locale)}


def ballot_results(campaign: Campaign, unit_codes) -> str:
    """The page a ballot's address shows once its campaign is published: the published results
    and remedy status of the units on that ballot. It is rendered from the campaign and the
    ballot's unit list alone — never from the token's redeemed flag or any answer — so an
    answered and an unanswered ballot get the same page, and rendering it writes nothing."""
    locale = str(get_locale())
    results = disclosed_results(campaign).only(unit_codes)
    return render_template("results/ballot.html", campaign=campaign, results=results,
                           remedies=public_remedies(campaign, results), **page_helpers(campaign, locale))


@bp.get("/api/campaigns/<slug>/results")
def api(slug):
    """The results as JSON: the line and minimums, per unit counts, rate, interval, flags, and
    the remedy record's public status (``remedy``, null for a unit without one)."""
    campaign = visible_campaign(slug)
    results = visible_results(campaign)
    data = results.as_dict()
    by_id = public_remedies(campaign, results)
    remedies = {unit.code: by_id[unit.id] for unit in campaign.units if unit.id in by_id}
    for unit in data["units"]:
        record = remedies.get(unit["code"])
        unit["remedy"] = record.as_dict() if record is not None else None
    return jsonify(data)
