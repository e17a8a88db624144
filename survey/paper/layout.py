"""The printed layout of a ballot batch as data, for reading scanned ballots (OMR) later.

Every ballot of a batch is printed from the same page templates, so one layout per batch says
where every box is. It is made by the printout (printouts.ballots.BallotPrintout.layout) and
stored with the batch (BallotBatch.layout) in the same transaction as the batch is recorded.

Format 1 (JSON; points, 1/72 inch; origin at the bottom-left corner of the page; a rectangle
is [x, y, width, height] with (x, y) its bottom-left corner):

    {"format": 1, "unit": "pt", "origin": "bottom-left",
     "page_size": [841.89, 595.28], "orientation": "landscape", "box": 11.91,
     "corner_marks": [[x, y, w, h] × 4],           # filled squares, same on every page
     "pages": [{"page": 1,
                "page_qr": [x, y, w, h],            # reads B:<serial>:P:<page>/<pages>
                "token_qr": [x, y, w, h] | null,    # the one-time code (page 1 only)
                "boxes": [{"unit": "U-01", "unit_id": 7, "item": "leadership",
                           "choice": "satisfied", "rect": [x, y, w, h]},
                          {"category": "resident", "rect": [...]}, …]}]}

`item` is the answer key (the item's key, or item.N for a unit's Nth commitment) and `choice`
a choice key of its scale, or "dont_know" for the don't-know box (survey.questions.DONT_KNOW).
A page's boxes are listed unit by unit, item by item, in printed order.
"""
from __future__ import annotations

from ..models import BallotBatch

FORMAT = 1


def ballot_layout(batch: BallotBatch) -> dict | None:
    """The layout batch was printed with (None for a batch printed before layouts were kept)."""
    layout = batch.layout
    if layout is not None and layout.get("format") != FORMAT:
        raise ValueError(f"ballot batch {batch.id}: layout format {layout.get('format')!r}, expected {FORMAT}")
    return layout


def boxes_of(layout: dict, page: int) -> list[dict]:
    """The boxes of one page (1-based) of the layout."""
    return layout["pages"][page - 1]["boxes"]
