"""Poor-rating reasons (差评原因) on paper: a ballot whose questionnaire offers them prints a box
per reason after the item, under one heading; double entry and scanned ballots count a reason
ticked beside a poor rating and drop one ticked beside a good rating, as the phone form does; a
reason box left out of an entry (a ballot printed before reasons were printed) is blank."""
from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import cv2
import pytest
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import func, select, update

from survey.db import db
from survey.models import Answer, BallotBatch, Campaign, Response, Tally, Unit
from survey.testing import csrf_from

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("omr_sim", ROOT / "bench/omr_sim.py")
sim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sim)

GOOD = {"attitude": "satisfied", "first_enquiry": "yes", "told_once": "yes", "on_time": "satisfied",
        "asked_favours": "no", "improper_fees": "no"}
REASONS = ["attitude", "slow", "many_trips", "fees"]


@pytest.fixture
def windows(app, make_campaign):
    """Two service windows answered on paper with the window's 好差评 form (government-visit)."""
    cid = make_campaign(slug="gov-2026", units=[("W-1", "一号窗口", "government"), ("W-2", "二号窗口", "government")])
    with app.app_context():
        db.session.execute(update(Unit).where(Unit.campaign_id == cid).values(questionnaire="government-visit"))
        db.session.commit()
        ids = dict(db.session.execute(select(Unit.code, Unit.id).filter_by(campaign_id=cid)).all())
    return cid, ids


def print_ballots(app, cid, path, lang="zh_CN", count=2):
    from survey import paper
    with app.app_context(), force_locale(lang):
        batch = paper.print_ballots(db.session.get(Campaign, cid), path, count, base_url="http://survey.test",
                                    category="applicant", lang=lang)
        return db.session.get(BallotBatch, batch.id).layout


def entry(uid, overall, ticked=(), reasons=True):
    out = {f"{uid}:{k}": v for k, v in GOOD.items()} | {f"{uid}:visit_overall": overall}
    if reasons:
        out |= {f"{uid}:visit_overall:{r}": (r if r in ticked else "!blank") for r in REASONS}
    return out


def reasons_stored(app, cid):
    with app.app_context():
        rows = db.session.execute(select(Unit.code, Answer.item, Answer.choice).join(Response, Answer.response_id == Response.id)
                                  .join(Unit, Unit.id == Response.unit_id).where(Response.campaign_id == cid,
                                                                                Answer.item.like("visit_overall:%"))).all()
    return sorted(tuple(r) for r in rows)


