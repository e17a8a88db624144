"""Numbered paper ballots (测评票), each with its own one-time token as a QR code.

Every page of a ballot shows its static part (units, items, boxes, corner marks) as one PDF
form XObject drawn once per batch; per ballot only the serial, the token QR (page 1) and the
page QR ("B:<serial>:P:<page>/<pages>", no token) are drawn. Pages are written to the file as
they are finished (StreamingCanvas), so memory stays flat however many ballots there are.

The drawing helpers every printout shares are in printouts/drawing.py, the streaming canvas in
printouts/streaming.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .base import Printout
from .drawing import MARK, corner_marks, draw_qr, fit_size, mark_positions, qr_matrix, qr_version, wrap
from .streaming import StreamingCanvas

MARGIN = 42

# --- the ballot's layout: grids of boxes --------------------------------------------------------
# Sizes for people reading without glasses in a meeting hall: body text 9 pt, boxes 4.2 mm.
MM = 72 / 25.4
BODY, LEADING = 9, 11
BOX = 4.2 * MM
PITCH = BOX + 2.6     # one choice column
GROUP_GAP = 6         # between the column groups of two items
ROW_PAD = 1           # above and below the boxes of a unit's row
STACK = 9.6            # the step between the characters of a stacked CJK heading
TURNED_CAP = 80        # the longest turned (Latin) choice heading
HEAD_CAP = 44         # the tallest stacked (CJK) choice heading
TOP = 26              # the header starts this far below the top edge
FOOT = 60             # the body ends this far above the bottom edge
PAGE_QR, TOKEN_QR = 48, 80  # the page code's symbol stays 6 mm inside the paper's edge (printers clip less)
SIZES = {"portrait": A4, "landscape": (A4[1], A4[0])}


def _cjk(text: str) -> bool:
    return bool(text) and not any(ch.isascii() and ch.isalpha() for ch in text)


def short_label(label: str) -> str:
    """An item's heading: its label up to the first colon (领导班子好：… → 领导班子好)."""
    for sep in ("：", ":"):
        if sep in label:
            head = label.split(sep, 1)[0].strip()
            if head:
                return head
    return label


@dataclass
class _Grid:
    """Units sharing the same questions, with a column group per question and a box per choice."""

    questions: tuple           # the questions (survey.paper.Question) shown in these columns
    first_item: int            # the number of the first question (numbering across column chunks)
    units: list                # (number on the ballot, UnitBlock)


