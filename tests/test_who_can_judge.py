"""Who can judge what (issue 10): a questionnaire meant for residents asks only what a resident
can judge. Items a patient or a passer-by cannot judge (the leadership team's unity, the party
members' conduct, the unit's public commitments) are flagged by
survey.questionnaire.not_judgeable_at_point_of_service; the toolkit has no "don't know" choice,
so every flagged item must sit on an assembly questionnaire that no unit's QR code shows (a
point-of-service pair is shown instead, or the QR code refuses a member appraisal). Walked over
every shipped questionnaire: the core's, every plugin's in plugins/, the example branch's.
"""
import importlib
import importlib.metadata
import sys
from pathlib import Path

import pytest

from markupsafe import escape

from survey import hookimpl
from survey.db import db
from survey.plugins import build_registry
from survey.questionnaire import assembly_only, not_judgeable_at_point_of_service, shown_by_qr_code

EXAMPLE_BRANCH = Path(__file__).resolve().parents[1] / "plugins/example-branch"
MEMBERS = ["欧阳明远", "司马文静"]
COMMITMENTS = ["年内建成便民服务站", "每季度公开一次账目"]


@pytest.fixture
def backend():
    """What a page shows does not depend on the database: SQLite only."""
    return "sqlite"


@pytest.fixture
def app_config():
    """The example branch's plugin too, which scripts/install.sh does not install."""
    if any(ep.name == "example-branch" for ep in importlib.metadata.entry_points(group="survey.plugins")):
        return {}
    if str(EXAMPLE_BRANCH) not in sys.path:
        sys.path.append(str(EXAMPLE_BRANCH))
    return {"SURVEY_EXTRA_PLUGINS": [("example-branch", importlib.import_module("survey_example_branch"))]}


def shipped(app) -> dict:
    from survey.registry import current_registry
    with app.app_context():
        return dict(current_registry().questionnaires)


def flagged_texts(q, lang: str) -> list[str]:
    """What a resident would read of q's flagged items: their labels and help, the unit's
    commitments and members (the questions a commitments or members item asks)."""
    keys = {p.split(":")[0].removeprefix("item ") for p in not_judgeable_at_point_of_service(q)}
    texts = []
    for item in q.items:
        if item.key in keys:
            texts += [] if item.kind == "members" else [item.label.get(lang)]  # a member list asks by name
            texts += [item.help.get(lang)] if item.help else []
            texts += {"commitments": COMMITMENTS, "members": MEMBERS}.get(item.kind, [])
    return texts


def test_every_flagged_item_sits_on_a_questionnaire_no_qr_code_shows(app):
    questionnaires = shipped(app)
    assert {"five-goods", "five-leads", "hospital", "school", "village", "community", "enterprise",
            "government", "library"} <= set(questionnaires), sorted(questionnaires)
    flagged, wrong = 0, []
    for key, q in sorted(questionnaires.items()):
        problems = not_judgeable_at_point_of_service(q)
        flagged += len(problems)
        if problems and (q.audience != "assembly" or shown_by_qr_code(q, questionnaires) is q):
            wrong += [f"{key}: {p}" for p in problems]
        shown = shown_by_qr_code(q, questionnaires)
        if shown is not None and shown is not q:
            assert not not_judgeable_at_point_of_service(shown), (key, shown.key)
    assert flagged >= 20  # the five goods' leadership items and 评诺 of every sector, the five leads
    assert not wrong, "items a resident at the point of service cannot judge, shown by a QR code:\n" + "\n".join(wrong)


def test_no_qr_code_page_asks_what_a_passer_by_cannot_judge_and_ballots_do(app, client, make_tokens):
    """Through the real routes: a unit of every shipped questionnaire, its QR page and its ballot."""
    from survey.campaigns import transition
    from survey.models import Campaign, Unit
    from survey.registry import current_registry
    questionnaires = shipped(app)
    with app.app_context():
        campaign = Campaign(slug="judge-2025", name="2025年度测评")
        db.session.add(campaign)
        for n, (key, q) in enumerate(sorted(questionnaires.items()), 1):
            db.session.add(Unit(campaign=campaign, code=f"J-{n:02d}", name=f"单位{n}", sector=q.sector,
                                questionnaire=key, commitments=COMMITMENTS, members=MEMBERS))
        db.session.flush()
        transition(campaign, "open", current_registry(), "test")
        db.session.commit()
        cid = campaign.id
    every_flagged = {lang: {t for q in questionnaires.values() for t in flagged_texts(q, lang)} for lang in ("zh", "en")}
    shown_wrong, refused, on_ballots = [], [], 0
    for n, (key, q) in enumerate(sorted(questionnaires.items()), 1):
        for lang, arg in (("zh", "zh_CN"), ("en", "en")):
            page = client.get(f"/s/J-{n:02d}?lang={arg}")
            html = page.get_data(as_text=True)
            if assembly_only(q):
                assert page.status_code == 403 and 'name="' not in html.split("<main>")[1], key
                refused.append(key)
                continue
            assert page.status_code == 200, (key, page.status_code)
            shown_wrong += [f"{key} [{lang}]: {t}" for t in every_flagged[lang] if str(escape(t)) in html]
        if not_judgeable_at_point_of_service(q):
            token, = make_tokens(cid, unit_codes=[f"J-{n:02d}"])
            ballot = client.get(f"/b/{token}?lang=zh_CN").get_data(as_text=True)
            missing = [t for t in flagged_texts(q, "zh") if str(escape(t)) not in ballot]
            assert not missing, (key, missing)
            on_ballots += 1
    assert "five-leads" in refused
    assert on_ballots == sum(1 for q in questionnaires.values() if not_judgeable_at_point_of_service(q))
    assert not shown_wrong, "a QR code shows what a passer-by cannot judge:\n" + "\n".join(shown_wrong)


class UnpairedAssembly:
    """An assembly questionnaire that asks about the leadership team and names no pair, so its
    units' QR codes would show it; and a member appraisal, which QR codes refuse."""

    @hookimpl
    def survey_sectors(self):
        return [{"key": "clinic", "label": {"zh": "诊所", "en": "Clinics"}}]

    @hookimpl
    def survey_questionnaires(self):
        base = {"version": "1", "sector": "clinic", "audience": "assembly", "title": {"zh": "诊所", "en": "Clinic"}}
        return [{**base, "key": "clinic", "items": [
                    {"key": "doctors", "kind": "choice", "scale": "satisfaction", "label": {"zh": "医生态度", "en": "Doctors"}},
                    {"key": "unity", "kind": "choice", "scale": "satisfaction",
                     "label": {"zh": "领导班子团结协作", "en": "The leadership team works together"}}]},
                {**base, "key": "clinic-members", "items": [
                    {"key": "members", "kind": "members", "label": {"zh": "党员评定", "en": "Members"}}]}]


def test_the_plugin_check_warns_of_an_unpaired_assembly_form_that_asks_what_passers_by_cannot_judge():
    from survey.plugin_check import check
    registry = build_registry(entry_points=False, extra_plugins=[("unpaired", UnpairedAssembly())])
    assert {"clinic", "clinic-members"} <= set(registry.questionnaires)  # loaded: a warning, not a refusal
    report = check(None, registry=registry)
    about = [w for w in report.warnings if "clinic" in w]
    assert len(about) == 1, report.warnings
    assert "'clinic'" in about[0] and "item unity" in about[0] and "领导" in about[0] and "point_of_service" in about[0]
    assert shown_by_qr_code(registry.questionnaires["clinic-members"], registry.questionnaires) is None
