"""Paper and scanned ballots attacked as a hostile clerk or a confused newcomer would: another
campaign's page code typed into keyboard entry, a ballot's two scans with other marks and a
doubt on the second, a clerk counting from the command line, scans after publishing, scan
records after the scrub (issue 12 and 13's promises, one test per attack)."""
from pathlib import Path

import cv2
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from survey.db import db
from survey.models import Campaign, PaperBallot, ScanDoubt, ScanFile, ScanPage

from test_browser import live_server  # noqa: F401 (a fixture; browser is the session's, in conftest)
from test_omr import UNITS, marked, print_and_render, save_tiff, sim

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])  # the rules are the same on both; PostgreSQL adds time


def campaign_of(slug="test-2025"):
    return db.session.scalar(select(Campaign).filter_by(slug=slug))


@SQLITE
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


@SQLITE
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


@SQLITE
def test_a_clerk_cannot_count_scanned_ballots_from_the_command_line(app, make_campaign, runner, tmp_path,
                                                                   monkeypatch):
    """Counting scanned ballots is a supervisor's or the office's (the admin's Count button
    needs paper.resolve); `SURVEY_USER=<a clerk> survey scan … --count` must not count either.
    A clerk may still read files (scan); what the command does is audited under their name."""
    from survey.auth import create_user
    from survey.models import AuditEntry as AuditLog
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=1)
    images, _truth = marked(pages, layout, seed=9, per_ballot=1, ink=sim.pen)
    scan = save_tiff(images, tmp_path / "s.tif")
    with app.app_context():
        create_user("clerk-a", "correct-horse-battery", "clerk", campaigns=[campaign_of()])
        create_user("sup-a", "correct-horse-battery", "supervisor", campaigns=[campaign_of()])
    monkeypatch.setenv("SURVEY_USER", "clerk-a")
    refused = runner.invoke(args=["scan", "test-2025", str(scan), "--count"])
    assert refused.exit_code == 1 and "paper.resolve" in refused.output, refused.output
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(PaperBallot))
        assert not db.session.scalar(select(func.count()).select_from(ScanFile))  # refused before reading
    assert runner.invoke(args=["scan", "test-2025", str(scan)]).exit_code == 0  # reading is a clerk's job
    monkeypatch.setenv("SURVEY_USER", "sup-a")
    counted = runner.invoke(args=["scan", "test-2025", str(scan), "--count"])
    assert counted.exit_code == 0 and "counted 1 ballots" in counted.output, counted.output
    with app.app_context():
        actors = dict(db.session.execute(select(AuditLog.action, AuditLog.actor)
                                         .where(AuditLog.action.in_(("scan.upload", "scan.count")))).all())
    assert actors == {"scan.upload": "clerk-a", "scan.count": "sup-a"}


@SQLITE
def test_no_scan_is_taken_once_the_campaign_is_published(app, admin_client, make_campaign, runner, tmp_path):
    """Publishing ends counting: a scanner's file given afterwards (command line or admin) is
    refused with the campaign's state, and no page of it is kept (per-ballot records made
    after the count is final would outlive every purpose)."""
    from survey.campaigns import transition
    from survey.registry import current_registry
    from survey.testing import csrf_from
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=1)
    images, _truth = marked(pages, layout, seed=9, per_ballot=1, ink=sim.pen)
    scan = save_tiff(images, tmp_path / "s.tif")
    with app.app_context():
        for action in ("close", "publish"):
            transition(campaign_of(), action, current_registry(), "test")
        db.session.commit()
    result = runner.invoke(args=["scan", "test-2025", str(scan), "--count"])
    assert result.exit_code == 1 and "published" in result.output, result.output
    page = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
    with open(scan, "rb") as f:
        response = admin_client.post("/admin/campaigns/test-2025/scans", data={
            "csrf_token": csrf_from(page), "files": (f, "s.tif")}, content_type="multipart/form-data")
    assert response.status_code == 409 and "已公布" in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(ScanFile))
        assert not db.session.scalar(select(func.count()).select_from(ScanPage))
    assert not list((Path(app.instance_path) / "scans").glob("upload-*"))


