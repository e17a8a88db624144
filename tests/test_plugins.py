"""Plugins: discovery, each fault reported by name and left out, frozen questionnaires."""
import json
import re

import pytest
from sqlalchemy import select

import plugin_samples as samples
from survey import hookspecs
from survey.db import db
from survey.models import Response
from survey.plugins import build_registry

LIBRARY_ANSWER = {"category": "reader", "opening_hours": "satisfied", "quiet": "yes"}


def info(registry, name):
    return next(p for p in registry.plugins if p.name == name)


def test_survey_scales_builtin_plugin_provides_the_scales_of_the_domain():
    registry = build_registry(entry_points=False)
    assert {"satisfaction", "rating", "appraisal", "commitment", "yesno", "incidence"} <= set(registry.scales)
    satisfaction = registry.scales["satisfaction"]
    assert [c.label.zh for c in satisfaction.choices] == ["满意", "基本满意", "不满意"]
    assert [c.positive for c in satisfaction.choices] == [True, True, False]
    shares = {c.key: c.counts_toward_share for c in registry.categories("general")}
    assert shares == {"party_delegate": False, "deputy": False, "own_staff": False,
                      "service_recipient": True, "resident": True}


def test_installed_sector_plugins_load():
    registry = build_registry()
    assert {"school", "hospital", "village", "enterprise"} <= set(registry.sectors)
    assert {"community", "government"} <= set(registry.sectors)
    assert [q.key for q in registry.questionnaires_of("hospital")] == ["hospital", "hospital-patients", "hospital-window"]
    assert not registry.failed()


def test_survey_sectors_hook_adds_a_sector():
    registry = build_registry(entry_points=False, extra_plugins=[("reading_room", samples.Library())])
    assert registry.sectors["reading_room"].label.zh == "公共图书馆"
    assert info(registry, "reading_room").hooks == ["survey_questionnaires", "survey_respondent_categories", "survey_sectors"]


def test_survey_questionnaires_hook_adds_a_sector_questionnaire():
    registry = build_registry(entry_points=False, extra_plugins=[("reading_room", samples.Library())])
    assert registry.default_questionnaire("reading_room").key == "reading_room"
    assert info(registry, "reading_room").questionnaires == ["reading_room"]


def test_survey_respondent_categories_sector_first_then_common():
    registry = build_registry(entry_points=False, extra_plugins=[("reading_room", samples.Library())])
    keys = [c.key for c in registry.categories("reading_room")]
    # the sector names its own people served (读者), so the generic 服务对象 and 普通群众代表 are left out
    assert keys == ["reader", "party_delegate", "deputy", "own_staff"]
    assert "reader" not in [c.key for c in registry.categories("general")]


def test_plugin_raising_in_a_hook_is_reported_and_left_out():
    registry = build_registry(entry_points=False, extra_plugins=[("broken", samples.RaisesInHook()),
                                                                 ("reading_room", samples.Library())])
    broken = info(registry, "broken")
    assert broken.status == "failed" and "sector list unavailable" in broken.error
    assert "reading_room" in registry.sectors  # the rest runs


def test_invalid_questionnaire_names_the_item_and_field():
    registry = build_registry(entry_points=False, extra_plugins=[("museum", samples.InvalidQuestionnaire())])
    error = info(registry, "museum").error
    assert "item 1 (exhibits), field label.en: Field required" in error
    assert "at least 1 item" not in error
    assert "museum" not in registry.sectors


def test_reused_sector_names_both_plugins():
    registry = build_registry(entry_points=False, extra_plugins=[("copycat", samples.ReusesSector())])
    error = info(registry, "copycat").error
    assert "'general'" in error and "survey.builtin" in error


def test_misspelled_hook_is_rejected_by_check_pending():
    registry = build_registry(entry_points=False, extra_plugins=[("typo", samples.Misspelled())])
    assert "survey_sector" in info(registry, "typo").error


