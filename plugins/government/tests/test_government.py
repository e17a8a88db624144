"""The government plugin loads through the core's registry and its questionnaire is complete."""
import pytest

import survey_government
from survey.testing import check_plugin_loaded, check_sector_questionnaire, plugin_registry


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("government", survey_government)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "government", sectors=["government"], questionnaires=["government"])


def test_sector(registry):
    sector = registry.sectors["government"]
    assert sector.label.zh == "机关和窗口单位"
    assert [q.key for q in registry.questionnaires_of("government")] == ["government"]
    assert registry.default_questionnaire("government").key == "government"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("government")}
    assert flags["applicant"] is True
    assert flags["enterprise_rep"] is True
    assert flags["supervisor"] is False
    # the core's common categories are offered too, and no key is repeated
    assert {"party_delegate", "deputy", "service_recipient", "resident"} <= set(flags)
    assert len(flags) == 7
    assert survey_government.survey_respondent_categories("school") == []
    assert "applicant" not in {c.key for c in registry.categories("general")}


def test_questionnaire_shape(registry):
    q = registry.questionnaires["government"]
    assert q.sector == "government" and q.version == "2024.1"
    check_sector_questionnaire(registry, "government")
