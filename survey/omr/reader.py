"""Reading one scanned ballot page: which ballot and page it is, where the page lies, and what
is marked in every box the printed layout lists (survey.paper.layout).

1. Identify: the page's small QR code reads ``B:<serial>:P:<page>/<pages>[:K:<campaign key>]``
   (zxing-cpp, on a half-size copy first, then full size). A page with no readable code is
   unreadable; the one-time token's code on page 1 is never read for its content.
2. Register: the code's four corners, matched to where the layout printed it, give a first
   estimate of the page's position (rotation of any angle, upside down, scaling); each of the
   four corner marks is then looked for near where that estimate puts it, and the page is
   mapped onto the layout from every mark found and the code's corners (a damaged or
   photocopied-away mark leaves the rest). The page is warped onto the layout at 200 dpi.
3. Measure: the share of dark pixels inside each box (its printed border left out), against a
   threshold the page itself sets (Otsu), so grey photocopies and light scans read alike.
4. Decide, per item (survey.omr.marks): one choice, blank, invalid (two choices), a corrected
   answer, each with a confidence; doubtful items go to a person.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np
import zxingcpp
from flask_babel import gettext as _

from .marks import ItemReading, decide

PAGE_CODE = re.compile(r"^B:([0-9]{1,9}):P:([0-9]{1,3})/([0-9]{1,3})(?::K:([0-9A-F]{1,16}))?$")
CANON_DPI = 200
PX = CANON_DPI / 72  # canonical pixels per point
MAX_RESIDUAL = 4.0  # canonical pixels (0.5 mm): beyond it the page is not flat enough to trust
MIN_BORDER = 0.6  # a box whose printed border is not found where mapped is not read
INNER = 0.16  # share of a box's width left out on each side: the printed border and slack


class PageUnreadable(ValueError):
    """A page that cannot be identified or placed; the message says why (for the reviewer)."""


@dataclass
class PageCode:
    """What a page's small QR code says."""

    serial: int
    page: int
    pages: int
    key: str | None
    corners: np.ndarray  # 4×2, image pixels: the symbol's top-left, top-right, bottom-right, bottom-left


@dataclass
class PageReading:
    """One page read: its code, how well it was placed, and every item decided."""

    code: PageCode
    items: list[ItemReading] = field(default_factory=list)
    category: ItemReading | None = None
    marks_found: int = 0
    residual: float = 0.0  # mean distance (canonical px) of the marks from where the mapping puts them
    warped: np.ndarray | None = None  # the page on the layout, canonical resolution (for crops)


def find_page_code(grey: np.ndarray) -> PageCode:
    """The page's code and corners; PageUnreadable when no page code can be read."""
    for scale in (0.5, 1.0, 0.33):
        image = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            match = PAGE_CODE.match(found.text or "")
            if match and found.valid:
                p = found.position
                corners = np.array([[p.top_left.x, p.top_left.y], [p.top_right.x, p.top_right.y],
                                    [p.bottom_right.x, p.bottom_right.y], [p.bottom_left.x, p.bottom_left.y]],
                                   dtype=np.float64) / scale
                serial, page, pages, key = match.groups()
                return PageCode(int(serial), int(page), int(pages), key, corners)
    raise PageUnreadable(_("no ballot page code could be read on this page"))


def _canon(x: float, y: float, page_h: float) -> tuple[float, float]:
    """A layout point (pt, origin bottom-left) in canonical pixels (origin top-left)."""
    return x * PX, (page_h - y) * PX


def _qr_symbol_corners(rect, modules: int, page_h: float) -> np.ndarray:
    """Where the symbol's corners were printed: the rect holds the symbol and a 4-module quiet zone."""
    x, y, w, h = rect
    cell = w / (modules + 8)
    left, right, bottom, top = x + 4 * cell, x + w - 4 * cell, y + 4 * cell, y + h - 4 * cell
    return np.array([_canon(left, top, page_h), _canon(right, top, page_h),
                     _canon(right, bottom, page_h), _canon(left, bottom, page_h)], dtype=np.float64)


