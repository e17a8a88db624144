"""The example branch plugin loads through the core's registry."""
import survey_example_branch
from survey.plugins import build_registry


def test_example_branch_loads():
    registry = build_registry(extra_plugins=[("example-branch", survey_example_branch)], entry_points=False)
    assert registry.failed() == []
    assert registry.sectors["library"].label.zh == "公共图书馆"
    assert [q.key for q in registry.questionnaires_of("library")] == ["library"]
    q = registry.questionnaires["library"]
    assert q.version == "2025.1" and q.audience == "point_of_service"
    assert 5 <= len(q.items) <= 6
    assert q.items[-1].kind == "comment" and q.items[-1].required is False
    for text in [q.title, q.intro, *(i.label for i in q.items)]:
        assert text.zh.strip() and text.en.strip()
    flags = {c.key: c.counts_toward_share for c in registry.categories("library")}
    assert flags["reader"] is True
    assert survey_example_branch.survey_respondent_categories("school") == []
