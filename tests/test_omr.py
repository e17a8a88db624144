"""Scanned ballots (OMR), with independent tools: ballots printed by the project, rendered by
pdftoppm, marked and degraded as residents and scanners do (bench/omr_sim.py), read back by
`survey scan` and the admin; every doubt reaches a person and no ballot counts twice."""
import importlib.util
import random
import subprocess
import time
from pathlib import Path

import cv2
import pytest
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import func, select

from survey.db import db
from survey.models import BallotBatch, Campaign, PaperBallot, ScanDoubt, ScanPage, Tally
from survey.testing import csrf_from

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("omr_sim", ROOT / "bench/omr_sim.py")
sim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sim)

UNITS = [("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区党支部", "general"),
         ("GEN-003", "西街社区党支部", "general")]
DPI = 200


def print_and_render(app, tmp_path, count=4, slug="test-2025", name="b", category="resident"):
    """Print count ballots for residents (or another category); their page images (pdftoppm, grey) and the layout."""
    from survey import paper
    with app.app_context(), force_locale("zh_CN"):
        campaign = db.session.scalar(select(Campaign).filter_by(slug=slug))
        batch = paper.print_ballots(campaign, tmp_path / f"{name}.pdf", count, base_url="http://survey.test",
                                    category=category)
        layout = db.session.get(BallotBatch, batch.id).layout
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                   check=True)
    pages = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(tmp_path.glob(f"{name}-*.png"))]
    return pages, layout


def tokens(pdf: Path, folder: Path) -> list[str]:
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(pdf), str(folder / "tok")], check=True)
    found = []
    for page in sorted(folder.glob("tok-*.png")):
        codes = subprocess.run(["zbarimg", "--raw", "-q", str(page)], capture_output=True, text=True).stdout.split()
        found += [c.rsplit("/b/", 1)[1] for c in codes if "/b/" in c]
    return found


def marked(pages, layout, seed, per_ballot, ink=None):
    """Each page marked (truth kept per ballot serial, unit, item)."""
    rng = random.Random(seed)
    out, truth = [], {}
    for n, image in enumerate(pages):
        image = image.copy()
        serial, page = n // per_ballot + 1, n % per_ballot + 1
        page_truth = sim.mark_page(image, layout["pages"][page - 1], layout["page_size"][1], DPI, rng,
                                   rates={"blank": 0.05, "invalid": 0.03, "corrected": 0.05, "unit_blank": 0.0},
                                   **({"ink": ink} if ink else {}))
        truth.update({(serial, *key): value for key, value in page_truth.items()})
        out.append(image)
    return out, truth


def save_tiff(images, path: Path) -> Path:
    frames = [Image.fromarray(i) for i in images]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate", dpi=(DPI, DPI))
    return path