@SQLITE
def test_the_read_report_is_gone_after_the_scrub_files_too(app, admin_client, make_campaign, runner, tmp_path):
    """The read report ties a ballot's serial to its marks; issue 13 says it goes with the
    campaign's other per-ballot records at the scrub. A ballot counted by keyboard and then
    scanned keeps nothing of its marks after a scrub (like a counted scan); once the campaign is
    published (its count final) the scrub leaves no scan record at all, no page image, and no
    upload left in the instance's scans folder by a read that never finished."""
    import re as regex

    from survey import paper
    from survey.anonymity import scrub
    from survey.campaigns import transition
    from survey.registry import current_registry
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=3)
    images, _truth = marked(pages, layout, seed=13, per_ballot=1, ink=sim.pen)
    with app.app_context(), force_locale("en"):  # ballot 2 is counted by keyboard before it is scanned
        campaign = campaign_of()
        form = paper.ballot_form(campaign, 2, "en")
        entry = {paper.field_name(b.unit_id, q.key): "satisfied" for b in form.blocks for q in b.questions}
        paper.enter_ballot(campaign, 2, "clerk-a", entry)
        assert paper.enter_ballot(campaign, 2, "clerk-b", entry) == "counted"
    blurred = cv2.GaussianBlur(images[0], (61, 61), 20)  # a page no one can read: kept as an image
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff([*images[:2], blurred], tmp_path / "s.tif")),
                               "--count"]).exit_code == 0
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff(images[2:], tmp_path / "t.tif"))]).exit_code == 0
    stuck = Path(app.instance_path) / "scans"
    stuck.mkdir(exist_ok=True)
    with app.app_context():
        cid = campaign_of().id
    (stuck / f"upload-c{cid}-0123456789abcdef.tif").write_bytes(b"II*\x00 a read the server never finished")
    (stuck / "upload-c999-0123456789abcdef.tif").write_bytes(b"II*\x00 another campaign's")

    def report():
        return admin_client.get("/admin/campaigns/test-2025/scans/report?format=json").get_json()
    before = {b["serial"]: b for b in report()["ballots"]}
    assert before[2]["ballot"] == "counted" and before[2]["items"]  # what was read on it, before the scrub
    with app.app_context():
        scrub(cid)
    after = {b["serial"]: b for b in report()["ballots"]}
    assert not after[2]["items"] and after[3]["items"]  # ballot 3 is still to count (read, not counted)
    with app.app_context():
        transition(campaign_of(), "close", current_registry(), "test")
        transition(campaign_of(), "publish", current_registry(), "test", leave_uncounted=True)
        db.session.commit()
        assert campaign_of().scrubbed_at is None  # a scrub is due, to take the deleted rows' traces too
        scrub(cid)
        for table in (ScanFile, ScanPage, ScanDoubt):
            assert not db.session.scalar(select(func.count()).select_from(table)), table
    assert report() == {"campaign": "test-2025", "ballots": [], "unreadable": []}
    assert sorted(p.name for p in stuck.iterdir()) == ["upload-c999-0123456789abcdef.tif"]
    database = (Path(app.instance_path) / "survey.sqlite").read_bytes()
    assert not regex.search(rb'"ratios"', database) and b"\x89PNG" not in database


