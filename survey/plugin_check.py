"""`survey plugins --check [PATH]`: check plugins before and after installing them.

Without PATH: every installed plugin. With a folder (a plugin's source, holding its
pyproject.toml): the plugins its entry points name, loaded from that folder beside the installed
ones. With a questionnaire file (.toml or .xlsx): that questionnaire against the installed
sectors and scales. Each problem names the file, the item and the line where there is one,
lists the valid names and suggests the nearest. The hooks that run while residents answer
(categories, validation, report sections, scale weights) are called once with sample data, so
a hook that raises fails the check; so does a hook error already seen while the app ran
(the registry's fault log).
"""
from __future__ import annotations

import importlib
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .plugins import (
    ENTRY_POINT_GROUP, Registry, RequiredCheckFailed, _merge_scales, build_registry, check_scales, read_faults,
)
from .questionnaire import (
    QuestionnaireError, load_any_questionnaire, not_judgeable_at_point_of_service, shown_by_qr_code, suggest,
)
from .questions import rated_questions
from .snapshot import Frozen


@dataclass
class CheckReport:
    """What a check found: errors fail it, warnings do not."""

    checked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check(path: str | Path | None, registry: Registry | None = None, disabled=()) -> CheckReport:
    """Check the installed plugins (path None), a plugin folder or a questionnaire file."""
    report = CheckReport()
    if path is None:
        registry = registry or build_registry(disabled=disabled)
        _report_registry(registry, report, only=None)
        for fault in read_faults(registry.fault_log):
            report.errors.append(f"plugin {fault['plugin']}: {fault['hook']} raised {fault['error']} while the "
                                 "app was running (fix it, then delete the instance's plugin-faults.log)")
        return report
    path = Path(path)
    if path.is_dir():
        return _check_folder(path, report, disabled)
    if path.is_file():
        return _check_file(path, report, registry or build_registry(disabled=disabled))
    report.errors.append(f"{path}: no such file or folder")
    return report


def _report_registry(registry: Registry, report: CheckReport, only: set[str] | None) -> None:
    for info in registry.plugins:
        if only is not None and info.name not in only:
            continue
        report.checked.append(info.name)
        if info.error:
            report.errors.append(f"plugin {info.name}: {info.error}")
        report.warnings.extend(f"plugin {info.name}: {w}" for w in info.warnings)
    for key, q in sorted(registry.questionnaires.items()):
        if only is not None and not any(key in info.questionnaires for info in registry.plugins if info.name in only):
            continue
        shown = shown_by_qr_code(q, registry.questionnaires)
        if shown is q and q.audience == "assembly":  # a point-of-service one is refused on load
            report.warnings.extend(
                f"questionnaire {key!r}: {problem}; it names no point_of_service pair, so its units' QR codes "
                f"show it to passers-by: name a point-of-service pair (docs/plugins.md, \"Who can judge what\")"
                for problem in not_judgeable_at_point_of_service(q))
    exercise(registry)
    for info in registry.plugins:
        if (only is None or info.name in only) and info.runtime_error and not info.error:
            report.errors.append(f"plugin {info.name}: {info.runtime_error}")


def exercise(registry: Registry) -> None:
    """Call the hooks that run while residents answer, once each with sample data; an error
    is recorded on the plugin (runtime_error) as it would be in the running app."""
    for sector in registry.sectors:
        registry.categories(sector)
    for key in registry.scales:
        registry.scale(key)
    for q in registry.questionnaires.values():
        scales = {k: registry.scales[k] for k in q.scales_used() if k in registry.scales}
        categories = registry.categories(q.sector)
        commitments = ["示例承诺"]
        answers = {r.key: r.scale.choices[0].key for r in rated_questions(Frozen(q, scales, tuple(categories)), commitments)}
        unit = {"code": "CHECK-001", "name": "示例单位", "sector": q.sector, "parent": None, "commitments": commitments}
        for locale in ("zh_CN", "en"):
            try:
                registry.validate_response(q, unit, categories[0].key if categories else None, answers, locale)
            except RequiredCheckFailed:
                pass  # recorded on the plugin by validate_response
    registry.report_sections({"name": "示例", "slug": "check", "line": 0.7, "composition_minimum": 0.3}, [])


def _check_file(path: Path, report: CheckReport, registry: Registry) -> CheckReport:
    report.checked.append(str(path))
    try:
        q, workbook_scales = load_any_questionnaire(path)
        known = {**registry.scales, **_merge_scales(workbook_scales, registry.scales, str(path))}
    except QuestionnaireError as exc:
        report.errors.extend(str(exc).splitlines())
        return report
    if q.sector not in registry.sectors:
        report.errors.append(f"{path}: field sector: no installed plugin provides sector {q.sector!r}"
                             f"{suggest(q.sector, registry.sectors, 'sectors')}; check the plugin's folder instead "
                             "if the plugin itself adds this sector")
    try:
        check_scales(q, known, str(path))
    except QuestionnaireError as exc:
        report.errors.append(str(exc))
    return report


def _entry_points(folder: Path) -> dict[str, str]:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        raise QuestionnaireError(f"{folder}: no pyproject.toml: give the plugin's folder (the one `survey plugin new` made)")
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{pyproject}: not valid TOML: {exc}") from None
    groups = data.get("project", {}).get("entry-points", {})
    found = groups.get(ENTRY_POINT_GROUP)
    if not found:
        near = suggest(next(iter(groups), ""), [ENTRY_POINT_GROUP], "groups") if groups else ""
        raise QuestionnaireError(f"{pyproject}: no [project.entry-points.\"{ENTRY_POINT_GROUP}\"] table, so the "
                                 f"toolkit would never find the plugin{near}")
    return dict(found)


def _check_folder(folder: Path, report: CheckReport, disabled) -> CheckReport:
    try:
        entries = _entry_points(folder)
    except QuestionnaireError as exc:
        report.errors.append(str(exc))
        return report
    sys.path.insert(0, str(folder.resolve()))
    extra = []
    try:
        for name, target in entries.items():
            module_name = target.split(":")[0].strip()
            for loaded in [m for m in sys.modules if m == module_name or m.startswith(module_name + ".")]:
                del sys.modules[loaded]  # the folder's copy, not an installed one
            try:
                extra.append((name, importlib.import_module(module_name)))
            except Exception as exc:
                report.errors.append(f"plugin {name}: {module_name} cannot be imported from {folder}: {exc!r}")
    finally:
        sys.path.remove(str(folder.resolve()))
    registry = build_registry(disabled=set(disabled) | set(entries), extra_plugins=extra)
    _report_registry(registry, report, only={name for name, _m in extra})
    return report
