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


def _faint(image, layout, reading):
    """A faint pencil stroke in a box read empty, of an item read clearly with no corrections
    (reading: the first copy's, as stored): the kind of mark the reader must send to a person.
    Returns (unit id, item)."""
    item = next(i for i in reading["items"] if i["doubt"] is None and max(i["ratios"]) < 0.7
                and min(i["ratios"]) < 0.005)
    n = min(range(len(item["ratios"])), key=lambda k: item["ratios"][k])
    box = next(b for b in layout["pages"][0]["boxes"] if "item" in b and (b["unit_id"], b["item"], b["choice"])
               == (item["unit_id"], item["item"], item["choices"][n]))
    x, y, w, h = sim.to_px(box["rect"], 200, layout["page_size"][1])
    cv2.line(image, (int(x + w * 0.35), int(y + h * 0.5)), (int(x + w * 0.62), int(y + h * 0.55)), 100, 2)
    return item["unit_id"], item["item"]


def test_the_copy_chosen_of_a_page_scanned_twice_has_its_own_doubts_decided(app, make_campaign, runner, tmp_path):
    """Ballots 1 and 2 are scanned twice, each second copy with a faint stroke the first lacks.
    For ballot 1 a person chooses the second copy: its faint item is a doubt like any other and
    must reach a person before the ballot counts (not be counted blank, nor the ballot refused
    for an item 'not entered'). For ballot 2 the first copy is chosen: the doubt of the copy set
    aside is no longer asked and the ballot counts."""
    from survey.omr import scans
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=2)
    images, truth = marked(pages, layout, seed=7, per_ballot=1, ink=sim.pen)
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff(images, tmp_path / "a.tif"))]).exit_code == 0
    with app.app_context():
        readings = [db.session.scalar(select(ScanPage.reading).filter_by(serial=n)) for n in (1, 2)]
    seconds = [image.copy() for image in images]
    faint = [_faint(seconds[n], layout, readings[n]) for n in range(2)]
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff(seconds, tmp_path / "b.tif"))]).exit_code == 0
    with app.app_context(), force_locale("en"):
        campaign = campaign_of()
        one, two = db.session.scalars(select(ScanDoubt).filter_by(reason="duplicate_differs")
                                      .order_by(ScanDoubt.serial)).all()
        scans.decide(campaign, one.id, str(one.choices[-1]), "clerk-a")  # ballot 1: the second copy
        scans.decide(campaign, two.id, str(two.choices[0]), "clerk-a")   # ballot 2: the first copy
        left = db.session.scalars(select(ScanDoubt).where(*scans.undecided(campaign.id))).all()
        assert [(d.serial, d.page_id, d.unit_id, d.item) for d in left] == [(1, one.choices[-1], *faint[0])]
        assert [s.status for s in scans.ballots(campaign)] == ["waiting", "ready"]
        scans.decide(campaign, left[0].id, truth[(1, *faint[0])], "clerk-a")
        assert scans.count_ready(campaign, "sup") == {"counted": [1, 2], "refused": {}}
