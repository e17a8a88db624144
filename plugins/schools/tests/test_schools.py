"""The schools plugin loads through the core's registry and its two forms are complete: the
assembly form (五个好, 评诺) and the point-of-service form its units' QR codes answer."""
import pytest

import survey_schools
from survey.testing import (
    check_plugin_loaded, check_point_of_service_questionnaire, check_sector_questionnaire, plugin_registry,
)

KEYS = ['school', 'school-parents']


@pytest.fixture(scope="module")
def registry():
    return plugin_registry("schools", survey_schools)


def test_loads_without_failure(registry):
    check_plugin_loaded(registry, "schools", sectors=["school"], questionnaires=KEYS)


def test_sector(registry):
    assert registry.sectors["school"].label.zh == "学校"
    assert [q.key for q in registry.questionnaires_of("school")] == KEYS
    default = registry.default_questionnaire("school")
    assert default.key == "school" and default.point_of_service == "school-parents"


def test_categories(registry):
    flags = {c.key: c.counts_toward_share for c in registry.categories("school")}
    assert flags == {'parent': True, 'student': True, 'neighbour': True, 'party_delegate': False, 'deputy': False, 'own_staff': False}
    # the sector names its own people served: no generic 服务对象 / 普通群众代表 beside them
    assert survey_schools.survey_respondent_categories("general") == []
    assert 'parent' not in {c.key for c in registry.categories("general")}


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_shape(registry, key):
    q = registry.questionnaires[key]
    assert q.sector == "school" and q.version == "2025.1"
    if q.audience == "assembly":
        check_sector_questionnaire(registry, key)
    else:
        check_point_of_service_questionnaire(registry, key)


def test_tutoring_punishment_and_fees_are_incidence_items(registry):
    q = registry.questionnaires["school-parents"]
    assert [i.key for i in q.items if i.kind == "incidence"] == ["paid_tutoring", "punishment", "extra_fees"]
    assert registry.scales["incidence"].choice("no").positive and registry.scales["incidence"].choice("no").label.zh == "没有"
