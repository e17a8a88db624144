"""The campaign office's admin: campaigns, units, QR codes, live counts, audit log.

Every view needs a signed-in admin; every form carries a CSRF token (Flask-WTF).
"""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _signed_in():
    """Every admin page needs a signed-in user."""


from . import audit, campaigns, plugins, units  # noqa: E402,F401  (registers the views)
from . import comments  # noqa: E402,F401  (comment moderation)
from . import paper  # noqa: E402,F401  (paper ballots: printouts, double entry, tally sheets)
from . import scans  # noqa: E402,F401  (scanned ballots: OMR)
