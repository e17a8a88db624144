"""The assembly's reconciliation record (计票结果报告单) as a PDF: the ballots issued, returned,
valid, invalid, blank, answered by phone and not returned, per batch and tally sheet and in
total, with the counter's and the supervisor's signature lines."""
from __future__ import annotations

import datetime as dt

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from .report import ResultReport

MARGIN = 15 * mm


class ReconciliationRecord(ResultReport):
    """One campaign's (or batch's) record; laid out like the result report, on A4 portrait."""

    def __init__(self, record, lang: str = "zh_CN", progress=None):
        super(ResultReport, self).__init__(progress)
        self.record, self.lang = record, lang
        self.styles = self.make_styles(self.font, lang)
        with force_locale(lang):
            label = _("Reconciliation record")
            self.title = f"{record.campaign.name} · {label}"
            self._story = self._build()

    def story(self):
        return list(self._story)

    def draw(self, canvas) -> None:
        with force_locale(self.lang):
            super().draw(canvas)

    def _category(self, key) -> str:
        if not key:
            return _("asked on the ballot")
        found = self.record.categories.get(key)
        return (found.label_en if str(self.lang).startswith("en") else found.label_zh) if found else key

    def _build(self):
        r = self.record
        story = [self.p(r.campaign.name, "title"), self.p(_("Reconciliation record (计票结果报告单)"), "h1"),
                 self.p(_("Printed on %(day)s. Every ballot printed is accounted for: ballots issued = returned "
                          "+ answered by phone + not returned.", day=dt.date.today().isoformat()))]
        totals = [(_("Ballots issued"), r.issued), (_("Ballots returned"), r.returned), (_("Valid ballots"), r.valid),
                  (_("Invalid ballots"), r.invalid), (_("Blank ballots"), r.blank),
                  (_("Answered by phone"), r.by_phone), (_("Not returned"), r.not_returned)]
        if r.waiting:
            totals.append((_("Returned, waiting for the second entry"), r.waiting))
        grid = Table([[self.p(label, "head_body") for label, _n in totals], [self.p(str(n), "h1") for _l, n in totals]],
                     colWidths=[(180 * mm) / len(totals)] * len(totals), hAlign="LEFT")
        grid.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, "black"), ("INNERGRID", (0, 0), (-1, -1), 0.5, "black"),
                                  ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        story += [Spacer(1, 4 * mm), grid, self.p(_("Printed batches"), "h2")]
        rows = [[_("Ballot numbers"), _("Respondent category"), _("Issued"), _("Answered by phone"),
                 _("Entered one by one"), _("Wholly blank"), _("Waiting"), _("On tally sheets"), _("Not returned")]]
        for b in r.batches:
            rows.append([f"{b.batch.serial_from}–{b.batch.serial_to}", self._category(b.batch.category),
                         b.issued, b.by_phone, b.counted, b.blank, b.waiting, b.on_sheets, b.unaccounted])
        story.append(self.table(rows, widths=[26 * mm, 30 * mm] + [18 * mm] * 7))
        story.append(self.p(_("Tally sheets"), "h2"))
        if r.sheets:
            rows = [[_("Box"), _("Ballot numbers"), _("Respondent category"), _("Issued"), _("Returned"), _("Valid"),
                     _("Invalid"), _("Not returned"), _("Entered by")]]
            for s in r.sheets:
                ranges = ", ".join(f"{a}" if a == z else f"{a}–{z}" for a, z in s.serial_ranges or [])
                rows.append([s.box or "", ranges, self._category(s.category), s.issued, s.returned, s.valid, s.invalid,
                             s.issued - s.returned, s.entered_by])
            story.append(self.table(rows, widths=[18 * mm, 30 * mm, 24 * mm] + [14 * mm] * 5 + [34 * mm]))
        else:
            story.append(self.p(_("No tally sheet has been added.")))
        signs = Table([[self.p(_("Counter (signature)"), "body"), "", self.p(_("Supervisor (signature)"), "body"), "",
                        self.p(_("Date"), "body")], [""] * 5],
                      colWidths=[55 * mm, 8 * mm, 55 * mm, 8 * mm, 45 * mm], rowHeights=[8 * mm, 16 * mm], hAlign="LEFT")
        signs.setStyle(TableStyle([("LINEBELOW", (0, 1), (0, 1), 0.8, "black"), ("LINEBELOW", (2, 1), (2, 1), 0.8, "black"),
                                   ("LINEBELOW", (4, 1), (4, 1), 0.8, "black")]))
        story += [Spacer(1, 12 * mm), signs]
        return story
