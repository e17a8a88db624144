"""Bulk set-up: read units from CSV or XLSX; a bad file gets a report naming each bad row
and field, and nothing is imported unless every row is good.

Columns (English or Chinese headers, any order): code 单位编码, name 单位名称, sector 类别,
parent 上级单位 (optional), questionnaire 问卷 (optional, else the sector's default),
commitments 公开承诺 (optional; several separated by line breaks or ；). A sector or
questionnaire may be given by its key or its Chinese or English label (学校, Schools, school).
Messages are in the reader's language; template_xlsx() makes a file to fill in. members 党员 (optional: the party members a
branch appraises on the five leads, separated by line breaks, ；or 、).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .campaigns import state_label
from .db import db
from .models import CODE_PATTERN, Campaign, Unit, audit
from .plugins import Registry

HEADERS = {
    "code": ("code", "单位编码", "编码", "代码"),
    "name": ("name", "单位名称", "名称"),
    "sector": ("sector", "类别", "行业", "领域"),
    "parent": ("parent", "上级单位", "主管单位"),
    "questionnaire": ("questionnaire", "问卷"),
    "commitments": ("commitments", "公开承诺", "承诺"),
    "members": ("members", "党员", "参评党员"),
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


def field_label(name: str) -> str:
    """A column's name as the reader calls it (单位编码 / code)."""
    return str(FIELD_LABELS[name])


FIELD_LABELS = {"code": _l("code"), "name": _l("name"), "sector": _l("sector"), "parent": _l("parent"),
                "questionnaire": _l("questionnaire"), "commitments": _l("commitments")}


