"""Re-evaluation (补课, docs/remedy.md): a follow-up campaign for the units whose remedy is done,
and the comparison of each unit before and after.

`create_follow_up()` is the one action (the admin's button and `survey remedy reevaluate` call
it): a draft campaign with the original's settings, its frozen questionnaires and respondent
categories copied as they were frozen, and the units whose remedy record is done or verified.
A campaign has at most one follow-up (a unique column): asking again returns the one made.

`comparison()` puts each unit's satisfaction rate before (in the original) and after (in the
follow-up) side by side. Both sides come from `survey.disclosure.disclosed_results`, so a
figure withheld in every report (too few raters) is withheld here too; a change is shown only
when both rates are. A unit whose rate after is again under the line is flagged.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .campaigns import SLUG_PATTERN, create_campaign, slug_problem
from .db import db
from .models import Campaign, QuestionnaireSnapshot, Remedy, RespondentCategory, Unit, audit

# what a re-evaluation keeps of the campaign it follows (the counting rules and how residents answer)
COPIED_SETTINGS = ("satisfaction_line", "composition_minimum", "minimum_sample", "minimum_cell", "access",
                   "allow_repeat", "show_comments", "personal_data", "scrub_interval", "hidden_categories",
                   "dont_know", "leave_out")
REMEDIED = ("done", "verified")


class ReevaluationError(ValueError):
    """A re-evaluation that cannot be made now (HTTP 409), in the reader's language."""


def follow_up_of(campaign: Campaign) -> Campaign | None:
    """The re-evaluation that follows this campaign, if one was made."""
    return db.session.scalar(select(Campaign).filter_by(follows_campaign_id=campaign.id))


def original_of(campaign: Campaign) -> Campaign | None:
    """The campaign this re-evaluation follows, if it is one."""
    return db.session.get(Campaign, campaign.follows_campaign_id) if campaign.follows_campaign_id else None


def remedied_units(campaign: Campaign) -> list[Unit]:
    """The units of this campaign whose remedy record is done or verified, by code."""
    return list(db.session.scalars(
        select(Unit).join(Remedy, Remedy.unit_id == Unit.id)
        .where(Remedy.campaign_id == campaign.id, Remedy.status.in_(REMEDIED)).order_by(Unit.code)))


def follow_up_slug(campaign: Campaign) -> str:
    """A free short name for the follow-up: <slug>-reeval, then -reeval-2, … (at most 60 characters)."""
    n = 1
    while True:
        suffix = "-reeval" if n == 1 else f"-reeval-{n}"
        slug = campaign.slug[:60 - len(suffix)].rstrip("-") + suffix
        if SLUG_PATTERN.match(slug) and slug_problem(slug) is None:
            return slug
        n += 1


def follow_up_name(campaign: Campaign) -> str:
    """The follow-up's name, "<name> · 补课复评", in the residents' default language whoever makes
    it (the command answers in English, an office may read the admin in English): posters and
    the public page show it beside the Chinese name, and it is data, not a message."""
    from .i18n import DEFAULT_LOCALE
    with force_locale(DEFAULT_LOCALE):
        return _("%(name)s · re-evaluation", name=campaign.name)[:200]


def create_follow_up(campaign: Campaign, actor: str) -> tuple[Campaign, bool]:
    """The follow-up campaign of this one, made now (True) or the one made before (False).

    ReevaluationError when the campaign is itself not closed or published, or no unit's remedy
    is done yet. The new campaign is a draft: the office opens it when the units are ready."""
    existing = follow_up_of(campaign)
    if existing is not None:
        return existing, False
    if campaign.state not in ("closed", "published"):
        raise ReevaluationError(_("A re-evaluation follows a closed or published campaign."))
    units = remedied_units(campaign)
    if not units:
        raise ReevaluationError(_("No unit's remedy is done yet: a re-evaluation is made for the units "
                                  "whose remedy is done or verified."))
    follow_up = create_campaign(follow_up_slug(campaign), follow_up_name(campaign), actor,
                                follows_campaign_id=campaign.id, previous_campaign_id=campaign.id,
                                **{k: getattr(campaign, k) for k in COPIED_SETTINGS})
    try:
        db.session.flush()
    except IntegrityError:  # another request made it between the look and the write
        db.session.rollback()
        made = follow_up_of(db.session.get(Campaign, campaign.id))
        if made is None:
            raise
        return made, False
    for unit in units:
        db.session.add(Unit(campaign_id=follow_up.id, code=unit.code, name=unit.name, sector=unit.sector,
                            questionnaire=unit.questionnaire, parent=unit.parent,
                            commitments=list(unit.commitments or []), members=list(unit.members or [])))
    _copy_frozen(campaign, follow_up)
    audit(actor, "campaign.reevaluate", campaign.slug, follow_up=follow_up.slug, units=[u.code for u in units])
    return follow_up, True


def _copy_frozen(source: Campaign, target: Campaign) -> None:
    """The questionnaires and respondent categories as the source froze them: opening the
    follow-up then freezes nothing new, so it answers exactly what the original did."""
    for snap in db.session.scalars(select(QuestionnaireSnapshot).filter_by(campaign_id=source.id)):
        db.session.add(QuestionnaireSnapshot(campaign_id=target.id, key=snap.key, sector=snap.sector,
                                             version=snap.version, plugin=snap.plugin, definition=snap.definition))
    for cat in db.session.scalars(select(RespondentCategory).filter_by(campaign_id=source.id)):
        db.session.add(RespondentCategory(campaign_id=target.id, sector=cat.sector, key=cat.key,
                                          label_zh=cat.label_zh, label_en=cat.label_en,
                                          counts_toward_share=cat.counts_toward_share, position=cat.position))


@dataclass
class Comparison:
    """One unit before (the original campaign) and after (its re-evaluation), as disclosed."""

    code: str
    name: str
    parent: str | None
    before: float | None  # None: withheld (or not counted)
    after: float | None
    before_withheld: str | None
    after_withheld: str | None
    counted: bool  # the follow-up is closed or published: its figures are final
    again_under: bool  # after: under the line again (a conclusive count only)

    @property
    def change(self) -> float | None:
        """After minus before, as a fraction; None unless both are shown."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def comparison(original: Campaign, follow_up: Campaign) -> list[Comparison]:
    """Each unit of the follow-up, before and after, through the same disclosure rules as every report."""
    from .disclosure import disclosed_results
    before = {u.code: u for u in disclosed_results(original, with_previous=False).units}
    counted = follow_up.state in ("closed", "published")
    after = {u.code: u for u in disclosed_results(follow_up, with_previous=False).units} if counted else {}
    rows = []
    for unit in db.session.scalars(select(Unit).filter_by(campaign_id=follow_up.id).order_by(Unit.code)):
        b, a = before.get(unit.code), after.get(unit.code)
        rows.append(Comparison(
            code=unit.code, name=unit.name, parent=unit.parent,
            before=b.rate if b else None, after=a.rate if a else None,
            before_withheld=b.overall.total.withheld if b else None,
            after_withheld=a.overall.total.withheld if a else None,
            counted=counted, again_under=bool(a and a.must_remedy)))
    return rows
