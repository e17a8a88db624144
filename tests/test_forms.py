"""The form builder: one handler per item kind, each checked on a tiny inline questionnaire."""
import pytest
from werkzeug.datastructures import MultiDict
from wtforms import RadioField, TextAreaField

from forms import FIELD_HANDLERS, UnknownItemKind, build_answer_form, collect_answers
from forms.fields import handler_for
from survey.plugins import build_registry
from survey.questionnaire import Category, Item
from survey.snapshot import Frozen

REGISTRY = build_registry(entry_points=False)
RESIDENT = Category(key="resident", label={"zh": "普通群众代表", "en": "Resident"}, counts_toward_share=True)


def frozen(*items):
    from survey.questionnaire import parse_questionnaire
    q = parse_questionnaire({"key": "tiny", "version": "1", "sector": "general",
                             "title": {"zh": "测试", "en": "Test"}, "items": list(items)})
    return Frozen(q, {k: REGISTRY.scales[k] for k in q.scales_used()}, (RESIDENT,))


class Unit:
    commitments = ["每月公开一次收支情况", "群众来电三日内答复"]


def build(app, *items, data=None, locale="zh_CN"):
    with app.test_request_context():
        form_class = build_answer_form(frozen(*items), Unit(), locale)
        return form_class(MultiDict(data) if data is not None else None)


CHOICE = {"key": "leadership", "kind": "choice", "scale": "satisfaction",
          "label": {"zh": "领导班子好", "en": "Good leadership team"}}


def test_every_item_kind_has_a_handler():
    assert set(FIELD_HANDLERS) == {"choice", "yesno", "incidence", "comment", "commitments", "members"}


def test_unknown_kind_raises_never_skips():
    with pytest.raises(UnknownItemKind, match="'ranking'"):
        handler_for("ranking")


def test_choice_field_uses_the_scale_and_requires_an_answer(app):
    form = build(app, CHOICE, data={"category": "resident"})
    field = form["leadership"]
    assert isinstance(field, RadioField) and field.label.text == "领导班子好"
    assert [c.label for c in field.choices] == ["满意", "基本满意", "不满意"]
    assert not form.validate()
    assert [str(e) for e in field.errors] == ["Please answer this question."]


def test_choice_outside_the_scale_is_one_clear_error(app):
    form = build(app, CHOICE, data={"category": "resident", "leadership": "excellent"})
    assert not form.validate() and [str(e) for e in form["leadership"].errors] == ["Please pick one of the choices shown."]


def test_yesno_field_counts_on_the_yesno_scale(app):
    item = {"key": "no_red_envelope", "kind": "yesno", "label": {"zh": "不收红包", "en": "No red envelopes"}}
    form = build(app, item, data={"category": "resident", "no_red_envelope": "yes"})
    assert [c.label for c in form["no_red_envelope"].choices] == ["是", "否"]
    assert form.validate()
    assert collect_answers(form) == {"no_red_envelope": ("yes", None, "yesno")}


def test_comment_field_is_optional_and_length_limited(app):
    item = {"key": "comment", "kind": "comment", "required": False, "max_length": 10,
            "label": {"zh": "意见建议", "en": "Comments"}}
    form = build(app, item, data={"category": "resident", "comment": "字" * 11})
    assert isinstance(form["comment"], TextAreaField) and form["comment"].render_kw == {"maxlength": 10, "rows": 3}
    assert not form.validate() and "10" in str(form["comment"].errors[0])
    empty = build(app, item, data={"category": "resident", "comment": ""})
    assert empty.validate() and collect_answers(empty) == {}


def test_commitments_make_one_question_per_public_commitment(app):
    item = {"key": "commitments", "kind": "commitments", "required": False,
            "label": {"zh": "承诺兑现情况", "en": "Commitments"}}
    form = build(app, item, data={"category": "resident", "commitments.2": "partly"})
    assert [s.name for s in form.specs] == ["commitments.1", "commitments.2"]
    assert form["commitments.1"].label.text == "每月公开一次收支情况"
    assert [c.label for c in form["commitments.1"].choices] == ["已兑现", "部分兑现", "未兑现"]
    assert form.validate() and collect_answers(form) == {"commitments.2": ("partly", None, "commitment")}


def test_labels_follow_the_locale_and_the_category_question_comes_first(app):
    form = build(app, CHOICE, locale="en")
    assert list(form._fields)[:2] == ["category", "leadership"]
    assert form["leadership"].label.text == "Good leadership team"
    assert [c.label for c in form["category"].choices] == ["Resident"]


def test_a_fresh_class_per_call(app):
    with app.test_request_context():
        first = build_answer_form(frozen(CHOICE), Unit(), "zh_CN")
        second = build_answer_form(frozen(CHOICE), Unit(), "zh_CN")
    assert first is not second and first.specs is not second.specs


def test_sections_group_items_under_their_heading(app):
    second = {**CHOICE, "key": "members", "section": {"zh": "四比", "en": "The four compares"}}
    form = build(app, {**CHOICE, "section": {"zh": "五个好", "en": "The five goods"}}, second)
    assert [(s.title, [i.key for i, _specs in s.items]) for s in form.sections] == [("五个好", ["leadership"]), ("四比", ["members"])]


def test_item_schema_refuses_kind_field_mismatches():
    with pytest.raises(ValueError, match="needs a scale"):
        Item.model_validate({"key": "x", "kind": "choice", "label": {"zh": "甲", "en": "A"}})
    with pytest.raises(ValueError, match="max_length is for comment items"):
        Item.model_validate({"key": "x", "kind": "yesno", "max_length": 5, "label": {"zh": "甲", "en": "A"}})
