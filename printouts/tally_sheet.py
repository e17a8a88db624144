"""Tally sheets (计票表) for counting paper ballots by hand.

For each unit × item a row with one box per choice, for items marked twice or more (invalid)
and for items left blank, each with room to count in strokes (正字) and a line for the total;
on the first page the ballots issued, returned, valid and invalid; on the last the signatures
of the counter and the supervisor (计票人、监票人) and the date.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4

from .drawing import corner_marks, fit_size, wrap
from .base import Printout

W, H = A4
MARGIN = 42
LABEL_W = 150
ROW_H = 40
HEAD_H = 18
TOP_FIRST, TOP_OTHER = 150, 40
BOTTOM = 60
SIGN_H = 80


class TallySheetPrintout(Printout):
    """A tally sheet for the units given as blocks (see survey.paper.UnitBlock)."""

    def __init__(self, *, campaign_name: str, blocks: list, lang: str = "zh_CN",
                 category: str | None = None, progress=None):
        super().__init__(progress)
        self.campaign_name, self.blocks, self.lang, self.category = campaign_name, blocks, lang, category
        with force_locale(lang):
            self.text = {
                "title": _("Tally sheet"),
                "category": _("Respondent category:"),
                "box": _("Box or sheet label:"), "serials": _("Ballot numbers in the box:"),
                "issued": _("Ballots issued"), "returned": _("Ballots returned"),
                "valid": _("Valid ballots"), "invalid": _("Invalid ballots"),
                "item": _("Item"), "two": _("Two or more marked"), "blank": _("None marked"),
                "total": _("Total"),
                "how": _("Count each ballot in strokes (正) in the box of the choice marked; write the "
                         "number after “=”. For every item: choices + two or more marked + none marked "
                         "= valid ballots."),
                "counter": _("Counter (signature)"), "supervisor": _("Supervisor (signature)"),
                "date": _("Date"), "continued": _("(continued)"),
                "print": _("Please print at 100% (no scaling)."),
                "page": _("Page %(page)d of %(pages)d"),
            }
        self.title = f"{self.text['title']} · {campaign_name}"
        self.pages = self._paginate()

    def _paginate(self) -> list[list[tuple]]:
        rows = []
        for number, block in enumerate(self.blocks, start=1):
            rows.append(("unit", 22, (number, block)))
            scale = None
            for q in block.questions:
                if q.choices != scale:
                    rows.append(("head", HEAD_H, q.choices))
                    scale = q.choices
                rows.append(("item", ROW_H, q))
        rows.append(("sign", SIGN_H, None))
        pages, page, y = [], [], H - MARGIN - TOP_FIRST
        last_head = None
        for i, (kind, height, payload) in enumerate(rows):
            need = height + (sum(r[1] for r in rows[i + 1:i + 3]) if kind == "unit" else 0)
            need += rows[i + 1][1] if kind == "head" and i + 1 < len(rows) else 0
            if page and y - need < BOTTOM:
                pages.append(page)
                page, y = [], H - MARGIN - TOP_OTHER
                if kind == "item" and last_head is not None:
                    page.append(("head", HEAD_H, last_head))
                    y -= HEAD_H
            if kind == "head":
                last_head = payload
            elif kind == "unit":
                last_head = None
            page.append((kind, height, payload))
            y -= height
        pages.append(page)
        return pages

    def draw(self, c) -> None:
        f = self.font
        for index, page in enumerate(self.pages):
            corner_marks(c)
            top = H - MARGIN
            if index == 0:
                self._first_header(c, top)
                y = top - TOP_FIRST
            else:
                c.setFont(f, 9)
                c.drawString(MARGIN, top - 8, f"{self.text['title']} · {self.campaign_name} {self.text['continued']}")
                y = top - TOP_OTHER
            for kind, height, payload in page:
                getattr(self, f"_{kind}")(c, y, payload)
                y -= height
            c.setFont(f, 7.5)
            c.drawString(MARGIN, 30, self.text["page"] % {"page": index + 1, "pages": len(self.pages)}
                         + "    " + self.text["print"])
            c.showPage()
            self.progress(1)

    def _first_header(self, c, top: float) -> None:
        f = self.font
        size = fit_size(self.campaign_name, f, 15, W - 2 * MARGIN, 10)
        c.setFont(f, size)
        c.drawString(MARGIN, top - 12, self.campaign_name)
        c.setFont(f, 13)
        c.drawString(MARGIN, top - 34, self.text["title"])
        c.setFont(f, 10)
        c.drawString(MARGIN + 200, top - 34, self.text["category"] + " " + (self.category or "________________"))
        c.setFont(f, 9)
        c.drawString(MARGIN, top - 46, self.text["box"] + " __________")
        c.drawString(MARGIN + 200, top - 46, self.text["serials"] + " ______________________________")
        box_w = (W - 2 * MARGIN) / 4
        for k, key in enumerate(("issued", "returned", "valid", "invalid")):
            x = MARGIN + k * box_w
            c.setLineWidth(0.8)
            c.rect(x, top - 100, box_w - 6, 44)
            c.setFont(f, 8.5)
            c.drawString(x + 4, top - 68, self.text[key])
        c.setFont(f, 7.5)
        y = top - 114
        for line in wrap(self.text["how"], f, 7.5, W - 2 * MARGIN):
            c.drawString(MARGIN, y, line)
            y -= 10

    def _columns(self, choices) -> tuple[float, list[str]]:
        labels = [label for _k, label in choices] + [self.text["two"], self.text["blank"], self.text["total"]]
        return (W - 2 * MARGIN - LABEL_W) / len(labels), labels

    def _unit(self, c, y: float, payload) -> None:
        number, block = payload
        c.setFont(self.font, 11)
        c.drawString(MARGIN, y - 15, f"{number}. {block.name}")
        c.setFont(self.font, 7.5)
        c.drawRightString(W - MARGIN, y - 15, block.code)

    def _head(self, c, y: float, choices) -> None:
        width, labels = self._columns(choices)
        c.setLineWidth(0.6)
        c.rect(MARGIN, y - HEAD_H, W - 2 * MARGIN, HEAD_H)
        c.setFont(self.font, 8)
        c.drawString(MARGIN + 3, y - 12, self.text["item"])
        for k, label in enumerate(labels):
            x = MARGIN + LABEL_W + k * width
            size = fit_size(label, self.font, 8, width - 4, 5)
            c.setFont(self.font, size)
            c.drawCentredString(x + width / 2, y - 12, label)
            c.line(x, y, x, y - HEAD_H)

    def _item(self, c, y: float, q) -> None:
        width, labels = self._columns(q.choices)
        c.setLineWidth(0.6)
        c.rect(MARGIN, y - ROW_H, W - 2 * MARGIN, ROW_H)
        c.setFont(self.font, 7.5)
        ly = y - 10
        for line in wrap(q.label, self.font, 7.5, LABEL_W - 6)[:4]:
            c.drawString(MARGIN + 3, ly, line)
            ly -= 9
        for k in range(len(labels)):
            x = MARGIN + LABEL_W + k * width
            c.line(x, y, x, y - ROW_H)
            c.setLineWidth(0.3)
            c.line(x + 2, y - ROW_H + 12, x + width - 2, y - ROW_H + 12)
            c.setLineWidth(0.6)
            c.setFont(self.font, 8)
            c.drawString(x + 3, y - ROW_H + 3, "=")

    def _sign(self, c, y: float, _payload) -> None:
        c.setFont(self.font, 10)
        y -= 40
        third = (W - 2 * MARGIN) / 3
        for k, key in enumerate(("counter", "supervisor", "date")):
            x = MARGIN + k * third
            c.drawString(x, y, self.text[key])
            c.setLineWidth(0.6)
            c.line(x, y - 22, x + third - 16, y - 22)
