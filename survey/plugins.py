"""Loading plugins: the plugin manager, and the registry of what they provide.

Built-in behaviour is an ordinary plugin (survey.builtin). Installed plugins come from the
entry-point group ``survey.plugins``; SURVEY_DISABLED_PLUGINS (comma-separated names) blocks
some. A plugin that fails to import, raises in a hook, returns something invalid or reuses
another plugin's sector or questionnaire key is recorded with its error and left out; the
rest of the app runs.
"""
from __future__ import annotations

import importlib.metadata
import inspect
import json
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from pydantic import ValidationError

from . import hookspecs
from .hookspecs import required_check  # noqa: F401  (re-exported for plugins' convenience)
from .questionnaire import (
    Category, Questionnaire, QuestionnaireError, Scale, Sector, Text, describe_model_error, load_any_questionnaire,
    parse_questionnaire, point_of_service_problems, suggest,
)
from .questionnaire import _item_lines

ENTRY_POINT_GROUP = "survey.plugins"
BUILTIN = "survey.builtin"


@dataclass
class PluginInfo:
    """What `survey plugins` and the admin page show about one plugin."""

    name: str
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    questionnaires: list[str] = field(default_factory=list)
    scales: list[str] = field(default_factory=list)
    error: str | None = None
    runtime_error: str | None = None
    disabled: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """loaded, disabled or failed."""
        return "disabled" if self.disabled else ("failed" if self.error else "loaded")


