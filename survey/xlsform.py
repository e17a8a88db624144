"""Questionnaires as XLSForm workbooks (the ODK standard), for offices that write in Excel or WPS.

A workbook has three sheets:

- ``survey``: one row per question. ``type`` is ``select_one LIST`` (a rated item on the scale
  LIST), ``text`` (a comment), ``begin group`` / ``end group`` (a section, its label the
  heading); ``name`` is the item key; ``label::Chinese (zh)`` and ``label::English (en)`` the
  question, ``hint::…`` its help; ``required`` yes or no (XLSForm's default: no). Toolkit
  columns: ``survey_kind`` (``commitments`` for 评诺, one question per public commitment of the
  unit; ``incidence`` for "did this happen to you?" on the list incidence; ``members`` for the
  members' appraisal, one question per party member; otherwise the kind follows the type), ``max_length`` for a comment,
  ``poor_reasons`` naming a list of the choices sheet whose rows are the reasons a resident may
  tick with a poor rating (差评原因: name and labels only, no weight or positive), and any other
  ``survey_FIELD`` column for an item field.
- ``choices``: ``list_name``, ``name``, the labels, and the toolkit's ``weight`` (0–100) and
  ``positive`` (yes: counts as satisfied), and optionally ``group`` (good / fair / poor: the
  好差评 group, 好评 / 中评 / 差评, as on the built-in haochaping scale). A list with the name of a scale the toolkit knows
  (satisfaction, rating, …) must have that scale's choices and uses it; another list defines
  a new scale of the plugin's (``scale_label_zh`` / ``scale_label_en`` on its first row name it).
- ``settings``: ``form_id`` (the questionnaire key), ``version``, ``form_title`` (Chinese), and
  ``survey_title_en``, ``survey_sector``, ``survey_intro_zh``, ``survey_intro_en``, and any
  other ``survey_FIELD`` for a questionnaire field.

What the toolkit cannot honour — ``relevant``, ``constraint``, ``calculation``, repeats, other
question types — is refused with the row named, never silently dropped. `write_xlsform` makes
such a workbook from any questionnaire (the admin offers it for every frozen one), and
reading it back gives the same questionnaire.
"""
from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .questionnaire import Item, Questionnaire, QuestionnaireError, Scale, parse_questionnaire

ZH, EN = "Chinese (zh)", "English (en)"
LANGS = {"zh": ("chinese (zh)", "chinese", "zh", "中文", "简体中文"), "en": ("english (en)", "english", "en")}
REFUSED_COLUMNS = ("relevant", "constraint", "calculation", "repeat_count", "choice_filter", "trigger",
                   "default", "read_only", "readonly", "constraint_message")
TEXT_ITEM_FIELDS = ("label", "help", "section")
ITEM_COLUMNS = {"key", "kind", "scale", "required", "max_length", "poor_reasons", *TEXT_ITEM_FIELDS}
QUESTIONNAIRE_COLUMNS = {"key", "version", "sector", "title", "intro", "items"}
YES = {"yes", "true", "true()", "1", "y", "是"}
NO = {"no", "false", "false()", "0", "n", "否", ""}


class XLSFormError(QuestionnaireError):
    """A workbook that is not a questionnaire the toolkit can ask; the message names the row."""


# --- reading ----------------------------------------------------------------------------------
def _sheet(workbook, name: str, source: str, required: bool = True):
    for sheet in workbook.worksheets:
        if sheet.title.strip().lower() == name:
            return sheet
    if required:
        raise XLSFormError(f"{source}: no sheet named {name!r} (an XLSForm has the sheets survey, choices, settings)")
    return None


def _rows(sheet):
    """(row number, {column: value}) for each non-empty row under the header, headers lower-cased."""
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    names = [str(h).strip() if h is not None else "" for h in header]
    for number, values in enumerate(rows, start=2):
        row = {}
        for name, value in zip(names, values):
            if name and value is not None and str(value).strip() != "":
                row[name] = value.strip() if isinstance(value, str) else value
        if row:
            yield number, row


