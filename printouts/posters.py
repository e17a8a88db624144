"""QR posters (二维码张贴): one per unit, for the entrance, the notice board, the service window.

A4 portrait, one poster a page; or A5 two-up (two posters side by side on an A4 landscape
sheet, to cut in half). Each shows the campaign, the unit, a short instruction, the QR code of
BASE/s/<unit code> and that address as text.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4, landscape

from .drawing import corner_marks, draw_qr, fit_size, qr_matrix, wrap
from .base import Printout
from .qr import unit_url


class PosterPrintout(Printout):
    """Posters for units given as (code, name) pairs."""

    def __init__(self, *, campaign_name: str, units: list[tuple[str, str]], base_url: str,
                 lang: str = "zh_CN", a5: bool = False, progress=None):
        super().__init__(progress)
        self.campaign_name, self.units, self.base_url, self.lang, self.a5 = campaign_name, units, base_url, lang, a5
        self.pagesize = landscape(A4) if a5 else A4
        self.title = campaign_name
        with force_locale(lang):
            self.text = {
                "scan": _("Scan with your phone to evaluate this unit"),
                "how": _("Anonymous: no name, phone number or address is recorded. It takes a minute or two."),
                "or": _("Or open this address:"),
                "print": _("Please print at 100% (no scaling)."),
            }

    def draw(self, c) -> None:
        width, height = self.pagesize
        if not self.a5:
            for code, name in self.units:
                corner_marks(c, width, height)
                self._poster(c, 0, width, height, code, name)
                c.showPage()
                self.progress(1)
            return
        half = width / 2
        for i in range(0, len(self.units), 2):
            c.setDash(3, 3)
            c.setLineWidth(0.3)
            c.line(half, 10, half, height - 10)
            c.setDash()
            for k, (code, name) in enumerate(self.units[i:i + 2]):
                self._poster(c, k * half, half, height, code, name)
                self.progress(1)
            c.showPage()

    def _poster(self, c, x0: float, width: float, height: float, code: str, name: str) -> None:
        """One poster in the box (x0, 0, width, height)."""
        f = self.font
        scale = width / A4[0]
        margin = 40 * scale
        inner = width - 2 * margin
        cx = x0 + width / 2
        y = height - 70 * scale
        c.setFont(f, 14 * scale)
        for line in wrap(self.campaign_name, f, 14 * scale, inner)[:2]:
            c.drawCentredString(cx, y, line)
            y -= 19 * scale
        y -= 30 * scale
        size = fit_size(name, f, 34 * scale, inner, 20 * scale)
        for line in wrap(name, f, size, inner)[:3]:
            c.setFont(f, size)
            c.drawCentredString(cx, y, line)
            y -= size * 1.25
        y -= 14 * scale
        c.setFont(f, 17 * scale)
        for line in wrap(self.text["scan"], f, 17 * scale, inner):
            c.drawCentredString(cx, y, line)
            y -= 22 * scale
        url = unit_url(self.base_url, code)
        qr_size = min(inner, y - 150 * scale, 330 * scale)
        draw_qr(c, qr_matrix(url), cx - qr_size / 2, y - qr_size, qr_size)
        y -= qr_size + 18 * scale
        c.setFont(f, 10 * scale)
        c.drawCentredString(cx, y, self.text["or"])
        short = url.split("://", 1)[-1]
        size = fit_size(short, f, 15 * scale, inner, 8)
        c.setFont(f, size)
        c.drawCentredString(cx, y - 20 * scale, short)
        c.setFont(f, 9 * scale)
        y -= 48 * scale
        for line in wrap(self.text["how"], f, 9 * scale, inner):
            c.drawCentredString(cx, y, line)
            y -= 12 * scale
        c.setFont(f, 7)
        c.drawString(x0 + margin, 24, self.text["print"])
        c.drawRightString(x0 + width - margin, 24, code)
