"""The audit log: who did what to which campaign or unit, and when, newest first."""
from flask import render_template, request
from sqlalchemy import select

from ..db import db
from ..models import AuditEntry
from ..roles import require
from . import bp

PER_PAGE = 100


@bp.get("/audit")
@require("audit.view")
def audit_log():
    """The audit log, 100 entries a page."""
    page = request.args.get("page", 1, type=int)
    entries = db.paginate(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()),
                          page=max(page, 1), per_page=PER_PAGE, error_out=False, count=True)
    return render_template("admin/audit.html", entries=entries)
