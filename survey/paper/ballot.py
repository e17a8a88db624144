"""What a paper ballot asks: its units, their items and choices, and the categories.

Shared by printing, double entry and tally-sheet entry."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..db import db
from ..models import Campaign, RespondentCategory, Unit
from ..questions import UnknownItemKind, poor_choices, rated_questions, reason_key
from ..snapshot import frozen_for


BLANK, INVALID = "!blank", "!invalid"  # no box marked / two or more boxes marked
PRINTING_STATES = ("open",)
COUNTING_STATES = ("open", "closed")
TOKEN_CHUNK = 1000


class PaperError(ValueError):
    """A paper action that cannot be done; the message is for the person who tried it."""


class ReconciliationError(PaperError):
    """A tally sheet whose numbers do not add up; one message per problem, nothing stored."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Question:
    """One line of a ballot: an answer key (item, or item.n for a commitment) and its boxes."""

    key: str
    label: str
    scale: str
    choices: tuple[tuple[str, str], ...]  # (choice key, label)
    # a poor-rating reason's box (差评原因, one box, ticked or not): the answer key of the item it
    # explains and that item's poor choices; kept only beside one of them (survey.questions)
    reason_of: str | None = None
    poor: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UnitBlock:
    """A unit on a ballot or tally sheet with its questions, in questionnaire order."""

    unit_id: int
    code: str
    name: str
    questionnaire: str
    questions: tuple[Question, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()  # printed under the unit's name: a member appraisal's criteria (五带头)


def check_counting(campaign: Campaign) -> None:
    """PaperError unless the campaign's paper may be counted now (open or closed)."""
    if campaign.state not in COUNTING_STATES:
        from ..campaigns import state_label
        raise PaperError(_("Paper ballots are counted while the campaign is open or closed (it is %(state)s).",
                           state=state_label(campaign.state)))


def questions_for(frozen, unit: Unit, lang: str, dont_know: bool = False, reasons: bool = False) -> list[Question]:
    """The paper questions of one unit: its rated questions (comments stay off paper), each with
    a box per choice in printed order (don't know last, when the campaign offers it); with
    reasons, an item's poor-rating reasons follow it, a question of one box each (a ballot
    prints them; a tally sheet does not count them). Call with lang's locale in force."""
    try:
        rated = rated_questions(frozen, unit.commitments, getattr(unit, "members", None), dont_know=dont_know)
    except UnknownItemKind as exc:
        raise PaperError(str(exc)) from None
    out = []
    for q in rated:
        out.append(Question(q.key, q.label.get(lang), q.scale.key, tuple((c.key, c.label.get(lang)) for c in q.choices)))
        if reasons and q.kind == "choice" and q.item.poor_reasons:
            poor = poor_choices(q.scale)
            out += [Question(reason_key(q.key, r.key), _("Reason for a poor rating: %(reason)s", reason=r.label.get(lang)),
                             "", ((r.key, r.label.get(lang)),), reason_of=q.key, poor=poor)
                    for r in q.item.poor_reasons]
    return out


def keep_reasons(answers: dict, questions) -> dict:
    """The answers less any poor-rating reason ticked beside a choice that is not poor (the
    phone form keeps the same rule: survey.questions)."""
    drop = {q.key for q in questions if q.reason_of is not None
            and (answers.get(q.reason_of) or (None,))[0] not in q.poor}
    return {k: v for k, v in answers.items() if k not in drop}


def ballot_units(campaign_id: int, unit_codes: list[str] | None = None) -> list[Unit]:
    """The units a ballot lists (all of the campaign's unless codes are given), by code."""
    query = select(Unit).where(Unit.campaign_id == campaign_id).order_by(Unit.code)
    if unit_codes:
        query = query.where(Unit.code.in_(unit_codes))
    units = list(db.session.scalars(query))
    missing = sorted(set(unit_codes or ()) - {u.code for u in units})
    if missing:
        raise PaperError(_("No unit with the code %(codes)s in this campaign.", codes=", ".join(missing)))
    if not units:
        raise PaperError(_("The campaign has no units."))
    return units


def unit_blocks(campaign_id: int, units: list[Unit], lang: str, reasons: bool = False) -> list[UnitBlock]:
    """Each unit with the questions of its frozen questionnaire, labelled in lang; with reasons,
    the boxes of poor-rating reasons too (ballots: printing, entry, scans)."""
    blocks = []
    campaign = db.session.get(Campaign, campaign_id)
    dont_know = bool(campaign and campaign.dont_know)
    with force_locale(lang):
        for unit in units:
            frozen = frozen_for(campaign_id, unit.questionnaire or "")
            if frozen is None:
                raise PaperError(_("The questionnaire of unit %(code)s is not frozen yet: open the campaign first.", code=unit.code))
            notes = tuple(item.help.get(lang) for item in frozen.questionnaire.items
                          if item.kind == "members" and item.help and getattr(unit, "members", None))
            blocks.append(UnitBlock(unit.id, unit.code, unit.name, unit.questionnaire,
                                    tuple(questions_for(frozen, unit, lang, dont_know, reasons)), notes))
    return blocks


def _offered_rows(campaign_id: int) -> list[RespondentCategory]:
    """The campaign's frozen respondent categories in order, less those its settings hide."""
    hidden = set(db.session.scalar(select(Campaign.hidden_categories).where(Campaign.id == campaign_id)) or ())
    rows = db.session.scalars(select(RespondentCategory).where(RespondentCategory.campaign_id == campaign_id)
                              .order_by(RespondentCategory.position, RespondentCategory.id)).all()
    return [r for r in rows if r.key not in hidden]


def categories_for(campaign_id: int, units: list[Unit]) -> list[RespondentCategory]:
    """The respondent categories offered to every unit listed (the campaign's frozen ones, less
    those the campaign hides)."""
    rows = _offered_rows(campaign_id)
    sectors = {u.sector for u in units}
    keys = None
    for sector in sectors:
        here = {r.key for r in rows if r.sector == sector}
        keys = here if keys is None else keys & here
    seen, out = set(), []
    for r in rows:
        if r.key in (keys or set()) and r.key not in seen:
            seen.add(r.key)
            out.append(r)
    return out


def all_categories(campaign_id: int) -> list[RespondentCategory]:
    """Every respondent category of the campaign's units, each key once (a tally sheet chooses
    one; it is then checked against the units it counts), less those the campaign hides."""
    rows = _offered_rows(campaign_id)
    seen, out = set(), []
    for r in rows:
        if r.key not in seen:
            seen.add(r.key)
            out.append(r)
    return out


def category_label(category: RespondentCategory, lang: str) -> str:
    """A category's label in lang."""
    return category.label_en if str(lang).startswith("en") else category.label_zh


def check_category(campaign_id: int, units: list[Unit], category: str | None) -> RespondentCategory | None:
    """The frozen category with this key or label, or PaperError naming the ones there are."""
    if category is None:
        return None
    from ..units_import import resolve_category
    offered = categories_for(campaign_id, units)
    key = resolve_category(category, offered)  # a key, or the office's words: 居民, Residents
    for c in offered:
        if c.key == key:
            return c
    from flask_babel import get_locale

    from ..units_import import word_list
    raise PaperError(_("Unknown respondent category %(key)s; this campaign has: %(keys)s.",
                       key=category, keys=word_list(_offered(c, str(get_locale())) for c in offered) or "-"))


def _offered(category: RespondentCategory, locale: str) -> str:
    """A category as a refusal lists it: in English with the key to type, in Chinese its name only."""
    label = category_label(category, locale)
    return f"{label} ({category.key})" if locale.startswith("en") else label
