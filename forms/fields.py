"""One field handler per item kind, looked up in a registry that raises on an unknown kind.

A handler takes (item, context) and returns a list of FieldSpec: the form field name, the key
the answer is stored under, the unbound WTForms field, and the scale it is counted on.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from survey.questions import UnknownItemKind, expand, poor_choices

__all__ = ["UnknownItemKind", "FIELD_HANDLERS", "handler_for", "field_handler", "choice_list"]


@dataclass
class FieldContext:
    """What a handler may need beyond the item: scales, the unit, the locale, limits."""

    scales: dict
    commitments: list
    locale: str
    comment_max_length: int
    members: tuple = ()
    dont_know: bool = False   # offer "don't know" on every rated question (campaign setting)
    optional: bool = False    # rated questions may be left unanswered (campaign setting)


@dataclass
class FieldSpec:
    """A generated field and where its answer goes."""

    name: str
    answer_key: str
    field: object
    scale: str | None
    label: str
    # a choice with poor-rating reasons: the name of its reasons field, and its poor choices
    reasons: str | None = None
    poor: frozenset = frozenset()
    # a reasons field: the answer key of the choice whose poor answer it explains
    reasons_for: str | None = None


class ChoiceField(RadioField):
    """A radio group whose missing answer is reported once, by the required validator."""

    def pre_validate(self, form):
        if not self.raw_data or self.raw_data == [""]:
            return
        if self.data not in {c.value for c in self.choices}:
            raise ValidationError(_l("Please pick one of the choices shown."))


class ReasonsField(SelectMultipleField):
    """The poor-rating reasons of a choice item (差评原因): optional tick boxes, any number."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        offered = {c.value for c in self.choices}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError(_l("Please pick one of the choices shown."))


FIELD_HANDLERS = {}


def choice_list(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def field_handler(kind: str):
    """Register the handler for an item kind."""
    def register(func):
        FIELD_HANDLERS[kind] = func
        return func
    return register


def handler_for(kind: str):
    """The handler for an item kind; an unknown kind is an error, never a silent skip."""
    try:
        return FIELD_HANDLERS[kind]
    except KeyError:
        raise UnknownItemKind(f"no field handler for item kind {kind!r}") from None


def _required(item):
    if item.required:
        return [InputRequired(message=_l("Please answer this question."))]
    return [Optional()]


def _radio(label, choices, locale, validators, help_text=None):
    choices = choice_list((c.key, c.label.get(locale)) for c in choices)
    return ChoiceField(label, choices=choices, validators=validators, description=help_text or "")


@field_handler("choice")
@field_handler("yesno")
@field_handler("incidence")
@field_handler("commitments")
@field_handler("members")
def rated_fields(item, ctx: FieldContext) -> list[FieldSpec]:
    """One radio group per rated question of the item (survey.questions says which)."""
    help_text = item.help.get(ctx.locale) if item.help else None
    specs = []
    validators = [Optional()] if ctx.optional else _required(item)
    questions = expand(item, ctx.scales, ctx.commitments, ctx.members)
    for number, question in enumerate(questions):
        question = replace(question, dont_know=ctx.dont_know)
        label = question.label.get(ctx.locale)
        # the item's help goes with its own question, or the first of a member list (the criteria)
        shown_help = question.key == item.key or (item.kind == "members" and number == 0)
        field = _radio(label, question.choices, ctx.locale, validators, help_text if shown_help else None)
        specs.append(FieldSpec(question.key, question.key, field, question.scale.key, label))
        if item.kind == "choice" and item.poor_reasons:
            specs += _reasons(item, question, ctx, specs[-1])
    return specs


def _reasons(item, question, ctx: FieldContext, choice: FieldSpec) -> list[FieldSpec]:
    """The optional reasons field shown with a choice item's poor choices (no script needed)."""
    name = f"{question.key}:reasons"
    label = str(_l("If you rated it poorly, why? (optional, tick any)"))
    field = ReasonsField(label, choices=choice_list((r.key, r.label.get(ctx.locale)) for r in item.poor_reasons),
                         validators=[Optional()])
    choice.reasons, choice.poor = name, poor_choices(question.scale)
    return [FieldSpec(name, name, field, None, label, reasons_for=question.key, poor=choice.poor)]


@field_handler("comment")
def comment_field(item, ctx: FieldContext) -> list[FieldSpec]:
    """Free text with a length limit (the item's, or the site's)."""
    limit = item.max_length or ctx.comment_max_length
    validators = _required(item) + [Length(max=limit, message=_l(
        "Please keep this under %(max)d characters.", max=limit))]
    label = item.label.get(ctx.locale)
    field = TextAreaField(label, validators=validators, render_kw={"maxlength": limit, "rows": 3})
    return [FieldSpec(item.key, item.key, field, None, label)]
