"""The enterprises plugin loads through the core's registry and its two forms are complete: the
assembly form (五个好, 评诺) and the point-of-service form its units' QR codes answer."""
import pytest

import survey_enterprises
from survey.testing import (
    check_plugin_loaded, check_point_of_service_questionnaire, check_sector_questionnaire, plugin_registry,
)

KEYS = ['enterprise', 'enterprise-visit']


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("enterprises", survey_enterprises)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "enterprises", sectors=["enterprise"], questionnaires=KEYS)


def test_sector(registry):
    assert registry.sectors["enterprise"].label.zh == "企业和非公有制经济组织"
    assert [q.key for q in registry.questionnaires_of("enterprise")] == KEYS
    default = registry.default_questionnaire("enterprise")
    assert default.key == "enterprise" and default.point_of_service == "enterprise-visit"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("enterprise")}
    assert flags == {'customer': True, 'neighbour': True, 'party_delegate': False, 'deputy': False, 'own_staff': False}
    # the sector names its own people served: no generic 服务对象 / 普通群众代表 beside them
    assert survey_enterprises.survey_respondent_categories("general") == []
    assert 'customer' not in {c.key for c in registry.categories("general")}


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_shape(registry, key):
    q = registry.questionnaires[key]
    assert q.sector == "enterprise" and q.version == "2025.1"
    if q.audience == "assembly":
        check_sector_questionnaire(registry, key)
    else:
        check_point_of_service_questionnaire(registry, key)
