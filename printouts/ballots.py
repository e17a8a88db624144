"""Numbered paper ballots (测评票), each with its own one-time token as a QR code.

Every page of a ballot shows its static part (units, items, boxes, corner marks) as one PDF
form XObject drawn once per batch; per ballot only the serial, the token QR (page 1) and the
page QR ("B:<serial>:P:<page>/<pages>", no token) are drawn. Pages are written to the file as
they are finished (StreamingCanvas), so memory stays flat however many ballots there are.

Also the helpers every printout here shares: QR codes as one path, text wrapping, corner marks.
"""
from __future__ import annotations

import zlib
from array import array
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable

import qrcode
from flask_babel import force_locale
from flask_babel import gettext as _
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import PDFIndirectObject, PDFObject, PDFResourceDictionary
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .base import Printout

W, H = A4
MARGIN = 42
MARK = 12  # corner marks: filled squares this many points wide, 20 points from each edge


# --- shared drawing helpers -----------------------------------------------------------------
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
        if ch != " " and cut > 0 and line[cut - 1:cut].isascii() and ch.isascii():
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
    for x, y in ((20, 20), (width - 20 - MARK, 20), (20, height - 20 - MARK), (width - 20 - MARK, height - 20 - MARK)):
        canvas.rect(x, y, MARK, MARK, stroke=0, fill=1)


# --- a canvas that streams pages to the file -----------------------------------------------
class _PageTree(PDFObject):
    """The page tree: one node listing every page written, kept as an array of numbers."""

    def __init__(self):
        self.kids = array("q")

    def format(self, document):
        kids = " ".join(f"{n} 0 R" for n in self.kids)
        return f"<< /Count {len(self.kids)} /Kids [ {kids} ] /Type /Pages >>".encode("latin-1")


