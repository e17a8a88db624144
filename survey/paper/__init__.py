"""Paper ballots (纸质测评票) from printing to counting.

Printing: a batch of numbered ballots for one respondent category; each ballot carries its own
one-time token (stored hashed), so its holder may answer by phone or on paper and it counts
once. The batch and its tokens are recorded in the same transaction as the PDF is written.

Counting, two ways:
- per ballot, by double entry: two clerks enter each ballot independently; it counts only when
  both agree (a third entry or a supervisor's choice resolves a mismatch). Counting spends the
  ballot's token in the same transaction as its answers are stored, so a ballot answered by
  phone is refused and counts once. The entries are deleted once the ballot is counted.
- in aggregate, from hand-counted tally sheets (计票表), reconciled before anything is stored.

Ballots are printed while a campaign is open (its questionnaires are frozen then, and a ballot
token only works while it is open); ballots are counted while it is open or closed.
"""
from .ballot import (
    BLANK, COUNTING_STATES, INVALID, PRINTING_STATES, PaperError, Question, ReconciliationError, UnitBlock,
    all_categories, ballot_units, categories_for, category_label, check_category, questions_for, unit_blocks,
)
from .double_entry import (
    BallotForm, Mismatch, ballot_counts, ballot_form, enter_ballot, field_name, mismatches, parse_serial,
    resolve_ballot,
)
from .layout import ballot_layout
from .reconciliation import Reconciliation, left_uncounted, reconciliation, reconciliation_printout
from .printing import next_serial, poster_printout, print_ballots, tally_sheet_printout
from .tally_sheets import (
    MAX_COUNT, TallyCounts, check_tally_sheet, enter_tally_sheet, paper_aggregate_counts, parse_number, parse_ranges,
    resolve_tally_sheet, sheet_covering, tally_mismatches, void_tally_sheet,
)

__all__ = [
    "BLANK",
    "MAX_COUNT",
    "BallotForm",
    "COUNTING_STATES",
    "INVALID",
    "Mismatch",
    "PRINTING_STATES",
    "PaperError",
    "Question",
    "ReconciliationError",
    "TallyCounts",
    "UnitBlock",
    "all_categories",
    "ballot_counts",
    "ballot_form",
    "ballot_layout",
    "ballot_units",
    "categories_for",
    "check_tally_sheet",
    "category_label",
    "check_category",
    "enter_ballot",
    "enter_tally_sheet",
    "field_name",
    "left_uncounted",
    "mismatches",
    "next_serial",
    "paper_aggregate_counts",
    "parse_number",
    "parse_ranges",
    "parse_serial",
    "poster_printout",
    "print_ballots",
    "questions_for",
    "reconciliation",
    "reconciliation_printout",
    "Reconciliation",
    "resolve_ballot",
    "resolve_tally_sheet",
    "sheet_covering",
    "tally_mismatches",
    "tally_sheet_printout",
    "unit_blocks",
    "void_tally_sheet",
]
