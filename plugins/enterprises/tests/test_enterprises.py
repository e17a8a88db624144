"""The enterprises plugin loads through the core's registry and its questionnaire is complete."""
import pytest

import survey_enterprises
from survey.plugins import build_registry

FIVE_GOODS = ["leadership", "members", "mechanism", "results", "reputation"]


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_plugins=[("enterprises", survey_enterprises)], entry_points=False)


def _texts(q):
    """Every label-like text of a questionnaire: title, intro, item labels, sections, help."""
    yield q.title
    if q.intro:
        yield q.intro
    for item in q.items:
        yield item.label
        for extra in (item.section, item.help):
            if extra:
                yield extra


def test_loads_without_failure(registry):
    assert registry.failed() == []
    info = next(p for p in registry.plugins if p.name == "enterprises")
    assert info.status == "loaded"
    assert info.sectors == ["enterprise"]
    assert info.questionnaires == ["enterprise"]


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
    assert q.sector == "enterprise"
    assert q.version == "2024.1"
    assert 10 <= len(q.items) <= 14
    keys = [i.key for i in q.items]
    assert keys[:5] == FIVE_GOODS
    assert q.items[0].section.zh == "五个好"
    assert q.items[5].section is not None
    commitments, comment = q.items[-2], q.items[-1]
    assert commitments.kind == "commitments" and commitments.required is False
    assert comment.kind == "comment" and comment.required is False and comment.max_length == 500
    assert q.scales_used() <= set(registry.scales)
    assert q.intro is not None and "一分钟" in q.intro.zh and "anonymous" in q.intro.en


def test_every_label_has_zh_and_en(registry):
    for text in _texts(registry.questionnaires["enterprise"]):
        assert text.zh.strip() and text.en.strip()
