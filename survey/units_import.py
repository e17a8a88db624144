"""Bulk set-up: read units from CSV or XLSX; a bad file gets a report naming each bad row
and field, and nothing is imported unless every row is good.

Columns (English or Chinese headers, any order): code 单位编码, name 单位名称, sector 类别,
parent 上级单位 (optional), questionnaire 问卷 (optional, else the sector's default),
commitments 公开承诺 (optional; several separated by line breaks or ；).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .db import db
from .models import CODE_PATTERN, UNIT_FIELDS_FIXED_AT_OPENING, Campaign, Unit, audit
from .plugins import Registry

HEADERS = {
    "code": ("code", "单位编码", "编码", "代码"),
    "name": ("name", "单位名称", "名称"),
    "sector": ("sector", "类别", "行业", "领域"),
    "parent": ("parent", "上级单位", "主管单位"),
    "questionnaire": ("questionnaire", "问卷"),
    "commitments": ("commitments", "公开承诺", "承诺"),
}
REQUIRED = ("code", "name", "sector")
MAX_ROWS = 20000


class UnitImportError(ValueError):
    """A file that cannot be imported; .problems lists each bad row and field."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    codes: list[str] = field(default_factory=list)


def read_rows(filename: str, content: bytes) -> list[dict]:
    """Rows of the file as dicts keyed by the header cells, CSV or XLSX by file name."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(content)
    if suffix in (".csv", ".txt"):
        return _read_csv(content)
    raise UnitImportError([f"{filename}: unsupported file type {suffix or '(none)'}; use .csv or .xlsx"])


def _read_csv(content: bytes) -> list[dict]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnitImportError(["the file is neither UTF-8 nor GB18030 text"])
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    return _as_dicts(rows)


def _read_xlsx(content: bytes) -> list[dict]:
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise UnitImportError([f"not a readable XLSX workbook: {exc}"]) from None
    sheet = book.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return _as_dicts(rows)


def _as_dicts(rows: list[list[str]]) -> list[dict]:
    if not rows:
        raise UnitImportError(["the file is empty"])
    header = [_column(h) for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UnitImportError([f"row 1: missing column {', '.join(missing)} "
                            f"(the first row must name the columns: code, name, sector …)"])
    if len(rows) - 1 > MAX_ROWS:
        raise UnitImportError([f"the file has {len(rows) - 1} rows; at most {MAX_ROWS} per import"])
    result = []
    for cells in rows[1:]:
        row = {}
        for name, value in zip(header, cells):
            if name:
                row[name] = (value or "").strip()
        result.append(row)
    return result


def _column(cell: str) -> str | None:
    cell = (cell or "").strip().lower()
    for name, aliases in HEADERS.items():
        if cell in aliases:
            return name
    return None


def import_units(campaign: Campaign, filename: str, content: bytes, registry: Registry, actor: str,
                 scope=None) -> ImportResult:
    """Validate every row, then add or update the units in one transaction. With a scope
    (survey.roles.Scope of a branch admin) every row's unit, as it is and as the row makes
    it, must be within the scope, or nothing is imported."""
    if campaign.state not in ("draft", "open"):
        raise UnitImportError([f"campaign {campaign.slug} is {campaign.state}: units can be imported while it is draft or open"])
    rows = read_rows(filename, content)
    problems, seen, good = [], {}, []
    existing = {u.code: u for u in campaign.units}
    for number, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        errors = _check_row(row, registry)
        if campaign.state == "open" and row.get("code") in existing and not errors:
            errors += _fixed_since_opening(existing[row["code"]], row, registry)
        code = row.get("code", "")
        if code and code in seen:
            errors.append(f"field code: {code!r} is already used in row {seen[code]}")
        seen.setdefault(code, number)
        problems.extend(f"row {number}: {e}" for e in errors)
        good.append(row)
    if scope is not None:
        problems.extend(_outside_scope(campaign, rows, scope))
    if problems:
        raise UnitImportError(problems)
    if not good:
        raise UnitImportError(["the file has a header but no units"])
    result = ImportResult()
    try:
        for row in good:
            unit = existing.get(row["code"])
            if unit is None:
                unit = Unit(campaign=campaign, code=row["code"])
                db.session.add(unit)
                result.added += 1
            else:
                result.updated += 1
            unit.name = row["name"]
            unit.sector = row["sector"]
            unit.parent = row.get("parent") or None
            unit.questionnaire = row.get("questionnaire") or None
            unit.commitments = split_commitments(row.get("commitments", ""))
            result.codes.append(row["code"])
        if campaign.state == "open":
            from .campaigns import _freeze_missing
            db.session.flush()
            _freeze_missing(campaign, registry)
        audit(actor, "units.import", campaign.slug, file=Path(filename).name,
              added=result.added, updated=result.updated)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def _outside_scope(campaign: Campaign, rows: list[dict], scope) -> list[str]:
    """One problem per row whose unit is, or would become, outside the importer's units."""
    from flask_babel import gettext as _
    existing = {u.code: u for u in campaign.units}
    problems = []
    for number, row in enumerate(rows, start=2):
        code = row.get("code", "")
        if not code:
            continue
        before = existing.get(code)
        if not scope.unit(code, row.get("parent") or None) or (
                before is not None and not scope.unit(before.code, before.parent)):
            problems.append(_("row %(row)d: unit %(code)s is not one of your units", row=number, code=code))
    return problems


