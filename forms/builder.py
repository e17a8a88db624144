"""Build the answering form for one unit from its frozen questionnaire."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from wtforms import Form, RadioField
from wtforms.validators import InputRequired

from .fields import FieldContext, FieldSpec, choice_list, handler_for


@dataclass
class Section:
    """A heading and the fields under it, in questionnaire order."""

    title: str | None
    items: list = field(default_factory=list)  # (item, [FieldSpec]) pairs


class AnswerForm(Form):
    """Base of every generated answering form (no CSRF: answering is anonymous; see docs)."""

    specs: list[FieldSpec] = []
    sections: list[Section] = []


def build_answer_form(frozen, unit, locale: str, *, ask_category=True, comment_max_length=500):
    """A fresh form class for one unit: the category question, then every item."""
    ctx = FieldContext(scales=frozen.scales, commitments=list(unit.commitments or []),
                       locale=locale, comment_max_length=comment_max_length)
    attrs, specs, sections = {}, [], []
    if ask_category:
        attrs["category"] = RadioField(
            _l("You are"), choices=choice_list((c.key, c.label.get(locale)) for c in frozen.categories),
            validators=[InputRequired(message=_l("Please say who you are."))])
    for item in frozen.questionnaire.items:
        item_specs = handler_for(item.kind)(item, ctx)
        if item.section or not sections:
            sections.append(Section(item.section.get(locale) if item.section else None))
        if item_specs:
            sections[-1].items.append((item, item_specs))
        for spec in item_specs:
            attrs[spec.name] = spec.field
            specs.append(spec)
    attrs["specs"] = specs
    attrs["sections"] = [s for s in sections if s.items]
    return type("GeneratedAnswerForm", (AnswerForm,), attrs)


def collect_answers(form: AnswerForm) -> dict[str, tuple[str | None, str | None, str | None]]:
    """answer key -> (choice, text, scale) for every answered field."""
    answers = {}
    for spec in form.specs:
        value = form[spec.name].data
        if value in (None, ""):
            continue
        if spec.scale is None:
            answers[spec.answer_key] = (None, value.strip(), None)
        else:
            answers[spec.answer_key] = (value, None, spec.scale)
    return answers
