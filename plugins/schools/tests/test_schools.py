"""The schools plugin loads through the core's registry and its questionnaire is complete."""
import pytest

import survey_schools
from survey.testing import check_plugin_loaded, check_sector_questionnaire, plugin_registry


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("schools", survey_schools)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "schools", sectors=["school"], questionnaires=["school"])


def test_sector(registry):
    sector = registry.sectors["school"]
    assert sector.label.zh == "学校"
    assert [q.key for q in registry.questionnaires_of("school")] == ["school"]
    assert registry.default_questionnaire("school").key == "school"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("school")}
    assert flags["parent"] is True
    assert flags["student"] is True
    assert flags["teacher"] is False
    assert flags["neighbour"] is True
    # the core's common categories are offered too, and no key is repeated
    assert {"party_delegate", "deputy", "service_recipient", "resident"} <= set(flags)
    assert len(flags) == 8
    assert survey_schools.survey_respondent_categories("hospital") == []
    assert "parent" not in {c.key for c in registry.categories("general")}


def test_questionnaire_shape(registry):
    q = registry.questionnaires["school"]
    assert q.sector == "school" and q.version == "2024.1"
    check_sector_questionnaire(registry, "school")
