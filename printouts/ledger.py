"""The remedy ledger (整改台账) as a PDF: A4 landscape, one table row per remedy record.

Receives its rows as data (survey/ledger.py builds them, already disclosed and in the reader's
language) and only draws: a title, the table with its header repeated on every page, and a
footer with the title and page number.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from survey.config import office_today

from .base import Printout
from .report import GREY, MARGIN, RED, paginate

# column widths in mm (sum 267: the landscape page less its margins)
WIDTHS = (14, 26, 40, 16, 16, 16, 16, 16, 28, 28, 16, 35)


class LedgerPrintout(Printout):
    """The ledger of one campaign's remedy records."""

    pagesize = landscape(A4)

    def __init__(self, title: str, headers: list[str], rows: list, lang: str = "zh_CN", progress=None):
        super().__init__(progress)
        self.title, self.headers, self.rows, self.lang = title, headers, rows, lang
        base = dict(fontName=self.font, wordWrap="CJK")
        self.styles = {"title": ParagraphStyle("title", fontSize=16, leading=21, spaceAfter=4, **base),
                       "body": ParagraphStyle("body", fontSize=9, leading=12.5, spaceAfter=3, **base),
                       "cell": ParagraphStyle("cell", fontSize=7.5, leading=9.5, **base),
                       "head": ParagraphStyle("head", fontSize=7.5, leading=9.5, textColor=RED, **base)}

    def p(self, text, style: str = "cell") -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), self.styles[style])

    def story(self) -> list:
        story = [self.p(self.title, "title"),
                 self.p(_("%(n)d remedy record(s). Printed %(day)s.", n=len(self.rows), day=office_today().isoformat()),
                        "body"), Spacer(1, 3 * mm)]
        if not self.rows:
            return story + [self.p(_("No remedy records."), "body")]
        width = self.pagesize[0] - 2 * MARGIN
        widths = [w * mm for w in WIDTHS]
        widths[-1] = width - sum(widths[:-1])
        cells = [[self.p(h, "head") for h in self.headers]]
        for r in self.rows:
            cells.append([self.p(v) for v in (r.code, r.name, r.items, r.owner, r.starts_on.isoformat(),
                                              r.due_on.isoformat(), r.deadline, r.status, r.plan or "—",
                                              r.report or "—", r.verified_on.isoformat() if r.verified_on else "—",
                                              r.reevaluation or "—")])
        table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT", splitInRow=1)  # a long plan runs on
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, GREY),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3e3e2")),
                                   ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))
        return story + [table]

    def draw(self, canvas) -> None:
        """Lay the story out on as many pages as it needs, with a footer on each (as a report)."""
        paginate(self, canvas, self.story())
