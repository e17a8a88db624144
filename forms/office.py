"""The base of every campaign-office form: Flask-WTF (CSRF) with text cleaned on input.

PostgreSQL refuses text holding a NUL character, and no one types one on purpose: every
text field of an office form drops it, so such input is saved without it instead of failing.
"""
from flask_wtf import FlaskForm


def drop_nul(value):
    """Remove NUL characters from text input."""
    return value.replace("\x00", "") if isinstance(value, str) else value


class OfficeForm(FlaskForm):
    """A FlaskForm whose fields all drop NUL characters."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = [*unbound_field.kwargs.get("filters", ()), drop_nul]
            return unbound_field.bind(form=form, filters=filters, **options)