@dataclass
class Registry:
    """Everything the loaded plugins provide, keyed for lookup."""

    sectors: dict[str, Sector] = field(default_factory=dict)
    questionnaires: dict[str, Questionnaire] = field(default_factory=dict)
    scales: dict[str, Scale] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    pm: pluggy.PluginManager | None = None
    fault_log: Path | None = None  # where hook errors seen while running are noted for --check

    def questionnaires_of(self, sector: str) -> list[Questionnaire]:
        """The questionnaires of a sector, its default first."""
        return [q for q in self.questionnaires.values() if q.sector == sector]

    def default_questionnaire(self, sector: str) -> Questionnaire | None:
        """The sector's first assembly questionnaire (else its first), or None for an unknown
        sector. A point-of-service questionnaire is what the units' QR codes answer (paired)."""
        found = self.questionnaires_of(sector)
        assembly = [q for q in found if q.audience == "assembly"]
        return (assembly or found or [None])[0]

    def categories(self, sector: str) -> list[Category]:
        """The respondent categories for a sector, in call order (plugins registered later
        come first, so a sector's own categories lead the common ones); first key wins."""
        from .builtin import FALLBACK_CATEGORIES

        result: dict[str, Category] = {}
        own_recipients = False
        for name, impl in _impls(self.pm, "survey_respondent_categories"):
            try:
                values = impl.function(sector=sector) or []
                for c in values:
                    c = c if isinstance(c, Category) else Category.model_validate(c)
                    result.setdefault(c.key, c)
                    own_recipients |= name != BUILTIN and c.counts_toward_share
            except Exception as exc:  # a faulty plugin must not stop answering
                self._record(name, f"survey_respondent_categories: {exc!r}", exc)
        if own_recipients:  # a sector naming its own service recipients shows no generic ones
            result = {k: c for k, c in result.items() if k not in FALLBACK_CATEGORIES}
        hidden = self.hidden_categories(sector)
        return [c for k, c in result.items() if k not in hidden]

    def hidden_categories(self, sector: str) -> set[str]:
        """The category keys any plugin hides for a sector (survey_hidden_categories)."""
        hidden: set[str] = set()
        for name, impl in _impls(self.pm, "survey_hidden_categories"):
            try:
                hidden.update(str(k) for k in impl.function(sector=sector) or [])
            except Exception as exc:  # a faulty plugin must not stop answering
                self._record(name, f"survey_hidden_categories: {exc!r}", exc)
        return hidden

    def scale(self, key: str) -> Scale:
        """The scale with its weights as a firstresult plugin may have set them."""
        scale = self.scales[key]
        weights = None
        if self.pm is not None:
            try:
                weights = self.pm.hook.survey_scale_weights(scale=scale)
            except Exception as exc:
                self._record("?", f"survey_scale_weights: {exc!r}", exc)
        if not weights:
            return scale
        choices = tuple(c.model_copy(update={"weight": float(weights.get(c.key, c.weight))})
                        for c in scale.choices)
        return scale.model_copy(update={"choices": choices})

    def validate_response(self, questionnaire, unit, category, answers, locale="zh_CN") -> list[tuple]:
        """(item key or None, message) pairs from every plugin's extra checks, each message in
        the resident's language. A check that raises is logged and skipped, unless its plugin
        marked it required (`survey.required_check`): then RequiredCheckFailed is raised and
        the answer must be refused, not stored unchecked."""
        errors = []
        for name, impl in _impls(self.pm, "survey_validate_response"):
            try:
                found = impl.function(**_accepted(impl.function, questionnaire=questionnaire, unit=unit,
                                                  category=category, answers=answers, locale=locale))
                for item, message in found or []:
                    errors.append((item, message_text(message, locale)))
            except Exception as exc:  # a faulty check must not stop answering, unless required
                self._record(name, f"survey_validate_response: {exc!r}", exc)
                if getattr(impl.function, "survey_required", False):
                    raise RequiredCheckFailed(name) from exc
        return errors

    def report_sections(self, campaign, results) -> list[dict]:
        """Extra report sections from every plugin; a plugin that raises is skipped."""
        sections = []
        for name, impl in _impls(self.pm, "survey_report_sections"):
            try:
                sections.extend(impl.function(campaign=campaign, results=results) or [])
            except Exception as exc:
                self._record(name, f"survey_report_sections: {exc!r}", exc)
        return sections

    def failed(self) -> list[PluginInfo]:
        """Plugins that were left out because of an error."""
        return [p for p in self.plugins if p.error]

    def _record(self, name: str, error: str, exc: BaseException | None = None) -> None:
        """Note a plugin's error raised while the app runs: shown by `survey plugins` and the
        admin, and appended to the fault log so `survey plugins --check` fails on it. The log
        keeps the hook, the exception type and the plugin's line, never the message (it may
        quote an answer)."""
        logging.getLogger("survey.plugins").error("plugin %s: %s", name, error)
        for info in self.plugins:
            if info.name == name and not info.error:
                info.runtime_error = error
        if self.fault_log is not None:
            entry = {"plugin": name, "hook": error.split(":", 1)[0],
                     "error": _fault_summary(exc) if exc is not None else ""}
            try:
                with open(self.fault_log, "a", encoding="utf-8") as log:
                    log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            except OSError:
                pass


def _fault_summary(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_plugin_frame(f.filename)]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def read_faults(path: Path | None) -> list[dict]:
    """The hook errors noted while running (distinct, in the order first seen)."""
    if path is None or not Path(path).is_file():
        return []
    seen, faults = set(), []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        key = (entry.get("plugin"), entry.get("hook"), entry.get("error"))
        if key not in seen:
            seen.add(key)
            faults.append(entry)
    return faults


class RequiredCheckFailed(RuntimeError):
    """A validation check its plugin marked required raised: the answer is refused."""


def message_text(message, locale) -> str:
    """A check's message in the reader's language: a str as it is, or a Text / {zh, en} dict."""
    if isinstance(message, dict):
        try:
            message = Text.model_validate(message)
        except ValidationError:
            return str(next(iter(message.values()), ""))
    if isinstance(message, Text):
        return message.get(locale)
    return str(message)


def _accepted(function, **arguments):
    """The arguments a hook implementation takes (pluggy passes only the ones it names)."""
    try:
        names = set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return arguments
    return {k: v for k, v in arguments.items() if k in names}


