"""The remedy ledger (整改台账) of a campaign: one row per remedy record, as XLSX or PDF.

Each row: the unit, the items that pulled it down (as disclosed when the record was made), the
owner, the start and due dates (working days, survey/workdays.py), the status (overdue marked),
the plan, the report, the day it was verified and, once a re-evaluation (survey/reevaluation.py)
is counted, the rate before and after. Every figure comes from the disclosed results, so the
ledger shows no more than any other report. Texts in the office's language (zh_CN or en);
formula-like text is neutralised for spreadsheets (survey/exports.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from .config import office_today
from .db import db
from .models import Campaign, Remedy
from .remedies import STATUS_LABELS, current_owner
from .workdays import DEFAULT_WORKING_DAYS

LANGS = ("zh_CN", "en")
FORMATS = ("xlsx", "pdf")
MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def pct(value: float | None) -> str:
    """A fraction as a percentage with one decimal, or a dash."""
    return "—" if value is None else f"{value * 100:.1f}%"


def points(value: float | None) -> str:
    """A change of rate in percentage points with its sign, or a dash."""
    return "—" if value is None else f"{value * 100:+.1f}"


def short(label: str | None) -> str:
    """An item's label up to its colon (领导班子好：… → 领导班子好), as lists of items show it."""
    label = label or ""
    return label.replace("：", ":").split(":", 1)[0].strip() or label


@dataclass
class LedgerRow:
    """One remedy record as the ledger prints it (texts already in the reader's language)."""

    code: str
    name: str
    items: str
    owner: str
    starts_on: dt.date
    due_on: dt.date
    deadline: str
    status: str
    plan: str
    report: str
    verified_on: dt.date | None
    reevaluation: str


def reevaluation_text(row) -> str:
    """A comparison row (survey.reevaluation.Comparison) in words: before → after (change), flagged."""
    if row is None:
        return ""
    if not row.counted:
        return _("re-evaluation not counted yet")
    if row.after is None:
        return _("re-evaluation: %(before)s → withheld (too few raters)", before=pct(row.before))
    text = _("%(before)s → %(after)s (%(change)s points)", before=pct(row.before), after=pct(row.after),
             change=points(row.change))
    return text + (" · " + _("again under the line") if row.again_under else "")


def ledger_rows(campaign: Campaign, lang: str, today: dt.date | None = None) -> list[LedgerRow]:
    """The campaign's remedy records as ledger rows, by unit code, in `lang`."""
    from .reevaluation import comparison, follow_up_of
    today = today or office_today()
    follow_up = follow_up_of(campaign)
    compared = {c.code: c for c in comparison(campaign, follow_up)} if follow_up is not None else {}
    records = sorted(db.session.scalars(select(Remedy).filter_by(campaign_id=campaign.id)), key=lambda r: r.unit.code)
    en = lang.startswith("en")
    rows = []
    with force_locale(lang):
        for r in records:
            items = "\n".join(f"{short(i.get('en') if en else i.get('zh'))} {pct(i.get('rate'))}" for i in r.items or [])
            deadline = _("%(n)d working days", n=DEFAULT_WORKING_DAYS)
            if r.office_calendar:
                deadline += " · " + _("office calendar")
            status = str(STATUS_LABELS[r.status]) + (" · " + _("overdue") if r.overdue(today) else "")
            rows.append(LedgerRow(code=r.unit.code, name=r.unit.name, items=items or "—",
                                  owner=current_owner(r) or _("none (the office)"), starts_on=r.starts_on, due_on=r.due_on,
                                  deadline=deadline, status=status, plan=r.plan or "", report=r.report or "",
                                  verified_on=r.verified_on, reevaluation=reevaluation_text(compared.get(r.unit.code))))
    return rows


def headers(lang: str) -> list[str]:
    """The ledger's column headers in `lang`."""
    with force_locale(lang):
        return [_("Unit code"), _("Unit"), _("Items that pulled the unit down"), _("Owner"), _("Started"),
                _("Due"), _("Deadline"), _("Status"), _("Plan"), _("Report"), _("Verified on"), _("Re-evaluation")]


def title(campaign: Campaign, lang: str) -> str:
    """The ledger's title, e.g. 2025年度群众满意度测评 · 整改台账."""
    with force_locale(lang):
        return f"{campaign.name} · {_('Remedy ledger')}"


def write_xlsx(campaign: Campaign, lang: str = "zh_CN") -> bytes:
    """The ledger as an XLSX workbook (one sheet, a bold frozen header, dates as dates)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    from .exports import DATE, _sheet, neutralise
    rows = ledger_rows(campaign, lang)
    book = Workbook()
    book.remove(book.active)
    with force_locale(lang):
        sheet_name = _("Remedy ledger")
    table = [[neutralise(v) for v in (r.code, r.name, r.items, r.owner, r.starts_on, r.due_on, r.deadline,
                                      r.status, r.plan, r.report, r.verified_on, r.reevaluation)] for r in rows]
    sheet = _sheet(book, sheet_name, headers(lang), table, [None, None, None, None, DATE, DATE, None, None,
                                                            None, None, DATE, None])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def write_pdf(campaign: Campaign, lang: str = "zh_CN") -> bytes:
    """The ledger as an A4 landscape PDF (printouts/ledger.py)."""
    from printouts.ledger import LedgerPrintout
    with force_locale(lang):
        return LedgerPrintout(title(campaign, lang), headers(lang), ledger_rows(campaign, lang), lang).get_pdf()


def make_ledger(campaign: Campaign, fmt: str, lang: str) -> bytes:
    """The ledger in this format and language."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown ledger format {fmt!r} (use one of {', '.join(FORMATS)})")
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (use one of {', '.join(LANGS)})")
    return write_xlsx(campaign, lang) if fmt == "xlsx" else write_pdf(campaign, lang)
