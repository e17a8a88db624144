"""One field handler per item kind, looked up in a registry that raises on an unknown kind.

A handler takes (item, context) and returns a list of FieldSpec: the form field name, the key
the answer is stored under, the unbound WTForms field, and the scale it is counted on.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from survey.questions import UnknownItemKind, expand

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


class ChoiceField(RadioField):
    """A radio group whose missing answer is reported once, by the required validator."""

    def pre_validate(self, form):
        if not self.raw_data or self.raw_data == [""]:
            return
        if self.data not in {c.value for c in self.choices}:
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
    return specs


@field_handler("comment")
def comment_field(item, ctx: FieldContext) -> list[FieldSpec]:
    """Free text with a length limit (the item's, or the site's)."""
    limit = item.max_length or ctx.comment_max_length
    validators = _required(item) + [Length(max=limit, message=_l(
        "Please keep this under %(max)d characters.", max=limit))]
    label = item.label.get(ctx.locale)
    field = TextAreaField(label, validators=validators, render_kw={"maxlength": limit, "rows": 3})
    return [FieldSpec(item.key, item.key, field, None, label)]
