"""Admin views of remedy records (整改单, docs/remedy.md): the campaign's list with an overdue
filter, a record's page, the branch admin's plan and report, the office's verification,
reminders and "create remedy records" before publishing. A branch admin sees only the
records of its units: another unit's record is a 404, whatever the address."""
from __future__ import annotations


from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from forms.office import OfficeForm
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import Length

from ..config import office_today
from ..db import db
from ..models import Remedy
from ..remedies import STATUS_LABELS, RemedyError, create_records, current_owner, remind, take_step
from ..roles import can, current_scope, require
from . import bp
from .campaigns import get_campaign


class RemedyTextForm(OfficeForm):
    """The plan or the report of a remedy record."""

    text = TextAreaField(_l("Text"), validators=[Length(max=20000)])


class RemedyActionForm(OfficeForm):
    """A button on a record or the list (CSRF only)."""


def visible_record(campaign, remedy_id: int) -> Remedy:
    """The record of this campaign with this id, if the user's scope holds its unit; else 404."""
    remedy = db.session.get(Remedy, remedy_id)
    if remedy is None or remedy.campaign_id != campaign.id:
        abort(404)
    if not current_scope().unit(remedy.unit.code, remedy.unit.parent):
        abort(404)
    return remedy


@bp.get("/campaigns/<slug>/remedies")
@require("remedy.view")
def remedies(slug):
    """The campaign's remedy records (the user's units only), all or overdue ones."""
    return list_page(get_campaign(slug), request.args.get("overdue") == "1")


def list_page(campaign, overdue: bool, status: int = 200):
    rows = [r for r in db.session.scalars(select(Remedy).filter_by(campaign_id=campaign.id).order_by(Remedy.id))
            if current_scope().unit(r.unit.code, r.unit.parent)]
    today = office_today()
    if overdue:
        rows = [r for r in rows if r.overdue(today)]
    return render_template("admin/remedies.html", campaign=campaign, rows=rows, overdue=overdue, today=today,
                           labels=STATUS_LABELS, owner=current_owner, form=RemedyActionForm(formdata=None)), status


@bp.post("/campaigns/<slug>/remedies/create")
@require("remedy.office")
def remedies_create(slug):
    """Create the records of the units under the line now (before publishing); idempotent."""
    campaign = get_campaign(slug)
    if not RemedyActionForm().validate_on_submit():
        abort(400)
    if campaign.state not in ("closed", "published"):
        flash(_("Remedy records can be made once the campaign is closed."), "error")
        return list_page(campaign, False, 409)
    made = create_records(campaign, current_user.username)
    db.session.commit()
    flash(_("%(n)d remedy record(s) created.", n=made), "ok")
    return redirect(url_for("admin.remedies", slug=slug))


def record_page(campaign, remedy, status: int = 200):
    from flask_babel import get_locale
    return render_template("admin/remedy.html", campaign=campaign, r=remedy, labels=STATUS_LABELS,
                           owner=current_owner, locale_en=str(get_locale()).startswith("en"),
                           today=office_today(), text_form=RemedyTextForm(formdata=None),
                           form=RemedyActionForm(formdata=None)), status


@bp.get("/campaigns/<slug>/remedies/<int:remedy_id>")
@require("remedy.view")
def remedy(slug, remedy_id):
    """One record: the items, deadline, plan, report, reminders and the step the user may take."""
    campaign = get_campaign(slug)
    return record_page(campaign, visible_record(campaign, remedy_id))


def _step(slug, remedy_id, step):
    form = RemedyTextForm() if step in ("plan", "report") else RemedyActionForm()
    valid = form.validate_on_submit()
    if form.csrf_token.errors:  # checked first: a forged request learns nothing of the records
        abort(400)
    campaign = get_campaign(slug)
    record = visible_record(campaign, remedy_id)
    if not valid:
        flash(_("The text is too long."), "error")
        return record_page(campaign, record, 400)
    try:
        if step == "remind":
            remind(record, current_user.username)
        else:
            take_step(record, step, current_user.username, office=can("remedy.office"),
                      text=form.text.data if step in ("plan", "report") else None)
    except RemedyError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return record_page(campaign, visible_record(campaign, remedy_id), exc.status)
    db.session.commit()
    flash({"plan": _("The plan is submitted."), "report": _("The report is submitted: the remedy is done."),
           "verify": _("The remedy is verified."), "remind": _("The reminder is recorded.")}[step], "ok")
    return redirect(url_for("admin.remedy", slug=slug, remedy_id=remedy_id))


@bp.post("/campaigns/<slug>/remedies/<int:remedy_id>/plan")
@require("remedy.fill")
def remedy_plan(slug, remedy_id):
    """The owner submits the plan: open → plan submitted."""
    return _step(slug, remedy_id, "plan")


@bp.post("/campaigns/<slug>/remedies/<int:remedy_id>/report")
@require("remedy.fill")
def remedy_report(slug, remedy_id):
    """The owner reports what was done: plan submitted → done."""
    return _step(slug, remedy_id, "report")


@bp.post("/campaigns/<slug>/remedies/<int:remedy_id>/verify")
@require("remedy.office")
def remedy_verify(slug, remedy_id):
    """The office verifies: done → verified."""
    return _step(slug, remedy_id, "verify")


@bp.post("/campaigns/<slug>/remedies/<int:remedy_id>/remind")
@require("remedy.office")
def remedy_remind(slug, remedy_id):
    """The office sends (records) a reminder, shown on the record."""
    return _step(slug, remedy_id, "remind")