def test_a_ballot_prints_the_reasons_and_double_entry_counts_them_beside_a_poor_rating(app, windows, tmp_path):
    from survey import paper
    cid, ids = windows
    layout = print_ballots(app, cid, tmp_path / "b.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "b.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "第5项评为不满意或非常不满意时，可勾选差评原因（可多选，也可不选）：态度不好、办事慢、多次跑腿、收费不规范" \
        in text.replace("\n", "").replace(" ", "")
    assert "差评原因" in text
    boxes = {(b["unit"], b["item"], b["choice"]) for b in layout["pages"][0]["boxes"] if "unit" in b}
    assert {("W-1", f"visit_overall:{r}", r) for r in REASONS} <= boxes
    w1 = entry(ids["W-1"], "very_dissatisfied", ("slow", "fees"))
    w2 = entry(ids["W-2"], "satisfied", ("slow",))  # a reason beside a good rating: not kept
    with app.app_context(), force_locale("zh_CN"):
        campaign = db.session.get(Campaign, cid)
        assert paper.enter_ballot(campaign, 1, "clerk-a", w1 | w2) == "waiting"
        assert paper.enter_ballot(campaign, 1, "clerk-b", w1 | w2) == "counted"
        # a ballot printed before reasons were printed: its entry has no reason boxes
        old = entry(ids["W-1"], "dissatisfied", reasons=False) | entry(ids["W-2"], "satisfied", reasons=False)
        assert paper.enter_ballot(campaign, 2, "clerk-a", old) == "waiting"
        assert paper.enter_ballot(campaign, 2, "clerk-b", old) == "counted"
        slow = db.session.scalar(select(func.sum(Tally.count)).filter_by(campaign_id=cid, unit_id=ids["W-1"],
                                                                        item="visit_overall:slow", channel="paper"))
        from survey.results import compute
        units = {u.code: u for u in compute(db.session.get(Campaign, cid)).units}
    assert reasons_stored(app, cid) == [("W-1", "visit_overall:fees", "fees"), ("W-1", "visit_overall:slow", "slow")]
    assert slow == 1
    item = next(i for i in units["W-1"].items if i.key == "visit_overall")
    assert item.reason_counts.total == {"slow": 1, "fees": 1}


def test_a_made_up_reason_is_refused_naming_it_and_nothing_is_kept(app, windows, tmp_path):
    from survey import paper
    from survey.models import PaperEntry
    cid, ids = windows
    print_ballots(app, cid, tmp_path / "b.pdf", count=1)
    bad = entry(ids["W-1"], "very_dissatisfied") | entry(ids["W-2"], "satisfied")
    bad[f"{ids['W-1']}:visit_overall:slow"] = "fast"
    with app.app_context(), force_locale("zh_CN"):
        with pytest.raises(paper.PaperError, match="差评原因：办事慢"):
            paper.enter_ballot(db.session.get(Campaign, cid), 1, "clerk-a", bad)
        assert db.session.scalar(select(func.count()).select_from(PaperEntry)) == 0


def test_the_english_ballot_and_the_entry_screen_show_the_reasons_under_one_heading(app, windows, tmp_path,
                                                                                     admin_client):
    cid, ids = windows
    print_ballots(app, cid, tmp_path / "b.pdf", lang="en", count=1)
    text = subprocess.run(["pdftotext", str(tmp_path / "b.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "Reasons for a poor rating on item 5 (Dissatisfied or Very dissatisfied)" in flat, flat
    page = admin_client.get("/admin/campaigns/gov-2026/paper/entry?serial=1").get_data(as_text=True)
    assert page.count('title="差评原因"') == 1  # one heading over the four boxes
    uid = ids["W-1"]
    assert f'name="{uid}:visit_overall:slow" value="slow" data-k="1"' in page
    assert "1. 一号窗口 · 5. 差评原因：办事慢" in page  # where a key goes, as the clerk reads it
    assert "6. 这次办事" in page  # the items after the reasons keep the printed numbers
    # saving by clicking (no script): the reasons count like any answer
    form = entry(uid, "very_dissatisfied", ("many_trips",)) | entry(ids["W-2"], "satisfied")
    response = admin_client.post("/admin/campaigns/gov-2026/paper/entry",
                                 data={"csrf_token": csrf_from(page), "serial": "1", **form})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        from survey.models import PaperEntry
        [kept] = db.session.scalars(select(PaperEntry)).all()
    assert kept.answers["answers"][f"{uid}:visit_overall:many_trips"] == "many_trips"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_scanned_ballot_counts_the_reasons_ticked_beside_a_poor_rating(app, windows, runner, tmp_path):
    cid, ids = windows
    layout = print_ballots(app, cid, tmp_path / "b.pdf", count=1)
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", str(tmp_path / "b.pdf"), str(tmp_path / "p")], check=True)
    [path] = sorted(tmp_path.glob("p-*.png"))
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    page_h = layout["page_size"][1]
    plan = {("W-1", "visit_overall"): "dissatisfied", ("W-1", "visit_overall:many_trips"): "many_trips",
            ("W-1", "visit_overall:attitude"): "attitude", ("W-2", "visit_overall"): "very_satisfied",
            ("W-2", "visit_overall:fees"): "fees"}  # W-2's reason is beside a good rating: not kept
    import random
    rng = random.Random(3)
    for box in layout["pages"][0]["boxes"]:
        if "category" in box:
            chosen = box["category"] == "applicant"
        else:
            want = plan.get((box["unit"], box["item"]), GOOD.get(box["item"]))
            chosen = box["choice"] == want
        if chosen:
            sim.mark_box(image, sim.to_px(box["rect"], 200, page_h), "tick", rng, 200, ink=sim.pen)
    Image.fromarray(image).save(tmp_path / "scan.tif", dpi=(200, 200))
    result = runner.invoke(args=["scan", "gov-2026", str(tmp_path / "scan.tif"), "--count"])
    assert "counted 1 ballots" in result.output, result.output
    assert reasons_stored(app, cid) == [("W-1", "visit_overall:attitude", "attitude"),
                                        ("W-1", "visit_overall:many_trips", "many_trips")]


def test_the_reasons_never_push_a_grid_past_the_margin(app, windows, tmp_path):
    """A long unit name leaves a narrow grid: the item and its reasons move to the next chunk
    together (the reasons were added after the break was decided and ran 16 pt past the right
    margin, under the corner marks' column, on a campaign offering don't know)."""
    cid, ids = windows
    with app.app_context():
        db.session.execute(update(Unit).where(Unit.campaign_id == cid).values(name="行政审批服务中心不动产登记窗口"))
        db.session.get(Campaign, cid).dont_know = True
        db.session.commit()
    layout = print_ballots(app, cid, tmp_path / "b.pdf", count=1)
    width = layout["page_size"][0]
    boxes = [b for p in layout["pages"] for b in p["boxes"] if "unit" in b]
    assert max(b["rect"][0] + b["rect"][2] for b in boxes) <= width - 42 + 0.01
    for code in ids:  # the reasons on the item's own row
        rows = {round(b["rect"][1]) for b in boxes if b["unit"] == code and b["item"].startswith("visit_overall")}
        assert len(rows) == 1


def test_an_entry_saved_before_the_upgrade_agrees_with_one_after_and_can_be_chosen(app, windows, tmp_path):
    """A clerk's entry stored by the previous version has no reason boxes: the second clerk's
    entry of the same ballot (reasons all blank) agrees with it, not a mismatch; and a supervisor
    choosing such an entry counts it (it raised KeyError, a 500)."""
    from survey import paper
    from survey.models import PaperBallot, PaperEntry
    cid, ids = windows
    print_ballots(app, cid, tmp_path / "b.pdf", count=2)
    old = entry(ids["W-1"], "dissatisfied", reasons=False) | entry(ids["W-2"], "satisfied", reasons=False)
    with app.app_context(), force_locale("zh_CN"):
        for serial in (1, 2):  # as the previous version stored a first entry
            db.session.add(PaperBallot(campaign_id=cid, serial=serial, status="pending", clerks=[]))
            db.session.add(PaperEntry(campaign_id=cid, serial=serial, clerk="clerk-a",
                                      answers={"category": "applicant", "answers": old}))
        db.session.commit()
        campaign = db.session.get(Campaign, cid)
        now = entry(ids["W-1"], "dissatisfied") | entry(ids["W-2"], "satisfied")
        assert paper.enter_ballot(campaign, 1, "clerk-b", now) == "counted"
        other = now | {f"{ids['W-2']}:visit_overall": "very_satisfied"}
        assert paper.enter_ballot(campaign, 2, "clerk-b", other) == "mismatch"
        [listed] = paper.mismatches(campaign, "zh_CN")
        assert [label for _u, label, _v in listed.differences] == [listed.differences[0][1]]  # the item only
        assert paper.resolve_ballot(campaign, 2, "super", "clerk-a") == "counted"
        assert db.session.scalar(select(func.count()).select_from(Response).filter_by(campaign_id=cid)) == 4


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_doubtful_reason_box_is_decided_ticked_or_not_never_two_or_more(app, windows, runner, admin_client, tmp_path):
    """A faint stroke in a reason box goes to a person, who sees the box and "none marked": a
    reason is one box, so "two or more marked" is neither offered nor taken."""
    from survey.models import ScanDoubt
    from survey.omr.scans import count_ready
    cid, ids = windows
    layout = print_ballots(app, cid, tmp_path / "b.pdf", count=1)
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", str(tmp_path / "b.pdf"), str(tmp_path / "p")], check=True)
    [path] = sorted(tmp_path.glob("p-*.png"))
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    page_h = layout["page_size"][1]
    plan = {("W-1", "visit_overall"): "dissatisfied", ("W-2", "visit_overall"): "very_satisfied"}
    import random
    rng = random.Random(3)
    for box in layout["pages"][0]["boxes"]:
        if "category" in box:
            chosen = box["category"] == "applicant"
        else:
            chosen = box["choice"] == plan.get((box["unit"], box["item"]), GOOD.get(box["item"]))
        if chosen:
            sim.mark_box(image, sim.to_px(box["rect"], 200, page_h), "tick", rng, 200, ink=sim.pen)
        if box.get("unit") == "W-1" and box["item"] == "visit_overall:slow":  # a short dash: faint
            x, y, w, h = sim.to_px(box["rect"], 200, page_h)
            cv2.line(image, (int(x + w * 0.4), int(y + h * 0.5)), (int(x + w * 0.6), int(y + h * 0.5)), 0, 2)
    Image.fromarray(image).save(tmp_path / "scan.tif", dpi=(200, 200))
    assert "1 doubts" in runner.invoke(args=["scan", "gov-2026", str(tmp_path / "scan.tif")]).output
    with app.app_context():
        [doubt] = db.session.scalars(select(ScanDoubt)).all()
        assert (doubt.item, doubt.reason) == ("visit_overall:slow", "faint")
    page = admin_client.get("/admin/campaigns/gov-2026/scans/review?lang=en").get_data(as_text=True)
    assert 'name="decision" value="slow"' in page and 'name="decision" value="!blank"' in page
    assert 'value="!invalid"' not in page and "two or more marked" not in page
    token = csrf_from(page)
    refused = admin_client.post("/admin/campaigns/gov-2026/scans/review?lang=en",
                                data={"csrf_token": token, "doubt": doubt.id, "decision": "!invalid"})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(ScanDoubt, doubt.id).decision is None
    admin_client.post("/admin/campaigns/gov-2026/scans/review?lang=en",
                      data={"csrf_token": token, "doubt": doubt.id, "decision": "slow"})
    with app.app_context(), force_locale("zh_CN"):
        assert db.session.get(ScanDoubt, doubt.id).decision == "slow"
        count_ready(db.session.get(Campaign, cid), "test")
    assert reasons_stored(app, cid) == [("W-1", "visit_overall:slow", "slow")]


def test_the_english_legend_of_the_reasons_breaks_between_words():
    """The reasons' legend in English follows an em dash: the line broke inside the first
    reason ("— U" / "nfriendly staff"), as a space after a non-Latin character was not taken
    for a place to break a Latin word."""
    from printouts.drawing import wrap
    from printouts.fonts import register_font
    font = register_font()
    text = ("Reasons for a poor rating on item 5 (Dissatisfied or Very dissatisfied): tick any, or none — "
            "Unfriendly staff, Slow service, Had to come back more than once, Irregular fees")
    for width in range(200, 420, 7):
        lines = wrap(text, font, 9, width)
        assert " ".join(lines).split() == text.split(), (width, lines)
    from reportlab.pdfbase.pdfmetrics import stringWidth
    cjk = wrap("第5项评为不满意或非常不满意时，可勾选差评原因：态度不好、办事慢、多次跑腿、收费不规范", font, 9, 60)
    assert len(cjk) > 1 and all(stringWidth(line, font, 9) <= 60 for line in cjk)  # CJK still breaks anywhere
    assert "".join(cjk) == "第5项评为不满意或非常不满意时，可勾选差评原因：态度不好、办事慢、多次跑腿、收费不规范"


def test_clerks_need_not_agree_on_a_reason_that_cannot_count_and_a_filled_reason_box_goes_to_a_person(app, windows,
                                                                                                      tmp_path):
    """A reason beside a good rating never counts, so two clerks who typed it differently agree;
    a lone reason box filled in solid is a tick or a cancelled mark (the ballot's way to correct):
    the reader asks a person rather than guess."""
    from survey import paper
    from survey.omr.marks import decide
    cid, ids = windows
    print_ballots(app, cid, tmp_path / "b.pdf", count=1)
    a = entry(ids["W-1"], "satisfied", ("slow",)) | entry(ids["W-2"], "satisfied")
    b = entry(ids["W-1"], "satisfied") | entry(ids["W-2"], "satisfied", ("fees",))
    with app.app_context(), force_locale("zh_CN"):
        campaign = db.session.get(Campaign, cid)
        assert paper.enter_ballot(campaign, 1, "clerk-a", a) == "waiting"
        assert paper.enter_ballot(campaign, 1, "clerk-b", b) == "counted"
    assert reasons_stored(app, cid) == []
    filled = decide(1, "visit_overall:slow", ["slow"], [0.95], [[0, 0, 10, 10]])
    assert filled.value is None and filled.doubt == "correction?"
    ticked = decide(1, "visit_overall:slow", ["slow"], [0.3], [[0, 0, 10, 10]])
    assert ticked.value == "slow" and ticked.doubt is None
