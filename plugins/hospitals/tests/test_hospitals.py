"""The hospitals plugin loads through the core's registry and both questionnaires are complete."""
import pytest

import survey_hospitals
from survey.plugins import build_registry

FIVE_GOODS = ["leadership", "members", "mechanism", "results", "reputation"]
KEYS = ["hospital-patients", "hospital-window"]


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_plugins=[("hospitals", survey_hospitals)], entry_points=False)


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
    info = next(p for p in registry.plugins if p.name == "hospitals")
    assert info.status == "loaded"
    assert info.sectors == ["hospital"]
    assert info.questionnaires == KEYS


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
    assert q.sector == "hospital"
    assert q.version == "2024.1"
    assert 10 <= len(q.items) <= 14
    assert [i.key for i in q.items][:5] == FIVE_GOODS
    assert q.items[0].section.zh == "五个好"
    assert q.items[5].section is not None
    commitments, comment = q.items[-2], q.items[-1]
    assert commitments.kind == "commitments" and commitments.required is False
    assert comment.kind == "comment" and comment.required is False and comment.max_length == 500
    assert q.scales_used() <= set(registry.scales)
    assert q.intro is not None and "一分钟" in q.intro.zh and "anonymous" in q.intro.en


def test_red_envelope_item_counts_yes_as_good(registry):
    # a yes/no item is counted on the yesno scale, where 是 (yes) is the positive answer
    item = registry.questionnaires["hospital-patients"].item("no_red_envelope")
    assert item.kind == "yesno"
    assert "不收红包" in item.label.zh
    assert registry.scales["yesno"].choice("yes").positive


@pytest.mark.parametrize("key", KEYS)
def test_every_label_has_zh_and_en(registry, key):
    for text in _texts(registry.questionnaires[key]):
        assert text.zh.strip() and text.en.strip()
