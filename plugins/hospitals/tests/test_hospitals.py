"""The hospitals plugin loads through the core's registry and both questionnaires are complete."""
import pytest

import survey_hospitals
from survey.testing import check_plugin_loaded, check_sector_questionnaire, plugin_registry

KEYS = ["hospital-patients", "hospital-window"]


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("hospitals", survey_hospitals)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "hospitals", sectors=["hospital"], questionnaires=KEYS)


def test_sector(registry):
    assert registry.sectors["hospital"].label.zh == "医院"
    assert [q.key for q in registry.questionnaires_of("hospital")] == KEYS
    assert registry.default_questionnaire("hospital").key == "hospital-patients"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("hospital")}
    assert flags["patient"] is True
    assert flags["family"] is True
    assert flags["staff"] is False
    # the core's common categories are offered too, and no key is repeated
    assert {"party_delegate", "deputy", "service_recipient", "resident"} <= set(flags)
    assert len(flags) == 7
    assert survey_hospitals.survey_respondent_categories("school") == []
    assert "patient" not in {c.key for c in registry.categories("general")}


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_shape(registry, key):
    q = registry.questionnaires[key]
    assert q.sector == "hospital" and q.version == "2024.1"
    check_sector_questionnaire(registry, key)


def test_red_envelope_item_counts_yes_as_good(registry):
    # a yes/no item is counted on the yesno scale, where 是 (yes) is the positive answer
    item = registry.questionnaires["hospital-patients"].item("no_red_envelope")
    assert item.kind == "yesno"
    assert "不收红包" in item.label.zh
    assert registry.scales["yesno"].choice("yes").positive
