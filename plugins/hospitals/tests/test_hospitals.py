"""The hospitals plugin loads through the core's registry and its two forms are complete: the
assembly form (五个好, 评诺) and the point-of-service form its units' QR codes answer."""
import pytest

import survey_hospitals
from survey.testing import (
    check_plugin_loaded, check_point_of_service_questionnaire, check_sector_questionnaire, plugin_registry,
)

KEYS = ['hospital', 'hospital-patients', 'hospital-window']


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("hospitals", survey_hospitals)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "hospitals", sectors=["hospital"], questionnaires=KEYS)


def test_sector(registry):
    assert registry.sectors["hospital"].label.zh == "医院"
    assert [q.key for q in registry.questionnaires_of("hospital")] == KEYS
    default = registry.default_questionnaire("hospital")
    assert default.key == "hospital" and default.point_of_service == "hospital-patients"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("hospital")}
    assert flags == {'patient': True, 'family': True, 'party_delegate': False, 'deputy': False, 'own_staff': False}
    # the sector names its own people served: no generic 服务对象 / 普通群众代表 beside them
    assert survey_hospitals.survey_respondent_categories("general") == []
    assert 'patient' not in {c.key for c in registry.categories("general")}


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_shape(registry, key):
    q = registry.questionnaires[key]
    assert q.sector == "hospital" and q.version == "2025.1"
    if q.audience == "assembly":
        check_sector_questionnaire(registry, key)
    else:
        check_point_of_service_questionnaire(registry, key)


def test_red_envelope_is_an_incidence_item_where_no_is_good(registry):
    # "did anyone take a red envelope from you?": 没有 is the good answer, never a double negative
    item = registry.questionnaires["hospital-patients"].item("red_envelope")
    assert item.kind == "incidence" and "红包" in item.label.zh and "不收" not in item.label.zh
    assert registry.scales["incidence"].choice("no").positive


def test_the_windows_form_is_a_point_of_service_form_too(registry):
    check_point_of_service_questionnaire(registry, "hospital-window")
