"""Frozen questionnaires: what a campaign answers with from the moment it opens.

Opening a campaign copies each questionnaire its units use, the scales it names (with the
weights in force) and the sector's respondent categories into the database as JSON, so
upgrading or removing a plugin never changes a running campaign.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

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


@lru_cache(maxsize=512)
def _parse(snapshot_id: int, definition: str) -> Frozen:
    data = json.loads(definition)
    return Frozen(
        questionnaire=Questionnaire.model_validate(data["questionnaire"]),
        scales={k: Scale.model_validate(v) for k, v in data["scales"].items()},
        categories=tuple(Category.model_validate(c) for c in data["categories"]),
    )


def frozen_for(campaign_id: int, key: str) -> Frozen | None:
    """The frozen questionnaire of a campaign by key (parsed once per process)."""
    row = db.session.execute(
        db.select(QuestionnaireSnapshot.id, QuestionnaireSnapshot.definition)
        .filter_by(campaign_id=campaign_id, key=key)).first()
    return _parse(row.id, row.definition) if row else None