# --- reading -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_item_is_read_or_doubted_never_guessed(app, make_campaign, tmp_path):
    from printouts.drawing import qr_matrix
    from survey.omr.reader import PageUnreadable, read_page
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=2)
    per = len(layout["pages"])
    images, truth = marked(pages, layout, seed=3, per_ballot=per)
    rng = random.Random(5)
    right = doubts = silent = 0
    for kind in ("clean", "scan", "bw", "jpeg", "photocopy", "rotated", "scaled", "damaged", "upside_down",
                 "lowres", "highres"):
        for n, image in enumerate(images):
            degraded = sim.degrade(image, rng, kind, dpi_in=DPI)
            reading = read_page(degraded, lambda code: layout, lambda code: len(qr_matrix(
                f"B:{code.serial}:P:{code.page}/{code.pages}" + (f":K:{code.key}" if code.key else ""), fixed_mask=True)))
            assert (reading.code.serial, reading.code.page) == (n // per + 1, n % per + 1), kind
            for item in reading.items:
                expected = truth[(reading.code.serial, item.unit_id, item.item)]
                if item.doubt:
                    doubts += 1
                elif item.value == expected:
                    right += 1
                else:
                    silent += 1
            assert reading.category is None, kind  # a batch for residents prints no category boxes
    assert silent == 0
    assert right > 0 and doubts <= 0.02 * (right + doubts), (right, doubts)
    # a page that is no ballot is unreadable, not guessed
    with pytest.raises(PageUnreadable, match="no ballot page code"):
        read_page(cv2.GaussianBlur(images[0], (61, 61), 20), lambda code: layout, lambda code: 21)


# --- from a scanner's file to counted ballots ------------------------------------------------------
def test_a_scanners_file_counts_each_ballot_once_and_doubts_reach_a_person(app, client, make_campaign, runner,
                                                                          tmp_path):
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=4)
    per = len(layout["pages"])
    images, truth = marked(pages, layout, seed=11, per_ballot=per, ink=sim.pen)
    # ballot 2 is answered by phone first: its paper copy must be refused
    token = tokens(tmp_path / "b.pdf", tmp_path)[1]
    page = client.get(f"/b/{token}").get_data(as_text=True)
    import re
    form = {name: "satisfied" for name in set(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="radio"', page))}
    form.update({k: v for k, v in re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)})
    assert client.post(f"/b/{token}", data=form).status_code == 303
    # ballot 3 gets a faint pencil mark added on one empty box: a doubt for a person
    ballot3 = images[2 * per]
    item_boxes = [b for b in layout["pages"][0]["boxes"] if "item" in b]
    empty = next(b for b in item_boxes if truth[(3, b["unit_id"], b["item"])] != b["choice"]
                 and truth[(3, b["unit_id"], b["item"])] not in ("!invalid",))
    x, y, w, h = sim.to_px(empty["rect"], DPI, layout["page_size"][1])
    cv2.line(ballot3, (int(x + w * 0.35), int(y + h * 0.5)), (int(x + w * 0.62), int(y + h * 0.55)), 100, 2)
    # a foreign page: another campaign's ballot with the same serial numbers
    make_campaign(slug="other-2025", units=[("OTH-001", "别处党委", "general")])
    foreign, _layout = print_and_render(app, tmp_path, count=1, slug="other-2025", name="o")
    # the scanner's file: ballots 1–3 shuffled, ballot 3 upside down, ballot 1 scanned twice, the foreign page
    rng = random.Random(2)
    sheets = [sim.degrade(i, rng, "scan", dpi_in=DPI) for i in images[:3 * per]]
    sheets[2 * per] = cv2.rotate(sheets[2 * per], cv2.ROTATE_180)
    sheets += [sim.degrade(images[0], rng, "scan", dpi_in=DPI), foreign[0]]
    rng.shuffle(sheets)
    scan = save_tiff(sheets, tmp_path / "scan.tif")

    result = runner.invoke(args=["scan", "test-2025", str(scan), "--count", "--report", str(tmp_path / "r.json")])
    assert "ballot No. 2 not counted" in result.output and "answered by phone" in result.output, result.output
    assert result.exit_code == 1
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).filter_by(slug="test-2025"))
        status = dict(db.session.execute(select(PaperBallot.serial, PaperBallot.status)
                                         .filter_by(campaign_id=campaign.id)).all())
        assert status == {1: "counted", 2: "online"}  # ballot 3 waits for its doubt, 4 was not scanned
        doubts = db.session.scalars(select(ScanDoubt).filter_by(campaign_id=campaign.id)).all()
        reasons = sorted(d.reason for d in doubts)
        assert "unreadable" in reasons  # the foreign page, for a person to see
        item_doubts = [d for d in doubts if d.serial == 3]
        assert item_doubts and all(d.crop and d.crop.startswith(b"\x89PNG") for d in item_doubts)
        foreign_page = db.session.scalar(select(ScanPage).filter_by(campaign_id=campaign.id, status="unreadable"))
        assert "another campaign" in foreign_page.note
        duplicates = db.session.scalar(select(func.count()).select_from(ScanPage).filter_by(
            campaign_id=campaign.id, status="duplicate"))
        assert duplicates == 1
    # the same file again is recognised, not read or counted again
    again = runner.invoke(args=["scan", "test-2025", str(scan), "--count"])
    assert "read before" in again.output and "counted 0 ballots" in again.output

    # a person decides ballot 3's doubts in the admin, with the image beside the choices
    from survey.auth import create_user
    with app.app_context():
        create_user("clerk", "correct-horse-battery")
    login = client.get("/admin/login").get_data(as_text=True)
    client.post("/admin/login", data={"username": "clerk", "password": "correct-horse-battery",
                                      "csrf_token": csrf_from(login)})
    for doubt in item_doubts:
        review = client.get("/admin/campaigns/test-2025/scans/review").get_data(as_text=True)
        doubt_id = int(re.search(r'name="doubt" value="(\d+)"', review).group(1))
        image = client.get(f"/admin/campaigns/test-2025/scans/doubt/{doubt_id}.png")
        assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
        with app.app_context():
            d = db.session.get(ScanDoubt, doubt_id)
            answer = truth[(3, d.unit_id, d.item)]
        response = client.post("/admin/campaigns/test-2025/scans/review", data={
            "csrf_token": csrf_from(review), "doubt": doubt_id, "decision": answer})
        assert response.status_code == 302
    # the foreign page is set aside
    review = client.get("/admin/campaigns/test-2025/scans/review").get_data(as_text=True)
    assert "set_aside" in review
    client.post("/admin/campaigns/test-2025/scans/review", data={
        "csrf_token": csrf_from(review), "doubt": re.search(r'name="doubt" value="(\d+)"', review).group(1),
        "decision": "set_aside"})
    index = client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
    counted = client.post("/admin/campaigns/test-2025/scans/count", data={"csrf_token": csrf_from(index)})
    assert counted.status_code == 302
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).filter_by(slug="test-2025"))
        status = dict(db.session.execute(select(PaperBallot.serial, PaperBallot.status)
                                         .filter_by(campaign_id=campaign.id)).all())
        assert status == {1: "counted", 2: "online", 3: "counted"}
        # the tally holds exactly what ballots 1 and 3 say (blank and invalid items are not counted)
        rows = db.session.execute(select(Tally.unit_id, Tally.item, Tally.choice, func.sum(Tally.count))
                                  .where(Tally.campaign_id == campaign.id, Tally.channel == "paper", Tally.item != "")
                                  .group_by(Tally.unit_id, Tally.item, Tally.choice)).all()
        expected = {}
        for (serial, unit_id, item), value in truth.items():
            if serial in (1, 3) and unit_id != "category" and not value.startswith("!"):
                expected[(unit_id, item, value)] = expected.get((unit_id, item, value), 0) + 1
        assert {(u, i, c): int(n) for u, i, c, n in rows if n} == expected
    report = client.get("/admin/campaigns/test-2025/scans/report?format=json").get_json()
    assert {b["serial"] for b in report["ballots"]} == {1, 2, 3}
    # what was read on a counted ballot is forgotten, like a clerk's entry once a ballot counts
    assert all(not b["items"] for b in report["ballots"] if b["serial"] in (1, 3))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScanDoubt).where(ScanDoubt.serial.in_((1, 3)))) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_ballot_with_a_missing_page_waits(app, make_campaign, runner, tmp_path):
    units = [(f"SCH-{n:03d}", f"第{n}小学", "school") for n in range(1, 41)]  # too many for one page
    make_campaign(units=units)
    pages, layout = print_and_render(app, tmp_path, count=1, category="neighbour")  # the schools' residents
    assert len(layout["pages"]) == 2
    images, _truth = marked(pages, layout, seed=1, per_ballot=2, ink=sim.pen)
    result = runner.invoke(args=["scan", "test-2025", str(save_tiff(images[:1], tmp_path / "p1.tif")), "--count"])
    assert "0 ballots ready, 1 waiting" in result.output and "counted 0 ballots" in result.output
    result = runner.invoke(args=["scan", "test-2025", str(save_tiff(images[1:], tmp_path / "p2.tif")), "--count"])
    assert "counted 1 ballots" in result.output, result.output


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_admin_upload_reads_in_the_background(app, admin_client, make_campaign, tmp_path):
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=2)
    images, _truth = marked(pages, layout, seed=4, per_ballot=len(layout["pages"]))
    path = save_tiff(images, tmp_path / "upload.tif")
    page = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
    with open(path, "rb") as f:
        response = admin_client.post("/admin/campaigns/test-2025/scans", data={
            "csrf_token": csrf_from(page), "files": (f, "upload.tif")}, content_type="multipart/form-data")
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
        if 'http-equiv="refresh"' not in page:
            break
        time.sleep(0.5)
    assert "<progress" in page and f"{len(images)}/{len(images)}" in page
    assert not list((Path(app.instance_path) / "scans").glob("upload-*"))  # the scan is not kept
    with open(path, "rb") as f:
        again = admin_client.post("/admin/campaigns/test-2025/scans", data={
            "csrf_token": csrf_from(page), "files": (f, "upload.tif")}, content_type="multipart/form-data",
            follow_redirects=True)
    assert "已读取过（" in again.get_data(as_text=True) and "不会再次读取或计票" in again.get_data(as_text=True)
    bad = admin_client.post("/admin/campaigns/test-2025/scans", data={
        "csrf_token": csrf_from(page), "files": (open(__file__, "rb"), "notes.txt")}, content_type="multipart/form-data")
    assert bad.status_code == 422


