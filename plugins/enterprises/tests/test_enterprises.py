"""The enterprises plugin loads through the core's registry and its questionnaire is complete."""
import pytest

import survey_enterprises
from survey.testing import check_plugin_loaded, check_sector_questionnaire, plugin_registry


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("enterprises", survey_enterprises)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "enterprises", sectors=["enterprise"], questionnaires=["enterprise"])


def test_sector(registry):
    sector = registry.sectors["enterprise"]
    assert sector.label.zh == "企业和非公有制经济组织"
    assert [q.key for q in registry.questionnaires_of("enterprise")] == ["enterprise"]
    assert registry.default_questionnaire("enterprise").key == "enterprise"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("enterprise")}
    assert flags["employee"] is True
    assert flags["customer"] is True
    assert flags["neighbour"] is True
    assert flags["manager"] is False
    # the core's common categories are offered too, and no key is repeated
    assert {"party_delegate", "deputy", "service_recipient", "resident"} <= set(flags)
    assert len(flags) == 8
    assert survey_enterprises.survey_respondent_categories("school") == []
    assert "employee" not in {c.key for c in registry.categories("general")}


def test_questionnaire_shape(registry):
    q = registry.questionnaires["enterprise"]
    assert q.sector == "enterprise" and q.version == "2024.1"
    check_sector_questionnaire(registry, "enterprise")
