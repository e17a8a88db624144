"""Exports of a campaign: its results, or its anonymous raw answers, as CSV, XLSX or JSON.

Every text a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) is written with a leading apostrophe, in every format, so a resident's comment like
``=HYPERLINK(...)`` stays text. Raw answers carry only the response's random id, the unit's
code, the category, the channel, the day, the item and the choice or text: nothing else is
stored about a resident, and nothing else leaves.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
from typing import Iterable, Iterator

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select

from .db import db
from .models import Answer, Campaign, Response, Unit
from .results import CampaignResults, verdict_words

FORMATS = ("csv", "xlsx", "json")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
RAW_COLUMNS = ["response_id", "unit_code", "category", "channel", "day", "item", "choice", "text"]


def neutralise(value):
    """A value safe to open in a spreadsheet: formula-like text gets a leading apostrophe."""
    # control characters before the formula do not help: XLSX drops them (see _write_table)
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.sub("", value).startswith(FORMULA_START):
        return "'" + value
    return value


def _deep(value):
    """neutralise() through the dicts and lists of a JSON document."""
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return neutralise(value)


# --- results ---------------------------------------------------------------------------------
# The results as an office hands them on: headers, sheet names and verdicts in the reader's
# language, rates as percentages, one row per unit on the summary (汇总) sheet.
PERCENT, SCORE, DATE = "0.0%", "0.0", "yyyy-mm-dd"


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def summary_table(results: CampaignResults, locale: str = "zh_CN") -> tuple[list[str], list[list], list[str]]:
    """The summary: one row per unit in ranking order; with each column's number format."""
    from .registry import current_registry
    sectors = current_registry().sectors
    columns = [(_("Rank"), None), (_("Unit code"), None), (_("Unit"), None), (_("Parent"), None),
               (_("Sector"), None), (_("Raters"), None), (_("Satisfaction"), PERCENT),
               (_("Interval from"), PERCENT), (_("Interval to"), PERCENT), (_("Weighted score"), SCORE),
               (_("Verdict"), None), (_("Must remedy"), None), (_("Items to remedy"), None),
               (_("Service recipients and residents"), PERCENT), (_("Composition met"), None),
               (_("Sector rank"), None), (_("Previous satisfaction"), PERCENT), (_("Change"), PERCENT)]
    parents = {u.code: u.parent for u in results.campaign.units}
    rows = []
    for u in results.ranked:
        low, high = u.interval or (None, None)
        sector = sectors.get(u.sector)
        rows.append([u.rank, u.code, u.name, parents.get(u.code) or "",
                     sector.label.get(locale) if sector else u.sector, u.raters, u.rate, low, high, u.score,
                     "，".join(verdict_words(u)) if not locale.startswith("en") else ", ".join(verdict_words(u)),
                     _yes(u.must_remedy), "、".join(i.label.get(locale) for i in u.remedy_items),
                     u.share, _yes(u.composition_met), u.sector_rank, u.previous_rate, u.change])
    return [c for c, _f in columns], [[neutralise(v) for v in row] for row in rows], [f for _c, f in columns]


