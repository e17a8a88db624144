"""Frozen questionnaires: what a campaign answers with from the moment it opens.

Opening a campaign copies each questionnaire its units use, the scales it names (with the
weights in force) and the sector's respondent categories into the database as JSON, so
upgrading or removing a plugin never changes a running campaign.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask import current_app

from .db import db
from .models import QuestionnaireSnapshot, RespondentCategory
from .plugins import Registry
from .questionnaire import Category, Questionnaire, Scale


@dataclass(frozen=True)
class Frozen:
    """A frozen questionnaire with the scales and categories it was frozen with."""

    questionnaire: Questionnaire
    scales: dict[str, Scale]
    categories: tuple[Category, ...]
    # generated form fields by (locale, commitments, …), filled by forms.builder
    form_fields: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def category(self, key: str) -> Category | None:
        """The category with this key, or None."""
        return next((c for c in self.categories if c.key == key), None)


def freeze(campaign, registry: Registry, questionnaire: Questionnaire, plugin: str | None) -> None:
    """Store one questionnaire, its scales and its sector's categories for a campaign."""
    scales = {key: registry.scale(key).model_dump() for key in sorted(questionnaire.scales_used())}
    categories = [c.model_dump() for c in registry.categories(questionnaire.sector)]
    definition = {"questionnaire": questionnaire.model_dump(mode="json"), "scales": scales,
                  "categories": categories}
    db.session.add(QuestionnaireSnapshot(
        campaign_id=campaign.id, key=questionnaire.key, sector=questionnaire.sector,
        version=questionnaire.version, plugin=plugin,
        definition=json.dumps(definition, ensure_ascii=False)))
    existing = {(c.sector, c.key) for c in db.session.query(RespondentCategory).filter_by(campaign_id=campaign.id)}
    for position, c in enumerate(categories):
        if (questionnaire.sector, c["key"]) in existing:
            continue
        existing.add((questionnaire.sector, c["key"]))
        db.session.add(RespondentCategory(
            campaign_id=campaign.id, sector=questionnaire.sector, key=c["key"],
            label_zh=c["label"]["zh"], label_en=c["label"]["en"],
            counts_toward_share=c["counts_toward_share"], position=position))


CACHE_LIMIT = 512


def frozen_by_id(snapshot_id: int, campaign_id: int, key: str, version: str) -> Frozen:
    """A frozen questionnaire by its snapshot row, parsed once per app (its database).

    Snapshot rows never change once written, so the parsed form can be kept; the cache key
    also holds campaign, key and version, so a row id reused after a deletion is not confused."""
    cache = current_app.extensions.setdefault("survey.frozen", {})
    cache_key = (snapshot_id, campaign_id, key, version)
    frozen = cache.get(cache_key)
    if frozen is None:
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        frozen = cache[cache_key] = _load(snapshot_id)
    return frozen


def _load(snapshot_id: int) -> Frozen:
    data = json.loads(db.session.scalar(
        db.select(QuestionnaireSnapshot.definition).where(QuestionnaireSnapshot.id == snapshot_id)))
    return Frozen(
        questionnaire=thawed_questionnaire(data["questionnaire"]),
        scales={k: Scale.model_validate(v) for k, v in data["scales"].items()},
        categories=tuple(Category.model_validate(c) for c in data["categories"]),
    )


def thawed_questionnaire(data: dict) -> Questionnaire:
    """A frozen questionnaire's definition as a Questionnaire, as it was counted when frozen.

    Definitions frozen before questionnaires declared their rate rule (every definition since
    holds every field) pooled every choice item into the unit's rate, whatever its scale: they
    keep that rule, so a campaign's results never change after an upgrade."""
    if "rate" not in data:
        data = {**data, "rate": "every_choice"}
    return Questionnaire.model_validate(data)


def frozen_for(campaign_id: int, key: str) -> Frozen | None:
    """The frozen questionnaire of a campaign by key."""
    row = db.session.execute(
        db.select(QuestionnaireSnapshot.id, QuestionnaireSnapshot.version)
        .filter_by(campaign_id=campaign_id, key=key)).first()
    return frozen_by_id(row.id, campaign_id, key, row.version) if row else None