@SQLITE
def test_a_pdf_page_metres_wide_is_refused_before_it_is_rendered(app, make_campaign, runner, tmp_path):
    """A PDF of one 1.76 m square page: pdftoppm would render 434 million pixels (860 MB, 14 s)
    and the reader then decode them; it is refused by name, with the page's size, and no file
    is recorded."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R 4 0 R]/Count 2>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 5000 5000]>>"]
    pdf, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj%s endobj\n" % (n, body)
    xref = len(pdf)
    pdf += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer<</Size 5/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref
    (tmp_path / "poster.pdf").write_bytes(pdf)
    make_campaign(units=UNITS)
    print_and_render(app, tmp_path, count=1)
    result = runner.invoke(args=["scan", "test-2025", str(tmp_path / "poster.pdf")])
    assert result.exit_code == 1 and "poster.pdf: page 2 measures 1764 × 1764 mm" in result.output, result.output
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(ScanFile))


def test_a_long_tiff_is_read_page_by_page_not_all_at_once(tmp_path):
    """A scanner's TIFF of hundreds of pages (300 dpi A4: 8.7 MB a page once decoded) must not
    be decoded whole before the first page is read: 300 pages would take 2.6 GB. Measured on 40
    small pages: at most a few pages are held at a time."""
    import tracemalloc

    import numpy as np
    from PIL import Image

    from survey.omr import images
    frames = [Image.fromarray(np.full((700, 500), 200 + n % 50, dtype=np.uint8)) for n in range(40)]
    frames[0].save(tmp_path / "long.tif", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    tracemalloc.start()
    try:
        seen = [(n, int(page[0, 0])) for n, page in images.pages(tmp_path / "long.tif")]
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == [(n + 1, 200 + n % 50) for n in range(40)]
    assert peak < 10 * 700 * 500, f"{peak / (700 * 500):.0f} pages held at once"


def test_ballot_ranges_typed_with_spaces_around_the_dash():
    """A clerk copies "21 - 300" (or "21 至 300") as written on the box: it is the range 21–300,
    not the refusal “21 -” is not a number."""
    from survey.paper.tally_sheets import parse_ranges
    problems = []
    assert parse_ranges(" 21 - 300 , 305  310 – 320；330 至 331", problems) == [(21, 300), (305, 305), (310, 320),
                                                                               (330, 331)]
    assert problems == []
    assert parse_ranges("21 -", problems) == [] and "21-" in problems[0]


@SQLITE
def test_the_read_report_and_review_name_things_as_printed_in_the_readers_language(app, admin_client, make_campaign,
                                                                                  runner, tmp_path):
    """The read report showed answer keys (leadership, satisfied), page states (doubt, read)
    and file ids, and an unidentified page's reason in English only, in the Chinese admin. Now
    items and choices are named as printed, states and reasons in the reader's language, and
    the file by its name."""
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=1)
    images, truth = marked(pages, layout, seed=3, per_ballot=1, ink=sim.pen)
    blurred = cv2.GaussianBlur(images[0], (61, 61), 20)
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff([images[0], blurred], tmp_path / "s.tif"))]
                         ).exit_code == 0  # the command line reads in English: its reasons are stored so
    page = save_tiff([blurred], tmp_path / "zh.tif")  # uploaded in the Chinese admin: the reason in Chinese
    form = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
    from survey.testing import csrf_from
    with open(page, "rb") as f:
        assert admin_client.post("/admin/campaigns/test-2025/scans", data={
            "csrf_token": csrf_from(form), "files": (f, "第二批.tif")}, content_type="multipart/form-data").status_code == 302
    import time
    for _ in range(120):
        with app.app_context():
            if db.session.scalar(select(ScanFile.state).filter_by(name="第二批.tif")) == "read":
                break
        time.sleep(0.25)
    zh = admin_client.get("/admin/campaigns/test-2025/scans/report").get_data(as_text=True)
    assert "满意" in zh and "领导班子" in zh and "已读取" in zh, zh
    for key in (">satisfied<", ">leadership<", "· read", "· doubt"):
        assert key not in zh, key
    assert "第二批.tif" in zh and "本页上读不出测评票页码" in zh
    admin_client.set_cookie("lang", "en")
    en = admin_client.get("/admin/campaigns/test-2025/scans/report").get_data(as_text=True)
    assert "Satisfied" in en and ">satisfied<" not in en and "s.tif, page 2: no ballot page code" in en


@SQLITE
@pytest.mark.browser
def test_paper_and_scan_pages_fit_a_phone(app, make_campaign, runner, live_server, browser, tmp_path):  # noqa: F811
    """At 360 px, in English (longer words) and Chinese, the campaign list, the paper ballots
    page (its batches table), the scanned ballots page (its summary: the counts stood off the
    screen's edge), the review and the read report scroll only inside their tables' boxes."""
    from survey.auth import create_user
    from survey.testing import ADMIN_PASSWORD, ADMIN_USER
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=2)
    images, _truth = marked(pages, layout, seed=3, per_ballot=1, ink=sim.pen)
    _faint(images[0], layout, {"items": [{"unit_id": b["unit_id"], "item": b["item"], "doubt": None,
                                          "ratios": [0.0] * 3, "choices": [b["choice"]] * 3}
                                         for b in layout["pages"][0]["boxes"] if "item" in b][:1]})
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff(images, tmp_path / "s.tif"))]).exit_code == 0
    with app.app_context():
        create_user(ADMIN_USER, ADMIN_PASSWORD)
    wide = []
    for lang in ("en", "zh_CN"):
        context = browser.new_context(viewport={"width": 360, "height": 740})
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
        page = context.new_page()
        page.goto(f"{live_server}/admin/login")
        page.fill("input[name=username]", ADMIN_USER)
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url("**/admin/")
        for path in ("/admin/", "/admin/campaigns/test-2025/paper/", "/admin/campaigns/test-2025/scans",
                     "/admin/campaigns/test-2025/scans/review", "/admin/campaigns/test-2025/scans/report"):
            page.goto(live_server + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide.append((lang, path, width))
                page.screenshot(path=str(tmp_path / f"{lang}-{path.strip('/').replace('/', '-')}.png"), full_page=True)
        context.close()
    assert not wide, wide


@SQLITE
def test_a_read_stopped_by_a_restart_is_resumed_not_taken_as_read(app, admin_client, make_campaign, runner, tmp_path):
    """The server reading an upload is restarted after page 1 of 2 (its thread dies with it):
    the file stayed 'reading' for ever, the page refreshed itself for ever, publishing went
    ahead, and uploading the file again answered 'read before' — page 2 was never read. Now the
    page says where it stopped, publishing names it, and the same file again reads page 2
    only."""
    import datetime as dt

    from survey.paper import left_uncounted
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=2)
    images, _truth = marked(pages, layout, seed=5, per_ballot=1, ink=sim.pen)
    scan = save_tiff(images, tmp_path / "s.tif")
    assert runner.invoke(args=["scan", "test-2025", str(scan)]).exit_code == 0
    with app.app_context():  # what a process killed after page 1 leaves in the database
        db.session.execute(ScanPage.__table__.delete().where(ScanPage.position == 2))
        row = db.session.scalar(select(ScanFile))
        row.state, row.pages_read = "reading", 1
        row.read_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=10)
        db.session.commit()
        with force_locale("en"):
            assert any("s.tif (1/2)" in line for line in left_uncounted(campaign_of()))
    page = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and "读到第1页（共2页）时中断" in page
    again = runner.invoke(args=["scan", "test-2025", str(scan), "--count"])
    assert again.exit_code == 0 and "1 pages, 1 read" in again.output and "counted 2 ballots" in again.output, \
        again.output
    with app.app_context():
        row = db.session.scalar(select(ScanFile))
        assert (row.state, row.pages_read, row.read_at) == ("read", 2, None)
        assert sorted(db.session.scalars(select(ScanPage.position))) == [1, 2]  # page 1 not read twice
        assert not left_uncounted(campaign_of())


@SQLITE
def test_the_reconciliation_record_counts_scanned_ballots_not_yet_counted_as_returned(app, make_campaign, runner,
                                                                                     tmp_path):
    """Three ballots are scanned, one counted, one waiting for a person's decision, one read
    and not counted yet: the record to be signed said 2 of them were 'not returned'. They were
    handed back: returned, waiting."""
    from survey import paper
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=5)
    images, _truth = marked(pages, layout, seed=17, per_ballot=1, ink=sim.pen)
    first = str(save_tiff(images[:1], tmp_path / "a.tif"))
    assert runner.invoke(args=["scan", "test-2025", first]).exit_code == 0
    with app.app_context():
        reading = db.session.scalar(select(ScanPage.reading).filter_by(serial=1))
    assert "counted 1 ballots" in runner.invoke(args=["scan", "test-2025", first, "--count"]).output
    _faint(images[1], layout, reading)  # ballot 2: a doubt (ballot 1's marks found an empty box)
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff(images[1:3], tmp_path / "b.tif"))]).exit_code == 0
    with app.app_context(), force_locale("en"):
        record = paper.reconciliation(campaign_of())
        assert (record.issued, record.returned, record.valid, record.waiting, record.not_returned) == (5, 3, 1, 2, 2)
        assert record.batches[0].unaccounted == 2


@SQLITE
def test_upload_names_with_a_nul_byte_or_no_name_are_named_safely(app, admin_client, make_campaign, tmp_path):
    """An upload named with a NUL byte answered 500 ('embedded null byte'); one named 'x.png/'
    was listed with no name at all; control characters were kept in the name shown and
    audited. Every such file is read under a clean name, and nothing is left on disk."""
    from survey.testing import csrf_from
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=1)
    ok, png = cv2.imencode(".png", pages[0])
    for n, name in enumerate(["scan.ti\x00f", "x.png/", "a\x1b[31mred\x07.png", "..\\..\\b.png"]):
        form = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
        import io
        response = admin_client.post("/admin/campaigns/test-2025/scans", data={
            "csrf_token": csrf_from(form), "files": (io.BytesIO(png.tobytes() + bytes([n])), name)},
            content_type="multipart/form-data")
        assert response.status_code == 302, (name, response.status_code)
    import time
    for _ in range(120):
        with app.app_context():
            if not db.session.scalar(select(func.count()).select_from(ScanFile).where(ScanFile.state != "read")):
                break
        time.sleep(0.25)
    with app.app_context():
        names = sorted(db.session.scalars(select(ScanFile.name)))
    assert names == ["....b.png", "a[31mred.png", "scan", "scan.tif"], names
    assert not list((Path(app.instance_path) / "scans").iterdir())


@SQLITE
def test_the_same_file_given_twice_at_the_same_moment_is_read_once(app, make_campaign, tmp_path):
    """Two clerks upload the same scanner file at once: the second insert of its row hit the
    unique (campaign, SHA-256) and failed (a 500 in the admin). One of them records it, the
    other is told it is known."""
    import threading

    from survey.omr import scans
    make_campaign(units=UNITS)
    pages, _layout = print_and_render(app, tmp_path, count=1)
    path = tmp_path / "same.pdf"  # a PDF: its pages are counted by pdfinfo, between the look-up and the insert
    from PIL import Image
    Image.fromarray(pages[0]).save(path, resolution=200)
    start, results, errors = threading.Barrier(2), [], []

    def give(who):
        try:
            with app.app_context():
                start.wait()
                results.append(scans.add_file(campaign_of(), path, "same.pdf", who)[1])
        except Exception as exc:  # what the admin would have answered with a 500
            errors.append(exc)
    threads = [threading.Thread(target=give, args=(who,)) for who in ("clerk-a", "clerk-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results) == [False, True]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScanFile)) == 1


@SQLITE
def test_two_clerks_entering_the_same_tally_sheet_at_once(app, make_campaign, tmp_path):
    """Clerks A and B press Save on the same box's sheet at the same moment, with the same
    numbers: neither fails, and the sheet is counted once (not left as two 'waiting' entries
    listed for a supervisor as differing, with no difference to show)."""
    import threading

    from survey import paper
    from survey.models import PaperTallySheet
    from test_paper import UNITS as TWO_UNITS
    from test_paper import enter_sheet, more_ballots, sheet
    make_campaign(units=TWO_UNITS)
    print_and_render(app, tmp_path, count=3)
    more_ballots(app, tmp_path)
    start, results, errors = threading.Barrier(2), [], []

    def save(clerk):
        try:
            start.wait()
            results.append(enter_sheet(app, sheet(app), clerk)[0])
        except Exception as exc:  # a 500 in the admin
            errors.append(exc)
    threads = [threading.Thread(target=save, args=(c,)) for c in ("clerk-a", "clerk-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors or all(isinstance(e, paper.PaperError) for e in errors), errors
    with app.app_context(), force_locale("en"):
        campaign = campaign_of()
        if errors:  # told to save again: then it counts
            assert "same moment" in str(errors[0])
            results.append(enter_sheet(app, sheet(app), "clerk-b" if "clerk-a" in results else "clerk-a")[0])
        assert sorted(results) == ["counted", "waiting"], results
        assert not paper.tally_mismatches(campaign)
        assert db.session.scalar(select(func.count()).select_from(PaperTallySheet)) == 1


@SQLITE
def test_a_page_whose_boxes_are_elsewhere_is_unreadable_with_its_reason(app, make_campaign, tmp_path):
    """A page read against a layout whose boxes are elsewhere (another campaign's ballot under
    the same key, a copy printed at another size) is unreadable, with the reason in the
    reader's language — not a TypeError from the reason's own translation."""
    from printouts.ballots import qr_matrix
    from survey.omr.reader import PageUnreadable, read_page
    make_campaign(units=UNITS)
    make_campaign(slug="other-2025", units=[("OTH-001", "别处党委", "general")])
    _pages, layout = print_and_render(app, tmp_path, count=1)
    foreign, _other = print_and_render(app, tmp_path, count=1, slug="other-2025", name="o")

    def modules(code):
        return len(qr_matrix(f"B:{code.serial}:P:{code.page}/{code.pages}:K:{code.key}", fixed_mask=True))
    with app.app_context(), force_locale("zh_CN"), pytest.raises(PageUnreadable, match="本页方框不在"):
        read_page(foreign[0], lambda code: layout, modules)


@SQLITE
def test_the_review_of_a_page_scanned_twice_shows_what_differs(app, admin_client, make_campaign, runner, tmp_path):
    """Choosing between two scans of a page: the review showed a broken image (a read page
    keeps none) and two buttons, nothing of what differs. It lists each line read differently,
    as printed, with what each scan reads."""
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=1)
    images, truth = marked(pages, layout, seed=7, per_ballot=1, ink=sim.pen)
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff(images, tmp_path / "a.tif"))]).exit_code == 0
    with app.app_context():
        reading = db.session.scalar(select(ScanPage.reading).filter_by(serial=1))
    second = images[0].copy()
    unit_id, item = _faint(second, layout, reading)
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff([second], tmp_path / "b.tif"))]).exit_code == 0
    admin_client.set_cookie("lang", "en")
    page = admin_client.get("/admin/campaigns/test-2025/scans/review").get_data(as_text=True)
    assert "scanned twice" in page and "scan-crop" not in page, page
    value = next(i["value"] for i in reading["items"] if (i["unit_id"], i["item"]) == (unit_id, item))
    label = {"satisfied": "Satisfied", "basic": "Basically satisfied", "unsatisfied": "Dissatisfied",
             "!blank": "none marked", "!invalid": "two or more marked"}[value]
    import re as regex
    rows = regex.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page)
    assert len(rows) == 1 and rows[0][2:] == (label, "not read surely"), rows


@SQLITE
def test_the_scan_pages_stay_quick_for_an_assembly_of_two_thousand(app, admin_client, make_campaign, tmp_path):
    """2,000 scanned ballots of 200 items: the scanned ballots page (which refreshes itself every
    3 s while a file is read) loaded every page's reading to count the ballots (18 s a load on
    this shared machine); the read report put 400,000 lines on one page. Now the counting reads
    four columns, never the readings, and the report shows 50 ballots at a time (the JSON holds
    them all)."""
    from survey.models import Unit
    from survey.omr import scans
    make_campaign(units=UNITS)
    with app.app_context():
        campaign = campaign_of()
        unit = db.session.scalar(select(Unit.id).filter_by(code="GEN-001"))
        scan = ScanFile(campaign_id=campaign.id, sha256="0" * 64, name="big.tif", uploaded_by="a", pages=2000,
                        pages_read=2000, state="read")
        db.session.add(scan)
        db.session.flush()
        reading = {"items": [{"unit_id": unit, "item": f"i{n}", "value": "satisfied", "confidence": 0.9,
                              "ratios": [0.0, 0.5, 0.0], "choices": ["satisfied", "basic", "unsatisfied"],
                              "doubt": None, "corrected": False} for n in range(200)], "category": None}
        db.session.execute(ScanPage.__table__.insert(), [
            {"campaign_id": campaign.id, "file_id": scan.id, "position": n, "serial": n, "page": 1, "pages": 1,
             "status": "read", "confidence": 0.9, "reading": reading} for n in range(1, 2001)])
        db.session.commit()
        from sqlalchemy import event
        statements = []

        def seen(conn, cursor, statement, *args):
            statements.append(statement)
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            states = scans.ballots(campaign_of())
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        assert len(states) == 2000 and all(s.status == "ready" for s in states)
        page_queries = [q for q in statements if "FROM scan_page" in q]
        assert page_queries and not any("reading" in q.split("FROM")[0] for q in page_queries), page_queries
    page = admin_client.get("/admin/campaigns/test-2025/scans/report?part=2").get_data(as_text=True)
    assert page.count("<h3>") == 50 and "第51号测评票" in page and "第101号测评票" not in page
    assert "<b>第51–100号测评票</b>" in page and 'part=40"' in page