def item_tables(results: CampaignResults, locale: str = "zh_CN") -> list[tuple[str, list[str], list[list], list[str]]]:
    """One table per rated item (title, header, rows, formats): each unit that rates it."""
    tables: dict[str, dict] = {}
    for u in results.ranked:
        for i in u.items:
            t = tables.setdefault(i.key, {"label": i.label.get(locale), "choices": {}, "reasons": {}, "rows": []})
            for c in i.scale.choices:
                t["choices"].setdefault(c.key, c.label.get(locale))
            for r in i.reasons:
                t["reasons"].setdefault(r.key, r.label.get(locale))
            t["rows"].append((u, i))
    out = []
    for key, t in tables.items():
        choices = list(t["choices"])
        # an item on a 好差评 scale (choices grouped 好评 / 中评 / 差评) also shows 好评率 and 差评率
        grouped = any(c.group for _u, i in t["rows"] for c in i.scale.choices)
        header = ([_("Unit code"), _("Unit"), _("Valid answers"), _("Satisfied"), _("Satisfaction"),
                  _("Interval from"), _("Interval to"), _("Weighted score")]
                  + ([_("Good-rating rate"), _("Poor-rating rate")] if grouped else [])
                  + [t["choices"][c] for c in choices]
                  + [_("Don't know"), _("Not rated")]
                  + [_("Poor-rating reason: %(reason)s", reason=label) for label in t["reasons"].values()])
        formats = ([None, None, None, None, PERCENT, PERCENT, PERCENT, SCORE] + ([PERCENT, PERCENT] if grouped else [])
                   + [None] * (len(choices) + 2 + len(t["reasons"])))
        rows = []
        for u, i in t["rows"]:
            f = i.figures.total
            low, high = f.interval or (None, None)
            shown = [None, None] if f.withheld else [f.valid, f.positive]  # withheld: empty, not zero
            rows.append([neutralise(v) for v in [u.code, u.name, *shown, f.rate, low, high, f.score]]
                       + ([f.good_rate, f.poor_rate] if grouped else [])
                       + [None if f.withheld else f.counts.get(c, 0) for c in choices]
                       # apart from the valid answers: never in the rate's base (docs/results.md)
                       + ([None, None] if f.withheld else [f.dont_know, i.not_rated])
                       + [i.reason_counts.count(r) if r in {x.key for x in i.reasons} else None
                          for r in t["reasons"]])
        out.append((t["label"], header, rows, formats))
    return out


def category_table(results: CampaignResults, locale: str = "zh_CN") -> tuple[list[str], list[list], list[str]]:
    """Raters per unit and respondent category, only the categories that apply to the unit."""
    header = [_("Unit code"), _("Unit"), _("Respondent category"), _("Raters"), _("Share of raters"),
              _("Satisfaction"), _("Counts toward the composition rule")]
    formats = [None, None, None, None, PERCENT, PERCENT, None]
    toward = results.counting
    rows = []
    for u in results.ranked:
        for key in results.categories_of(u):
            label = results.categories[key].get(locale) if key in results.categories else key
            n = u.raters_by_category.get(key, 0)
            by = u.overall.by_category.get(key)
            rows.append([neutralise(u.code), neutralise(u.name), label, n, n / u.raters if u.raters else None,
                         by.rate if by else None, _yes((u.sector, key) in toward)])
    return header, rows, formats


def settings_table(results: CampaignResults) -> tuple[list[str], list[list], list[str]]:
    """The campaign's name, period and rules, and when the file was made (dates as dates)."""
    from .disclosure import minimum_cell
    c = results.campaign
    rows = [[_("Campaign"), neutralise(c.name)], [_("Short name"), c.slug],
            [_("Starts on"), c.starts_on], [_("Ends on"), c.ends_on],
            [_("Satisfaction line"), c.satisfaction_line], [_("Service recipients and residents at least"),
                                                            c.composition_minimum],
            [_("Minimum raters per unit"), c.minimum_sample], [_("Smallest group shown in results (raters)"), minimum_cell(c)],
            [_("Exported on"), dt.date.today()]]
    return [_("Setting"), _("Value")], rows, [None, None]


def write_results(results: CampaignResults, fmt: str, path: str, locale: str = "zh_CN") -> None:
    """Write the results (disclosed: survey.disclosure): the JSON document, the summary as CSV,
    or a workbook as XLSX. Withheld figures (small groups, too few raters) are empty cells."""
    results.check_disclosed()
    if fmt == "json":
        _write_json(path, _deep(results.as_dict()))
        return
    header, rows, formats = summary_table(results, locale)
    if fmt == "csv":
        _write_table("csv", path, header, rows)
        return
    if fmt != "xlsx":
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    book = Workbook()
    book.remove(book.active)
    _sheet(book, _("Summary"), header, rows, formats)
    for title, item_header, item_rows, item_formats in item_tables(results, locale):
        _sheet(book, title, item_header, item_rows, item_formats)
    _sheet(book, _("Rater categories"), *category_table(results, locale))
    settings_header, settings_rows, _f = settings_table(results)
    sheet = _sheet(book, _("Campaign"), settings_header, settings_rows, [None, None])
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        cell = row[0]
        if isinstance(cell.value, dt.date):
            cell.number_format = DATE
        elif isinstance(cell.value, float):
            cell.number_format = PERCENT
    book.save(path)


