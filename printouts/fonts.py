"""The CJK font for every PDF, registered once, in one place.

ReportLab embeds TrueType fonts as subsets. Without a CJK font Chinese would print as empty
boxes, so a missing font is an error that says how to fix it.
"""
import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "SurveyCJK"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(RuntimeError):
    """No CJK TrueType font was found."""


def find_font() -> Path:
    """The font file: SURVEY_PDF_FONT if set, else the first installed candidate."""
    configured = os.environ.get("SURVEY_PDF_FONT")
    paths = [configured] if configured else list(CANDIDATES)
    for path in paths:
        if path and Path(path).is_file():
            return Path(path)
    raise FontMissing(
        "no Chinese (CJK) TrueType font found for PDFs"
        + (f" at SURVEY_PDF_FONT={configured}" if configured else "")
        + ". Install one (Debian: apt-get install fonts-wqy-microhei) or set SURVEY_PDF_FONT "
        "to a .ttf/.ttc file.")


def register_font() -> str:
    """Register the CJK font with ReportLab (once) and return its name."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = find_font()
        try:
            font = TTFont(FONT_NAME, str(path), subfontIndex=0)
        except Exception as exc:  # ReportLab's TTFError, or an unreadable file
            raise FontMissing(
                f"{path} is not a TrueType font ReportLab can embed ({exc}). Set SURVEY_PDF_FONT to a "
                ".ttf/.ttc file such as /usr/share/fonts/truetype/wqy/wqy-microhei.ttc, or unset it "
                "to use an installed CJK font.") from None
        pdfmetrics.registerFont(font)
    return FONT_NAME
