"""Pages from the files a scanner delivers: PDF, multi-page TIFF, PNG or JPEG.

PDFs are rendered by poppler's pdftoppm (at 300 dpi, grey), the same decoder the tests use to
look at printouts; images are read with OpenCV (a TIFF page by page). Each page comes out as
a greyscale array with its position in the file.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import cv2
from flask_babel import gettext as _
import numpy as np

PDF_DPI = 300
# the most pixels a page may have: A4 at 600 dpi is 35 million; more is not a scan of a ballot
# (and decoding it could take gigabytes)
MAX_PIXELS = 80_000_000
TIFF_PAGES_AT_ONCE = 4  # pages of a multi-page TIFF decoded together
SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


class ScanFileError(ValueError):
    """A file that is not a scan the toolkit can read, with why."""


def kind_of(name: str, head: bytes) -> str:
    """'pdf', 'tiff' or 'image' from the file's first bytes (the name only breaks ties)."""
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8"):
        return "image"
    raise ScanFileError(_("%(name)s is not a PDF, TIFF, PNG or JPEG file.", name=name))


def pages(path: str | Path, first: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(page number from 1, greyscale image) for every page of the file from page first, in
    file order (pages before first are not decoded)."""
    path = Path(path)
    with open(path, "rb") as f:
        kind = kind_of(path.name, f.read(8))
    if kind == "pdf":
        yield from _pdf_pages(path, first)
        return
    _check_size(path)
    try:
        yield from _image_pages(path, kind, first)
    except cv2.error:
        raise ScanFileError(_("%(name)s cannot be read as an image.", name=path.name)) from None


def _check_size(path: Path) -> None:
    """Refuse, before decoding, an image whose pages are far larger than a scanned ballot."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            for frame in range(getattr(image, "n_frames", 1)):
                image.seek(frame)
                if image.width * image.height > MAX_PIXELS:
                    raise ScanFileError(_("%(name)s: page %(page)d is %(w)d × %(h)d pixels, too large for a "
                                          "scanned ballot; scan at 150–600 dpi.", name=path.name, page=frame + 1,
                                          w=image.width, h=image.height))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ScanFileError(_("%(name)s cannot be read as an image.", name=path.name)) from None


def _image_pages(path: Path, kind: str, first: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    if kind == "tiff":  # a few pages at a time: a file of hundreds would take gigabytes decoded at once
        total = page_count(path)
        for start in range(first - 1, total, TIFF_PAGES_AT_ONCE):
            ok, images = cv2.imreadmulti(str(path), start, min(TIFF_PAGES_AT_ONCE, total - start),
                                         flags=cv2.IMREAD_GRAYSCALE)
            if not ok:
                raise ScanFileError(_("%(name)s cannot be read as an image.", name=path.name))
            for n, image in enumerate(images, start=start + 1):
                yield n, image
            del images
    elif first <= 1:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ScanFileError(_("%(name)s cannot be read as an image.", name=path.name))
        yield 1, image


def page_count(path: str | Path) -> int:
    """How many pages the file has (without rendering a PDF)."""
    path = Path(path)
    with open(path, "rb") as f:
        kind = kind_of(path.name, f.read(8))
    if kind == "pdf":
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True)
        for line in info.stdout.splitlines():
            if line.startswith("Pages:"):
                count = int(line.split()[1])
                if count < 1:
                    raise ScanFileError(_("%(name)s has no pages.", name=path.name))
                _check_pdf_sizes(path, count)
                return count
        if "page count 0" in info.stderr or "can not be after the last page (0)" in info.stderr:
            raise ScanFileError(_("%(name)s has no pages.", name=path.name))
        raise ScanFileError(_("%(name)s cannot be read as a PDF file.", name=path.name))
    if kind == "tiff":
        try:
            count = cv2.imcount(str(path))
        except cv2.error:
            count = 0
        if count < 1:
            raise ScanFileError(_("%(name)s cannot be read as an image.", name=path.name))
        return count
    return 1


PDF_PAGE_SIZE = re.compile(r"^Page\s+([0-9]+) size:\s+([0-9.]+) x ([0-9.]+) pts", re.M)


def _check_pdf_sizes(path: Path, count: int) -> None:
    """Refuse, before rendering, a PDF page far larger than a scanned ballot (a page of a few
    metres would be rendered as gigabytes of pixels, for minutes)."""
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(count), str(path)], capture_output=True, text=True)
    for page, w, h in PDF_PAGE_SIZE.findall(info.stdout):
        if float(w) * float(h) * (PDF_DPI / 72) ** 2 > MAX_PIXELS:
            raise ScanFileError(_("%(name)s: page %(page)s measures %(w)d × %(h)d mm, far larger than a ballot; "
                                  "scan the ballots on A4.", name=path.name, page=page,
                                  w=round(float(w) * 25.4 / 72), h=round(float(h) * 25.4 / 72)))


def _pdf_pages(path: Path, first: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    total = page_count(path)
    with tempfile.TemporaryDirectory(prefix="survey-scan-") as folder:
        for number in range(first, total + 1):
            stem = Path(folder) / f"p{number}"
            done = subprocess.run(["pdftoppm", "-gray", "-r", str(PDF_DPI), "-f", str(number), "-l", str(number),
                                   "-singlefile", "-png", str(path), str(stem)], capture_output=True)
            image = cv2.imread(str(stem) + ".png", cv2.IMREAD_GRAYSCALE)
            if done.returncode != 0 or image is None:
                raise ScanFileError(_("%(name)s: page %(page)d of the PDF cannot be rendered.", name=path.name,
                                      page=number))
            Path(str(stem) + ".png").unlink()
            yield number, image