def test_plugin_failing_to_import_is_reported(tmp_path, monkeypatch):
    dist = tmp_path / "survey_plugin_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: survey-plugin-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[survey.plugins]\nbroken = survey_broken_plugin\n")
    (tmp_path / "survey_broken_plugin.py").write_text("raise ImportError('needs a module that is not installed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = build_registry()
    broken = info(registry, "broken")
    assert broken.status == "failed" and "needs a module that is not installed" in broken.error
    assert broken.version == "0.1"
    assert "school" in registry.sectors


def test_disabled_plugins_setting(monkeypatch):
    registry = build_registry(disabled={"hospitals"})
    assert info(registry, "hospitals").status == "disabled"
    assert "hospital" not in registry.sectors


def test_survey_plugins_command_and_check(app, runner):
    result = runner.invoke(args=["plugins"])
    assert result.exit_code == 0 and "survey.builtin" in result.output and "five-goods" in result.output
    assert runner.invoke(args=["plugins", "--check"]).exit_code == 0
    listed = json.loads(runner.invoke(args=["plugins", "--json"]).output)
    assert {"survey.builtin", "schools", "hospitals", "villages", "enterprises"} <= {p["name"] for p in listed}


@pytest.fixture
def app_config(request):
    marker = request.node.get_closest_marker("extra_plugins")
    return {"SURVEY_EXTRA_PLUGINS": marker.args[0]} if marker else {}


@pytest.mark.extra_plugins([("broken", samples.RaisesInHook())])
def test_plugins_check_fails_for_deploy_scripts(app, runner):
    result = runner.invoke(args=["plugins", "--check"])
    assert result.exit_code == 1 and "broken" in result.output


@pytest.mark.extra_plugins([("reading_room", samples.StrictLibrary())])
def test_survey_validate_response_rejects_with_message(app, client, make_campaign):
    make_campaign(units=[("LIB-1", "县图书馆", "reading_room")])
    refused = client.post("/s/LIB-1", data={**LIBRARY_ANSWER, "quiet": "no"})
    assert refused.status_code == 422 and "哪里不安静" in refused.get_data(as_text=True)
    assert client.post("/s/LIB-1", data=LIBRARY_ANSWER).status_code == 303


@pytest.mark.extra_plugins([("reading_room", samples.RaisesInValidation())])
def test_plugin_raising_while_answering_does_not_stop_answering(app, client, make_campaign, runner):
    make_campaign(units=[("LIB-1", "县图书馆", "reading_room")])
    assert client.post("/s/LIB-1", data=LIBRARY_ANSWER).status_code == 303
    assert "bug in a branch's check" in runner.invoke(args=["plugins"]).output


@pytest.mark.extra_plugins([("weights", samples.FixedWeights())])
def test_survey_scale_weights_first_result_is_frozen(app, make_campaign):
    from survey.snapshot import frozen_for
    campaign = make_campaign()
    with app.app_context():
        frozen = frozen_for(campaign, "five-goods")
    assert [c.weight for c in frozen.scales["satisfaction"].choices] == [100, 80, 0]


@pytest.mark.extra_plugins([("lending", samples.ReportSection())])
def test_survey_report_sections_are_collected(app):
    from survey.registry import current_registry
    with app.app_context():
        sections = current_registry().report_sections({"slug": "x"}, [])
    assert sections[0]["title"]["zh"] == "图书借阅情况"


def test_open_campaign_keeps_its_frozen_questionnaire_when_a_plugin_changes_or_goes(app, backend):
    """A campaign opened with plugin version 1 answers with it after an upgrade or removal."""
    from survey import create_app
    from survey.campaigns import transition
    from survey.models import Campaign, Unit
    from survey.registry import current_registry

    config = dict(app.config)
    v1 = create_app({**_test_config(config), "SURVEY_EXTRA_PLUGINS": [("reading_room", samples.Library("1"))]})
    with v1.app_context():
        campaign = Campaign(slug="lib", name="图书馆测评")
        db.session.add(Unit(campaign=campaign, code="LIB-1", name="县图书馆", sector="reading_room"))
        db.session.flush()
        transition(campaign, "open", current_registry(), "test")
        db.session.commit()
    upgraded_items = samples.LIBRARY_ITEMS + [{"key": "wifi", "kind": "yesno", "label": {"zh": "有无线网络", "en": "Wi-Fi"}}]
    for plugins in ([("reading_room", samples.Library("2", upgraded_items))], []):
        later = create_app({**_test_config(config), "SURVEY_EXTRA_PLUGINS": plugins})
        client = later.test_client()
        page = client.get("/s/LIB-1").get_data(as_text=True)
        assert "开放时间方便群众" in page and "有无线网络" not in page
        assert client.post("/s/LIB-1", data=LIBRARY_ANSWER).status_code == 303
    with later.app_context():
        assert len(db.session.scalars(select(Response)).all()) == 2


def _test_config(config):
    keys = ("TESTING", "SECRET_KEY", "SURVEY_DATABASE_URL", "SURVEY_BASE_URL", "SURVEY_RATELIMIT_ENABLED")
    return {k: config[k] for k in keys} | {"INSTANCE_PATH": config["INSTANCE_PATH"]}


def test_every_hook_is_documented_and_tested():
    """Guard: each hook has a docstring, a row in docs/plugins.md, and a test naming it."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    docs = (root / "docs/plugins.md").read_text(encoding="utf-8")
    tests = "".join(p.read_text(encoding="utf-8") for p in (root / "tests").glob("test_*.py")
                    if p.name != "test_plugins.py")
    tests += (root / "tests/test_plugins.py").read_text(encoding="utf-8").split("def test_every_hook")[0]
    hooks = [name for name in dir(hookspecs) if name.startswith("survey_")]
    assert len(hooks) >= 7
    for name in hooks:
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
        assert name in docs, f"{name} is not in docs/plugins.md"
        assert re.search(rf"def test_\w*{name}", tests), f"{name} has no test named after it"
