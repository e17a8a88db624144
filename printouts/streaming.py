"""A ReportLab canvas that streams each finished page to the file, so memory stays flat however
many pages a printout has (thousands of numbered ballots)."""
from __future__ import annotations

import zlib
from array import array
from typing import BinaryIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import PDFIndirectObject, PDFObject, PDFResourceDictionary
from reportlab.pdfgen.canvas import Canvas


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
