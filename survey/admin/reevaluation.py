"""Admin views that finish a campaign's remedies (docs/remedy.md): the re-evaluation (补课)
button and its before/after page, the remedy ledger (整改台账) downloads, and the office's
calendar of holidays and make-up working days for dates the official calendar does not know.

The remedies page (admin/remedies.py) shows the re-evaluation panel through the template
function ``reevaluation_panel(campaign)`` registered here."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from forms.fields import choice_list
from forms.office import OfficeForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from ..db import db
from ..models import OfficeCalendarDay
from ..reevaluation import ReevaluationError, comparison, create_follow_up, follow_up_of, original_of, remedied_units
from ..remedies import recount_deadlines
from ..roles import current_scope, require
from ..workdays import (
    OFFICE_DAY_LABELS, CalendarError, add_office_day, office_calendar, official_knows, parse_day, remove_office_day,
)
from . import bp
from .audit import ACTION_LABELS
from .campaigns import get_campaign

ACTION_LABELS.update({
    "campaign.reevaluate": _l("made a re-evaluation campaign (补课)"),
    "calendar.add": _l("added a date to the office's calendar"),
    "calendar.remove": _l("removed a date from the office's calendar"),
    "remedy.due": _l("moved a remedy's due date after a calendar change"),
})


class ButtonForm(OfficeForm):
    """A button (CSRF only)."""


class CalendarDayForm(OfficeForm):
    """A date for the office's calendar; the date is checked by survey.workdays."""

    day = StringField(_l("Date (YYYY-MM-DD)"), validators=[Length(max=40)])
    kind = SelectField(_l("Kind"), choices=choice_list(OFFICE_DAY_LABELS.items()))
    note = StringField(_l("Note (e.g. Spring Festival)"), validators=[Optional(), Length(max=200)])


def reevaluation_panel(campaign) -> dict | None:
    """For a campaign's remedies page: its follow-up and the comparison (the user's units only),
    or how many units a re-evaluation would take (a follow-up may have its own, a second round)."""
    follow_up = follow_up_of(campaign)
    rows = current_scope().units(comparison(campaign, follow_up)) if follow_up is not None else []
    return {"follow_up": follow_up, "rows": rows, "ready": len(remedied_units(campaign)),
            "form": ButtonForm(formdata=None)}


@bp.app_context_processor
def _reevaluation_helpers():
    return {"reevaluation_panel": reevaluation_panel, "reevaluation_original": original_of,
            "reevaluation_follow_up": follow_up_of}


@bp.post("/campaigns/<slug>/remedies/reevaluate")
@require("remedy.office")
def remedies_reevaluate(slug):
    """Make the re-evaluation campaign of the units whose remedy is done; once only (a second
    press answers 409 and names the one made)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    campaign = get_campaign(slug)
    try:
        follow_up, made = create_follow_up(campaign, current_user.username)
    except ReevaluationError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _remedies_page(campaign, 409)
    if not made:
        flash(_("This campaign's re-evaluation exists already: %(name)s (%(slug)s).", name=follow_up.name,
                slug=follow_up.slug), "error")
        return _remedies_page(campaign, 409)
    db.session.commit()
    flash(_("Re-evaluation campaign %(slug)s made as a draft with %(n)d unit(s), the same questionnaires and "
            "settings: open it when the units are ready.", slug=follow_up.slug, n=len(follow_up.units)), "ok")
    return redirect(url_for("admin.campaign", slug=follow_up.slug))


def _remedies_page(campaign, status):
    from .remedies import list_page
    body, _status = list_page(campaign, False)
    return body, status


@bp.get("/campaigns/<slug>/reevaluation")
@require("remedy.view")
def reevaluation(slug):
    """Before and after, per unit, for a re-evaluation campaign or the campaign it follows."""
    campaign = get_campaign(slug)
    original = original_of(campaign)
    follow_up = campaign if original is not None else follow_up_of(campaign)
    original = original or campaign
    rows = current_scope().units(comparison(original, follow_up)) if follow_up is not None else []
    return render_template("admin/reevaluation.html", campaign=campaign, original=original, follow_up=follow_up,
                           rows=rows)


@bp.get("/campaigns/<slug>/remedies/ledger.<any(xlsx, pdf):fmt>")
@require("remedy.ledger")
def remedies_ledger(slug, fmt):
    """The remedy ledger (整改台账) in the reader's language, as XLSX or PDF."""
    from ..ledger import MIMETYPES, make_ledger
    campaign = get_campaign(slug)
    lang = "en" if str(get_locale()).startswith("en") else "zh_CN"
    body = make_ledger(campaign, fmt, lang)
    return current_app.response_class(body, mimetype=MIMETYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{campaign.slug}-remedy-ledger-{lang}.{fmt}"',
        "Cache-Control": "no-store"})


# --- the office's calendar ---------------------------------------------------------------------
def calendar_page(form: CalendarDayForm | None = None, status: int = 200):
    days = db.session.scalars(select(OfficeCalendarDay).order_by(OfficeCalendarDay.day)).all()
    import chinese_calendar
    return render_template("admin/calendar.html", days=days, labels=OFFICE_DAY_LABELS,
                           form=form or CalendarDayForm(formdata=None), button=ButtonForm(formdata=None),
                           official_until=max(chinese_calendar.holidays).year,
                           official_knows=official_knows), status


def _moved(moved: list) -> None:
    """Say how many deadlines moved, and name the records a move made overdue at once (a
    make-up working day listed in their window brings their due date forward)."""
    if moved:
        flash(_("%(n)d remedy record(s) still to be done have a new due date on the calendar as it is now "
                "(the audit log has each old and new date).", n=len(moved)), "ok")
    late = [r for r in moved if r.overdue()]
    if late:
        flash(_("Overdue now after the change: %(records)s.", records=_("; ").join(
            _("%(unit)s (%(campaign)s), due %(due)s", unit=r.unit.name, campaign=r.campaign.name, due=r.due_on.isoformat())
            for r in late)), "error")


@bp.get("/calendar")
@require("calendar.manage")
def calendar():
    """The office's calendar: holidays and make-up working days for years the official calendar does not know."""
    return calendar_page()


@bp.post("/calendar/add")
@require("calendar.manage")
def calendar_add():
    """List a date; a bad one is refused with its reason (422) and nothing is stored."""
    form = CalendarDayForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return calendar_page(form, 422)
    before = office_calendar()
    try:
        day = parse_day(form.day.data)
        add_office_day(day, form.kind.data, current_user.username, form.note.data)
    except CalendarError as exc:
        db.session.rollback()
        form.day.errors = [*form.day.errors, str(exc)]
        return calendar_page(form, 422)
    db.session.flush()
    moved = recount_deadlines(before, current_user.username, day)
    db.session.commit()
    flash(_("%(day)s is on the office's calendar: deadlines counted from now on use it.",
            day=form.day.data.strip()), "ok")
    _moved(moved)
    return redirect(url_for("admin.calendar"))


@bp.post("/calendar/<day>/remove")
@require("calendar.manage")
def calendar_remove(day):
    """Take a date off the office's calendar (404 if it is not listed)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        date = parse_day(day)
    except CalendarError:
        abort(404)
    before = office_calendar()
    if not remove_office_day(date, current_user.username):
        abort(404)
    db.session.flush()
    moved = recount_deadlines(before, current_user.username, date)
    db.session.commit()
    flash(_("%(day)s is off the office's calendar.", day=date.isoformat()), "ok")
    _moved(moved)
    return redirect(url_for("admin.calendar"))
