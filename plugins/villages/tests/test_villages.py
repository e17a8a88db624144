"""The villages plugin loads through the core's registry and its two forms are complete: the
assembly form (五个好, 评诺) and the point-of-service form its units' QR codes answer."""
import pytest

import survey_villages
from survey.testing import (
    check_plugin_loaded, check_point_of_service_questionnaire, check_sector_questionnaire, plugin_registry,
)

KEYS = ['village', 'village-visit']


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("villages", survey_villages)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "villages", sectors=["village"], questionnaires=KEYS)


def test_sector(registry):
    assert registry.sectors["village"].label.zh == "村"
    assert [q.key for q in registry.questionnaires_of("village")] == KEYS
    default = registry.default_questionnaire("village")
    assert default.key == "village" and default.point_of_service == "village-visit"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("village")}
    assert flags == {'villager': True, 'village_rep': True, 'party_delegate': False, 'deputy': False, 'own_staff': False}
    # the sector names its own people served: no generic 服务对象 / 普通群众代表 beside them
    assert survey_villages.survey_respondent_categories("general") == []
    assert 'villager' not in {c.key for c in registry.categories("general")}


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_shape(registry, key):
    q = registry.questionnaires[key]
    assert q.sector == "village" and q.version == "2025.1"
    if q.audience == "assembly":
        check_sector_questionnaire(registry, key)
    else:
        check_point_of_service_questionnaire(registry, key)


def test_four_deliberations_are_said_in_plain_words(registry):
    label = registry.questionnaires["village"].item("mechanism").label
    assert "四议两公开" in label.zh and "党支部" in label.zh and "村民代表会议" in label.zh and "公布" in label.zh
    assert "Party branch" in label.en


def test_villages_are_villages_not_communities(registry):
    texts = " ".join(i.label.zh for k in KEYS for i in registry.questionnaires[k].items)
    assert "社区" not in texts
