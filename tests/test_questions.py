"""survey.questions: the one place where item kinds become rated questions, and every consumer
(form, results, paper) asks it."""
import pytest

from forms import FIELD_HANDLERS
from survey.paper.ballot import PaperError, questions_for
from survey.plugins import build_registry
from survey.questionnaire import Category, Item, parse_questionnaire
from survey.questions import EXPANDERS, YESNO, UnknownItemKind, rated_questions
from survey.snapshot import Frozen

REGISTRY = build_registry(entry_points=False)
RESIDENT = Category(key="resident", label={"zh": "普通群众代表", "en": "Resident"}, counts_toward_share=True)
ITEMS = [
    {"key": "service", "kind": "choice", "scale": "satisfaction", "label": {"zh": "服务", "en": "Service"}},
    {"key": "posted", "kind": "yesno", "label": {"zh": "公示了吗", "en": "Posted?"}},
    {"key": "promises", "kind": "commitments", "label": {"zh": "评诺", "en": "Commitments"}},
    {"key": "words", "kind": "comment", "label": {"zh": "意见", "en": "Comments"}},
]


def frozen(items=ITEMS, with_yesno=True):
    q = parse_questionnaire({"key": "tiny", "version": "1", "sector": "general",
                             "title": {"zh": "测试", "en": "Test"}, "items": items})
    scales = {k: REGISTRY.scales[k] for k in q.scales_used() if k in REGISTRY.scales}
    if not with_yesno:
        scales.pop("yesno", None)
    return Frozen(q, scales, (RESIDENT,))


class Unit:
    commitments = ["每月公开收支", "三日内答复"]


def test_each_kind_expands_once_and_form_and_paper_agree():
    rated = rated_questions(frozen(), Unit.commitments)
    assert [q.key for q in rated] == ["service", "posted", "promises.1", "promises.2"]
    assert [q.pooled for q in rated] == [True, False, False, False]
    assert rated[2].label.zh == "每月公开收支" and rated[2].scale.key == "commitment"
    paper = questions_for(frozen(), Unit(), "en")
    assert [(p.key, p.scale) for p in paper] == [(q.key, q.scale.key) for q in rated]
    assert set(FIELD_HANDLERS) == set(EXPANDERS)


def test_yesno_falls_back_to_the_builtin_scale():
    rated = rated_questions(frozen(ITEMS[1:2], with_yesno=False), [])
    assert rated[0].scale == YESNO


def test_an_unknown_kind_raises_everywhere():
    bad = frozen()
    strange = Item.model_construct(key="odd", kind="ranking", label=ITEMS[0]["label"], scale=None,
                                   required=True, help=None, section=None, max_length=None)
    q = bad.questionnaire.model_copy(update={"items": (*bad.questionnaire.items, strange)})
    broken = Frozen(q, bad.scales, bad.categories)
    with pytest.raises(UnknownItemKind, match="ranking"):
        rated_questions(broken, [])
    with pytest.raises(PaperError, match="ranking"):
        questions_for(broken, Unit(), "zh_CN")
