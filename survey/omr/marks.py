"""Deciding what a resident marked on one item, from the ink in its boxes.

Each box is measured as the share of its inside (border left out) that is dark. The ballot
tells residents to mark one box with a tick or cross, and to correct an answer by filling the
wrong box completely (涂满) and marking the right one. So, per item:

- no box inked: **blank**;
- one box marked (a tick, a cross, a circle, or the box filled): that **choice**;
- several marked, all but one of them filled in: the one not filled is the **corrected** answer;
- several marked otherwise: **invalid** (two or more choices), as the printed rules say;
- a box of its own (a poor-rating reason) filled in: a tick, or a mark cancelled? A person looks;
- any box in the doubtful band (a faint mark, a stray line, a box half filled while another is
  marked): the item goes to a person (**doubt**), never guessed.

The confidence is how far the least certain box is from the nearest threshold, 0 to 1.
"""
from __future__ import annotations

from dataclasses import dataclass

EMPTY = 0.03  # at most this much ink: an empty box (paper grain, a speck, a ruled border's edge)
MARKED = 0.07  # at least this much: a mark
FILLED = 0.85  # at least this much: filled in (a correction when another box is marked)
HALF = 0.72    # between HALF and FILLED: cannot tell a heavy mark from a correction
SHADE = 0.016  # an "empty" box greyer than this on average holds a faint mark: a person looks

BLANK, INVALID = "!blank", "!invalid"


@dataclass
class ItemReading:
    """What was read on one item: the value (a choice key, BLANK or INVALID), or a doubt."""

    unit_id: int | str | None
    item: str | None
    value: str | None        # None when in doubt
    confidence: float
    ratios: list[float]
    choices: list[str]
    rects: list[list[float]]
    doubt: str | None = None  # why a person must look
    corrected: bool = False

    def as_dict(self) -> dict:
        return {"unit_id": self.unit_id, "item": self.item, "value": self.value,
                "confidence": round(self.confidence, 3), "ratios": [round(r, 3) for r in self.ratios],
                "choices": self.choices, "doubt": self.doubt, "corrected": self.corrected}


def _margin(ratio: float) -> float:
    """How far a box is from the thresholds that matter for it, as 0 (on one) to 1 (clear)."""
    if ratio <= EMPTY:
        return min(1.0, (EMPTY - ratio) / EMPTY + 0.5)
    if ratio >= MARKED:
        nearest = min(abs(ratio - MARKED), abs(ratio - HALF) if ratio < FILLED else abs(ratio - FILLED))
        return min(1.0, 0.5 + nearest / 0.2)
    return 0.0


def decide(unit_id, item, choices: list[str], ratios: list[float], rects: list[list[float]],
           shades: list[float] | None = None) -> ItemReading:
    """Decide one item from the ink ratio of each of its boxes (in printed order) and, for boxes
    that look empty, their mean shade (a pencil line too light for the threshold)."""
    reading = ItemReading(unit_id, item, None, 0.0, ratios, choices, rects)
    shades = shades or [0.0] * len(ratios)
    faint = [n for n, r in enumerate(ratios) if EMPTY < r < MARKED or (r <= EMPTY and shades[n] > SHADE)]
    marked = [n for n, r in enumerate(ratios) if r >= MARKED]
    confidence = min((_margin(r) for r in ratios), default=1.0)
    if faint:
        reading.doubt = "faint"
        reading.confidence = 0.0
        return reading
    reading.confidence = confidence
    if not marked:
        reading.value = BLANK
        return reading
    if len(ratios) == 1 and ratios[0] >= FILLED:  # a box of its own (a poor-rating reason) filled in:
        reading.doubt, reading.confidence = "correction?", 0.0  # a tick, or a mark the resident cancelled?
        return reading
    if len(marked) == 1:
        only = marked[0]
        traces = [n for n in range(len(ratios)) if n != only and (ratios[n] > 0.005 or shades[n] > SHADE / 2)]
        if ratios[only] >= FILLED and traces:  # a filled box and a trace elsewhere: a correction whose mark is lost?
            reading.doubt, reading.confidence = "correction?", 0.0
            return reading
        reading.value = choices[only]
        return reading
    filled = [n for n in marked if ratios[n] >= FILLED]
    heavy = [n for n in marked if HALF <= ratios[n] < FILLED]
    ticks = [n for n in marked if ratios[n] < HALF]
    if heavy:
        reading.doubt = "correction?"
        reading.confidence = 0.0
        return reading
    if len(ticks) == 1 and filled:
        reading.value, reading.corrected = choices[ticks[0]], True
        return reading
    reading.value = INVALID
    return reading
