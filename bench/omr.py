"""Reading scanned ballots: accuracy without review, the share sent to review, silent errors
(read wrong and not flagged) and pages per second per core, on ballots the project printed and
marked and degraded as residents, scanners and copiers do (bench/omr_sim.py), with the truth.

    python bench/omr.py [--ballots 60] [--seed 1]

The demo assembly: 20 units sharing one questionnaire (12 rated items), one page per ballot, so
60 ballots carry 14,400 items per scan set. Speed is the clean 300 dpi set read on one core,
beside ../shared/bench/floor_omr.py (load, grey, decode the page's QR, threshold once) on the
same page files in the same run. Goals: ≥ 99.9% of items right without review at 200–300 dpi,
zero silent errors, ≤ 1% to review on clean scans, ≥ 5 pages/s per core.
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import SHARED  # noqa: E402
import omr_sim as sim  # noqa: E402

SETS = [  # (name, dpi of the print, degradation)
    ("clean 300 dpi", 300, "clean"), ("scanner 300 dpi", 300, "scan"), ("scanner 200 dpi", 200, "scan"),
    ("black and white 300 dpi", 300, "bw"), ("JPEG 200 dpi", 200, "jpeg"), ("photocopy 300 dpi", 300, "photocopy"),
    ("rotated ±5°", 300, "rotated"), ("scaled 94–103%", 300, "scaled"), ("damaged corner mark", 300, "damaged"),
    ("upside down", 300, "upside_down"), ("150 dpi", 300, "lowres"), ("600 dpi", 300, "highres"),
    ("phone photos", 300, "phone"),
]


def make_ballots(folder: Path, count: int):
    """A demo assembly campaign with count ballots printed; the PDF and the batch layout."""
    os.environ["SURVEY_INSTANCE"] = str(folder / "instance")
    os.environ.setdefault("SURVEY_BASE_URL", "https://survey.example.cn")
    from flask_babel import force_locale

    from survey import create_app, paper
    from survey.campaigns import transition
    from survey.db import db
    from survey.migrate import upgrade
    from survey.models import Campaign, Unit
    from survey.registry import current_registry
    app = create_app()
    with app.app_context():
        upgrade()
        campaign = Campaign(slug="assembly", name="2026年度基层党组织群众满意度测评大会")
        db.session.add(campaign)
        for n in range(1, 21):
            db.session.add(Unit(campaign=campaign, code=f"U-{n:02d}", name=f"第{n}村民委员会", sector="general"))
        db.session.flush()
        transition(campaign, "open", current_registry(), "bench")
        db.session.commit()
        with force_locale("zh_CN"):
            batch = paper.print_ballots(campaign, folder / "ballots.pdf", count, base_url=os.environ["SURVEY_BASE_URL"],
                                        category="resident")
        return folder / "ballots.pdf", batch.layout


def render(pdf: Path, dpi: int, folder: Path) -> list[Path]:
    stem = folder / f"r{dpi}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf), str(stem)], check=True)
    return sorted(folder.glob(f"r{dpi}-*.png"))


def modules(code) -> int:
    from printouts.drawing import qr_matrix
    text = f"B:{code.serial}:P:{code.page}/{code.pages}" + (f":K:{code.key}" if code.key else "")
    return len(qr_matrix(text, fixed_mask=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="survey-omr-bench-"))
    pdf, layout = make_ballots(folder, args.ballots)
    per = len(layout["pages"])
    print(f"{args.ballots} ballots, {per} page(s) per ballot, "
          f"{sum('item' in b for b in layout['pages'][0]['boxes'])} boxes on page 1")
    from survey.omr.reader import PageUnreadable, read_page
    rendered = {dpi: render(pdf, dpi, folder) for dpi in sorted({d for _n, d, _k in SETS})}
    marked = {}
    for dpi, files in rendered.items():
        rng = random.Random(args.seed)  # the same marks at every resolution
        pages = []
        for n, path in enumerate(files):
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            truth = sim.mark_page(image, layout["pages"][n % per], layout["page_size"][1], dpi, rng)
            pages.append((image, truth))
        marked[dpi] = pages
    rows, clean_files = [], []
    for name, dpi, kind in SETS:
        rng = random.Random(hash((args.seed, name)) & 0xFFFF)
        stats = collections.Counter()
        for n, (image, truth) in enumerate(marked[dpi]):
            degraded = sim.degrade(image, rng, kind, dpi_in=dpi)
            if kind == "clean" and dpi == 300:
                path = folder / f"clean-{n:04d}.png"
                cv2.imwrite(str(path), degraded)
                clean_files.append(path)
            stats["pages"] += 1
            try:
                reading = read_page(degraded, lambda code: layout, modules)
            except PageUnreadable:
                stats["unreadable pages"] += 1
                stats["to review"] += len(truth)
                stats["items"] += len(truth)
                continue
            for item in reading.items:
                stats["items"] += 1
                expected = truth[(item.unit_id, item.item)]
                if item.doubt:
                    stats["to review"] += 1
                elif item.value == expected:
                    stats["right"] += 1
                else:
                    stats["silent errors"] += 1
        rows.append((name, stats))
    # speed: the clean 300 dpi set from files, on this one core, beside the floor on the same files
    cv2.setNumThreads(1)
    t, cpu = time.perf_counter(), time.process_time()
    for path in clean_files:
        read_page(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), lambda code: layout, modules)
    ours = len(clean_files) / (time.perf_counter() - t)
    ours_cpu = len(clean_files) / (time.process_time() - cpu)
    floor_out = subprocess.run([sys.executable, str(SHARED / "bench/floor_omr.py"), *map(str, clean_files)],
                               capture_output=True, text=True)
    floor = float(floor_out.stdout.split("=")[1].split()[0]) if "=" in floor_out.stdout else float("nan")

    print(f"\n{'scan set':26} {'items':>7} {'right':>9} {'review':>8} {'silent':>7} {'unreadable':>10}")
    for name, s in rows:
        items = max(s["items"], 1)
        print(f"{name:26} {s['items']:7d} {100 * s['right'] / items:8.2f}% {100 * s['to review'] / items:7.2f}% "
              f"{s['silent errors']:7d} {s['unreadable pages']:6d}/{s['pages']}")
    main_sets = [s for name, s in rows if name != "phone photos"]
    items = sum(s["items"] for s in main_sets)
    auto = sum(s["right"] + s["silent errors"] for s in main_sets)
    print(f"\nitems read without review that are right, 150–600 dpi scans and copies: "
          f"{100 * sum(s['right'] for s in main_sets) / max(auto, 1):.3f}% of {auto}")
    print(f"items right without any review (review counted as not right): "
          f"{100 * sum(s['right'] for s in main_sets) / items:.3f}% of {items}")
    print(f"silent errors (read wrong, not flagged): {sum(s['silent errors'] for s in main_sets)} in {items} items; "
          f"phone photos: {dict(rows)['phone photos']['silent errors']}")
    clean = dict(rows)["clean 300 dpi"]
    print(f"sent to review on clean scans: {100 * clean['to review'] / max(clean['items'], 1):.2f}%")
    print(f"pages/s per core at 300 dpi: {ours:.1f} ({ours_cpu:.1f} per CPU second); floor (floor_omr.py, "
          f"same pages): {floor:.1f}; ratio: {ours / floor:.2f}")


if __name__ == "__main__":
    main()
