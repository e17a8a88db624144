"""Campaign life cycle: draft → open → closed → published, and what each step checks."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .anonymity import scrub
from .db import db
from .models import Campaign, Unit, audit
from .plugins import Registry
from .snapshot import freeze

TRANSITIONS = {
    "open": ("draft", "closed"),
    "close": ("open",),
    "publish": ("closed",),
}
TARGET_STATE = {"open": "open", "close": "closed", "publish": "published"}
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9\-]{0,59}$")
RESERVED_SLUGS = frozenset({"new"})  # /admin/campaigns/new
STATE_LABELS = {"draft": _l("draft"), "open": _l("open"), "closed": _l("closed"), "published": _l("published")}


def state_label(state: str) -> str:
    """The campaign state in the reader's language."""
    return str(STATE_LABELS.get(state, state))


class CampaignError(ValueError):
    """A campaign action that cannot be done, with the reason."""


def slug_problem(slug: str, exclude_id: int | None = None) -> str | None:
    """Why this short name cannot name a campaign, in the reader's language, or None if it can."""
    if not SLUG_PATTERN.match(slug):
        return _("Use 1 to 60 lower-case letters, digits and '-', starting with a letter or digit.")
    if slug in RESERVED_SLUGS:
        return _("This short name is reserved.")
    query = select(Campaign.id).where(Campaign.slug == slug)
    if exclude_id is not None:
        query = query.where(Campaign.id != exclude_id)
    if db.session.scalar(query) is not None:
        return _("Another campaign already uses this short name.")
    return None


def create_campaign(slug: str, name: str, actor: str, **settings) -> Campaign:
    """Add a draft campaign (the admin and the CLI both call this); CampaignError if the slug
    cannot be used. Settings are Campaign columns (satisfaction_line as a fraction, …)."""
    problem = slug_problem(slug)
    if problem:
        raise CampaignError(problem)
    campaign = Campaign(slug=slug, name=name, state="draft", **settings)
    db.session.add(campaign)
    audit(actor, "campaign.create", slug, **{k: v for k, v in settings.items() if v is not None})
    return campaign


def questionnaire_key(unit: Unit, registry: Registry) -> str | None:
    """The questionnaire a unit answers: its own choice or its sector's default."""
    if unit.questionnaire:
        return unit.questionnaire
    default = registry.default_questionnaire(unit.sector)
    return default.key if default else None


def check_can_open(campaign: Campaign, registry: Registry) -> list[str]:
    """Everything that stops a campaign from opening, one message each."""
    from .models import QuestionnaireSnapshot
    problems = []
    if not campaign.units:
        problems.append(_("the campaign has no units"))
    # a re-evaluation (survey/reevaluation.py) comes with its questionnaires frozen already:
    # those it answers as frozen, whatever the installed plugins hold now
    frozen = set(db.session.scalars(select(QuestionnaireSnapshot.key).filter_by(campaign_id=campaign.id)))
    for unit in campaign.units:
        if unit.sector not in registry.sectors:
            problems.append(_("unit %(code)s: unknown sector “%(sector)s”", code=unit.code, sector=unit.sector))
            continue
        key = questionnaire_key(unit, registry)
        if unit.questionnaire and unit.questionnaire in frozen:
            continue
        if key not in registry.questionnaires:
            problems.append(_("unit %(code)s: unknown questionnaire “%(key)s”", code=unit.code, key=key))
        elif registry.questionnaires[key].sector != unit.sector:
            from flask_babel import get_locale
            locale = get_locale()
            problems.append(_("unit %(code)s: questionnaire “%(key)s” is not for sector “%(sector)s”",
                              code=unit.code, key=registry.questionnaires[key].title.get(locale),
                              sector=registry.sectors[unit.sector].label.get(locale)))
    codes = [u.code for u in campaign.units]
    clash = db.session.execute(
        select(Unit.code, Campaign.slug).join(Campaign)
        .where(Campaign.state == "open", Campaign.id != campaign.id, Unit.code.in_(codes))
        .limit(5)).all()
    for code, slug in clash:
        problems.append(_("unit %(code)s is already in open campaign %(slug)s: one QR code answers one campaign at a time",
                          code=code, slug=slug))
    return problems


