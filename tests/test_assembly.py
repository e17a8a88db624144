"""An evaluation assembly of 300 people rating 20 units: printed from the CLI, counted partly by
double entry and partly from a hand-counted tally sheet, reconciled, and seen in the results."""
import json
import re
import subprocess

from flask_babel import force_locale
import pytest
from sqlalchemy import delete, func, select, update

from survey.db import db
from survey.models import BallotBatch, BallotToken, Campaign, PaperTallyEntry, PaperTallySheet, Unit

from test_paper import ITEMS

UNITS = [(f"U-{n:02d}", f"第{n}村民委员会", "general") for n in range(1, 21)]
WEAK = {"U-01", "U-02", "U-03"}  # the people are not satisfied with these three


def pages_of(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def test_assembly_of_300_rating_20_units(app, runner, make_campaign, tmp_path):
    from survey import paper
    make_campaign(slug="assembly", units=UNITS)
    pdf = tmp_path / "ballots.pdf"
    printed = runner.invoke(args=["ballots", "assembly", "--count", "300", "--category", "resident", "--out", str(pdf)])
    assert printed.exit_code == 0, printed.output

    with app.app_context():
        batch = db.session.scalar(select(BallotBatch))
        assert (batch.count, batch.serial_from, batch.serial_to, batch.category) == (300, 1, 300, "resident")
        assert db.session.scalar(select(func.count()).select_from(BallotToken)) == 300
        units = {u.code: u.id for u in db.session.scalars(select(Unit))}
    per_ballot = pages_of(pdf) // 300
    assert per_ballot == 1 and pages_of(pdf) == 300  # 20 units × 10 items × 3 choices: one grid, one page
    with app.app_context():
        layout = paper.ballot_layout(db.session.scalar(select(BallotBatch)))
    boxes = layout["pages"][0]["boxes"]
    assert len(layout["pages"]) == 1 and len(boxes) == 20 * len(ITEMS) * 3
    assert {(b["unit"], b["item"]) for b in boxes} == {(code, item) for code, _n, _s in UNITS for item in ITEMS}
    width, height = layout["page_size"]
    for b in boxes:  # at least 4 mm, on the page, clear of the corner marks and of each other
        x, y, w, h = b["rect"]
        assert w >= 4 * 72 / 25.4 - 0.01 and h >= 4 * 72 / 25.4 - 0.01
        assert 32 < x and x + w < width - 32 and 32 < y and y + h < height - 32
    rects = sorted(tuple(b["rect"]) for b in boxes)
    assert all(a[0] + a[2] <= c[0] or a[1] + a[3] <= c[1] or c[1] + c[3] <= a[1] for a, c in zip(rects, rects[1:]))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", str(pages_of(pdf) - per_ballot + 1), str(pdf),
                    str(tmp_path / "last")], check=True)
    codes = " ".join(subprocess.run(["zbarimg", "--raw", "-q", str(p)], capture_output=True, text=True).stdout
                     for p in sorted(tmp_path.glob("last-*.png")))
    assert f"B:300:P:{per_ballot}/{per_ballot}:K:" in codes and "/b/" in codes
    pdftext = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "第20村民委员会" in pdftext

    # ballots 1–20: double entry by two clerks; every unit satisfied but the weak ones
    entry = {paper.field_name(uid, item): ("unsatisfied" if code in WEAK else "satisfied")
             for code, uid in units.items() for item in ITEMS}
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        outcomes = [(paper.enter_ballot(campaign, serial, "clerk-a", entry),
                     paper.enter_ballot(campaign, serial, "clerk-b", entry)) for serial in range(1, 21)]
    assert outcomes == [("waiting", "counted")] * 20

    # ballots 21–300 counted by hand: 270 returned, 2 of them wholly invalid
    counts = {}
    for code, uid in units.items():
        marks = (60, 80, 124) if code in WEAK else (200, 50, 14)
        for item in ITEMS:
            counts.update({(uid, item, "satisfied"): marks[0], (uid, item, "basic"): marks[1],
                           (uid, item, "unsatisfied"): marks[2], (uid, item, paper.BLANK): 2,
                           (uid, item, paper.INVALID): 2})
    # ballot 150 was answered by phone first: the box of ballots 21–300 is refused, naming it
    with app.app_context():
        db.session.execute(update(BallotToken).where(BallotToken.serial == 150).values(redeemed=True))
        db.session.commit()
    sheet = paper.TallyCounts(category="resident", issued=280, returned=270, valid=268, invalid=2, counts=counts,
                              box="Box 2", ranges=[(21, 300)])
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        assert paper.enter_tally_sheet(campaign, sheet, "clerk-a") == "waiting"
        with pytest.raises(paper.ReconciliationError) as refused:
            paper.enter_tally_sheet(campaign, sheet, "clerk-b")
        assert "Ballots No. 150 were already answered by phone" in " ".join(refused.value.problems)
        assert db.session.scalar(select(func.count()).select_from(PaperTallySheet)) == 0
        assert db.session.scalar(select(func.count()).select_from(BallotToken).filter_by(redeemed=True)) == 21
    # the box without ballot 150 (269 issued); its phone answer counts on its own
    with app.app_context():
        db.session.execute(update(BallotToken).where(BallotToken.serial == 150).values(redeemed=False))
        db.session.commit()
    sheet.ranges = [(21, 149), (151, 300)]
    sheet.issued = 279
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        db.session.execute(delete(PaperTallyEntry))
        db.session.commit()
        assert paper.enter_tally_sheet(campaign, sheet, "clerk-a") == "waiting"
        assert paper.enter_tally_sheet(campaign, sheet, "clerk-b") == "counted"
        assert db.session.scalar(select(func.count()).select_from(BallotToken).filter_by(redeemed=True)) == 299
        with pytest.raises(paper.PaperError, match="counted on the tally sheet of Box 2"):
            paper.enter_ballot(campaign, 200, "clerk-a", entry)

    exported = runner.invoke(args=["export", "assembly", "--format", "json", "--out", str(tmp_path / "r.json")])
    assert exported.exit_code == 0, exported.output
    results = {u["code"]: u for u in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["units"]}
    assert len(results) == 20
    assert all(u["raters"] == 288 and u["raters_by_channel"] == {"paper": 288} for u in results.values())
    remedy = {code for code, u in results.items() if u["flags"]["must_remedy"]}
    assert remedy == WEAK
    strong = results["U-20"]
    assert strong["valid"] == len(ITEMS) * (20 + 264) and abs(strong["rate"] - (len(ITEMS) * (20 + 250)) / strong["valid"]) < 1e-9
    record = runner.invoke(args=["reconciliation", "assembly", "--out", str(tmp_path / "record.pdf")])
    assert record.exit_code == 0, record.output
    assert ("issued 300, returned 290, valid 288, invalid 2, blank 0, by phone 0, not returned 10"
            in record.output)  # ballot 150 was handed out but neither returned nor answered
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "record.pdf"), "-"], capture_output=True,
                          text=True).stdout
    assert "计票结果报告单" in text and "计票人" in text and "监票人" in text and "Box 2" in text
    report = runner.invoke(args=["report", "assembly", "--out", str(tmp_path / "report.pdf")])
    assert report.exit_code == 0, report.output
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True).stdout
    assert all(f"第{n}村民委员会" in text for n in (1, 2, 3))
