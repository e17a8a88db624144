"""Pages from the files a scanner delivers: PDF, multi-page TIFF, PNG or JPEG.

PDFs are rendered by poppler's pdftoppm (at 300 dpi, grey), the same decoder the tests use to
look at printouts; images are read with OpenCV (a TIFF page by page). Each page comes out as
a greyscale array with its position in the file.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

PDF_DPI = 300
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
    raise ScanFileError(f"{name}: not a PDF, TIFF, PNG or JPEG file")


def pages(path: str | Path) -> Iterator[tuple[int, np.ndarray]]:
    """(page number from 1, greyscale image) for every page of the file, in file order."""
    path = Path(path)
    with open(path, "rb") as f:
        kind = kind_of(path.name, f.read(8))
    if kind == "pdf":
        yield from _pdf_pages(path)
    elif kind == "tiff":
        ok, images = cv2.imreadmulti(str(path), flags=cv2.IMREAD_GRAYSCALE)
        if not ok:
            raise ScanFileError(f"{path.name}: the TIFF file cannot be read")
        for n, image in enumerate(images, start=1):
            yield n, image
    else:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ScanFileError(f"{path.name}: the image cannot be read")
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
                return int(line.split()[1])
        raise ScanFileError(f"{path.name}: the PDF file cannot be read")
    if kind == "tiff":
        return cv2.imcount(str(path))
    return 1


def _pdf_pages(path: Path) -> Iterator[tuple[int, np.ndarray]]:
    total = page_count(path)
    with tempfile.TemporaryDirectory(prefix="survey-scan-") as folder:
        for number in range(1, total + 1):
            stem = Path(folder) / f"p{number}"
            done = subprocess.run(["pdftoppm", "-gray", "-r", str(PDF_DPI), "-f", str(number), "-l", str(number),
                                   "-singlefile", "-png", str(path), str(stem)], capture_output=True)
            image = cv2.imread(str(stem) + ".png", cv2.IMREAD_GRAYSCALE)
            if done.returncode != 0 or image is None:
                raise ScanFileError(f"{path.name}: page {number} of the PDF cannot be rendered")
            Path(str(stem) + ".png").unlink()
            yield number, image
