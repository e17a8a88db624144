"""Simulated hand marks and scanner damage on ballot pages the project printed, with the truth.

A page rendered by pdftoppm from a ballot PDF is marked as residents mark (ticks, crosses,
filled boxes, circles, in pen or pencil, off-centre, too big or too small), some items left
blank, some marked twice (invalid), some corrected by filling the wrong box and ticking the
right one; then degraded as scanners and copiers do (rotation, scaling, resolution, blur,
noise, JPEG, black-and-white, photocopy grey and speckle, a damaged corner mark, upside down).
Used by bench/omr.py and tests/test_omr.py; deterministic for a given seed.
"""
from __future__ import annotations

import math
import random

import cv2
import numpy as np

STYLES = ("tick", "tick", "tick", "cross", "cross", "fill", "circle", "dot_tick")


def to_px(rect, dpi: float, page_h: float):
    x, y, w, h = rect
    s = dpi / 72
    return x * s, (page_h - y - h) * s, w * s, h * s


def _ink(rng) -> tuple[int, int]:
    """(grey level, stroke width at 300 dpi): pen mostly (0.3–0.7 mm), sometimes pencil (HB to
    2B, 0.3–0.5 mm), now and then a very light, thin pencil line."""
    roll = rng.random()
    if roll < 0.01:
        return rng.randint(120, 150), rng.randint(2, 3)
    if roll < 0.25:
        return rng.randint(70, 120), rng.randint(4, 6)
    return rng.randint(0, 50), rng.randint(4, 8)


def pen(rng) -> tuple[int, int]:
    """A dark pen only: for tests that want no faint marks."""
    return rng.randint(0, 40), rng.randint(5, 8)


def mark_box(image: np.ndarray, rect_px, style: str, rng, dpi: float, ink=_ink) -> None:
    x, y, w, h = rect_px
    k = dpi / 300
    level, width = ink(rng)
    width = max(1, int(round(width * k)))
    size = rng.uniform(0.7, 1.25)
    cx, cy = x + w / 2 + rng.uniform(-0.15, 0.15) * w, y + h / 2 + rng.uniform(-0.15, 0.15) * h
    hw, hh = w * size / 2, h * size / 2
    if style in ("tick", "dot_tick"):
        pts = np.array([[cx - hw * 0.8, cy], [cx - hw * 0.15, cy + hh * 0.75], [cx + hw * 1.0, cy - hh * 1.1]],
                       dtype=np.int32)
        cv2.polylines(image, [pts], False, level, width, cv2.LINE_AA)
    elif style == "cross":
        cv2.line(image, (int(cx - hw * 0.8), int(cy - hh * 0.8)), (int(cx + hw * 0.8), int(cy + hh * 0.8)), level, width, cv2.LINE_AA)
        cv2.line(image, (int(cx + hw * 0.8), int(cy - hh * 0.8)), (int(cx - hw * 0.8), int(cy + hh * 0.8)), level, width, cv2.LINE_AA)
    elif style == "circle":
        r = rng.uniform(0.35, 0.6)  # an O written in the box
        cv2.ellipse(image, (int(cx), int(cy)), (int(w / 2 * r), int(h / 2 * r)), 0, 0, 360, level, width, cv2.LINE_AA)
    elif style == "fill":
        fill_box(image, rect_px, rng, dpi, coverage=rng.uniform(0.85, 1.0), ink=ink)


def fill_box(image, rect_px, rng, dpi, coverage=0.95, ink=_ink) -> None:
    """Fill a box in, scribbling across it (a correction, or a resident who fills boxes)."""
    x, y, w, h = rect_px
    level, _w = ink(rng)
    level = min(level, 60)
    pad = (1 - coverage) * w / 2
    cv2.rectangle(image, (int(x + pad), int(y + pad)), (int(x + w - pad), int(y + h - pad)), level, -1)


def mark_page(image: np.ndarray, page_layout: dict, page_h: float, dpi: float, rng, rates=None, ink=_ink):
    """Mark every item of a page; return {(unit_id, item): truth} and the category truth."""
    rates = rates or {"blank": 0.05, "invalid": 0.02, "corrected": 0.03, "unit_blank": 0.05}
    groups: dict = {}
    for box in page_layout["boxes"]:
        key = ("category", None) if "category" in box else (box["unit_id"], box["item"])
        groups.setdefault(key, []).append(box)
    truth, skipped_units = {}, set()
    for key, boxes in groups.items():
        unit_id = key[0]
        if unit_id != "category" and unit_id not in skipped_units and rng.random() < rates["unit_blank"] / 5:
            skipped_units.add(unit_id)
        rects = [to_px(b["rect"], dpi, page_h) for b in boxes]
        names = [b.get("category") or b["choice"] for b in boxes]
        if unit_id in skipped_units:
            truth[key] = "!blank"
            continue
        roll = rng.random()
        if key[0] != "category" and roll < rates["blank"]:
            truth[key] = "!blank"
            continue
        if key[0] != "category" and roll < rates["blank"] + rates["invalid"]:
            a, b = rng.sample(range(len(boxes)), 2)
            for n in (a, b):
                mark_box(image, rects[n], rng.choice(("tick", "cross")), rng, dpi, ink)
            truth[key] = "!invalid"
            continue
        chosen = rng.randrange(len(boxes)) if rng.random() < 0.4 else 0
        if key[0] != "category" and roll < rates["blank"] + rates["invalid"] + rates["corrected"] and len(boxes) > 1:
            wrong = rng.choice([n for n in range(len(boxes)) if n != chosen])
            fill_box(image, rects[wrong], rng, dpi, ink=ink)
            mark_box(image, rects[chosen], rng.choice(("tick", "cross")), rng, dpi, ink)
        else:
            mark_box(image, rects[chosen], rng.choice(STYLES), rng, dpi, ink)
        truth[key] = names[chosen]
    return truth


