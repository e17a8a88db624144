"""The government plugin loads through the core's registry and its two forms are complete: the
assembly form (五个好, 评诺) and the point-of-service form its units' QR codes answer."""
import pytest

import survey_government
from survey.testing import (
    check_plugin_loaded, check_point_of_service_questionnaire, check_sector_questionnaire, plugin_registry,
)

KEYS = ['government', 'government-visit']


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("government", survey_government)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "government", sectors=["government"], questionnaires=KEYS)


def test_sector(registry):
    assert registry.sectors["government"].label.zh == "机关和窗口单位"
    assert [q.key for q in registry.questionnaires_of("government")] == KEYS
    default = registry.default_questionnaire("government")
    assert default.key == "government" and default.point_of_service == "government-visit"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("government")}
    assert flags == {'applicant': True, 'enterprise_rep': True, 'supervisor': False, 'party_delegate': False, 'deputy': False, 'own_staff': False}
    # the sector names its own people served: no generic 服务对象 / 普通群众代表 beside them
    assert survey_government.survey_respondent_categories("general") == []
    assert 'applicant' not in {c.key for c in registry.categories("general")}


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_shape(registry, key):
    q = registry.questionnaires[key]
    # government-visit 2025.2 added the poor-rating reasons of its 好差评 item
    assert q.sector == "government" and q.version == {"government": "2025.1", "government-visit": "2025.2"}[key]
    if key == "government-visit":
        assert [r.label.zh for r in q.item("visit_overall").poor_reasons] == ["态度不好", "办事慢", "多次跑腿", "收费不规范"]
    if q.audience == "assembly":
        check_sector_questionnaire(registry, key)
    else:
        check_point_of_service_questionnaire(registry, key)


def test_eating_taking_and_improper_fees_are_incidence_items(registry):
    q = registry.questionnaires["government-visit"]
    assert [i.key for i in q.items if i.kind == "incidence"] == ["asked_favours", "improper_fees"]