class BallotPrintout(Printout):
    """count ballots with serials and tokens from `ballots`; all share one layout of units.

    Units whose questions are the same (one questionnaire, same commitments) share a grid:
    one row per unit, one column group per question, one box per choice. The page size
    (A4 portrait or landscape) is the one giving the fewest pages. `layout` is the position of
    every box as data (see survey.paper.layout), for reading scanned ballots.
    """

    def __init__(self, *, campaign_name: str, blocks: list, base_url: str, lang: str,
                 category: str | None, categories: list[tuple[str, str]],
                 ballots: Iterable[tuple[int, str]], count: int,
                 progress: Callable[[int], None] | None = None, campaign_key: str | None = None):
        super().__init__(progress)
        self.campaign_key = campaign_key
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
                "mark": _("For each unit, mark one box (√) under each item, with a pen. To correct, fill the wrong box "
                          "in completely (■) and mark the right one. An item with two or more boxes marked is "
                          "invalid; an item left empty is blank; leave a unit's whole row empty if you do not "
                          "know it. Do not write your name."),
                "scan": _("Or scan the code on the right to answer by phone. The ballot counts once: "
                          "by phone or on paper."),
                "unit": _("Unit"),
                "continued": _("(continued)"),
                "print": _("Please print at 100% (no scaling)."),
                "page": _("Page %(page)d of %(pages)d"),
                "reasons": _("Reasons for a poor rating"),
            }
        self.questions_by_key = {}
        for block in blocks:
            for q in block.questions:
                self.questions_by_key.setdefault(q.key, []).append(q)
        self.grids = self._grids()
        plans = {o: self._paginate(o) for o in SIZES}
        self.orientation = min(SIZES, key=lambda o: (len(plans[o]), o != "portrait"))
        self.pagesize = SIZES[self.orientation]
        self.pages = plans[self.orientation]
        self.layout = self._layout()

    # layout --------------------------------------------------------------------------------
    def _grids(self) -> list[tuple]:
        """Units grouped by their shared questions (first appearance order):
        (questions, [(n, block)], [(n, block, question)]) — the last the questions of one unit
        alone (its public commitments, item.N), printed as lines under the grid."""
        groups: dict[tuple, tuple[list, list]] = {}
        for number, block in enumerate(self.blocks, start=1):
            shared = tuple(q for q in block.questions if not own_question(q))
            own = [(number, block, q) for q in block.questions if own_question(q)]
            if shared or own:
                units, extras = groups.setdefault(shared, ([], []))
                if shared:
                    units.append((number, block))
                extras.extend(own)
        return [(questions, units, extras) for questions, (units, extras) in groups.items()]

    def _body(self, orientation) -> tuple[float, float]:
        width, height = SIZES[orientation]
        return width - 2 * MARGIN, height

    def _name_width(self, units) -> float:
        widest = max(stringWidth(f"{n}. {b.name}", self.font, BODY) for n, b in units)
        return max(70.0, min(widest + 8, 150.0))

    def _chunks(self, questions, width: float) -> list[tuple[int, tuple]]:
        """The questions split into column chunks that fit width: (number of the first item,
        questions); an item's poor-rating reasons stay in its chunk."""
        spans: list[tuple[int, tuple, float]] = []  # an item with its reasons: (number, questions, width)
        for number, group in column_groups(questions):
            w = sum(len(q.choices) for q in group) * PITCH + GROUP_GAP
            if group[0].reason_of is not None and spans:
                spans[-1] = (spans[-1][0], spans[-1][1] + group, spans[-1][2] + w)
            else:
                spans.append((number, group, w))
        chunks, start, used, first = [], [], 0.0, 1
        for number, group, w in spans:
            if start and used + w > width:  # the item and its reasons start the next chunk together
                chunks.append((first, tuple(start)))
                start, used, first = [], 0.0, number
            start += group
            used += w
        chunks.append((first, tuple(start)))
        return chunks

    def _legend_lines(self, grid: _Grid, body_w: float) -> list[list[str]]:
        """The legend rows: each question's number and full label, in one or two columns; an
        item's poor-rating reasons after it."""
        columns = 2 if body_w > 600 and len(grid.questions) > 3 else 1
        col_w = body_w / columns - 8
        entries = [wrap(self._group_legend(number, group), self.font, BODY, col_w)
                   for number, group in column_groups(grid.questions, grid.first_item)]
        # the criteria a member appraisal rates against (五带头), once for the grid's units
        notes = dict.fromkeys(note for _n, block in grid.units for note in block.notes if note)
        entries += [wrap(note, self.font, BODY, col_w) for note in notes]
        return [entries[i:i + columns] for i in range(0, len(entries), columns)]

    def _group_legend(self, number: int, group: tuple) -> str:
        if group[0].reason_of is None:
            return f"{number}. {group[0].label}"
        item = self.questions_by_key[group[0].reason_of][0]
        with force_locale(self.lang):
            return _("Reasons for a poor rating on item %(number)d (%(poor)s): tick any, or none — %(reasons)s",
                     number=number, poor=_(" or ").join(label for key, label in item.choices if key in group[0].poor),
                     reasons=_(", ").join(q.choices[0][1] for q in group))

    def _choice_head_h(self, questions) -> float:
        tallest = 0.0
        for q in questions:
            for _k, label in q.choices:
                tallest = max(tallest, min(len(label) * STACK, HEAD_CAP) if _cjk(label)
                              else min(stringWidth(label, self.font, BODY) + 2, TURNED_CAP))
        return tallest + 4

    def _grid_parts(self, grid: _Grid, body_w: float, name_w: float) -> dict:
        """Heights of a grid's fixed parts on a page: legend, headings, and each unit row."""
        legend = self._legend_lines(grid, body_w)
        heads = [wrap(f"{number}. {short_label(group[0].label)}" if group[0].reason_of is None else self.text["reasons"],
                      self.font, BODY, sum(len(q.choices) for q in group) * PITCH - 1)[:3]
                 for number, group in column_groups(grid.questions, grid.first_item)]
        head_h = max(len(h) for h in heads) * LEADING + 2
        rows = [wrap(f"{n}. {b.name}", self.font, BODY, name_w - 6)[:2] for n, b in grid.units]
        return {"legend": legend, "legend_h": sum(max(len(e) for e in row) for row in legend) * LEADING + 6,
                "heads": heads, "head_h": head_h, "choice_h": self._choice_head_h(grid.questions),
                "rows": rows, "row_h": [max(BOX + 2 * ROW_PAD, len(r) * LEADING + 3) for r in rows]}

    def _paginate(self, orientation: str) -> list[list[tuple]]:
        """Pages as lists of (kind, y top, payload); kinds: header, categories, grid."""
        body_w, height = self._body(orientation)
        pages: list[list[tuple]] = [[("header", height - TOP, 0)]]
        y = height - TOP - self._header_h(0, body_w)
        if not self.category and self.categories:
            lines = self._category_lines(body_w - 60)
            pages[0].append(("categories", y, lines))
            y -= len(lines) * (BOX + 6) + 6
        def new_page():
            pages.append([("header", height - TOP, len(pages))])
            return height - TOP - self._header_h(len(pages) - 1, body_w)

        for questions, units, extras in self.grids:
            name_w = self._name_width(units) if units else 0
            for first, chunk in (self._chunks(questions, body_w - name_w) if units else []):
                grid = _Grid(chunk, first, units)
                parts = self._grid_parts(grid, body_w, name_w)
                fixed = parts["legend_h"] + parts["head_h"] + parts["choice_h"]
                index = 0
                while index < len(units):
                    room = y - FOOT - fixed
                    take, used = 0, 0.0
                    while index + take < len(units) and used + parts["row_h"][index + take] <= room:
                        used += parts["row_h"][index + take]
                        take += 1
                    if take == 0 and len(pages[-1]) > 1:
                        y = new_page()
                        continue
                    take = max(take, 1)
                    part = _Grid(chunk, grid.first_item, units[index:index + take])
                    sub = dict(parts, rows=parts["rows"][index:index + take], row_h=parts["row_h"][index:index + take])
                    pages[-1].append(("grid", y, (part, sub, name_w)))
                    y -= fixed + sum(sub["row_h"]) + 8
                    index += take
            noted = {id(b) for _n, b in units}  # their criteria are in the grid's legend
            for number, block, q in extras:
                if block.notes and id(block) not in noted:
                    noted.add(id(block))  # the criteria, once, above the unit's own lines
                    note = [line for text in block.notes for line in wrap(text, self.font, BODY, body_w)]
                    if y - len(note) * LEADING - 4 < FOOT and len(pages[-1]) > 1:
                        y = new_page()
                    pages[-1].append(("note", y, note))
                    y -= len(note) * LEADING + 4
                line = self._extra_parts(number, block, q, body_w)
                if y - line["h"] < FOOT and len(pages[-1]) > 1:
                    y = new_page()
                pages[-1].append(("extra", y, line))
                y -= line["h"]
            if extras:
                y -= 8
        return pages

    def _extra_parts(self, number, block, q, body_w) -> dict:
        """One question of one unit alone (a public commitment): its label, then its boxes."""
        widths = [BOX + 3 + stringWidth(label, self.font, BODY) + 10 for _k, label in q.choices]
        choices_w = min(sum(widths), body_w * 0.55)
        lines, line, used = [], [], 0.0
        for choice, w in zip(q.choices, widths):
            if line and used + w > choices_w:
                lines.append(line)
                line, used = [], 0.0
            line.append(choice)
            used += w
        lines.append(line)
        label = wrap(f"{number}. {block.name} · {q.label}", self.font, BODY, body_w - choices_w - 12)
        return {"block": block, "q": q, "label": label, "choices": lines, "choices_w": choices_w,
                "h": max(len(label) * LEADING, len(lines) * (BOX + 4)) + 5}

    def _header_h(self, index: int, body_w: float) -> float:
        if index:
            return 26
        text_w = body_w - TOKEN_QR - 16
        lines = len(wrap(self.text["mark"] + " " + self.text["scan"], self.font, BODY, text_w))
        left = self._title_h(text_w) + (14 if self.category else 0) + 20 + lines * LEADING + 4
        return max(left, TOKEN_QR + 4)

    def _title_h(self, text_w) -> float:
        size = fit_size(self.campaign_name, self.font, 15, text_w, 11)
        return min(2, len(wrap(self.campaign_name, self.font, size, text_w))) * (size + 4) + 4

    def _category_lines(self, width) -> list[list[tuple[str, str]]]:
        lines, line, used = [], [], 0.0
        for key, label in self.categories:
            w = BOX + 4 + stringWidth(label, self.font, BODY) + 12
            if line and used + w > width:
                lines.append(line)
                line, used = [], 0.0
            line.append((key, label))
            used += w
        return lines + [line]

    # the layout as data -------------------------------------------------------------------
    def _layout(self) -> dict:
        """Every box of every page template, with the marks and codes a scanner looks for."""
        width, height = self.pagesize
        pages = []
        for index, page in enumerate(self.pages):
            boxes = []
            for kind, y, payload in page:
                if kind == "categories":
                    for key, x, by in self._category_boxes(payload, y):
                        boxes.append({"category": key, "rect": _rect(x, by, BOX, BOX)})
                elif kind in ("grid", "extra"):
                    found = self._grid_boxes(*payload, y) if kind == "grid" else self._extra_boxes(payload, y)
                    for block, q, choice, x, by in found:
                        boxes.append({"unit": block.code, "unit_id": block.unit_id, "item": q.key,
                                      "choice": choice, "rect": _rect(x, by, BOX, BOX)})
            qr = (width - MARGIN - PAGE_QR - 2, FOOT - PAGE_QR, PAGE_QR)  # clear of the corner mark and the body
            token = (width - MARGIN - TOKEN_QR + 4, height - TOP - TOKEN_QR + 6, TOKEN_QR) if index == 0 else None
            pages.append({"page": index + 1, "page_qr": _rect(*qr, qr[2]), "boxes": boxes,
                          "token_qr": _rect(*token, token[2]) if token else None})
        marks = [_rect(x, y, MARK, MARK) for x, y in mark_positions(width, height)]
        return {"format": 1, "unit": "pt", "origin": "bottom-left", "page_size": [round(width, 2), round(height, 2)],
                "orientation": self.orientation, "box": round(BOX, 2), "corner_marks": marks, "pages": pages}

    def _category_boxes(self, lines, y):
        for row, line in enumerate(lines):
            x = MARGIN + 60
            by = y - 4 - (row + 1) * (BOX + 6) + 6
            for key, label in line:
                yield key, x, by
                x += BOX + 4 + stringWidth(label, self.font, BODY) + 12

    def _extra_boxes(self, line: dict, y: float):
        width, _height = self.pagesize
        by = y - LEADING + 0.5
        for row in line["choices"]:
            x = width - MARGIN - line["choices_w"]
            for choice, label in row:
                yield line["block"], line["q"], choice, x, by
                x += BOX + 3 + stringWidth(label, self.font, BODY) + 10
            by -= BOX + 4

    def _draw_note(self, c: Canvas, y: float, lines: list[str]) -> None:
        """A unit's criteria (a member appraisal's 五带头), above its own lines."""
        c.setFont(self.font, BODY)
        for k, text in enumerate(lines):
            c.drawString(MARGIN, y - LEADING * (k + 1) + 2, text)

    def _draw_extra(self, c: Canvas, y: float, line: dict) -> None:
        width, _height = self.pagesize
        c.setFont(self.font, BODY)
        ly = y - LEADING + 2
        for text in line["label"]:
            c.drawString(MARGIN, ly, text)
            ly -= LEADING
        labels = [label for row in line["choices"] for _k, label in row]
        c.setLineWidth(0.9)
        for (_b, _q, _choice, x, by), label in zip(self._extra_boxes(line, y), labels):
            c.rect(x, by, BOX, BOX)
            c.drawString(x + BOX + 3, by + 2.5, label)
        c.setLineWidth(0.3)
        c.setStrokeGray(0.6)
        c.line(MARGIN, y - line["h"] + 1, width - MARGIN, y - line["h"] + 1)
        c.setStrokeGray(0)

    def _grid_boxes(self, grid: _Grid, parts: dict, name_w: float, y: float):
        top = y - parts["legend_h"] - parts["head_h"] - parts["choice_h"]
        for (number, block), row_h in zip(grid.units, parts["row_h"]):
            by = top - row_h + (row_h - BOX) / 2
            x = MARGIN + name_w
            for _number, group in column_groups(grid.questions):
                for q in group:
                    for k, (choice, _label) in enumerate(q.choices):
                        yield block, q, choice, x + k * PITCH + 1.3, by
                    x += len(q.choices) * PITCH
                x += GROUP_GAP
            top -= row_h

    # static parts: one form per page of the layout ----------------------------------------
    def _draw_static(self, c: Canvas, index: int) -> None:
        f = self.font
        width, height = self.pagesize
        corner_marks(c, width, height)
        pages = len(self.pages)
        for kind, y, payload in self.pages[index]:
            getattr(self, f"_draw_{kind}")(c, y, payload)
        c.setFont(f, BODY)
        c.drawString(MARGIN, 40, self.text["number"])
        c.drawString(MARGIN, 26, self.text["page"] % {"page": index + 1, "pages": pages} + "    " + self.text["print"])

    def _draw_header(self, c: Canvas, top: float, index: int) -> None:
        f = self.font
        width, _height = self.pagesize
        if index:
            c.setFont(f, BODY)
            c.drawString(MARGIN, top - 8, f"{self.campaign_name} {self.text['continued']}")
            c.drawString(width - MARGIN - 150, top - 8, self.text["number"])
            return
        text_w = width - 2 * MARGIN - TOKEN_QR - 16
        size = fit_size(self.campaign_name, f, 15, text_w, 11)
        y = top - 12
        for line in wrap(self.campaign_name, f, size, text_w)[:2]:
            c.setFont(f, size)
            c.drawString(MARGIN, y, line)
            y -= size + 4
        y -= 4
        c.setFont(f, 12)
        c.drawString(MARGIN, y, self.text["ballot"])
        label_x = MARGIN + stringWidth(self.text["ballot"], f, 12) + 24
        c.setFont(f, 10)
        c.drawString(label_x, y, self.text["number"])
        self.number_x, self.number_y = label_x + stringWidth(self.text["number"], f, 10) + 6, y
        y -= 16
        if self.category:
            c.drawString(MARGIN, y, self.text["category"])
            y -= 14
        y -= 2
        c.setFont(f, BODY)
        for line in wrap(self.text["mark"] + " " + self.text["scan"], f, BODY, text_w):
            c.drawString(MARGIN, y, line)
            y -= LEADING

    def _draw_categories(self, c: Canvas, y: float, lines) -> None:
        c.setFont(self.font, BODY)
        c.drawString(MARGIN, y - 4 - BOX + 3, self.text["you_are"])
        c.setLineWidth(0.8)
        boxes = list(self._category_boxes(lines, y))
        labels = [label for line in lines for _k, label in line]
        for (key, x, by), label in zip(boxes, labels):
            c.rect(x, by, BOX, BOX)
            c.drawString(x + BOX + 4, by + 3, label)

    def _draw_grid(self, c: Canvas, y: float, payload) -> None:
        grid, parts, name_w = payload
        f = self.font
        width, _height = self.pagesize
        c.setFont(f, BODY)
        ly = y - LEADING + 2
        columns = len(parts["legend"][0]) if parts["legend"] else 1
        col_w = (width - 2 * MARGIN) / columns
        for row in parts["legend"]:
            for k, lines in enumerate(row):
                for n, line in enumerate(lines):
                    c.drawString(MARGIN + k * col_w, ly - n * LEADING, line)
            ly -= max(len(e) for e in row) * LEADING
        top = y - parts["legend_h"]
        x0 = MARGIN + name_w
        groups = column_groups(grid.questions)
        grid_w = sum(sum(len(q.choices) for q in g) * PITCH + GROUP_GAP for _n, g in groups) - GROUP_GAP
        bottom = top - parts["head_h"] - parts["choice_h"] - sum(parts["row_h"])
        x = x0
        c.setLineWidth(0.5)
        for (_number, group), head in zip(groups, parts["heads"]):
            labels = [label for q in group for _key, label in q.choices]
            w = len(labels) * PITCH
            hy = top - LEADING + 2
            for line in head:
                c.drawCentredString(x + w / 2, hy, line)
                hy -= LEADING
            cy = top - parts["head_h"]
            for k, label in enumerate(labels):
                cx = x + k * PITCH + PITCH / 2
                self._choice_head(c, label, cx, cy, parts["choice_h"] - 4)
            c.rect(x - 1.2, bottom, w + 1.2, top - bottom, stroke=1, fill=0)
            x += w + GROUP_GAP
        c.drawString(MARGIN, top - parts["head_h"] - parts["choice_h"] + 3, self.text["unit"])
        self._draw_key(c, grid, top, parts, name_w)
        ry = top - parts["head_h"] - parts["choice_h"]
        c.setLineWidth(0.3)
        for lines, row_h in zip(parts["rows"], parts["row_h"]):
            ty = ry - (row_h - len(lines) * LEADING) / 2 - BODY + 1
            for line in lines:
                c.drawString(MARGIN, ty, line)
                ty -= LEADING
            c.line(MARGIN, ry, x0 + grid_w, ry)
            ry -= row_h
        c.line(MARGIN, ry, x0 + grid_w, ry)
        c.setLineWidth(0.9)
        for _block, _q, _choice, bx, by in self._grid_boxes(grid, parts, name_w, y):
            c.rect(bx, by, BOX, BOX)

    def _draw_key(self, c: Canvas, grid: _Grid, top: float, parts: dict, name_w: float) -> None:
        """Above the units, when every item has the same choices: their numbers (the keys the
        clerks type) and labels, in printed order."""
        items = [q for q in grid.questions if q.reason_of is None]
        choices = items[0].choices
        if any(q.choices != choices for q in items):
            return
        room = parts["head_h"] + parts["choice_h"] - LEADING - 2
        if len(choices) * LEADING > room:
            return
        y = top - LEADING + 2
        for k, (_key, label) in enumerate(choices, start=1):
            text = f"{k} {label}"
            while len(text) > 2 and stringWidth(text, self.font, BODY) > name_w - 6:
                text = text[:-1]
            c.drawString(MARGIN, y, text)
            y -= LEADING

    def _choice_head(self, c: Canvas, label: str, cx: float, top: float, room: float) -> None:
        """A choice's heading in its narrow column: CJK stacked top to bottom, Latin turned."""
        f = self.font
        if _cjk(label):
            chars = label[: int(room // STACK)]
            for k, ch in enumerate(chars):
                c.drawCentredString(cx, top - (k + 1) * STACK + 1, ch)
            return
        while label and stringWidth(label, f, BODY) > room:
            label = label[:-1]
        c.saveState()
        c.translate(cx - BODY / 3, top - 1)  # turned clockwise: the letters stand to the right of it
        c.rotate(-90)
        c.drawString(0, 0, label)
        c.restoreState()

    # drawing ---------------------------------------------------------------------------------
    def write(self, out: BinaryIO) -> None:
        """Stream every ballot to out (a binary file object), page by page."""
        pages = len(self.pages)
        canvas = StreamingCanvas(out, self.count * pages, self.font, pagesize=self.pagesize)
        canvas.setTitle(self.title)
        canvas.setCreator("survey-toolkit")
        self.draw(canvas)
        canvas.save()

    def draw(self, c: Canvas) -> None:
        f = self.font
        width, height = self.pagesize
        pages = len(self.pages)
        for index in range(pages):
            c.beginForm(f"ballot{index}")
            self._draw_static(c, index)
            c.endForm()
        foot_x = MARGIN + stringWidth(self.text["number"], f, BODY) + 4
        top_x = width - MARGIN - 150 + stringWidth(self.text["number"], f, BODY) + 4
        layout = self.layout["pages"]
        done, version = 0, None
        for serial, token in self.ballots:
            url = f"{self.base_url}/b/{token}"
            version = version or qr_version(url)  # every token has the same length
            number = f"{serial:06d}"
            for index in range(pages):
                c.doForm(f"ballot{index}")
                if index == 0:
                    c.setFont(f, 14)
                    c.drawString(self.number_x, self.number_y, number)
                    x, y, size, _s = layout[0]["token_qr"]
                    draw_qr(c, qr_matrix(url, version=version), x, y, size)
                else:
                    c.setFont(f, BODY)
                    c.drawString(top_x, height - TOP - 8, number)
                c.setFont(f, BODY)
                c.drawString(foot_x, 40, number)
                x, y, size, _s = layout[index]["page_qr"]
                draw_qr(c, qr_matrix(page_code(serial, index + 1, pages, self.campaign_key), fixed_mask=True), x, y, size)
                c.showPage()
            done += 1
            self.progress(1)
        if done != self.count:
            raise RuntimeError(f"{done} ballots drawn, {self.count} expected")


def column_groups(questions, start: int = 1) -> list[tuple[int, tuple]]:
    """The questions as printed in a grid's column groups, each with its number: an item alone
    (numbered from start), or the poor-rating reasons of the item before it (差评原因, one box
    each), under that item's number."""
    groups, number = [], start - 1
    for q in questions:
        if getattr(q, "reason_of", None) is not None and groups and getattr(groups[-1][1][0], "reason_of", None) == q.reason_of:
            groups[-1] = (number, groups[-1][1] + (q,))
        elif getattr(q, "reason_of", None) is not None:
            groups.append((max(number, start), (q,)))
        else:
            number += 1
            groups.append((number, (q,)))
    return groups


def own_question(q) -> bool:
    """A question only one unit asks: a public commitment (answer key item.N)."""
    return "." in q.key


def page_code(serial: int, page: int, pages: int, campaign_key: str | None = None) -> str:
    """What a ballot page's small QR code reads (no token): B:<serial>:P:<page>/<pages>, and
    :K:<campaign key> so a scanned page of another campaign's ballots is told apart."""
    return f"B:{serial}:P:{page}/{pages}" + (f":K:{campaign_key}" if campaign_key else "")


def _rect(x, y, w, h) -> list[float]:
    return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]

