"""A campaign as the 2024 questionnaires ran it, for the upgrade test (tests/test_questionnaires.py).

`python tests/upgrade_2024.py OUT.json`, run with the toolkit and plugins as they were before
the two-form split on the import path, opens a campaign with a unit of every sector, stores
deterministic answers, closes it and writes its frozen questionnaires, categories, units and
results to OUT.json (tests/data/campaign_2024.json was made so). The test stores the same
answers against the same frozen rows with today's code and compares the results.
Only APIs both versions have are used here.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

UNITS = [("GEN-001", "城关镇党委", "general", None), ("SCH-001", "实验中学", "school", None),
         ("HOS-001", "县人民医院", "hospital", None), ("HOS-002", "县人民医院窗口", "hospital", "hospital-window"),
         ("VIL-001", "红星村", "village", None), ("ENT-001", "宏达机械厂", "enterprise", None),
         ("GOV-001", "县政务服务中心", "government", None)]
COMMITMENTS = ["每月公开一次收支情况", "群众来电三日内答复"]
RATERS = 40


def sheets(campaign_id: int, units, frozen_for, rated_questions, Sheet) -> list:
    """The same answer sheets on any version: choices picked by a fixed rule from each unit's
    frozen questions, categories from its frozen categories, every fourth on paper."""
    out = []
    for u, unit in enumerate(units):
        frozen = frozen_for(campaign_id, unit.questionnaire)
        questions = rated_questions(frozen, unit.commitments)
        for r in range(RATERS):
            answers = {}
            for k, q in enumerate(questions):
                choices = [c.key for c in q.scale.choices]
                pick = (u * 7 + r * 3 + k * 5 + (r * k) % 4) % (len(choices) + 1)
                if pick < len(choices):  # one in len+1 left blank
                    answers[q.key] = (choices[pick], None, q.scale.key)
            category = frozen.categories[(r + u) % len(frozen.categories)].key
            out.append(("paper" if r % 4 == 0 else "online",
                        Sheet(campaign_id, unit.id, unit.questionnaire, category, answers)))
    return out


def main(out_path: str) -> None:
    from sqlalchemy import select

    from survey import create_app
    from survey.campaigns import transition
    from survey.db import db
    from survey.migrate import upgrade
    from survey.models import Campaign, QuestionnaireSnapshot, RespondentCategory, Unit
    from survey.questions import rated_questions
    from survey.registry import current_registry
    from survey.responses import Sheet, store
    from survey.results import compute
    from survey.snapshot import frozen_for

    instance = Path(tempfile.mkdtemp())
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "SECRET_KEY": "x",
                      "SURVEY_DATABASE_URL": f"sqlite:///{instance}/old.db", "SURVEY_RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        campaign = Campaign(slug="eval-2024", name="2024年度群众满意度测评", access="both")
        db.session.add(campaign)
        for code, name, sector, questionnaire in UNITS:
            db.session.add(Unit(campaign=campaign, code=code, name=name, sector=sector,
                                questionnaire=questionnaire, commitments=COMMITMENTS))
        db.session.flush()
        transition(campaign, "open", current_registry(), "test")
        db.session.commit()
        units = list(db.session.scalars(select(Unit).order_by(Unit.code)))
        for channel, sheet in sheets(campaign.id, units, frozen_for, rated_questions, Sheet):
            store([sheet], channel=channel)
        transition(campaign, "close", current_registry(), "test")
        db.session.commit()
        document = {
            "snapshots": [{"key": s.key, "sector": s.sector, "version": s.version, "plugin": s.plugin,
                           "definition": s.definition}
                          for s in db.session.scalars(select(QuestionnaireSnapshot).order_by(QuestionnaireSnapshot.key))],
            "categories": [{"sector": c.sector, "key": c.key, "label_zh": c.label_zh, "label_en": c.label_en,
                            "counts_toward_share": c.counts_toward_share, "position": c.position}
                           for c in db.session.scalars(select(RespondentCategory).order_by(RespondentCategory.id))],
            "units": [{"code": u.code, "name": u.name, "sector": u.sector, "questionnaire": u.questionnaire,
                       "commitments": u.commitments} for u in units],
            "results": compute(campaign).as_dict(),
        }
    Path(out_path).write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