@pytest.mark.parametrize("backend", ["sqlite"])
def test_after_scrub_no_scan_record_links_a_serial_to_its_marks(app, make_campaign, runner, tmp_path):
    """The attacker holds the database files after the scrub and looks for what the reader
    stored of a counted ballot (its serial beside the boxes read): in the live rows, in the
    write-ahead log and in freed pages. Before the scrub the log still holds it."""
    import forensics
    from survey.anonymity import scrub
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=2)
    images, _truth = marked(pages, layout, seed=5, per_ballot=len(layout["pages"]), ink=sim.pen)
    result = runner.invoke(args=["scan", "test-2025", str(save_tiff(images, tmp_path / "s.tif")), "--count"])
    assert "counted 2 ballots" in result.output, result.output
    database = Path(app.instance_path) / "survey.sqlite"
    wal = database.with_name("survey.sqlite-wal")
    marker = b'"confidence"'  # a key of every stored reading, beside the unit, item and value read
    assert marker in wal.read_bytes(), "the log holds what was read until a scrub"
    with app.app_context():
        kept = db.session.scalars(select(ScanPage)).all()
        assert kept and all(p.reading is None and p.image is None for p in kept)  # forgotten once counted
        scrub(db.session.scalar(select(Campaign.id).filter_by(slug="test-2025")))
    assert marker not in database.read_bytes() and (not wal.exists() or marker not in wal.read_bytes())
    free = forensics.freelist_pages(database)
    file_pages = forensics.main_file_pages(database)
    assert all(marker not in file_pages[number] for number in free)


