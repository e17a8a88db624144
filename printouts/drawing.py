"""Drawing helpers every printout shares: QR codes drawn as one path, text wrapping and
fitting, and the corner marks a scanner finds a page by."""
from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

W, H = A4
MARK = 12  # corner marks: filled squares this many points wide, 20 points from each edge


def qr_matrix(data: str, fixed_mask: bool = False, version: int | None = None) -> list[list[bool]]:
    """The QR modules (no quiet zone). fixed_mask skips the mask search, for the page codes
    that only machines read: a valid code, about seven times faster to make. A known version
    (same length of data as before) skips the search for the size."""
    q = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0,
                      mask_pattern=0 if fixed_mask else None)
    q.add_data(data)
    q.make(fit=version is None)
    return q.get_matrix()


def qr_version(data: str) -> int:
    """The smallest QR version that holds data (at error correction level M)."""
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    q.add_data(data)
    return q.best_fit()


def draw_qr(canvas: Canvas, matrix, x: float, y: float, size: float) -> None:
    """Draw a QR code as one filled path (runs of dark modules), quiet zone included in size."""
    n = len(matrix)
    cell = size / (n + 8)
    ops = []
    for r, row in enumerate(matrix):
        yy = n - 1 - r
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start} {yy} {col - start} 1 re")
            else:
                col += 1
    canvas.saveState()
    canvas.setFillGray(0)
    canvas.transform(cell, 0, 0, cell, x + 4 * cell, y + 4 * cell)
    canvas.addLiteral(" ".join(ops) + " f")
    canvas.restoreState()


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break text into lines no wider than width: between words for Latin, anywhere for CJK."""
    lines, line = [], ""
    for ch in text.replace("\r", ""):
        if ch == "\n":
            lines.append(line)
            line = ""
            continue
        trial = line + ch
        if not line or stringWidth(trial, font, size) <= width:
            line = trial
            continue
        cut = line.rfind(" ")
        if ch != " " and cut > 0 and (line[cut + 1:] + ch).isascii():  # a Latin word moves down whole
            lines.append(line[:cut])
            line = line[cut + 1:] + ch
        else:
            lines.append(line.rstrip())
            line = ch.lstrip()
    if line:
        lines.append(line)
    return lines or [""]


def fit_size(text: str, font: str, size: float, width: float, smallest: float) -> float:
    """The largest font size ≤ size (down to smallest) at which text fits on one line."""
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def corner_marks(canvas: Canvas, width: float = W, height: float = H) -> None:
    """Four filled squares near the corners, for scanners to find and straighten the page."""
    for x, y in mark_positions(width, height):
        canvas.rect(x, y, MARK, MARK, stroke=0, fill=1)


def mark_positions(width: float = W, height: float = H):
    """Where the four corner marks' lower-left corners are, 20 points from each edge."""
    return ((20, 20), (width - 20 - MARK, 20), (20, height - 20 - MARK), (width - 20 - MARK, height - 20 - MARK))