def _find_mark(grey: np.ndarray, centre: tuple[float, float], size_px: float) -> tuple[float, float] | None:
    """The centroid of the filled square nearest centre, within a window thresholded on its own;
    None if none fits."""
    h, w = grey.shape
    radius = int(size_px * 3.5)
    cx, cy = int(centre[0]), int(centre[1])
    x0, y0, x1, y1 = max(cx - radius, 0), max(cy - radius, 0), min(cx + radius, w), min(cy + radius, h)
    if x1 - x0 < size_px or y1 - y0 < size_px:
        return None
    _t, window = cv2.threshold(grey[y0:y1, x0:x1], 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _labels, stats, centroids = cv2.connectedComponentsWithStats(window, connectivity=8)
    best, best_score = None, None
    expected = size_px * size_px
    for i in range(1, count):
        bw, bh, area = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_AREA]
        if not (0.45 * expected <= area <= 2.2 * expected):
            continue
        if not (0.55 <= bw / max(bh, 1) <= 1.8):
            continue
        fill = area / max(bw * bh, 1)
        if fill < 0.6:
            continue
        mx, my = centroids[i]
        distance = np.hypot(mx + x0 - centre[0], my + y0 - centre[1])
        score = distance / size_px + abs(area / expected - 1)
        if best_score is None or score < best_score:
            best, best_score = (mx + x0, my + y0), score
    return best


def register(grey: np.ndarray, code: PageCode, layout: dict, page_layout: dict,
             modules: int) -> tuple[np.ndarray, int, float]:
    """The homography from image pixels to canonical layout pixels, the number of corner marks
    found, and the mean residual at the marks. PageUnreadable if the page cannot be placed."""
    page_h = layout["page_size"][1]
    printed_qr = _qr_symbol_corners(page_layout["page_qr"], modules, page_h)
    # rotation, one scale and a shift from the code's corners: a full perspective from a small
    # square would be unstable far from it
    first, _inliers = cv2.estimateAffinePartial2D(code.corners, printed_qr)
    if first is None:
        raise PageUnreadable(_("the page code's corners do not give the page's position"))
    inverse = np.linalg.inv(np.vstack([first, [0, 0, 1]]))
    src, dst = [*code.corners], [*printed_qr]
    scale = np.sqrt(abs(np.linalg.det(inverse[:2, :2])))  # image px per canonical px (about)
    marks = 0
    for rect in layout["corner_marks"]:
        x, y, w, h = rect
        centre_canon = np.array([_canon(x + w / 2, y + h / 2, page_h)], dtype=np.float64).reshape(-1, 1, 2)
        guess = cv2.perspectiveTransform(centre_canon, inverse)[0, 0]
        found = _find_mark(grey, (guess[0], guess[1]), w * PX * scale)
        if found is not None:
            src.append(np.array(found))
            dst.append(centre_canon[0, 0])
            marks += 1
    if marks < 2:
        raise PageUnreadable(_("only %(n)d of the 4 corner marks were found: the page cannot be placed", n=marks))
    src_arr, dst_arr = np.array(src, dtype=np.float64), np.array(dst, dtype=np.float64)
    # the corner marks span the page: weight them over the code's corners (a small square)
    weights = [1] * 4 + [3] * marks
    src_w = np.repeat(src_arr, weights, axis=0)
    dst_w = np.repeat(dst_arr, weights, axis=0)
    if marks >= 4:
        matrix, _mask = cv2.findHomography(src_w, dst_w, 0)
    else:  # three marks (one damaged) or two: an affine map, steadier than a perspective from few points
        affine, _inliers = cv2.estimateAffine2D(src_w, dst_w)
        matrix = None if affine is None else np.vstack([affine, [0, 0, 1]])
    if matrix is None:
        raise PageUnreadable(_("the corner marks do not give the page's position"))
    mapped = cv2.perspectiveTransform(src_arr[4:].reshape(-1, 1, 2), matrix).reshape(-1, 2)
    residual = float(np.mean(np.hypot(*(mapped - dst_arr[4:]).T)))
    return matrix, marks, residual