class PaperNotCounted(CampaignError):
    """Publishing refused: paper ballots are still on their way to the count."""


def transition(campaign: Campaign, action: str, registry: Registry, actor: str,
               leave_uncounted: bool = False) -> None:
    """Move a campaign to its next state; freeze questionnaires when it first opens.

    Closing commits the session and then scrubs the campaign (survey/anonymity.py), so that
    from the moment it is closed the database keeps no trace of who answered when.
    Publishing ends counting: it is refused while paper is still on its way to the count
    (survey.paper.left_uncounted), unless leave_uncounted says to publish without it (audited).
    """
    if action not in TRANSITIONS:
        raise CampaignError(f"unknown action {action!r}")
    if campaign.state not in TRANSITIONS[action]:
        raise CampaignError(_("this cannot be done to a campaign that is %(state)s", state=state_label(campaign.state)))
    if action == "open":
        problems = check_can_open(campaign, registry)
        if problems:
            raise CampaignError("; ".join(problems))
        _freeze_missing(campaign, registry)
    left_out = []
    if action == "publish":
        from .paper import left_uncounted
        left_out = left_uncounted(campaign)
        if left_out and not leave_uncounted:
            raise PaperNotCounted(_("paper ballots are not all counted: %(what)s. Count them first, or publish "
                                  "without them (they can no longer be counted once published)",
                                  what="; ".join(left_out)))
    if action == "close":
        campaign.scrubbed_at = None  # due for a scrub until one has finished
    campaign.state = TARGET_STATE[action]
    audit(actor, f"campaign.{action}", campaign.slug, **({"left_uncounted": left_out} if left_out else {}))
    if action == "publish":  # a remedy record for every unit under the line (docs/remedy.md)
        from .omr.records import forget
        from .remedies import create_records
        create_records(campaign, actor)
        if forget(campaign.id):  # the count is final: scan records go, and a scrub takes their traces
            campaign.scrubbed_at = None
    if action == "close":
        scrub(campaign.id)


def withdraw(campaign: Campaign, reason: str, actor: str) -> None:
    """Take published results back (the public page and API answer 404 again): the campaign
    returns to closed and the reason is kept in the audit log. CampaignError if not published
    or no reason is given."""
    reason = (reason or "").strip()
    if campaign.state != "published":
        raise CampaignError(_("only published results can be withdrawn; this campaign is %(state)s",
                              state=state_label(campaign.state)))
    if not reason:
        raise CampaignError(_("give the reason for withdrawing the results"))
    campaign.state = "closed"
    audit(actor, "campaign.withdraw", campaign.slug, reason=reason[:500])


def _freeze_missing(campaign: Campaign, registry: Registry) -> None:
    """Freeze each questionnaire the campaign's units use and that is not frozen yet, with the
    point-of-service questionnaire each one pairs with (what the units' QR codes answer)."""
    from .models import QuestionnaireSnapshot

    frozen = set(db.session.scalars(select(QuestionnaireSnapshot.key).filter_by(campaign_id=campaign.id)))
    owners = {q: p.name for p in registry.plugins for q in p.questionnaires}
    for unit in campaign.units:
        # fix the questionnaire now, so a plugin changing its sector's default later changes nothing
        unit.questionnaire = questionnaire_key(unit, registry)
    new = {u.questionnaire for u in campaign.units} - frozen
    # a questionnaire frozen now brings its point-of-service pair; one frozen before keeps what it had
    new |= {registry.questionnaires[k].point_of_service for k in new} - {None} - frozen
    for key in sorted(new):
        freeze(campaign, registry, registry.questionnaires[key], owners.get(key))


def answer_counts(campaign: Campaign) -> dict[int, dict[str, int]]:
    """Responses so far per unit id and channel, from the running tally."""
    from .models import Tally

    rows = db.session.execute(
        select(Tally.unit_id, Tally.channel, func.sum(Tally.count))
        .where(Tally.campaign_id == campaign.id, Tally.item == "")
        .group_by(Tally.unit_id, Tally.channel)).all()
    counts: dict[int, dict[str, int]] = {}
    for unit_id, channel, n in rows:
        counts.setdefault(unit_id, {"online": 0, "paper": 0})[channel] = int(n)
    return counts