def _text(row: dict, column: str):
    """The {zh, en} pair of a translated column (label::Chinese (zh) …), or None when absent."""
    found = {}
    for name, value in row.items():
        base, _sep, lang = name.partition("::")
        if base.strip().lower() != column:
            continue
        lang = lang.strip().lower()
        for code, spellings in LANGS.items():
            if lang in spellings:
                found[code] = str(value)
        if not lang:
            found.setdefault("plain", str(value))
    if "plain" in found:
        found.setdefault("zh", found["plain"])
        del found["plain"]
    return found or None


def _flag(value, where: str) -> bool:
    text = str(value).strip().lower() if value is not None else ""
    if text in YES:
        return True
    if text in NO:
        return False
    raise XLSFormError(f"{where}: {value!r} is not yes or no")


def _number(value, where: str):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise XLSFormError(f"{where}: {value!r} is not a number") from None
    return int(number) if number.is_integer() else number


def _extra_fields(row: dict, reserved: set[str], skip: set[str], where: str) -> dict:
    """The survey_FIELD columns of a row as {field: value}, less the ones read elsewhere."""
    extra = {}
    for name, value in row.items():
        if name.lower().startswith("survey_"):
            field = name[len("survey_"):].lower()
            if field in skip:
                continue
            if field in reserved:
                raise XLSFormError(f"{where}: column {name} repeats a standard column")
            extra[field] = value
    return extra


def _scales(sheet, source: str) -> dict[str, dict]:
    lists: dict[str, dict] = {}
    for number, row in _rows(sheet):
        where = f"{source}, sheet choices, row {number}"
        name = str(row.get("list_name", "")).strip()
        key = str(row.get("name", "")).strip()
        if not name or not key:
            raise XLSFormError(f"{where}: list_name and name are both needed")
        label = _text(row, "label")
        if not label or "en" not in label or "zh" not in label:
            raise XLSFormError(f"{where}: choice {key!r} needs label::{ZH} and label::{EN}")
        scale_label = {"zh": str(row.get("scale_label_zh") or name), "en": str(row.get("scale_label_en") or name)}
        scale = lists.setdefault(name, {"key": name, "label": scale_label,
                                        "choices": [], "rows": [], "reasons": []})
        scale["reasons"].append({"key": key, "label": label})  # as a list of poor-rating reasons
        scale["rows"].append(number)
        if row.get("weight") in (None, "") and row.get("positive") in (None, ""):
            # a reason list's row; as a scale's choice it is refused when the list is used as one
            scale.setdefault("missing", f"{where}: choice {key!r} needs the toolkit's columns weight (0-100) and "
                                        "positive (yes if it counts as satisfied)")
            continue
        if "weight" not in row or "positive" not in row:
            raise XLSFormError(f"{where}: choice {key!r} needs the toolkit's columns weight (0-100) and "
                               "positive (yes if it counts as satisfied)")
        choice = {"key": key, "label": label, "weight": _number(row["weight"], where),
                  "positive": _flag(row["positive"], where)}
        group = str(row.get("group") or "").strip().lower()
        if group:
            if group not in ("good", "fair", "poor"):
                raise XLSFormError(f"{where}: choice {key!r} has group {group!r}; "
                                   "a group is good (好评), fair (中评) or poor (差评)")
            choice["group"] = group
        scale["choices"].append(choice)
    return lists


def read_xlsform(content: bytes | str | Path, source: str | None = None) -> tuple[Questionnaire, dict[str, Scale]]:
    """Read a workbook; return the questionnaire and the scales its choice lists define.

    Raises XLSFormError naming the sheet and row of the first thing it cannot honour.
    """
    if isinstance(content, (str, Path)):
        source = source or str(content)
        try:
            content = Path(content).read_bytes()
        except OSError as exc:
            raise XLSFormError(f"{source}: cannot be read: {exc.strerror}") from None
    source = source or "<workbook>"
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise XLSFormError(f"{source}: not an Excel workbook (.xlsx)") from None
    choices = _sheet(workbook, "choices", source, required=False)
    lists = _scales(choices, source) if choices is not None else {}
    data = _settings(_sheet(workbook, "settings", source), source)
    data["items"] = _items(_sheet(workbook, "survey", source), source, lists)
    used = {i["scale"] for i in data["items"] if i.get("scale")}
    used |= {"commitment" for i in data["items"] if i["kind"] == "commitments"}
    used |= {i["kind"] for i in data["items"] if i["kind"] in ("yesno", "incidence")}
    scales = {}
    for name in sorted(used & set(lists)):
        if "missing" in lists[name]:
            raise XLSFormError(lists[name]["missing"])
        spec = {k: v for k, v in lists[name].items() if k not in ("rows", "reasons")}
        try:
            scales[name] = Scale.model_validate(spec)
        except Exception as exc:
            raise XLSFormError(f"{source}, sheet choices, rows {lists[name]['rows'][0]}-{lists[name]['rows'][-1]}: "
                               f"list {name}: {exc}") from None
    return parse_questionnaire(data, source), scales