def degrade(image: np.ndarray, rng, kind: str, dpi_in: float = 300) -> np.ndarray:
    """The page as a scanner or copier delivers it. kind: clean, scan, bw, jpeg, photocopy,
    rotated, scaled, lowres, highres, damaged, upside_down, phone."""
    out = image.copy()
    if kind in ("rotated", "scan", "photocopy", "jpeg", "bw", "damaged", "phone", "scaled"):
        # the scanner's glass is larger than the sheet: a white border around the paper
        pad = int(0.03 * out.shape[1])
        out = cv2.copyMakeBorder(out, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    h, w = out.shape
    if kind in ("rotated", "scan", "photocopy", "jpeg", "bw", "damaged", "phone"):
        angle = rng.uniform(-5, 5) if kind in ("rotated", "phone") else rng.uniform(-1.5, 1.5)
        scale = rng.uniform(0.94, 1.03) if kind in ("scan", "photocopy", "rotated") else 1.0
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        matrix[:, 2] += (rng.uniform(-30, 30), rng.uniform(-30, 30))
        out = cv2.warpAffine(out, matrix, (w, h), borderValue=255, flags=cv2.INTER_LINEAR)
    if kind == "scaled":
        s = rng.choice((0.94, 1.03))
        out = cv2.resize(out, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        canvas = np.full((h, w), 255, np.uint8)
        ch, cw = min(h, out.shape[0]), min(w, out.shape[1])
        oy, ox = (h - ch) // 2, (w - cw) // 2
        canvas[oy:oy + ch, ox:ox + cw] = out[:ch, :cw]
        out = canvas
    if kind == "damaged":
        corner = rng.randrange(4)
        ys, xs = (slice(0, int(0.07 * h)) if corner < 2 else slice(int(0.93 * h), h)), \
                 (slice(0, int(0.09 * w)) if corner % 2 == 0 else slice(int(0.91 * w), w))
        out[ys, xs] = np.clip(out[ys, xs].astype(int) + 200, 0, 255).astype(np.uint8)
    if kind in ("scan", "photocopy", "jpeg", "phone"):
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.5, 1.0))
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if kind == "photocopy":
        out = np.clip(out.astype(float) * 0.82 + 30, 0, 255).astype(np.uint8)  # grey paper, weaker black
        speck = np.random.default_rng(rng.randrange(1 << 30)).random(out.shape) < 0.0008
        out[speck] = 40
    if kind == "phone":
        # perspective and light falling off to one side
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        d = 0.04
        dst = np.float32([[rng.uniform(0, d) * w, rng.uniform(0, d) * h], [w - rng.uniform(0, d) * w, rng.uniform(0, d) * h],
                          [w - rng.uniform(0, d) * w, h - rng.uniform(0, d) * h], [rng.uniform(0, d) * w, h - rng.uniform(0, d) * h]])
        out = cv2.warpPerspective(out, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=200)
        ramp = np.linspace(1.0, 0.7, w)[None, :]
        out = np.clip(out * ramp, 0, 255).astype(np.uint8)
    if kind == "bw":
        _t, out = cv2.threshold(out, 160, 255, cv2.THRESH_BINARY)
    if kind == "upside_down":
        out = cv2.rotate(out, cv2.ROTATE_180)
    if kind == "lowres":
        out = cv2.resize(out, None, fx=150 / dpi_in, fy=150 / dpi_in, interpolation=cv2.INTER_AREA)
    if kind == "r200":
        out = cv2.resize(out, None, fx=200 / dpi_in, fy=200 / dpi_in, interpolation=cv2.INTER_AREA)
    if kind == "highres":
        out = cv2.resize(out, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    if kind in ("jpeg", "phone"):
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(45, 80)])
        out = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return out


def angle_of(rng) -> float:
    return math.radians(rng.uniform(-5, 5))


def seeded(seed: int) -> random.Random:
    return random.Random(seed)
