"""The villages plugin loads through the core's registry and its questionnaire is complete."""
import pytest

import survey_villages
from survey.testing import check_plugin_loaded, check_sector_questionnaire, plugin_registry


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("villages", survey_villages)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "villages", sectors=["village"], questionnaires=["village"])


def test_sector(registry):
    sector = registry.sectors["village"]
    assert sector.label.zh == "村、社区"
    assert [q.key for q in registry.questionnaires_of("village")] == ["village"]
    assert registry.default_questionnaire("village").key == "village"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("village")}
    assert flags["villager"] is True
    assert flags["village_rep"] is True
    assert flags["member"] is False
    # the core's common categories are offered too, and no key is repeated
    assert {"party_delegate", "deputy", "service_recipient", "resident"} <= set(flags)
    assert len(flags) == 7
    assert survey_villages.survey_respondent_categories("school") == []
    assert "villager" not in {c.key for c in registry.categories("general")}


def test_questionnaire_shape(registry):
    q = registry.questionnaires["village"]
    assert q.sector == "village" and q.version == "2024.1"
    check_sector_questionnaire(registry, "village")