class StreamingCanvas(Canvas):
    """A ReportLab canvas that writes each page (content and page object) as soon as it is
    finished; only the forms, fonts and a number per page stay in memory until save().

    Object numbers of the pages are reserved up front, so the number of pages is given.
    Every page shares one resource dictionary: the fonts and every form drawn.
    """

    HEADER = b"%PDF-1.4\n%\x93\x8c\x8b\x9e survey-toolkit\n"

    def __init__(self, out: BinaryIO, pages: int, font: str, pagesize=A4):
        super().__init__(out, pagesize=pagesize, pageCompression=1, initialFontName=font)
        self._out, self._pages, self._written = out, pages, 0
        self._pos = 0
        self._forms_used: set[str] = set()
        doc = self._doc
        self._tree = _PageTree()
        doc.Pages = doc.Catalog.Pages = self._tree
        self._tree_ref = doc.Reference(self._tree).format(doc)
        self._resources = PDFResourceDictionary()
        self._resources.basicFonts()
        self._resources_ref = doc.Reference(self._resources).format(doc)
        self._base = doc.objectcounter
        doc.objectcounter += 2 * pages
        self._offsets = array("q", bytes(8 * 2 * pages))
        self._emit(self.HEADER)

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    def _object(self, number: int, body: bytes) -> None:
        self._offsets[number - self._base - 1] = self._pos
        self._emit(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def showPage(self):
        """Write the finished page to the file and start the next one."""
        if self._written >= self._pages:
            raise RuntimeError(f"more pages drawn than the {self._pages} reserved")
        self._code.append(" ")
        stream = self._psCommandsBeforePage + [self._preamble] + self._code + self._psCommandsAfterPage
        data = zlib.compress(("\n".join(stream) + "\n").encode("latin-1"))
        self._forms_used.update(self._formsinuse)
        content = self._base + 1 + 2 * self._written
        page = content + 1
        self._object(content, b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        width, height = self._pagesize
        self._object(page, (f"<< /Contents {content} 0 R /MediaBox [ 0 0 {fp_str(width)} {fp_str(height)} ] "
                            f"/Parent ").encode("latin-1") + self._tree_ref + b" /Resources "
                     + self._resources_ref + b" /Type /Page >>")
        self._tree.kids.append(page)
        self._written += 1
        self._startPage()

    def save(self):
        """Write the shared objects (fonts, forms, page tree, catalog), the xref and trailer."""
        if self._code and any(s.strip() for s in self._code):
            self.showPage()
        if self._written != self._pages:
            raise RuntimeError(f"{self._written} pages drawn, {self._pages} reserved")
        doc = self._doc
        if self._forms_used:
            self._resources.XObject = doc.xobjDict(sorted(self._forms_used))
        for font in doc.delayedFonts:
            font.addObjects(doc)
        doc.info.invariant = doc.invariant
        doc.info.digest(doc.signature)
        root = doc.Reference(doc.Catalog).format(doc)
        info = doc.Reference(doc.info).format(doc)
        doc.Outlines.prepare(doc, self)
        if doc.Outlines.ready < 0:
            doc.Catalog.Outlines = None
        doc.encrypt.prepare(doc)
        reserved = range(self._base + 1, self._base + 1 + 2 * self._pages)
        offsets = {}
        number = 0
        while True:
            number += 1
            if number in reserved:
                continue
            if number not in doc.numberToId:
                break
            name = doc.numberToId[number]
            offsets[number] = self._pos
            self._emit(PDFIndirectObject(name, doc.idToObject[name]).format(doc))
        last = number - 1
        xref = self._pos
        rows = [b"xref\n0 %d\n0000000000 65535 f \n" % (last + 1)]
        for n in range(1, last + 1):
            offset = self._offsets[n - self._base - 1] if n in reserved else offsets[n]
            rows.append(b"%010d 00000 n \n" % offset)
        self._emit(b"".join(rows))
        self._emit(b"trailer\n<< /ID " + doc.ID() + b" /Info " + info + b" /Root " + root
                   + b" /Size %d >>\nstartxref\n%d\n%%%%EOF\n" % (last + 1, xref))


# --- the ballot's layout ----------------------------------------------------------------------
LABEL_SIZE, LEADING = 9, 11
CHOICE_SIZE, BOX = 8.5, 9
UNIT_HEAD = 22
FOOT = 84  # the body ends this far above the bottom edge
PAGE_QR, TOKEN_QR = 50, 100


@dataclass
class _Row:
    kind: str  # "unit", "question", "categories"
    height: float
    payload: object


class BallotPrintout(Printout):
    """count ballots with serials and tokens from `ballots`; all share one layout of units."""

    def __init__(self, *, campaign_name: str, blocks: list, base_url: str, lang: str,
                 category: str | None, categories: list[tuple[str, str]],
                 ballots: Iterable[tuple[int, str]], count: int,
                 progress: Callable[[int], None] | None = None):
        super().__init__(progress)
        self.campaign_name, self.blocks, self.lang = campaign_name, blocks, lang
        self.base_url = base_url.rstrip("/")
        self.category, self.categories = category, categories
        self.ballots, self.count = ballots, count
        self.title = campaign_name
        with force_locale(lang):
            self.text = {
                "ballot": _("Evaluation ballot"),
                "category": _("Respondent category: %(category)s", category=category or ""),
                "you_are": _("You are:"),
                "number": _("Ballot No."),
                "mark": _("Mark one box on each line with √. A line with two or more boxes marked is invalid; "
                          "a line left empty is counted as blank. Do not write your name."),
                "scan": _("Or scan this code to answer by phone. The ballot counts once: by phone or on paper."),
                "continued": _("(continued)"),
                "print": _("Please print at 100% (no scaling)."),
                "page": _("Page %(page)d of %(pages)d"),
            }
        self.pages = self._paginate()

    # layout --------------------------------------------------------------------------------
    def _choice_width(self, choices) -> float:
        return sum(BOX + 4 + stringWidth(label, self.font, CHOICE_SIZE) + 10 for _k, label in choices)

    def _choice_lines(self, choices, width) -> list[list[tuple[str, str]]]:
        lines, line, used = [], [], 0.0
        for choice in choices:
            w = BOX + 4 + stringWidth(choice[1], self.font, CHOICE_SIZE) + 10
            if line and used + w > width:
                lines.append(line)
                line, used = [], 0.0
            line.append(choice)
            used += w
        return lines + [line]

    def _paginate(self) -> list[list[_Row]]:
        body = W - 2 * MARGIN
        widest = max((self._choice_width(q.choices) for b in self.blocks for q in b.questions), default=100)
        self.choices_w = min(widest, body * 0.58)
        self.label_w = body - self.choices_w - 10
        rows = []
        if not self.category and self.categories:
            lines = self._choice_lines(self.categories, body - 60)
            rows.append(_Row("categories", len(lines) * 14 + 8, lines))
        for number, block in enumerate(self.blocks, start=1):
            rows.append(_Row("unit", UNIT_HEAD, (number, block)))
            for note in block.notes:
                lines = wrap(note, self.font, LABEL_SIZE - 1, body)
                rows.append(_Row("note", len(lines) * LEADING + 4, lines))
            for q in block.questions:
                label = wrap(q.label, self.font, LABEL_SIZE, self.label_w)
                choices = self._choice_lines(q.choices, self.choices_w)
                height = max(len(label) * LEADING, len(choices) * 14) + 5
                rows.append(_Row("question", height, (label, choices)))
        pages, page, y = [], [], self._body_top(0)
        current = None
        for i, row in enumerate(rows):
            need = row.height + (rows[i + 1].height if row.kind == "unit" and i + 1 < len(rows) else 0)
            if page and y - need < FOOT:
                pages.append(page)
                page, y = [], self._body_top(len(pages))
                if row.kind == "question" and current:
                    page.append(_Row("unit", UNIT_HEAD, (current[0], current[1], True)))
                    y -= UNIT_HEAD
            if row.kind == "unit":
                current = row.payload
            page.append(row)
            y -= row.height
        pages.append(page)
        return pages

    def _body_top(self, page_index: int) -> float:
        return H - MARGIN - (150 if page_index == 0 else 34)

    # static parts: one form per page of the layout ----------------------------------------
    def _draw_static(self, c: Canvas, index: int) -> None:
        f = self.font
        corner_marks(c)
        pages = len(self.pages)
        top = H - MARGIN
        if index == 0:
            title_w = W - 2 * MARGIN - TOKEN_QR - 16
            size = fit_size(self.campaign_name, f, 15, title_w, 11)
            y = top - 12
            for line in wrap(self.campaign_name, f, size, title_w)[:2]:
                c.setFont(f, size)
                c.drawString(MARGIN, y, line)
                y -= size + 4
            c.setFont(f, 12)
            c.drawString(MARGIN, y - 4, self.text["ballot"])
            y -= 22
            if self.category:
                c.setFont(f, 10)
                c.drawString(MARGIN, y, self.text["category"])
                y -= 14
            c.setFont(f, 10)
            c.drawString(MARGIN, y, self.text["number"])
            c.setFont(f, 7.5)
            for line in wrap(self.text["mark"], f, 7.5, title_w):
                y -= 10
                c.drawString(MARGIN, y - 4, line)
            qx = W - MARGIN - TOKEN_QR
            c.setFont(f, 6.5)
            ty = top - TOKEN_QR - 8
            for line in wrap(self.text["scan"], f, 6.5, TOKEN_QR):
                c.drawString(qx, ty, line)
                ty -= 8
        else:
            c.setFont(f, 9)
            c.drawString(MARGIN, top - 6, f"{self.campaign_name} {self.text['continued']}")
            c.drawString(W - MARGIN - 140, top - 6, self.text["number"])
        c.setFont(f, 7.5)
        c.drawString(MARGIN, 30, self.text["page"] % {"page": index + 1, "pages": pages} + "    " + self.text["print"])
        c.setFont(f, 9)
        c.drawString(MARGIN, 46, self.text["number"])
        y = self._body_top(index)
        for row in self.pages[index]:
            self._draw_row(c, row, y)
            y -= row.height

    def _draw_row(self, c: Canvas, row: _Row, y: float) -> None:
        f = self.font
        if row.kind == "categories":
            c.setFont(f, 9.5)
            c.drawString(MARGIN, y - 12, self.text["you_are"])
            self._draw_boxes(c, row.payload, MARGIN + 60, y - 12)
        elif row.kind == "unit":
            number, block, *cont = row.payload
            c.setFont(f, 11)
            heading = f"{number}. {block.name}"
            if cont:
                heading += " " + self.text["continued"]
            c.drawString(MARGIN, y - 14, heading)
            c.setFont(f, 7.5)
            c.drawRightString(W - MARGIN, y - 14, block.code)
            c.setLineWidth(0.8)
            c.line(MARGIN, y - 18, W - MARGIN, y - 18)
        elif row.kind == "note":
            c.setFont(f, LABEL_SIZE - 1)
            ly = y - LEADING + 1
            for line in row.payload:
                c.drawString(MARGIN, ly, line)
                ly -= LEADING
        else:
            label, choices = row.payload
            c.setFont(f, LABEL_SIZE)
            ly = y - LEADING + 1
            for line in label:
                c.drawString(MARGIN, ly, line)
                ly -= LEADING
            self._draw_boxes(c, choices, W - MARGIN - self.choices_w, y - LEADING + 1)
            c.setLineWidth(0.3)
            c.setStrokeGray(0.6)
            c.line(MARGIN, y - row.height + 1, W - MARGIN, y - row.height + 1)
            c.setStrokeGray(0)

    def _draw_boxes(self, c: Canvas, lines, x0: float, y: float) -> None:
        c.setLineWidth(0.8)
        c.setFont(self.font, CHOICE_SIZE)
        for line in lines:
            x = x0
            for _key, label in line:
                c.rect(x, y - 1.5, BOX, BOX)
                c.drawString(x + BOX + 4, y, label)
                x += BOX + 4 + stringWidth(label, self.font, CHOICE_SIZE) + 10
            y -= 14

    # drawing ---------------------------------------------------------------------------------
    def write(self, out: BinaryIO) -> None:
        """Stream every ballot to out (a binary file object), page by page."""
        pages = len(self.pages)
        canvas = StreamingCanvas(out, self.count * pages, self.font)
        canvas.setTitle(self.title)
        canvas.setCreator("survey-toolkit")
        self.draw(canvas)
        canvas.save()

    def draw(self, c: Canvas) -> None:
        f = self.font
        pages = len(self.pages)
        for index in range(pages):
            c.beginForm(f"ballot{index}")
            self._draw_static(c, index)
            c.endForm()
        number_x = MARGIN + stringWidth(self.text["number"], f, 10) + 6
        foot_x = MARGIN + stringWidth(self.text["number"], f, 9) + 4
        top_x = W - MARGIN - 140 + stringWidth(self.text["number"], f, 9) + 4
        done, version = 0, None
        for serial, token in self.ballots:
            url = f"{self.base_url}/b/{token}"
            version = version or qr_version(url)  # every token has the same length
            number = f"{serial:06d}"
            for index in range(pages):
                c.doForm(f"ballot{index}")
                if index == 0:
                    c.setFont(f, 14)
                    c.drawString(number_x, self._number_y(), number)
                    draw_qr(c, qr_matrix(url, version=version), W - MARGIN - TOKEN_QR + 4,
                            H - MARGIN - TOKEN_QR + 12, TOKEN_QR)
                else:
                    c.setFont(f, 9)
                    c.drawString(top_x, H - MARGIN - 6, number)
                c.setFont(f, 9)
                c.drawString(foot_x, 46, number)
                draw_qr(c, qr_matrix(f"B:{serial}:P:{index + 1}/{pages}", fixed_mask=True),
                        W - MARGIN - PAGE_QR + 6, 16, PAGE_QR)
                c.showPage()
            done += 1
            self.progress(1)
        if done != self.count:
            raise RuntimeError(f"{done} ballots drawn, {self.count} expected")

    def _number_y(self) -> float:
        """Where the serial sits on page 1: on the line of the static "Ballot No." label."""
        size = fit_size(self.campaign_name, self.font, 15, W - 2 * MARGIN - TOKEN_QR - 16, 11)
        lines = min(2, len(wrap(self.campaign_name, self.font, size, W - 2 * MARGIN - TOKEN_QR - 16)))
        y = H - MARGIN - 12 - lines * (size + 4) - 22
        return y - 14 if self.category else y
