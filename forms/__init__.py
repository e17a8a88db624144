"""WTForms forms generated from questionnaire definitions, a fresh class per request."""
from .builder import AnswerForm, build_answer_form, collect_answers
from .fields import FIELD_HANDLERS, UnknownItemKind, field_handler

__all__ = ["AnswerForm", "build_answer_form", "collect_answers", "FIELD_HANDLERS",
           "UnknownItemKind", "field_handler"]