def _pixels(rects: list[list[float]], page_h: float) -> np.ndarray:
    """The boxes as integer canonical pixel edges: columns x0, x1, y0 (top), y1 (bottom)."""
    r = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    x0, x1 = r[:, 0] * PX, (r[:, 0] + r[:, 2]) * PX
    y0, y1 = (page_h - r[:, 1] - r[:, 3]) * PX, (page_h - r[:, 1]) * PX
    return np.stack([x0, x1, y0, y1], axis=1)


def box_ratios(dark: np.ndarray, rects: list[list[float]], page_h: float) -> np.ndarray:
    """The share of dark pixels inside each box (canonical image, border left out); given a
    shade map (255 − brightness) instead, the mean shade inside each box, 0 to 255."""
    integral = cv2.integral(dark).astype(np.int64)
    edges = _pixels(rects, page_h)
    dx, dy = (edges[:, 1] - edges[:, 0]) * INNER, (edges[:, 3] - edges[:, 2]) * INNER
    x0, x1 = np.rint(edges[:, 0] + dx).astype(int), np.rint(edges[:, 1] - dx).astype(int)
    y0, y1 = np.rint(edges[:, 2] + dy).astype(int), np.rint(edges[:, 3] - dy).astype(int)
    h, w = dark.shape
    x0, x1, y0, y1 = (np.clip(a, 0, lim) for a, lim in ((x0, w), (x1, w), (y0, h), (y1, h)))
    total = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return total / np.maximum((x1 - x0) * (y1 - y0), 1)


