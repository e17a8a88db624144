"""The result report of a campaign (测评结果报告) as a PDF.

Summary and ranking, a chart of the units against the satisfaction line, the units that must
remedy with the items that pulled them down, the composition check, each unit's item table,
the sections plugins contribute, and the comments (only when the campaign shows them, never
hidden ones). Platypus lays the story out page by page onto the base class's canvas; every
text uses the one CJK font, so the PDF embeds it and nothing else.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus.doctemplate import ActionFlowable
from reportlab.platypus import Flowable, Frame, KeepTogether, LayoutError, PageBreak, Paragraph, Spacer, Table, TableStyle

from survey.disclosure import minimum_cell
from survey.questionnaire import Text
from survey.questions import MEASURES
from survey.registry import current_registry
from survey.results import CampaignResults, Figures, UnitResult, verdict_words, visible_comments

from .base import Printout

MARGIN = 15 * mm
FOOTER = 8 * mm
CHART_ROWS = 40  # units per chart, so a chart fits a page
RED, GREEN, GREY = colors.HexColor("#a8201a"), colors.HexColor("#2e7d4f"), colors.HexColor("#dddddd")


def pct(value) -> str:
    """A fraction as a percentage, or a dash."""
    return "—" if value is None else f"{value * 100:.1f}%"


def short(label: str) -> str:
    """An item's label up to its colon (领导班子好：… → 领导班子好), for lists of items."""
    return label.replace("：", ":").split(":", 1)[0].strip() or label


def interval_text(figures: Figures, flipped: bool = False) -> str:
    """The 95% interval of the rate, or with flipped of the share of negative answers."""
    interval = figures.interval
    if interval is None:
        return "—"
    low, high = (1 - interval[1], 1 - interval[0]) if flipped else interval
    return f"{low * 100:.1f}–{high * 100:.1f}%"


