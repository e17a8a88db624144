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
from typing import Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select

from .db import db
from .models import Answer, Campaign, Response, Unit
from .results import CampaignResults, Figures

FORMATS = ("csv", "xlsx", "json")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
RAW_COLUMNS = ["response_id", "unit_code", "category", "channel", "day", "item", "choice", "text"]
UNIT_COLUMNS = ["raters", "composition_share", "rank", "sector_rank", "previous_rate", "change",
                "must_remedy", "composition_met", "inconclusive", "final", "not_enough_raters", "remedy_items"]


def neutralise(value):
    """A value safe to open in a spreadsheet: formula-like text gets a leading apostrophe."""
    # control characters before the formula do not help: XLSX drops them (see _write_table)
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.sub("", value).startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _deep(value):
    """neutralise() through the dicts and lists of a JSON document."""
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return neutralise(value)


# --- results ----------------------------------------------------------------------------------
def result_table(results: CampaignResults, locale: str = "zh_CN") -> tuple[list[str], list[list]]:
    """One row per unit (item empty: its overall figures and verdict) and one per rated item,
    from disclosed results (survey.disclosure): small groups are empty cells."""
    results.check_disclosed()
    choices = list(dict.fromkeys(c.key for u in results.units for i in u.items for c in i.scale.choices))
    categories = list(results.categories)
    header = (["unit_code", "unit_name", "sector", "item", "item_label", "scale", "valid", "positive",
               "rate", "rate_low", "rate_high", "weighted_score", "dont_know", "not_rated"]
              + [f"n_{c}" for c in choices]
              + [f"rate_{c}" for c in categories] + ["rate_online", "rate_paper"] + UNIT_COLUMNS)

    def figures(f: Figures, by_category, by_channel, not_rated=None) -> list:
        low, high = f.interval or (None, None)
        # withheld figures (survey/disclosure.py) are empty cells, not zeros
        shown = [f.valid, f.positive] if not f.withheld else [None, None]
        return (shown + [f.rate, low, high, f.score]
                + ([None, None] if f.withheld else [f.dont_know, not_rated])
                + [None if f.withheld else f.counts.get(c, 0) for c in choices]
                + [by_category[c].rate if c in by_category else None for c in categories]
                + [by_channel[c].rate if c in by_channel else None for c in ("online", "paper")])

    rows = []
    for u in results.ranked:
        unit = [u.code, u.name, u.sector]
        overall = u.overall
        rows.append(unit + ["", "", ""] + figures(overall.total, overall.by_category, overall.by_channel)
                    + [u.raters, u.share, u.rank, u.sector_rank, u.previous_rate, u.change, u.must_remedy,
                       u.composition_met, u.inconclusive, u.final, not u.enough_raters, " ".join(i.key for i in u.remedy_items)])
        for i in u.items:
            b = i.figures
            rows.append(unit + [i.key, i.label.get(locale), i.scale.key]
                        + figures(b.total, b.by_category, b.by_channel, i.not_rated) + [None] * len(UNIT_COLUMNS))
    return header, [[neutralise(v) for v in row] for row in rows]


def write_results(results: CampaignResults, fmt: str, path: str, locale: str = "zh_CN") -> None:
    """Write the results (disclosed: survey.disclosure): the JSON document, or the result
    table as CSV or XLSX."""
    results.check_disclosed()
    if fmt == "json":
        _write_json(path, _deep(results.as_dict()))
        return
    header, rows = result_table(results, locale)
    settings = [["campaign", results.campaign.slug], ["name", neutralise(results.campaign.name)],
                ["satisfaction_line", results.line],
                ["composition_minimum", results.campaign.composition_minimum],
                ["minimum_sample", results.campaign.minimum_sample],
                ["minimum_cell", results.campaign.minimum_cell]]
    _write_table(fmt, path, header, rows, extra_sheet=("campaign", settings))


# --- raw answers ------------------------------------------------------------------------------
def raw_rows(campaign: Campaign) -> Iterator[list]:
    """Every stored answer of the campaign, streamed, in response-id order (never arrival)."""
    query = (select(Answer.response_id, Unit.code, Response.category, Response.channel, Response.day,
                    Answer.item, Answer.choice, Answer.text)
             .join(Response, Response.id == Answer.response_id).join(Unit, Unit.id == Response.unit_id)
             .where(Response.campaign_id == campaign.id).order_by(Answer.response_id, Answer.item)
             .execution_options(yield_per=5000))
    for row in db.session.execute(query):
        yield [neutralise(v) for v in row]


def write_raw(campaign: Campaign, fmt: str, path: str) -> int:
    """Write the anonymous raw answers; return how many rows were written."""
    if fmt == "json":
        count = 0
        with open(path, "w", encoding="utf-8") as out:
            out.write('{"campaign": %s, "columns": %s, "answers": [' % (
                json.dumps(campaign.slug), json.dumps(RAW_COLUMNS)))
            for row in raw_rows(campaign):
                out.write(("," if count else "") + "\n" + json.dumps(dict(zip(RAW_COLUMNS, row)), ensure_ascii=False))
                count += 1
            out.write("\n]}\n")
        return count
    return _write_table(fmt, path, RAW_COLUMNS, raw_rows(campaign))


# --- writers ----------------------------------------------------------------------------------
def _write_json(path: str, document) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=1)
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