def _settings(sheet, source: str) -> dict:
    rows = list(_rows(sheet))
    if not rows:
        raise XLSFormError(f"{source}, sheet settings: row 2 is empty: it needs form_id, version and form_title")
    number, row = rows[0]
    where = f"{source}, sheet settings, row {number}"
    lower = {k.lower(): v for k, v in row.items()}
    for column in ("form_id", "version", "form_title", "survey_title_en", "survey_sector"):
        if column not in lower:
            raise XLSFormError(f"{where}: column {column} is missing or empty")
    data = {"key": str(lower["form_id"]), "version": str(lower["version"]), "sector": str(lower["survey_sector"]),
            "title": {"zh": str(lower["form_title"]), "en": str(lower["survey_title_en"])}}
    if "survey_intro_zh" in lower or "survey_intro_en" in lower:
        data["intro"] = {"zh": str(lower.get("survey_intro_zh", "")), "en": str(lower.get("survey_intro_en", ""))}
    data.update(_extra_fields(row, QUESTIONNAIRE_COLUMNS, {"sector", "title_en", "intro_zh", "intro_en"}, where))
    return data


def _items(sheet, source: str, lists: dict) -> list[dict]:
    items, section, depth = [], None, 0
    for number, row in _rows(sheet):
        where = f"{source}, sheet survey, row {number}"
        lower = {k.lower(): v for k, v in row.items()}
        for column in REFUSED_COLUMNS:
            if column in lower:
                raise XLSFormError(f"{where}: column {column} cannot be honoured by the toolkit (every resident "
                                   "answers every question); remove it")
        kind_type = " ".join(str(lower.get("type", "")).split()).lower().replace("begin_", "begin ").replace("end_", "end ")
        name = str(lower.get("name", "")).strip()
        if kind_type in ("begin group", "begin_group"):
            if depth:
                raise XLSFormError(f"{where}: a group inside a group cannot be shown: close the first with end group")
            section, depth = _text(row, "label"), 1
            continue
        if kind_type == "end group":
            section, depth = None, 0
            continue
        if kind_type.startswith("select_one "):
            scale = kind_type.split(" ", 1)[1].strip()
            if scale not in lists:
                raise XLSFormError(f"{where}: list {scale!r} is not on the choices sheet")
            kind = str(lower.get("survey_kind") or ("yesno" if scale == "yesno" else "choice")).strip().lower()
            item = {"key": name, "kind": kind}
            if kind == "choice":
                item["scale"] = scale
            elif kind == "commitments" and scale != "commitment":
                raise XLSFormError(f"{where}: a commitments item is asked on the list commitment, not {scale!r}")
            elif kind == "members":  # the members' appraisal: on the list it names (appraisal)
                item["scale"] = scale
        elif kind_type == "text":
            item = {"key": name, "kind": "comment"}
            if "max_length" in lower:
                item["max_length"] = _number(lower["max_length"], where)
        else:
            shown = kind_type or "(empty)"
            raise XLSFormError(f"{where}: type {shown!r} cannot be asked by the toolkit: use select_one LIST for a "
                               "rated question, text for a comment, begin group / end group for a section")
        label = _text(row, "label")
        if not label or "zh" not in label or "en" not in label:
            raise XLSFormError(f"{where}: question {name!r} needs label::{ZH} and label::{EN}")
        item["label"] = label
        hint = _text(row, "hint")
        if hint:
            item["help"] = hint
        if section:
            item["section"], section = section, None
        item["required"] = _flag(lower.get("required"), where)
        reasons = str(lower.get("poor_reasons") or "").strip()
        if reasons:
            if reasons not in lists:
                raise XLSFormError(f"{where}: poor_reasons list {reasons!r} is not on the choices sheet")
            item["poor_reasons"] = lists[reasons]["reasons"]
        item.update(_extra_fields(row, ITEM_COLUMNS, {"kind"}, where))
        items.append(item)
    if not items:
        raise XLSFormError(f"{source}, sheet survey: no questions")
    return items


