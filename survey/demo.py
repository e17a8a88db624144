"""`survey demo`: an instance with a demo campaign, open, with units in every sector and answers."""
from __future__ import annotations

import random
import secrets

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from .campaigns import transition
from .db import db
from .migrate import upgrade
from .models import Campaign, Unit, User, audit
from .questions import rated_questions
from .registry import current_registry
from .responses import Sheet, store
from .snapshot import frozen_for

SLUG = "demo-2025"
ADMIN = "admin"
NAMES = {
    "general": ["城关镇党委", "东街社区党支部", "县供销社党总支"],
    "school": ["城关第一小学", "实验中学", "东城幼儿园"],
    "hospital": ["县人民医院", "中医院", "城关镇卫生院"],
    "village": ["红星村", "柳树沟村", "东坡村"],
    "community": ["东街社区", "北关社区", "新华社区"],
    "enterprise": ["县自来水公司", "宏达机械厂", "县农村信用社"],
    "government": ["县政务服务中心", "县人社局社保窗口", "县不动产登记中心"],
    "library": ["县图书馆", "城关镇文化站", "东街社区书屋"],
}
COMMITMENTS = ["年内完成办事大厅改造，实行一站式服务", "每月公开一次收支情况", "群众来电三日内答复"]


def prepare() -> tuple[tuple[str, str], list[str]]:
    """Migrate, create the admin and the open demo campaign once; return login and URLs."""
    upgrade()
    password = secrets.token_urlsafe(9)
    user = db.session.scalar(select(User).filter_by(username=ADMIN))
    if user is None:
        user = User(username=ADMIN, password_hash="")
        db.session.add(user)
    user.password_hash = generate_password_hash(password)  # a fresh password each run, printed once
    if user.id is not None:
        user.end_sessions()  # sessions signed in with the previous password end
    campaign = db.session.scalar(select(Campaign).filter_by(slug=SLUG))
    if campaign is None:
        campaign = _create_campaign()
    db.session.commit()
    base = current_app.config["SURVEY_BASE_URL"].rstrip("/")
    return (ADMIN, password), [f"{base}/s/{u.code}" for u in campaign.units]


def _create_campaign() -> Campaign:
    registry = current_registry()
    campaign = Campaign(slug=SLUG, name="2025年度基层站所群众满意度测评（演示）", access="both")
    db.session.add(campaign)
    for sector in registry.sectors.values():
        names = NAMES.get(sector.key) or [f"{sector.label.zh}{n}" for n in ("一", "二", "三")]
        for number, name in enumerate(names, start=1):
            code = f"{sector.key[:3].upper()}-{number:03d}"
            db.session.add(Unit(campaign=campaign, code=code, name=name, sector=sector.key,
                                parent="县创先争优活动领导小组办公室",
                                commitments=COMMITMENTS[: number % 3 + 1]))
    db.session.flush()
    transition(campaign, "open", registry, "demo")
    audit("demo", "campaign.create", SLUG)
    db.session.commit()
    _answer(campaign)
    return campaign


def _answer(campaign: Campaign, per_unit: int = 40) -> None:
    """Store some deterministic demo answers for each unit: three in four by its QR code (its
    point-of-service form, when it has one), the rest on paper at the assembly."""
    rnd = random.Random(2025)
    for unit in campaign.units:
        assembly = frozen_for(campaign.id, unit.questionnaire)
        pair = assembly.questionnaire.point_of_service
        visit = (frozen_for(campaign.id, pair) if pair else None) or assembly
        weights = (6, 3, 1) if rnd.random() > 0.25 else (2, 3, 5)  # a few units fall below the line
        for n in range(per_unit):
            frozen, channel = (visit, "online") if n % 4 else (assembly, "paper")
            answers = {}
            for q in rated_questions(frozen, unit.commitments, unit.members):
                choices = [c.key for c in q.scale.choices]
                w = list(weights) + [1] * (len(choices) - 3)
                if q.measure == "incidence":  # misconduct is rare
                    w = [19, 1]
                answers[q.key] = (rnd.choices(choices, weights=w[: len(choices)])[0], None, q.scale.key)
            category = rnd.choice(frozen.categories).key
            store([Sheet(campaign.id, unit.id, frozen.questionnaire.key, category, answers)], channel=channel)