def split_commitments(text: str) -> list[str]:
    """A unit's public commitments from one cell: line breaks or ；/; separate them."""
    return [p.strip() for p in re.split(r"[\n；;]+", text or "") if p.strip()][:20]


def _fixed_since_opening(unit: Unit, row: dict, registry: Registry) -> list[str]:
    """An open campaign's unit keeps what its answers follow (UNIT_FIELDS_FIXED_AT_OPENING):
    a row may rename it or change its parent, nothing else."""
    default = registry.default_questionnaire(row.get("sector", ""))
    wanted = {"sector": row.get("sector", ""),
              "questionnaire": row.get("questionnaire") or (default.key if default else None),
              "commitments": split_commitments(row.get("commitments", ""))}
    return [f"field {name}: unit {unit.code} is being answered, so it keeps the {name} it had when "
            f"the campaign opened ({getattr(unit, name)!r}); only its name and parent can change"
            for name, value in wanted.items() if name in UNIT_FIELDS_FIXED_AT_OPENING
            and value != (getattr(unit, name) or ([] if name == "commitments" else None))]


def _check_row(row: dict, registry: Registry) -> list[str]:
    errors = []
    code = row.get("code", "")
    if not code:
        errors.append("field code: empty")
    elif not CODE_PATTERN.match(code):
        errors.append(f"field code: {code!r} may hold only letters, digits, '-', '_' and '.' (at most 40)")
    name = row.get("name", "")
    if not name:
        errors.append("field name: empty")
    elif len(name) > 200:
        errors.append("field name: longer than 200 characters")
    sector = row.get("sector", "")
    if sector not in registry.sectors:
        known = ", ".join(sorted(registry.sectors))
        errors.append(f"field sector: unknown sector {sector!r} (installed: {known})")
    key = row.get("questionnaire")
    if key:
        q = registry.questionnaires.get(key)
        if q is None:
            errors.append(f"field questionnaire: unknown questionnaire {key!r}")
        elif q.sector != sector:
            errors.append(f"field questionnaire: {key!r} is for sector {q.sector!r}, not {sector!r}")
    if len(row.get("parent", "")) > 200:
        errors.append("field parent: longer than 200 characters")
    for text in split_commitments(row.get("commitments", "")):
        if len(text) > 300:
            errors.append("field commitments: a commitment is longer than 300 characters")
    return errors
