"""The communities plugin loads through the core's registry and its two forms are complete: the
assembly form (五个好, 评诺) and the point-of-service form its units' QR codes answer."""
import pytest

import survey_communities
from survey.testing import (
    check_plugin_loaded, check_point_of_service_questionnaire, check_sector_questionnaire, plugin_registry,
)

KEYS = ['community', 'community-visit']


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("communities", survey_communities)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "communities", sectors=["community"], questionnaires=KEYS)


def test_sector(registry):
    assert registry.sectors["community"].label.zh == "社区"
    assert [q.key for q in registry.questionnaires_of("community")] == KEYS
    default = registry.default_questionnaire("community")
    assert default.key == "community" and default.point_of_service == "community-visit"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("community")}
    assert flags == {'community_resident': True, 'resident_rep': True, 'party_delegate': False, 'deputy': False, 'own_staff': False}
    # the sector names its own people served: no generic 服务对象 / 普通群众代表 beside them
    assert survey_communities.survey_respondent_categories("general") == []
    assert 'community_resident' not in {c.key for c in registry.categories("general")}


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_shape(registry, key):
    q = registry.questionnaires[key]
    assert q.sector == "community" and q.version == "2025.1"
    if q.audience == "assembly":
        check_sector_questionnaire(registry, key)
    else:
        check_point_of_service_questionnaire(registry, key)


def test_community_themes_are_asked(registry):
    labels = " ".join(i.label.zh for k in KEYS for i in registry.questionnaires[k].items)
    for theme in ("环境卫生", "治安", "邻里纠纷调解", "便民服务", "物业监督", "居务公开", "为老服务"):
        assert theme in labels
    assert "四议两公开" not in labels and "致富" not in labels
    flags = {c.key: c for c in registry.categories("community")}
    assert flags["community_resident"].label.zh == "居民" and flags["resident_rep"].label.zh == "居民代表"