def borders_found(dark: np.ndarray, rects: list[list[float]], page_h: float) -> np.ndarray:
    """For each box, the share of its printed border found dark where the layout puts it (within
    2 pixels; the weakest of its four sides): near 1 when the page lies where it was mapped, low
    for a misplaced or foreign page."""
    h, w = dark.shape
    edges = np.rint(_pixels(rects, page_h)).astype(int)
    x0, x1 = np.clip(edges[:, 0], 0, w - 1), np.clip(edges[:, 1], 0, w - 1)
    y0, y1 = np.clip(edges[:, 2], 0, h - 1), np.clip(edges[:, 3], 0, h - 1)
    inset = np.maximum((x1 - x0) // 5, 2)
    a, b = x0 + inset, np.maximum(x1 - inset, x0 + inset + 1)
    c, d = y0 + inset, np.maximum(y1 - inset, y0 + inset + 1)
    # only the rows and columns where borders are printed, each widened to ±2 pixels
    ys = np.unique(np.concatenate([y0, y1]))
    xs = np.unique(np.concatenate([x0, x1]))
    band_rows = np.stack([dark[np.clip(ys + k, 0, h - 1)] for k in range(-2, 3)]).max(axis=0)
    band_cols = np.stack([dark[:, np.clip(xs + k, 0, w - 1)] for k in range(-2, 3)]).max(axis=0)
    rows = np.concatenate([np.zeros((len(ys), 1), np.int64), np.cumsum(band_rows, axis=1, dtype=np.int64)], axis=1)
    cols = np.concatenate([np.zeros((1, len(xs)), np.int64), np.cumsum(band_cols, axis=0, dtype=np.int64)], axis=0)
    r0, r1 = np.searchsorted(ys, y0), np.searchsorted(ys, y1)
    c0, c1 = np.searchsorted(xs, x0), np.searchsorted(xs, x1)
    top = (rows[r0, b] - rows[r0, a]) / (b - a)
    bottom = (rows[r1, b] - rows[r1, a]) / (b - a)
    left = (cols[d, c0] - cols[c, c0]) / (d - c)
    right = (cols[d, c1] - cols[c, c1]) / (d - c)
    return np.minimum.reduce([top, bottom, left, right])


def flatten(grey: np.ndarray) -> np.ndarray:
    """The page with uneven light evened out: each pixel over the paper's brightness around it."""
    small = cv2.resize(grey, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
    background = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7)))
    background = cv2.resize(cv2.blur(background, (5, 5)), (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(grey, np.maximum(background, 1), scale=255)


def read_page(grey: np.ndarray, layout_for, modules_for) -> PageReading:
    """Read one page image (greyscale, any resolution): identify, register, measure, decide.

    layout_for(code) gives the batch layout for the page's ballot (or raises PageUnreadable for
    a page that is not this campaign's); modules_for(text) the size of the printed page code.
    """
    code = find_page_code(grey)
    layout = layout_for(code)
    if not 1 <= code.page <= len(layout["pages"]) or code.pages != len(layout["pages"]):
        raise PageUnreadable(_("page %(page)d/%(pages)d does not match the %(printed)d pages this ballot was printed "
                               "with", page=code.page, pages=code.pages, printed=len(layout["pages"])))
    page_layout = layout["pages"][code.page - 1]
    matrix, marks, residual = register(grey, code, layout, page_layout, modules_for(code))
    page_w, page_h = layout["page_size"]
    size = (int(round(page_w * PX)), int(round(page_h * PX)))
    warped = cv2.warpPerspective(grey, matrix, size, flags=cv2.INTER_LINEAR, borderValue=255)
    flat = flatten(warped)
    threshold, _binary = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = (flat < min(threshold, 200)).astype(np.uint8)
    boxes = page_layout["boxes"]
    rects = [b["rect"] for b in boxes]
    found = borders_found(dark, rects, page_h)
    if float(np.median(found)) < 0.5:
        raise PageUnreadable(_("the boxes on this page are not where this campaign's ballot prints them: "
                               "it may be another campaign's or a copy printed at another size"))
    if residual > MAX_RESIDUAL:
        raise PageUnreadable(_("the corner marks do not line up with the printed page (%(off).1f px off): "
                               "the sheet may be bent, folded or photographed at an angle", off=residual))
    ratios = box_ratios(dark, rects, page_h)
    shades = box_ratios(255 - flat, rects, page_h) / 255  # faint pencil the threshold leaves out
    reading = PageReading(code, marks_found=marks, residual=residual, warped=warped)
    groups: dict[tuple, list[int]] = {}
    for n, box in enumerate(boxes):
        key = ("category", None) if "category" in box else (box["unit_id"], box["item"])
        groups.setdefault(key, []).append(n)
    for (unit_id, item), members in groups.items():
        choices = [boxes[n].get("category") or boxes[n]["choice"] for n in members]
        decided = decide(unit_id, item, choices, [float(ratios[n]) for n in members],
                         [rects[n] for n in members], [float(shades[n]) for n in members])
        if min(found[n] for n in members) < MIN_BORDER:
            decided.value, decided.doubt, decided.confidence = None, "misplaced", 0.0
        if unit_id == "category":
            reading.category = decided
        else:
            reading.items.append(decided)
    return reading


def crop(reading: PageReading, rects: list[list[float]], page_h: float, margin_pt: float = 30) -> bytes:
    """A PNG of the page around these boxes (canonical resolution), for the review screen."""
    xs = [r[0] for r in rects] + [r[0] + r[2] for r in rects]
    ys = [r[1] for r in rects] + [r[1] + r[3] for r in rects]
    left, top = _canon(min(xs) - margin_pt * 4, max(ys) + margin_pt / 2, page_h)
    right, bottom = _canon(max(xs) + margin_pt, min(ys) - margin_pt / 2, page_h)
    image = cv2.cvtColor(reading.warped, cv2.COLOR_GRAY2BGR)
    for x, y, w_pt, h_pt in rects:  # the item's boxes outlined, so the reviewer sees which line is asked
        x0, y0 = _canon(x, y + h_pt, page_h)
        x1, y1 = _canon(x + w_pt, y, page_h)
        cv2.rectangle(image, (int(x0) - 3, int(y0) - 3), (int(x1) + 3, int(y1) + 3), (40, 40, 220), 2)
    h, w = image.shape[:2]
    part = image[max(int(top), 0):min(int(bottom), h), max(int(left), 0):min(int(right), w)]
    ok, png = cv2.imencode(".png", part)
    return png.tobytes() if ok else b""
