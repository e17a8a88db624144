"""The base of every printout: subclasses only draw; get_pdf() returns bytes or streams to a file.

Pages are A4. Long jobs draw page by page straight into the output file, so memory stays
flat however many pages there are.
"""
from __future__ import annotations

import io
from abc import ABC, abstractmethod
from typing import BinaryIO, Callable

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from .fonts import register_font


class Printout(ABC):
    """Subclasses implement draw(canvas); pages are A4 portrait unless pagesize is set."""

    pagesize = A4
    title = ""

    def __init__(self, progress: Callable[[int], None] | None = None):
        self.font = register_font()
        self.progress = progress or (lambda pages: None)

    @abstractmethod
    def draw(self, canvas: Canvas) -> None:
        """Draw every page (call canvas.showPage() after each)."""

    def new_canvas(self, out: BinaryIO | str, canvas_class=Canvas, **options) -> Canvas:
        """A canvas whose only font is the embedded CJK font: ReportLab's default initial font
        (Helvetica) would otherwise be referenced without being embedded."""
        canvas = canvas_class(out, pagesize=options.pop("pagesize", self.pagesize), pageCompression=1,
                              initialFontName=self.font, **options)
        canvas.setTitle(self.title)
        canvas.setCreator("survey-toolkit")
        return canvas

    def write(self, out: BinaryIO | str) -> None:
        """Stream the PDF to a file path or a binary file object."""
        canvas = self.new_canvas(out)
        self.draw(canvas)
        canvas.save()

    def get_pdf(self) -> bytes:
        """The whole PDF as bytes (for downloads from the admin)."""
        buf = io.BytesIO()
        self.write(buf)
        return buf.getvalue()