def read_rows(filename: str, content: bytes) -> list[dict]:
    """Rows of the file as dicts keyed by the header cells, CSV or XLSX by file name."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(content)
    if suffix in (".csv", ".txt"):
        return _read_csv(content)
    raise UnitImportError([_("%(file)s: unsupported file type %(suffix)s; use .csv or .xlsx",
                             file=Path(filename).name, suffix=suffix or "-")])


def _read_csv(content: bytes) -> list[dict]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnitImportError([_("The file is neither UTF-8 nor GB18030 text.")])
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    return _as_dicts(rows)


def _read_xlsx(content: bytes) -> list[dict]:
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise UnitImportError([_("The file is not a readable XLSX workbook: save it again from Excel or WPS "
                                 "as .xlsx.")]) from None
    sheet = book.worksheets[0]
    rows = [["" if v is None else _cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return _as_dicts(rows)


def _cell_text(value) -> str:
    """A cell as text; a whole number typed as a number (101) is its digits, not 101.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_dicts(rows: list[list[str]]) -> list[dict]:
    if not rows:
        raise UnitImportError([_("The file is empty.")])
    header = [_column(h) for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UnitImportError([_("row 1: missing column %(columns)s (the first row must name the columns: "
                                 "单位编码 code, 单位名称 name, 类别 sector …).",
                                 columns=", ".join(field_label(c) for c in missing))])
    if len(rows) - 1 > MAX_ROWS:
        raise UnitImportError([_("The file has %(n)d rows; at most %(max)d per import.", n=len(rows) - 1, max=MAX_ROWS)])
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


# --- the office's words: a key, or a Chinese or English label ---------------------------------
def _norm(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def resolve_sector(text: str, registry: Registry) -> str | None:
    """The sector key for a key or a label (学校, Schools, school), or None."""
    wanted = _norm(text)
    for key, sector in registry.sectors.items():
        if wanted in (_norm(key), _norm(sector.label.zh), _norm(sector.label.en)):
            return key
    return None


def resolve_questionnaire(text: str, registry: Registry) -> str | None:
    """The questionnaire key for a key or a title in either language, or None."""
    wanted = _norm(text)
    for key, q in registry.questionnaires.items():
        if wanted in (_norm(key), _norm(q.title.zh), _norm(q.title.en)):
            return key
    return None


def resolve_category(text: str, categories) -> str | None:
    """The respondent category key for a key or a label (居民, Residents), or None."""
    wanted = _norm(text)
    for c in categories:
        if wanted in (_norm(c.key), _norm(c.label_zh), _norm(c.label_en)):
            return c.key
    return None


def word_list(words) -> str:
    """Words joined as the reader writes a list: 学校、医院 or schools, hospitals."""
    return (", " if str(get_locale()).startswith("en") else "、").join(words)


def _sector_label(key: str, registry: Registry) -> str:
    sector = registry.sectors.get(key)
    return sector.label.get(get_locale()) if sector else key


def import_units(campaign: Campaign, filename: str, content: bytes, registry: Registry, actor: str,
                 scope=None) -> ImportResult:
    """Validate every row, then add or update the units in one transaction. With a scope
    (survey.roles.Scope of a branch admin) every row's unit, as it is and as the row makes
    it, must be within the scope, or nothing is imported.

    Once the campaign has opened, a unit already in it keeps what opening fixed (its sector,
    questionnaire and commitments): an empty cell keeps it, a different value is refused."""
    if campaign.state not in ("draft", "open"):
        raise UnitImportError([_("The campaign is %(state)s: units can be imported while it is a draft or open.",
                                 state=state_label(campaign.state))])
    rows = read_rows(filename, content)
    existing = {u.code: u for u in campaign.units}
    locked = campaign.state != "draft"
    problems, seen, good = [], {}, []
    for number, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        errors = _check_row(row, registry)
        code = row.get("code", "")
        if code and code in seen:
            errors.append(_("field %(field)s: %(code)s is already used in row %(row)d",
                            field=field_label("code"), code=code, row=seen[code]))
        seen.setdefault(code, number)
        if locked and code in existing and not errors:
            errors.extend(_locked_changes(existing[code], row, registry))
        problems.extend(_("row %(row)d: %(problem)s", row=number, problem=e) for e in errors)
        good.append(row)
    if scope is not None:
        problems.extend(_outside_scope(campaign, rows, scope))
    if problems:
        raise UnitImportError(problems)
    if not good:
        raise UnitImportError([_("The file has a header but no units.")])
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
            if parent := row.get("parent"):
                unit.parent = parent
            elif not locked:
                unit.parent = None
            if locked and unit.id is not None:
                result.codes.append(row["code"])
                continue  # sector, questionnaire and commitments stay as opening fixed them
            unit.sector = row["sector"]
            unit.questionnaire = row.get("questionnaire") or None
            unit.commitments = split_commitments(row.get("commitments", ""))
            unit.members = split_members(row.get("members", ""))
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


def _locked_changes(unit: Unit, row: dict, registry: Registry) -> list[str]:
    """What a row would change that opening fixed; an empty cell changes nothing."""
    errors = []
    why = _("fixed when the campaign opened, so that its answers keep counting")
    if row["sector"] != unit.sector:
        errors.append(_("field %(field)s: unit %(code)s is %(old)s, which is %(why)s; it cannot become %(new)s",
                        field=field_label("sector"), code=unit.code, old=_sector_label(unit.sector, registry),
                        why=why, new=_sector_label(row["sector"], registry)))
    wanted = row.get("questionnaire")
    if wanted and wanted != unit.questionnaire:
        def title(key):
            q = registry.questionnaires.get(key)
            return q.title.get(get_locale()) if q else key
        errors.append(_("field %(field)s: unit %(code)s answers “%(old)s”, which is %(why)s; it cannot change to “%(new)s”",
                        field=field_label("questionnaire"), code=unit.code, old=title(unit.questionnaire),
                        why=why, new=title(wanted)))
    commitments = split_commitments(row.get("commitments", ""))
    if commitments and commitments != list(unit.commitments or []):
        errors.append(_("field %(field)s: the commitments of unit %(code)s are numbered on its ballots and "
                        "answers since the campaign opened; they cannot change",
                        field=field_label("commitments"), code=unit.code))
    return errors


def split_commitments(text: str) -> list[str]:
    """A unit's public commitments from one cell: line breaks or ；/; separate them."""
    return [p.strip() for p in re.split(r"[\n；;]+", text or "") if p.strip()][:20]


def split_members(text: str) -> list[str]:
    """The party members a branch appraises, from one cell, separated like commitments."""
    return [p.strip() for p in re.split(r"[\n；;、，,]+", text or "") if p.strip()]


def _check_row(row: dict, registry: Registry) -> list[str]:
    """The row's problems, one per field; sector and questionnaire become their keys."""
    errors = []
    code = row.get("code", "")
    if not code:
        errors.append(_("field %(field)s: empty", field=field_label("code")))
    elif not CODE_PATTERN.match(code):
        errors.append(_("field %(field)s: %(code)s may hold only letters, digits, '-', '_' and '.' (at most 40)",
                        field=field_label("code"), code=code))
    name = row.get("name", "")
    if not name:
        errors.append(_("field %(field)s: empty", field=field_label("name")))
    elif len(name) > 200:
        errors.append(_("field %(field)s: longer than 200 characters", field=field_label("name")))
    given = row.get("sector", "")
    sector = resolve_sector(given, registry)
    if sector is None:
        known = word_list(_sector_label(k, registry) for k in registry.sectors)
        errors.append(_("field %(field)s: unknown sector “%(value)s” (use one of: %(known)s)",
                        field=field_label("sector"), value=given, known=known))
    else:
        row["sector"] = sector
    given_q = row.get("questionnaire")
    if given_q:
        key = resolve_questionnaire(given_q, registry)
        if key is None:
            errors.append(_("field %(field)s: unknown questionnaire “%(value)s”",
                            field=field_label("questionnaire"), value=given_q))
        elif sector and registry.questionnaires[key].sector != sector:
            errors.append(_("field %(field)s: “%(value)s” is for another sector (%(sector)s)",
                            field=field_label("questionnaire"), value=given_q,
                            sector=_sector_label(registry.questionnaires[key].sector, registry)))
        else:
            row["questionnaire"] = key
    if len(row.get("parent", "")) > 200:
        errors.append(_("field %(field)s: longer than 200 characters", field=field_label("parent")))
    for text in split_commitments(row.get("commitments", "")):
        if len(text) > 300:
            errors.append(_("field %(field)s: a commitment is longer than 300 characters",
                            field=field_label("commitments")))
    members = split_members(row.get("members", ""))
    if len(members) > 200:
        errors.append("field members: more than 200 members")
    if any(len(name) > 100 for name in members):
        errors.append("field members: a name is longer than 100 characters")
    if len(set(members)) != len(members):
        errors.append("field members: a member is listed twice")
    return errors


# --- the template an office fills in ----------------------------------------------------------
def template_xlsx(registry: Registry, locale: str = "zh_CN") -> bytes:
    """An XLSX to fill in: the headers, an example row, and drop-down lists (data validation)
    of the installed sectors and questionnaires, by their labels in the reader's language."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation
    zh = not str(locale).startswith("en")
    book = Workbook()
    sheet = book.active
    sheet.title = "单位" if zh else "units"
    headers = (["单位编码", "单位名称", "类别", "上级单位", "问卷", "公开承诺"] if zh else
               ["code", "name", "sector", "parent", "questionnaire", "commitments"])
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sectors = [s.label.get(locale) for s in registry.sectors.values()]
    questionnaires = [q.title.get(locale) for q in registry.questionnaires.values()]
    school = registry.sectors.get("school")
    sheet.append(["SCH-001", "城关第一小学" if zh else "First Primary School",
                  school.label.get(locale) if school else (sectors[0] if sectors else ""),
                  "县教育局" if zh else "County Education Bureau", "",
                  "每周公开食堂账目；家长接待日每月一次" if zh else "Publish the canteen accounts weekly; parents' day monthly"])
    lists = book.create_sheet("lists")
    for n, label in enumerate(sectors, start=1):
        lists.cell(row=n, column=1, value=label)
    for n, title in enumerate(questionnaires, start=1):
        lists.cell(row=n, column=2, value=title)
    lists.sheet_state = "hidden"
    for column, values, letter in (("C", sectors, "A"), ("E", questionnaires, "B")):
        if not values:
            continue
        check = DataValidation(type="list", formula1=f"=lists!${letter}$1:${letter}${len(values)}",
                               allow_blank=True, showErrorMessage=True)
        check.error = ("请从下拉列表中选择。" if zh else "Choose from the list.")
        sheet.add_data_validation(check)
        check.add(f"{column}2:{column}{MAX_ROWS + 1}")
    for letter, width in zip("ABCDEF", (14, 30, 22, 22, 34, 50)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
