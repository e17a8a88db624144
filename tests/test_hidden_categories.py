"""Respondent categories a sector or a campaign does not use are hidden (issue 14 item 6):
by a plugin (survey_hidden_categories) or in the campaign's settings; a hidden key posted
anyway is refused and nothing is stored; hiding every category the composition rule needs is
refused; results still read past answers."""
import types

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import Campaign, Response
from survey import hookimpl
from survey.testing import csrf_from, plugin_registry, visit_answer

EDIT = {"slug": "test-2025", "name": "测评", "minimum_cell": "5", "scrub_interval": "60"}


def test_a_plugin_hides_a_builtin_category_for_its_sector_only(app):
    from survey.registry import current_registry
    with app.app_context():
        registry = current_registry()
        hospital = [c.key for c in registry.categories("hospital")]
        general = [c.key for c in registry.categories("general")]
    assert "party_delegate" not in hospital and {"patient", "family", "deputy", "own_staff"} <= set(hospital)
    assert "party_delegate" in general


def test_survey_hidden_categories_unknown_key_fails_the_check():
    module = types.ModuleType("survey_typo")
    module.survey_hidden_categories = hookimpl(lambda sector: ["party_delegat"])
    registry = plugin_registry("typo", module)
    info = next(p for p in registry.plugins if p.name == "typo")
    assert info.error and "unknown category 'party_delegat'" in info.error
    assert "did you mean `party_delegate`?" in info.error


def _edit(client, data):
    url = "/admin/campaigns/test-2025/edit"
    return client.post(url, data={**EDIT, **data, "csrf_token": csrf_from(client.get(url).get_data(as_text=True))})


def test_the_campaign_hides_a_category_and_a_posted_hidden_key_is_refused(app, admin_client, make_campaign):
    make_campaign()
    assert _edit(admin_client, {"hidden_categories": ["deputy"]}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Campaign.hidden_categories)) == ["deputy"]
    page = admin_client.get("/s/GEN-001").get_data(as_text=True)
    assert 'value="party_delegate"' in page and 'value="deputy"' not in page
    refused = admin_client.post("/s/GEN-001", data={**visit_answer(), "category": "deputy"})
    assert refused.status_code == 422
    assert "本次测评不设该参评人员类别" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_hiding_every_category_the_composition_rule_needs_is_refused(app, admin_client, make_campaign):
    make_campaign()
    refused = _edit(admin_client, {"hidden_categories": ["service_recipient", "resident"]})
    assert refused.status_code == 422
    assert "无法核对人员构成比例" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Campaign.hidden_categories)) is None


def test_ballot_refuses_a_hidden_category(app, client, make_campaign, make_tokens):
    cid = make_campaign(hidden_categories=["deputy"])
    token, = make_tokens(cid)
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert 'value="deputy"' not in page and 'value="resident"' in page
    refused = client.post(f"/b/{token}", data={"category": "deputy"})
    assert refused.status_code == 422 and "本次测评不设该参评人员类别" in refused.get_data(as_text=True)


def test_the_one_place_in_the_docs_says_what_the_code_does(app):
    """docs/plugins.md "Respondent categories": own categories first, built-in ones after, the
    generic two dropped when a sector names its own, then plugin-hidden keys dropped."""
    from pathlib import Path

    from survey.builtin import COMMON_CATEGORIES
    from survey.registry import current_registry
    doc = (Path(__file__).resolve().parents[1] / "docs/plugins.md").read_text()
    section = doc.split("## Respondent categories", 1)[1].split("\n## ", 1)[0]
    for phrase in ("survey_respondent_categories(sector)", "survey_hidden_categories(sector)",
                   "first definition of a key wins", "hidden_categories", "`party_delegate`"):
        assert phrase in section, phrase
    assert doc.count("This is the one place that says how categories combine") == 1
    with app.app_context():
        keys = [c.key for c in current_registry().categories("hospital")]
    builtin = [c["key"] for c in COMMON_CATEGORIES if c["key"] != "party_delegate"]
    assert keys == ["patient", "family", *builtin]  # own first, built-in after, generic two and hidden left out


@pytest.mark.browser
def test_the_hospital_page_shows_only_the_fitting_categories(app, make_campaign, live_server, browser, tmp_path):
    make_campaign(units=[("HOS-001", "县人民医院", "hospital")], hidden_categories=["deputy"])
    page = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN").new_page()
    page.goto(f"{live_server}/s/HOS-001?lang=zh_CN")
    shown = page.locator("input[name=category]").evaluate_all("rs => rs.map(r => r.value)")
    assert shown == ["patient", "family", "own_staff"]  # 党代表 hidden by the plugin, 人大代表 by the campaign
    page.locator("#q-category").screenshot(path=str(tmp_path / "categories.png"))
    page.context.close()


def test_answers_in_a_category_hidden_later_stay_in_results_and_exports(app, admin_client, make_campaign):
    from survey.exports import category_table
    from survey.results import compute
    make_campaign(allow_repeat=True)
    for category in ("deputy", "resident"):
        assert admin_client.post("/s/GEN-001", data={**visit_answer(), "category": category}).status_code == 303
    assert _edit(admin_client, {"hidden_categories": ["deputy"], "allow_repeat": "y"}).status_code == 302
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        results = compute(campaign)
        unit = results.ranked[0]
        assert unit.raters_by_category.get("deputy") == 1 and unit.raters == 2
        _header, rows, _formats = category_table(results)
        assert any(row[2] == "人大代表、政协委员" and row[3] == 1 for row in rows)