def _impls(pm, hook_name):
    """(plugin name, hookimpl) pairs for a hook, in call order."""
    if pm is None:
        return []
    caller = getattr(pm.hook, hook_name)
    return [(impl.plugin_name, impl) for impl in reversed(caller.get_hookimpls())]


def get_plugin_manager(disabled=(), entry_points=True):
    """Build a plugin manager with the built-in plugin and the installed ones.

    Returns (manager, infos); a plugin that fails to import or implements a hook that does
    not exist (a misspelling) is in infos with its error and is not registered.
    """
    from . import builtin

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos = [_register(pm, BUILTIN, builtin, _version("survey-toolkit"))]
    if not entry_points:
        return pm, infos
    seen = set()
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        version = _version(ep.dist.name) if ep.dist else ""
        if ep.name in disabled:
            infos.append(PluginInfo(ep.name, version, disabled=True))
            continue
        try:
            module = ep.load()
        except Exception as exc:
            infos.append(PluginInfo(ep.name, version, error=f"import failed: {exc!r}"))
            continue
        infos.append(_register(pm, ep.name, module, version))
    return pm, infos


def _register(pm, name, module, version) -> PluginInfo:
    """Register one plugin; a hook name matching no hook leaves it out (with the nearest
    hook name suggested); a survey_* function without @hookimpl is warned about."""
    info = PluginInfo(name, version)
    info.warnings = unmarked_hooks(module)
    try:
        pm.register(module, name=name)
        pm.check_pending()
    except Exception as exc:
        if pm.is_registered(module):
            pm.unregister(module)
        info.error = f"invalid plugin: {exc}{_hook_suggestion(str(exc))}"
        return info
    info.hooks = sorted(c.name for c in pm.get_hookcallers(module) or [])
    return info


HOOK_NAMES = sorted(n for n in dir(hookspecs) if n.startswith("survey_"))


def _hook_suggestion(error: str) -> str:
    for word in error.replace("'", " ").replace('"', " ").split():
        if word.startswith("survey_") and word not in HOOK_NAMES:
            return suggest(word, HOOK_NAMES, "hooks")
    return ""


def unmarked_hooks(module) -> list[str]:
    """Warnings for functions named like hooks that lack @hookimpl (pluggy ignores them)."""
    marker = f"{hookspecs.PROJECT}_impl"
    warnings = []
    for attr, value in sorted(vars(module).items()) if hasattr(module, "__dict__") else []:
        if attr.startswith("survey_") and callable(value) and not hasattr(value, marker):
            where = _where(value)
            hint = "" if attr in HOOK_NAMES else suggest(attr, HOOK_NAMES, "hooks")
            warnings.append(f"{where}function {attr} has no @hookimpl, so the toolkit never calls it: "
                            f"add `@hookimpl` above it (from survey import hookimpl){hint}")
    return warnings


def _where(function) -> str:
    try:
        return f"{Path(inspect.getsourcefile(function)).name}:{inspect.getsourcelines(function)[1]}: "
    except (TypeError, OSError):
        return ""