class ResultReport(Printout):
    """A campaign's result report; draw() pours the story into A4 frames page by page."""

    def __init__(self, results: CampaignResults, lang: str = "zh_CN", progress=None):
        """results: from survey.disclosure.disclosed_results(), never the full figures."""
        results.check_disclosed()
        super().__init__(progress)
        self.results = results
        self.lang = lang
        self.title = f"{results.campaign.name} · {_('Result report')}"
        self.styles = self.make_styles(self.font, lang)

    @staticmethod
    def make_styles(font: str, lang: str = "zh_CN") -> dict[str, ParagraphStyle]:
        """The paragraph styles of the office's reports, in the CJK font. Text may break
        anywhere (CJK: unit names hold no spaces), but an English document's own headings
        ("head", "head_body") break between words only."""
        base = dict(fontName=font, wordWrap="CJK")
        words = dict(fontName=font, wordWrap=None if str(lang).startswith("en") else "CJK")
        return {
            "head": ParagraphStyle("head", fontSize=8, leading=10, **words),
            "head_body": ParagraphStyle("head_body", fontSize=9.5, leading=13.5, spaceAfter=3, **words),
            "title": ParagraphStyle("title", fontSize=18, leading=24, spaceAfter=6, **base),
            "h1": ParagraphStyle("h1", fontSize=14, leading=19, spaceBefore=10, spaceAfter=5, textColor=RED, **base),
            "h2": ParagraphStyle("h2", fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3, **base),
            "body": ParagraphStyle("body", fontSize=9.5, leading=13.5, spaceAfter=3, **base),
            "cell": ParagraphStyle("cell", fontSize=8, leading=10, **base),
        }

    # --- layout -------------------------------------------------------------------------------
    def draw(self, canvas) -> None:
        """Lay the story out on as many pages as it needs, with a footer on each."""
        paginate(self, canvas, self.story())


    @staticmethod
    def _fill(frame: Frame, canvas, story: list[Flowable]) -> None:
        """Move flowables from the story into the frame, splitting the one that overflows."""
        placed = False
        while story:
            flowable = story[0]
            if isinstance(flowable, (PageBreak, ActionFlowable)):  # one frame a page: a frame break ends it
                story.pop(0)
                if placed:
                    return
                continue
            if frame.add(flowable, canvas, trySplit=1):
                story.pop(0)
                placed = True
                continue
            parts = frame.split(flowable, canvas)
            if parts and not (len(parts) == 1 and parts[0] is flowable):
                story[0:1] = parts
                continue
            if not placed:
                raise LayoutError(f"{type(flowable).__name__} does not fit on an empty page")
            return

    # --- the story ----------------------------------------------------------------------------
    def p(self, text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(str(text)), self.styles[style])

    def table(self, rows: list[list], widths=None, header=True, style=()) -> Table:
        """A table of plain values (wrapped in the CJK font), header repeated on each page."""
        cells = [[c if isinstance(c, Flowable) else self.p(c, "head" if header and n == 0 else "cell") for c in row]
                 for n, row in enumerate(rows)]
        table = Table(cells, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
        commands = [("FONT", (0, 0), (-1, -1), self.font, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, GREY),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
        if header:
            commands += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3e3e2"))]
        table.setStyle(TableStyle(commands + list(style)))
        return table

    def story(self) -> list[Flowable]:
        r = self.results
        story = [self.p(r.campaign.name, "title"), self.p(_("Result report"), "h2")]
        story += self.summary()
        story += self.chart_section()
        story += self.remedy_section()
        story += self.composition_section()
        story += self.unit_sections()
        story += self.plugin_sections()
        story += self.comment_section()
        return story

    def verdict(self, u: UnitResult) -> str:
        return ("，" if not self.lang.startswith("en") else ", ").join(verdict_words(u))

    def summary(self) -> list[Flowable]:
        r, c = self.results, self.results.campaign
        raters = sum(u.raters for u in r.units)
        paper = sum(u.raters_by_channel.get("paper", 0) for u in r.units)
        out = [self.p(_("Satisfaction line: %(line)s · composition minimum: %(share)s · minimum sample: %(n)s raters",
                        line=pct(c.satisfaction_line), share=pct(c.composition_minimum), n=c.minimum_sample)),
               self.p(_("%(units)s units were rated by %(raters)s raters (%(online)s online, %(paper)s on paper). "
                        "%(remedy)s units are under the line and must remedy; %(inconclusive)s are inconclusive; "
                        "%(composition)s do not meet the composition minimum.",
                        units=len(r.units), raters=raters, online=raters - paper, paper=paper,
                        remedy=len(r.remedy), inconclusive=sum(u.inconclusive for u in r.units),
                        composition=len(r.composition_not_met))),
               self.p(_("Figures of a group of fewer than %(n)s raters are not shown (—), so that nobody's answers can be read from them.",
                        n=minimum_cell(c)))]
        if r.previous:
            out.append(self.p(_("Change is compared with “%(name)s”.", name=r.previous.name)))
        out.append(self.p(_("Ranking"), "h1"))
        rows = [[_("Rank"), _("In sector"), _("Unit"), _("Raters"), _("Satisfaction"), _("Interval"),
                 _("Score"), _("Change"), _("Verdict")]]
        for u in r.ranked:
            rows.append([u.rank or "—", u.sector_rank or "—", u.name, u.raters, pct(u.rate),
                         interval_text(u.overall.total), "—" if u.score is None else f"{u.score:.1f}",
                         "—" if u.change is None else f"{u.change * 100:+.1f}", self.verdict(u)])
        out.append(self.table(rows, widths=[11 * mm, 12 * mm, 42 * mm, 12 * mm, 19 * mm, 24 * mm, 12 * mm,
                                            13 * mm, 35 * mm]))
        return out

    def chart_section(self) -> list[Flowable]:
        units = [u for u in self.results.ranked if u.rate is not None]
        if not units:
            return []
        out = [PageBreak(), self.p(_("Units against the line"), "h1")]
        for start in range(0, len(units), CHART_ROWS):
            out.append(self.chart(units[start:start + CHART_ROWS]))
            out.append(Spacer(1, 4 * mm))
        return out

    def chart(self, units: list[UnitResult]) -> Drawing:
        """A horizontal bar per unit (rate in %), red under the line, with the line drawn."""
        width = self.pagesize[0] - 2 * MARGIN
        bar = 11
        drawing = Drawing(width, bar * len(units) + 30, initialFontName=self.font)
        chart = HorizontalBarChart()
        chart.x, chart.y = 70 * mm, 18
        chart.width, chart.height = width - 75 * mm, bar * len(units)
        chart.data = [[round(u.rate * 100, 1) for u in reversed(units)]]
        chart.categoryAxis.categoryNames = [u.name if len(u.name) <= 18 else u.name[:17] + "…" for u in reversed(units)]
        chart.categoryAxis.labels.fontName = self.font
        chart.categoryAxis.labels.fontSize = 7
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.valueAxis.labels.fontName = self.font
        chart.valueAxis.labels.fontSize = 7
        chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 10
        chart.barWidth = bar * 0.7
        chart.bars.strokeColor = None
        chart.bars[0].fillColor = GREEN
        for index, unit in enumerate(reversed(units)):
            if unit.must_remedy:
                chart.bars[(0, index)].fillColor = RED
        drawing.add(chart)
        x = chart.x + chart.width * self.results.line
        drawing.add(Line(x, chart.y - 4, x, chart.y + chart.height + 4, strokeColor=colors.black,
                         strokeWidth=1, strokeDashArray=[3, 2]))
        drawing.add(String(x + 2, chart.y + chart.height + 6, _("line %(line)s", line=pct(self.results.line)),
                           fontName=self.font, fontSize=7))
        return drawing

    def remedy_section(self) -> list[Flowable]:
        out = [self.p(_("Units that must remedy (限期整改)"), "h1")]
        if not self.results.remedy:
            return out + [self.p(_("No unit is under the line."))]
        rows = [[_("Unit"), _("Satisfaction"), _("Interval"), _("Items under the line, worst first"), _("Verdict")]]
        for u in self.results.remedy:
            items = "; ".join(f"{short(i.label.get(self.lang))} {pct(i.figures.total.rate)}" for i in u.remedy_items)
            rows.append([u.name, pct(u.rate), interval_text(u.overall.total), items,
                         _("Final") if u.final else _("Not final")])
        return out + [self.table(rows, widths=[40 * mm, 20 * mm, 26 * mm, 76 * mm, 18 * mm])]

    def composition_section(self) -> list[Flowable]:
        """Per sector, a table of its units' raters in the categories that apply to that sector
        only, sized to the page width."""
        c = self.results.campaign
        out = [self.p(_("Rater composition"), "h1"),
               self.p(_("Service recipients and residents must be at least %(share)s of each unit's raters.",
                        share=pct(c.composition_minimum)))]
        sectors = current_registry().sectors
        by_sector: dict[str, list[UnitResult]] = {}
        for u in self.results.ranked:
            by_sector.setdefault(u.sector, []).append(u)
        width = self.pagesize[0] - 2 * MARGIN
        for sector, units in by_sector.items():
            keys = list(dict.fromkeys(k for u in units for k in self.results.categories_of(u)))
            labels = [self.results.categories[k].get(self.lang) if k in self.results.categories else k for k in keys]
            fixed = [42 * mm, 16 * mm, 16 * mm, 12 * mm]
            each = max((width - sum(fixed)) / max(len(keys), 1), 12 * mm)
            rows = [[_("Unit"), _("Raters")] + labels + [_("Share"), _("Met")]]
            for u in units:
                rows.append([u.name, u.raters] + [u.raters_by_category.get(k, 0) for k in keys]
                            + [pct(u.share), _("yes") if u.composition_met else _("no")])
            label = sectors[sector].label.get(self.lang) if sector in sectors else sector
            out.append(KeepTogether([self.p(label, "h2"),
                                     self.table(rows, widths=fixed[:2] + [each] * len(keys) + fixed[2:])]))
        return out

    def unit_sections(self) -> list[Flowable]:
        out = [PageBreak(), self.p(_("Results per unit"), "h1")]
        for u in self.results.ranked:
            head = [self.p(f"{u.name} ({u.code})", "h2"),
                    self.p(_("Raters: %(n)s (online %(online)s, paper %(paper)s). Satisfaction %(rate)s, "
                             "95%% interval %(interval)s, weighted score %(score)s. %(verdict)s.",
                             n=u.raters, online=u.raters_by_channel.get("online", 0),
                             paper=u.raters_by_channel.get("paper", 0), rate=pct(u.rate),
                             interval=interval_text(u.overall.total),
                             score="—" if u.score is None else f"{u.score:.1f}", verdict=self.verdict(u)))]
            out.append(KeepTogether(head + ([self.item_table(u)] if u.items and u.enough_raters else [])))
        return out

    def item_table(self, u: UnitResult) -> Table:
        """Per item: answers per choice (with the choice's label), valid, rate, interval, score."""
        rows = [[_("Item"), _("Answers per choice"), _("Valid"), _("Rate"), _("Interval"), _("Score")]]
        style = []
        for i in u.items:
            f = i.figures.total
            counts = " · ".join(f"{c.label.get(self.lang)} {f.counts.get(c.key, 0)}" for c in i.scale.choices)
            if f.dont_know or i.not_rated:  # apart from the valid answers, never in the rate's base
                counts += " (" + _("don't know %(n)d", n=f.dont_know) + " · " + _("not rated %(n)d", n=i.not_rated) + ")"
            if f.withheld:
                counts = "—"
            elif i.reasons and not i.reason_counts.withheld:  # 差评原因, counted per unit (docs/results.md)
                counts += "; " + _("poor-rating reasons: %(counts)s", counts=" · ".join(
                    f"{r.label.get(self.lang)} {i.reason_counts.count(r.key)}" for r in i.reasons))
            incidence = i.measure == "incidence"  # its figure is the share of 有: flip the interval, no score
            rows.append([i.label.get(self.lang), counts, "—" if f.withheld else f.valid, self.measure(i),
                         interval_text(f, flipped=incidence),
                         "—" if f.score is None or incidence else f"{f.score:.1f}"])
            if i in u.remedy_items:
                style.append(("TEXTCOLOR", (3, len(rows) - 1), (3, len(rows) - 1), RED))
        return self.table(rows, widths=[54 * mm, 46 * mm, 10 * mm, 30 * mm, 28 * mm, 12 * mm], style=style)

    def measure(self, i) -> str:
        """An item's figure named by its measure: 满意率 92%, 好评率 80%, 发生率 (share of 有) 5%,
        a member's 合格率 with the share rated 不合格."""
        name = MEASURES.get(i.measure)
        label = name.get(self.lang) if name else _("Rate")
        if i.measure == "incidence":
            return f"{label} {pct(i.negative_share)}"
        text = f"{label} {pct(i.figures.total.rate)}"
        if i.kind == "members":
            text += " · " + _("unqualified %(share)s", share=pct(i.negative_share))
        return text

    def plugin_sections(self) -> list[Flowable]:
        """Sections from the plugins' survey_report_sections hook; a bad section is skipped."""
        out = []
        units = [u.as_dict() for u in self.results.ranked]
        for section in current_registry().report_sections(self.results.campaign_dict(), units):
            try:
                title = section["title"]
                title = title if isinstance(title, Text) else Text.model_validate(title)
                rows = [[str(v) for v in row] for row in section["rows"]]
            except Exception:
                continue
            out.append(self.p(title.get(self.lang), "h1"))
            if rows:
                out.append(self.table(rows))
        return out

    def comment_section(self) -> list[Flowable]:
        shown = visible_comments(self.results.campaign)
        if not shown:
            return []
        out = [PageBreak(), self.p(_("Appendix: comments"), "h1")]
        for u in self.results.ranked:
            if u.id in shown:
                out.append(self.p(u.name, "h2"))
                out += [self.p(f"· {text}") for text in shown[u.id]]
        return out


def paginate(printout: Printout, canvas, story: list[Flowable]) -> None:
    """Lay story out on as many pages of printout.pagesize as it needs, each with a footer (the
    printout's title and the page number): the result report, the reconciliation record, the ledger."""
    width, height = printout.pagesize
    page = 0
    while story:
        page += 1
        frame = Frame(MARGIN, MARGIN + FOOTER, width - 2 * MARGIN, height - 2 * MARGIN - FOOTER,
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        ResultReport._fill(frame, canvas, story)
        canvas.setFont(printout.font, 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, MARGIN, printout.title)
        canvas.drawRightString(width - MARGIN, MARGIN, str(page))
        canvas.showPage()
        printout.progress(page)
