"""Admin views of campaigns."""
import re

from flask import render_template
from sqlalchemy import select

from ..db import db
from ..models import Campaign
from . import bp

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9\-]{0,59}$")


@bp.get("/")
def index():
    """The list of campaigns with their state."""
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()
    return render_template("admin/index.html", campaigns=campaigns)
