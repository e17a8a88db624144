"""Comment moderation: an admin hides a resident's comment from reports, giving a reason.

A hidden comment stays stored and its answer stays counted; it is only left out of what
the campaign shows (the report's comment appendix). Hiding and showing again are audited.
"""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from forms.office import OfficeForm
from sqlalchemy import func, select
from wtforms import HiddenField, StringField
from wtforms.validators import InputRequired, Length

from ..db import db
from ..models import Answer, Response, audit
from ..models import CommentModeration
from ..results import comments_query
from ..roles import require
from . import bp
from .campaigns import get_campaign

PAGE_SIZE = 50


class CommentForm(OfficeForm):
    """Which comment: a response id and an item key (plus the CSRF token)."""

    response_id = HiddenField(validators=[InputRequired(), Length(max=32)])
    item = HiddenField(validators=[InputRequired(), Length(max=60)])


class HideForm(CommentForm):
    """Hide a comment, with the reason recorded."""

    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(max=200)])


@bp.get("/campaigns/<slug>/comments")
@require("comments.view")
def comments(slug):
    """A campaign's comments, a page at a time, optionally one unit's, with hide/show buttons."""
    campaign = get_campaign(slug)
    units = {u.id: u for u in campaign.units}
    unit = next((u for u in units.values() if u.code == request.args.get("unit")), None)
    page = max(1, request.args.get("page", 1, type=int))
    query = comments_query(campaign.id, unit.id if unit else None)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("admin/comments.html", campaign=campaign, units=units, unit=unit, rows=rows,
                           page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total,
                           hide_form=HideForm(), show_form=CommentForm())


def _comment_of(campaign, form) -> Answer | None:
    """The comment the form names, if it belongs to this campaign."""
    return db.session.scalar(
        select(Answer).join(Response, Response.id == Answer.response_id)
        .where(Response.campaign_id == campaign.id, Answer.response_id == form.response_id.data,
               Answer.item == form.item.data, Answer.text.is_not(None)))


def _back(campaign):
    return redirect(url_for(".comments", slug=campaign.slug, unit=request.args.get("unit"),
                            page=request.args.get("page")), code=303)


@bp.post("/campaigns/<slug>/comments/hide")
@require("comments.moderate")
def comment_hide(slug):
    """Hide a comment from reports; it stays counted."""
    campaign = get_campaign(slug)
    form = HideForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for hiding the comment."), "error")
        return _back(campaign)
    answer = _comment_of(campaign, form)
    if answer is None:
        flash(_("No such comment in this campaign."), "error")
        return _back(campaign)
    key = (answer.response_id, answer.item)
    row = db.session.get(CommentModeration, key)
    if row is None:
        row = CommentModeration(response_id=key[0], item=key[1])
        db.session.add(row)
    row.reason, row.hidden_by = form.reason.data.strip(), current_user.username
    audit(current_user.username, "comment.hide", campaign.slug, item=answer.item, reason=row.reason)
    db.session.commit()
    flash(_("The comment is hidden from reports."), "ok")
    return _back(campaign)


@bp.post("/campaigns/<slug>/comments/show")
@require("comments.moderate")
def comment_show(slug):
    """Show a hidden comment again."""
    campaign = get_campaign(slug)
    form = CommentForm()
    answer = _comment_of(campaign, form) if form.validate_on_submit() else None
    row = db.session.get(CommentModeration, (answer.response_id, answer.item)) if answer else None
    if row is not None:
        db.session.delete(row)
        audit(current_user.username, "comment.show", campaign.slug, item=answer.item)
        db.session.commit()
        flash(_("The comment is shown again."), "ok")
    return _back(campaign)

