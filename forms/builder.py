"""Build the answering form for one unit from its frozen questionnaire."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from wtforms import Form, RadioField
from wtforms.validators import InputRequired, ValidationError

from survey.questions import reason_key

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


FIELD_CACHE_LIMIT = 4096


class CategoryField(RadioField):
    """The respondent category question; a key not offered (hidden, or made up) is refused by name."""

    def pre_validate(self, form):
        if self.data is not None and self.data not in {value for value, *_rest in self.choices}:
            raise ValidationError(_l("This evaluation does not offer that respondent category; "
                                     "please choose one of those shown."))


def build_answer_form(frozen, unit, locale: str, *, ask_category=True, comment_max_length=500,
                      hidden_categories=frozenset(), dont_know=False, optional=False):
    """A fresh form class for one unit: the category question, then every item.

    dont_know offers "don't know" on every rated question; optional lets them be left out
    (the campaign's settings).

    The unbound fields are built once per questionnaire, locale and lists of commitments and
    members, and kept on the frozen questionnaire (they are only templates: each form binds its own)."""
    commitments = tuple(unit.commitments or ())
    members = tuple(getattr(unit, "members", None) or ())
    hidden = frozenset(hidden_categories or ())
    key = (locale, commitments, members, ask_category, comment_max_length, hidden, dont_know, optional)
    cache = getattr(frozen, "form_fields", None)
    built = cache.get(key) if cache is not None else None
    if built is None:
        built = _build_fields(frozen, commitments, members, locale, ask_category, comment_max_length,
                              hidden, dont_know, optional)
        if cache is not None:
            if len(cache) >= FIELD_CACHE_LIMIT:
                cache.clear()
            cache[key] = built
    attrs, specs, sections = built
    return type("GeneratedAnswerForm", (AnswerForm,), {**attrs, "specs": list(specs), "sections": list(sections)})


def _build_fields(frozen, commitments, members, locale, ask_category, comment_max_length,
                  hidden=frozenset(), dont_know=False, optional=False):
    """The unbound fields, their specs and the sections, from the item handlers."""
    ctx = FieldContext(scales=frozen.scales, commitments=list(commitments), locale=locale,
                       comment_max_length=comment_max_length, members=members,
                       dont_know=dont_know, optional=optional)
    attrs, specs, sections = {}, [], []
    if ask_category:
        attrs["category"] = CategoryField(
            _l("You are"), choices=choice_list((c.key, c.label.get(locale)) for c in frozen.categories
                                               if c.key not in hidden),
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
    return attrs, specs, [s for s in sections if s.items]


def collect_answers(form: AnswerForm) -> dict[str, tuple[str | None, str | None, str | None]]:
    """answer key -> (choice, text, scale) for every answered field."""
    answers = {}
    for spec in form.specs:
        value = form[spec.name].data
        if value in (None, "", []):
            continue
        if spec.reasons_for is not None:  # kept only beside a poor answer (survey.questions)
            answered = answers.get(spec.reasons_for)
            if answered is not None and answered[0] in spec.poor:
                answers.update({reason_key(spec.reasons_for, r): (r, None, None) for r in dict.fromkeys(value)})
            continue
        if spec.scale is None:
            answers[spec.answer_key] = (None, value.strip(), None)
        else:
            answers[spec.answer_key] = (value, None, spec.scale)
    return answers
