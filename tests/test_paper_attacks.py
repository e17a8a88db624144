"""Paper and scanned ballots attacked as a hostile clerk or a confused newcomer would: another
campaign's page code typed into keyboard entry, a ballot's two scans with other marks and a
doubt on the second, a clerk counting from the command line, scans after publishing, scan
records after the scrub (issue 12 and 13's promises, one test per attack)."""
import importlib.util
import random
from pathlib import Path

import cv2
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from survey.db import db
from survey.models import Campaign, PaperBallot, ScanDoubt, ScanFile, ScanPage

from test_omr import UNITS, marked, print_and_render, save_tiff, sim

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def campaign_of(slug="test-2025"):
    return db.session.scalar(select(Campaign).filter_by(slug=slug))


def test_keyboard_entry_refuses_another_campaigns_page_code(app, make_campaign, tmp_path):
    """A USB scanner reads the page code of another campaign's ballot No. 1 (K: its key): the
    clerk must not be shown, and count, this campaign's ballot No. 1."""
    from survey import paper
    from survey.paper.printing import campaign_key
    make_campaign(units=UNITS)
    make_campaign(slug="other-2025", units=[("OTH-001", "别处党委", "general")])
    print_and_render(app, tmp_path, count=1)
    print_and_render(app, tmp_path, count=1, slug="other-2025", name="o")
    with app.app_context(), force_locale("en"):
        mine, other = campaign_of(), campaign_of("other-2025")
        assert paper.parse_serial(mine, f"B:1:P:1/1:K:{campaign_key(mine)}") == 1
        assert paper.parse_serial(mine, "B:1:P:1/1") == 1  # a page printed before campaign keys
        with pytest.raises(paper.PaperError, match="another campaign"):
            paper.parse_serial(mine, f"B:1:P:1/1:K:{campaign_key(other)}")
