"""The campaign office's admin: campaigns, units, QR codes, live counts, users, audit log.

Every view needs a signed-in user whose role has the view's permission (survey/roles.py;
a view that declares none is refused to everyone) and whose scope covers the campaign and
unit in the address; every form carries a CSRF token (Flask-WTF). A user who must choose a
new password sees only the password page until they do.
"""
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

from .. import roles

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _signed_in():
    """Every admin page needs a signed-in user with the page's permission."""
    if current_user.must_change_password and request.endpoint != "admin.password":
        return redirect(url_for("admin.password"))
    roles.check_request()


@bp.app_context_processor
def _permissions():
    """Templates show only what the user may do: ``can('paper.enter')``."""
    return {"can": roles.can, "role_labels": roles.ROLE_LABELS, "current_scope": roles.current_scope,
            "scope_text": roles.scope_text}


from . import audit, campaigns, plugins, units  # noqa: E402,F401  (registers the views)
from . import comments  # noqa: E402,F401  (comment moderation)
from . import paper  # noqa: E402,F401  (paper ballots: printouts, double entry, tally sheets)
from . import jobs  # noqa: E402,F401  (print and download in the background)
from . import users  # noqa: E402,F401  (user management, one's own password)
from . import remedies  # noqa: E402,F401  (remedy records, 整改单)
from . import scans  # noqa: E402,F401  (scanned ballots: OMR)
from . import reevaluation  # noqa: E402,F401  (re-evaluation 补课, the remedy ledger, the office's calendar)