def _bad_scans(folder: Path) -> dict[str, Path]:
    """Files a scanner never makes: a PDF of no pages, a PDF of garbage, a PNG of 96 million
    pixels (1.5 MB on disk, gigabytes if decoded) and a TIFF of garbage."""
    from PIL import Image
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"]
    zero, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(zero))
        zero += b"%d 0 obj%s endobj\n" % (n, body)
    xref = len(zero)
    zero += b"xref\n0 3\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    zero += b"trailer<</Size 3/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref
    files = {"zero.pdf": zero,
             "garbage.pdf": b"%PDF-1.4\n" + bytes(range(256)) * 8,
             "garbage.tif": b"II*\x00" + bytes(range(256)) * 8}
    out = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    Image.new("1", (12000, 8000)).save(folder / "huge.png")
    out["huge.png"] = folder / "huge.png"
    return out


def test_files_that_are_not_scans_are_refused_by_name_and_leave_nothing(app, admin_client, make_campaign, runner,
                                                                        tmp_path):
    """A 0-page or damaged PDF, a damaged TIFF, an image far too large: the admin answers 422
    (or records the file as failed, with the reason in the office's language) and the command
    line prints the reason — never a 500 or a traceback, never a file left 'reading', nothing
    left in the instance's scans folder."""
    from survey.models import ScanFile, ScanPage
    make_campaign(units=UNITS)
    print_and_render(app, tmp_path, count=1)
    bad = _bad_scans(tmp_path)
    for name, path in bad.items():
        result = runner.invoke(args=["scan", "test-2025", str(path)])
        assert result.exit_code == 1 and "Traceback" not in result.output and name in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "has no pages" in runner.invoke(args=["scan", "test-2025", str(bad["zero.pdf"])]).output
    assert "too large for a scanned ballot" in runner.invoke(args=["scan", "test-2025", str(bad["huge.png"])]).output
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(ScanPage))
        assert not db.session.scalar(select(func.count()).select_from(ScanFile).where(ScanFile.state != "failed"))
    for name, path in bad.items():
        page = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
        with open(path, "rb") as f:
            response = admin_client.post("/admin/campaigns/test-2025/scans", data={
                "csrf_token": csrf_from(page), "files": (f, name)}, content_type="multipart/form-data")
        assert response.status_code in (302, 422), (name, response.status_code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with app.app_context():
            if not db.session.scalar(select(func.count()).select_from(ScanFile).where(
                    ScanFile.state.in_(("waiting", "reading")))):
                break
        time.sleep(0.5)
    page = admin_client.get("/admin/campaigns/test-2025/scans").get_data(as_text=True)
    assert "太大" in page or "没有页面" in page, page  # the reasons, in Chinese
    assert "CV_IO" not in page and "Traceback" not in page
    with app.app_context():
        states = set(db.session.scalars(select(ScanFile.state)))
        assert states <= {"failed"}, states
        assert not db.session.scalar(select(func.count()).select_from(ScanPage))
    assert not list((Path(app.instance_path) / "scans").glob("upload-*"))


def test_two_counts_at_the_same_moment_count_each_ballot_once(app, make_campaign, runner, tmp_path):
    """Two supervisors press "Count" at once (SQLite's default server: the second insert of a
    ballot's row failed with a 500 before): neither fails, no ballot is refused, each ballot
    counts once."""
    import threading
    from survey.omr import scans
    make_campaign(units=UNITS)
    pages, layout = print_and_render(app, tmp_path, count=6)
    images, _truth = marked(pages, layout, seed=21, per_ballot=len(layout["pages"]), ink=sim.pen)
    assert runner.invoke(args=["scan", "test-2025", str(save_tiff(images, tmp_path / "s.tif"))]).exit_code == 0
    with app.app_context():
        ready = [s.serial for s in scans.ballots(db.session.scalar(select(Campaign))) if s.status == "ready"]
    assert ready
    results, errors = [], []
    start = threading.Barrier(2)

    def press(who):
        try:
            with app.app_context():
                start.wait()
                results.append(scans.count_ready(db.session.scalar(select(Campaign)), who))
        except Exception as exc:  # what the admin would have answered with a 500
            errors.append(exc)
    threads = [threading.Thread(target=press, args=(who,)) for who in ("sup-a", "sup-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert not any(r["refused"] for r in results), results
    assert sorted(s for r in results for s in r["counted"]) == sorted(ready)  # each once, by one of them
    with app.app_context():
        counted = db.session.scalar(select(func.count()).select_from(PaperBallot).filter_by(status="counted"))
        raters = db.session.scalar(select(func.sum(Tally.count)).filter_by(item="", choice="", channel="paper"))
    assert counted == len(ready) and raters == len(ready) * len(UNITS)
    # a counted ballot scanned again (the same page as another file, a JPEG): set aside, no doubt
    # for a person (there is nothing left to compare it with), not counted again
    cv2.imwrite(str(tmp_path / "again.jpg"), images[ready[0] - 1], [cv2.IMWRITE_JPEG_QUALITY, 70])
    again = runner.invoke(args=["scan", "test-2025", str(tmp_path / "again.jpg"), "--count"])
    assert again.exit_code == 0 and "1 duplicate" in again.output and "0 doubts" in again.output, again.output
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(ScanDoubt).filter_by(serial=ready[0]))
        assert db.session.scalar(select(func.sum(Tally.count)).filter_by(item="", choice="", channel="paper")) == raters
        copy = db.session.scalar(select(ScanPage).filter_by(serial=ready[0], status="duplicate"))
        assert copy.reading is None and "counted already" in copy.note