# --- writing ----------------------------------------------------------------------------------
def write_xlsform(questionnaire: Questionnaire, scales: dict[str, Scale]) -> bytes:
    """The questionnaire as an XLSForm workbook (reading it back gives the same questionnaire)."""
    workbook = openpyxl.Workbook()
    survey = workbook.active
    survey.title = "survey"
    extra_item_fields = [f for f in Item.model_fields if f not in ITEM_COLUMNS]
    header = ["type", "name", f"label::{ZH}", f"label::{EN}", f"hint::{ZH}", f"hint::{EN}", "required",
              "survey_kind", "max_length", "poor_reasons", *[f"survey_{f}" for f in extra_item_fields]]
    survey.append(header)
    open_group, groups = False, 0
    for item in questionnaire.items:
        if item.section is not None:
            if open_group:
                survey.append(["end group"])
            groups += 1
            survey.append(["begin group", f"section_{groups}", item.section.zh, item.section.en])
            open_group = True
        if item.kind == "comment":
            kind_type = "text"
        else:
            list_name = {"choice": item.scale, "yesno": "yesno", "incidence": "incidence", "commitments": "commitment",
                         "members": item.scale or "appraisal"}.get(item.kind, item.scale)
            kind_type = f"select_one {list_name}"
        survey_kind = item.kind if item.kind not in ("choice", "yesno", "comment") else None
        extras = [_cell(getattr(item, f)) for f in extra_item_fields]
        survey.append([kind_type, item.key, item.label.zh, item.label.en,
                       item.help.zh if item.help else None, item.help.en if item.help else None,
                       "yes" if item.required else "no", survey_kind, item.max_length,
                       reason_list(item) if item.poor_reasons else None, *extras])
    if open_group:
        survey.append(["end group"])
    choices = workbook.create_sheet("choices")
    choices.append(["list_name", "name", f"label::{ZH}", f"label::{EN}", "weight", "positive",
                    "scale_label_zh", "scale_label_en", "group"])
    for key in sorted(questionnaire.scales_used()):
        scale = scales[key]
        for n, choice in enumerate(scale.choices):
            label = (scale.label.zh, scale.label.en) if n == 0 else (None, None)
            weight = int(choice.weight) if float(choice.weight).is_integer() else choice.weight
            choices.append([key, choice.key, choice.label.zh, choice.label.en, weight,
                            "yes" if choice.positive else "no", *label, choice.group])
    for item in questionnaire.items:
        for reason in item.poor_reasons:
            choices.append([reason_list(item), reason.key, reason.label.zh, reason.label.en])
    settings = workbook.create_sheet("settings")
    extra_fields = [f for f in Questionnaire.model_fields if f not in QUESTIONNAIRE_COLUMNS]
    settings.append(["form_id", "version", "form_title", "default_language", "survey_title_en", "survey_sector",
                     "survey_intro_zh", "survey_intro_en", *[f"survey_{f}" for f in extra_fields]])
    intro = questionnaire.intro
    settings.append([questionnaire.key, questionnaire.version, questionnaire.title.zh, ZH, questionnaire.title.en,
                     questionnaire.sector, intro.zh if intro else None, intro.en if intro else None,
                     *[_cell(getattr(questionnaire, f)) for f in extra_fields]])
    for sheet in (survey, choices, settings):
        sheet.freeze_panes = "A2"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in range(1, sheet.max_column + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 14 if column > 2 else 22
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def reason_list(item: Item) -> str:
    """The choices-sheet list an item's poor-rating reasons are written to."""
    return f"{item.key}_reasons"


def _cell(value):
    """A questionnaire field as a cell: None stays empty, booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "model_dump"):
        raise TypeError("a structured field has no XLSForm column")
    return value