SHEET_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")


def _sheet_title(book, title: str) -> str:
    """A sheet name Excel accepts (31 characters, no / \\ * ? : [ ]) and unique in the book."""
    base = SHEET_FORBIDDEN.sub("", ILLEGAL_CHARACTERS_RE.sub("", title)).strip().strip("'") or "sheet"
    base = base.replace("：", ":").split(":", 1)[0].strip() or base  # an item's label up to its colon
    name, n = base[:31], 2
    while name in book.sheetnames:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    return name


def _sheet(book, title: str, header: list[str], rows: list[list], formats: list[str | None]):
    """A sheet with a bold frozen header row, number formats per column and fitting widths."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    sheet = book.create_sheet(_sheet_title(book, title))
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    widths = [_width(h) for h in header]
    for row in rows:
        for n, v in enumerate(row):
            widths[n] = max(widths[n], _width(v))
    for n, (fmt, width) in enumerate(zip(formats, widths), start=1):
        letter = get_column_letter(n)
        sheet.column_dimensions[letter].width = min(max(width + 2, 6), 60)
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=n, max_col=n):
                cell.number_format = fmt
    sheet.freeze_panes = "A2"
    return sheet


def _width(value) -> int:
    """Display width of a cell: Chinese characters count twice."""
    if value is None:
        return 0
    if isinstance(value, float):
        return 7
    text = str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


# --- raw answers ------------------------------------------------------------------------------
def raw_rows(campaign: Campaign, unit_codes: list[str] | None = None) -> Iterator[list]:
    """Every stored answer of the campaign (or of these units), streamed, in response-id order
    (never arrival)."""
    query = (select(Answer.response_id, Unit.code, Response.category, Response.channel, Response.day,
                    Answer.item, Answer.choice, Answer.text)
             .join(Response, Response.id == Answer.response_id).join(Unit, Unit.id == Response.unit_id)
             .where(Response.campaign_id == campaign.id).order_by(Answer.response_id, Answer.item)
             .execution_options(yield_per=5000))
    if unit_codes is not None:
        query = query.where(Unit.code.in_(unit_codes))
    for row in db.session.execute(query):
        yield [neutralise(v) for v in row]


def write_raw(campaign: Campaign, fmt: str, path: str, unit_codes: list[str] | None = None) -> int:
    """Write the anonymous raw answers (of every unit, or of these); return how many rows."""
    if fmt == "json":
        count = 0
        with open(path, "w", encoding="utf-8") as out:
            out.write('{"campaign": %s, "columns": %s, "answers": [' % (
                json.dumps(campaign.slug), json.dumps(RAW_COLUMNS)))
            for row in raw_rows(campaign, unit_codes):
                out.write(("," if count else "") + "\n" + json.dumps(dict(zip(RAW_COLUMNS, row)), ensure_ascii=False, default=_json_value))
                count += 1
            out.write("\n]}\n")
        return count
    return _write_table(fmt, path, RAW_COLUMNS, raw_rows(campaign, unit_codes))


def _json_value(value):
    """Dates in JSON as ISO text (2025-06-01)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


# --- writers ----------------------------------------------------------------------------------
def _write_json(path: str, document) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=1, default=_json_value)
        out.write("\n")


def _write_table(fmt: str, path: str, header: list[str], rows: Iterable[list], extra_sheet=None) -> int:
    """CSV (UTF-8 with BOM, so spreadsheets read Chinese) or XLSX (streamed, write-only)."""
    count = 0
    if fmt == "csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
                count += 1
        return count
    if fmt != "xlsx":
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(header)
    for row in rows:
        # control characters cannot be stored in XLSX at all
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        count += 1
    if extra_sheet:
        title, extra_rows = extra_sheet
        extra = book.create_sheet(title)
        for row in extra_rows:
            extra.append(row)
    book.save(path)
    return count