def _version(dist_name: str) -> str:
    try:
        return importlib.metadata.version(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def build_registry(disabled=(), entry_points=True, extra_plugins=()) -> Registry:
    """Load every plugin and collect sectors, scales and questionnaires, leaving out faults.

    extra_plugins: (name, module) pairs registered after the installed ones (tests use it).
    """
    pm, infos = get_plugin_manager(disabled, entry_points)
    for name, module in extra_plugins:
        infos.append(_register(pm, name, module, ""))
    registry = Registry(plugins=infos, pm=pm)
    by_name = {i.name: i for i in infos}
    for name in [i.name for i in infos if i.status == "loaded"]:
        plugin = pm.get_plugin(name)
        try:
            provided = _collect(pm, plugin, name, registry)
        except Exception as exc:
            by_name[name].error = _short(exc)
            pm.unregister(plugin)
            continue
        sectors, scales, questionnaires = provided
        registry.sectors.update(sectors)
        registry.scales.update(scales)
        registry.questionnaires.update(questionnaires)
        by_name[name].sectors = list(sectors)
        by_name[name].questionnaires = list(questionnaires)
        by_name[name].scales = list(scales)
    return registry


def _call(pm, plugin, hook_name):
    """Call one plugin's implementation of a hook, or return [] if it has none."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        if impl.plugin is plugin:
            return impl.function() or []
    return []


def _model(model, value, where: str):
    """Validate a plugin's dict as a model; an error names the hook, the entry and the field."""
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise QuestionnaireError(describe_model_error(where, value, exc)) from None


def _collect(pm, plugin, name, registry):
    """Validate what one plugin provides against what is already registered."""
    sectors = {}
    for n, value in enumerate(_call(pm, plugin, "survey_sectors"), start=1):
        s = _model(Sector, value, f"survey_sectors: sector {n}")
        if s.key in registry.sectors or s.key in sectors:
            raise QuestionnaireError(f"sector {s.key!r} is already provided by {_owner(registry, 'sectors', s.key)}")
        sectors[s.key] = s
    scales = {}
    for n, value in enumerate(_call(pm, plugin, "survey_scales"), start=1):
        sc = _model(Scale, value, f"survey_scales: scale {n}")
        if sc.key in registry.scales or sc.key in scales:
            raise QuestionnaireError(f"scale {sc.key!r} is already provided by {_owner(registry, 'scales', sc.key)}")
        scales[sc.key] = sc
    questionnaires = {}
    known_sectors = {**registry.sectors, **sectors}
    known_scales = {**registry.scales, **scales}
    for value in _call(pm, plugin, "survey_questionnaires"):
        q, workbook_scales = _as_questionnaire(value, name)
        source = str(value) if isinstance(value, (str, Path)) else f"questionnaire {q.key!r}"
        for key, scale in _merge_scales(workbook_scales, known_scales, source).items():
            scales[key] = known_scales[key] = scale
        if q.key in registry.questionnaires or q.key in questionnaires:
            raise QuestionnaireError(
                f"questionnaire {q.key!r} is already provided by {_owner(registry, 'questionnaires', q.key)}")
        if q.sector not in known_sectors:
            raise QuestionnaireError(f"{source}: field sector: unknown sector {q.sector!r}"
                                     f"{suggest(q.sector, known_sectors, 'sectors')}")
        check_scales(q, known_scales, source)
        problems = point_of_service_problems(q)
        if problems:
            raise QuestionnaireError(f"{source}: questionnaire {q.key!r}: " + "; ".join(problems))
        questionnaires[q.key] = q
    known = {**registry.questionnaires, **questionnaires}
    for q in questionnaires.values():
        _check_pair(q, known)
    for sector in known_sectors:
        for impl in pm.hook.survey_respondent_categories.get_hookimpls():
            if impl.plugin is plugin:
                for n, value in enumerate(impl.function(sector=sector) or [], start=1):
                    _model(Category, value, f"survey_respondent_categories(sector={sector!r}): category {n}")
        for impl in pm.hook.survey_hidden_categories.get_hookimpls():
            if impl.plugin is plugin:
                offered = {(c.key if isinstance(c, Category) else dict(c).get("key"))
                           for other in pm.hook.survey_respondent_categories.get_hookimpls()
                           for c in other.function(sector=sector) or []}
                for key in impl.function(sector=sector) or []:
                    if key not in offered:
                        raise QuestionnaireError(
                            f"survey_hidden_categories(sector={sector!r}): unknown category {key!r}"
                            f"{suggest(key, offered, 'categories of this sector')}")
    return sectors, scales, questionnaires


def _check_pair(q: Questionnaire, known: dict) -> None:
    """An assembly questionnaire's point-of-service pair exists, is one, is for the same sector,
    and shares no rated item key with it (a unit's results hold the items of both)."""
    if q.point_of_service is None:
        return
    pair = known.get(q.point_of_service)
    where = f"questionnaire {q.key!r}: point_of_service {q.point_of_service!r}"
    if pair is None:
        raise QuestionnaireError(f"{where} is not provided by this or an earlier plugin")
    if pair.audience != "point_of_service":
        raise QuestionnaireError(f"{where} is not a point-of-service questionnaire (audience {pair.audience!r})")
    if pair.sector != q.sector:
        raise QuestionnaireError(f"{where} is for sector {pair.sector!r}, not {q.sector!r}")
    shared = {i.key for i in q.items if i.kind != "comment"} & {i.key for i in pair.items}
    if shared:
        raise QuestionnaireError(f"{where}: item key {sorted(shared)[0]!r} is on both forms; a unit's results "
                                 f"count both forms' items side by side, so each rated item needs its own key")


def check_scales(q: Questionnaire, known_scales, source: str) -> None:
    """Every scale the questionnaire's items name is known; else say which item and suggest."""
    lines = []
    if Path(source).suffix == ".toml" and Path(source).is_file():
        lines = _item_lines(Path(source).read_text(encoding="utf-8"))
    for number, item in enumerate(q.items, start=1):
        needed = {"choice": item.scale, "commitments": "commitment", "yesno": None, "incidence": None,
                  "members": item.scale or "appraisal"}.get(item.kind)
        if needed and needed not in known_scales:
            field = "scale" if item.kind == "choice" else "kind"
            place = f"{source}:{lines[number - 1]}" if number <= len(lines) else source
            raise QuestionnaireError(f"{place}: item {number} ({item.key}), field {field}: unknown scale "
                                     f"{needed!r}{suggest(needed, known_scales, 'scales')}")
        if item.poor_reasons and needed and not any(c.group == "poor" for c in known_scales[needed].choices):
            place = f"{source}:{lines[number - 1]}" if number <= len(lines) else source
            raise QuestionnaireError(f"{place}: item {number} ({item.key}), field poor_reasons: scale {needed!r} "
                                     f"has no poor choice (group = \"poor\") for a reason to explain")


def _owner(registry, kind, key):
    """Name the plugin that provided a sector, scale or questionnaire first."""
    for info in registry.plugins:
        if key in getattr(info, kind):
            return f"plugin {info.name!r}"
    return "this plugin"


def _as_questionnaire(value, plugin_name) -> tuple[Questionnaire, dict[str, Scale]]:
    """A hook's questionnaire (model, dict, or path of a TOML or XLSForm file) and the scales an
    XLSForm workbook's choice lists define."""
    if isinstance(value, Questionnaire):
        return value, {}
    if isinstance(value, (str, Path)):
        return load_any_questionnaire(value)
    return parse_questionnaire(value, f"plugin {plugin_name}"), {}


def _merge_scales(workbook_scales: dict[str, Scale], known: dict, source: str) -> dict[str, Scale]:
    """Scales a workbook defines: a list named like a known scale must match it; the others are
    new scales of the plugin."""
    new = {}
    for key, scale in workbook_scales.items():
        if key in known:
            theirs = [(c.key, c.positive) for c in known[key].choices]
            ours = [(c.key, c.positive) for c in scale.choices]
            if theirs != ours:
                expected = ", ".join(f"{k} ({'positive' if p else 'negative'})" for k, p in theirs)
                raise QuestionnaireError(f"{source}: sheet choices, list {key}: the toolkit's scale {key} has the "
                                         f"choices {expected}; give your list another name to define your own scale")
        else:
            new[key] = scale
    return new


def _short(exc: Exception) -> str:
    """One line for a failure: the exception and where in the plugin it was raised (the last
    frame outside the toolkit and the libraries it calls, not pydantic's own file)."""
    if isinstance(exc, QuestionnaireError):
        return str(exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_plugin_frame(f.filename)]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _is_plugin_frame(filename: str) -> bool:
    core = str(Path(__file__).parent)
    return not filename.startswith(core) and not any(
        part in filename for part in ("/pydantic/", "/pydantic_core/", "/pluggy/", "/importlib/"))
