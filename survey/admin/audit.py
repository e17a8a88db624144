"""The audit log: who did what to which campaign or unit, and when, newest first.

Actions are shown in words in the reader's language (the stored key stays beside them for
searching), and times in the office's time zone (SURVEY_TIME_ZONE, default Asia/Shanghai)."""
from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..db import db
from ..models import AuditEntry
from ..roles import require
from . import bp
from .jobs import local_time

PER_PAGE = 100
# roles and other helpers add theirs here: an action without words shows its key
ACTION_LABELS = {
    "campaign.create": _l("created the campaign"), "campaign.edit": _l("changed the campaign's settings"),
    "campaign.open": _l("opened the campaign"), "campaign.close": _l("closed the campaign"),
    "campaign.publish": _l("published the results"), "campaign.withdraw": _l("withdrew the results"),
    "unit.add": _l("added a unit"), "unit.edit": _l("changed a unit"), "unit.delete": _l("deleted a unit"),
    "units.import": _l("imported units"), "comment.hide": _l("hid a comment"), "comment.show": _l("showed a comment again"),
    "user.create": _l("created a user"), "user.login": _l("signed in"), "ballots.print": _l("printed ballots"),
    "paper.tally_sheet": _l("entered a tally sheet"), "job.submit": _l("asked for a printout or export"),
    "remedy.create": _l("created a remedy record"), "remedy.plan": _l("submitted a remedy plan"),
    "remedy.report": _l("reported a remedy done"), "remedy.verify": _l("verified a remedy"),
    "remedy.remind": _l("sent a remedy reminder"),
}


@bp.get("/audit")
@require("audit.view")
def audit_log():
    """The audit log, 100 entries a page."""
    page = request.args.get("page", 1, type=int)
    entries = db.paginate(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()),
                          page=max(page, 1), per_page=PER_PAGE, error_out=False, count=True)
    return render_template("admin/audit.html", entries=entries, labels=ACTION_LABELS, local_time=local_time,
                           zone=current_app.config.get("SURVEY_TIME_ZONE") or "Asia/Shanghai")
