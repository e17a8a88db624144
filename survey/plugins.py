"""Loading plugins: the plugin manager, and the registry of what they provide.

Built-in behaviour is an ordinary plugin (survey.builtin). Installed plugins come from the
entry-point group ``survey.plugins``; SURVEY_DISABLED_PLUGINS (comma-separated names) blocks
some. A plugin that fails to import, raises in a hook, returns something invalid or reuses
another plugin's sector or questionnaire key is recorded with its error and left out; the
rest of the app runs.
"""
from __future__ import annotations

import importlib.metadata
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from . import hookspecs
from .questionnaire import (
    Category, Questionnaire, QuestionnaireError, Scale, Sector, load_questionnaire,
    parse_questionnaire, point_of_service_problems,
)

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
                self._record(name, f"survey_respondent_categories: {exc!r}")
        if own_recipients:  # a sector naming its own service recipients shows no generic ones
            result = {k: c for k, c in result.items() if k not in FALLBACK_CATEGORIES}
        return list(result.values())

    def scale(self, key: str) -> Scale:
        """The scale with its weights as a firstresult plugin may have set them."""
        scale = self.scales[key]
        weights = None
        if self.pm is not None:
            try:
                weights = self.pm.hook.survey_scale_weights(scale=scale)
            except Exception as exc:
                self._record("?", f"survey_scale_weights: {exc!r}")
        if not weights:
            return scale
        choices = tuple(c.model_copy(update={"weight": float(weights.get(c.key, c.weight))})
                        for c in scale.choices)
        return scale.model_copy(update={"choices": choices})

    def validate_response(self, questionnaire, unit, category, answers) -> list[tuple]:
        """(item key or None, message) pairs from every plugin's extra checks."""
        errors = []
        for name, impl in _impls(self.pm, "survey_validate_response"):
            try:
                for item, message in impl.function(questionnaire=questionnaire, unit=unit,
                                                   category=category, answers=answers) or []:
                    errors.append((item, str(message)))
            except Exception as exc:  # a faulty check must not stop answering
                self._record(name, f"survey_validate_response: {exc!r}")
        return errors

    def report_sections(self, campaign, results) -> list[dict]:
        """Extra report sections from every plugin; a plugin that raises is skipped."""
        sections = []
        for name, impl in _impls(self.pm, "survey_report_sections"):
            try:
                sections.extend(impl.function(campaign=campaign, results=results) or [])
            except Exception as exc:
                self._record(name, f"survey_report_sections: {exc!r}")
        return sections

    def failed(self) -> list[PluginInfo]:
        """Plugins that were left out because of an error."""
        return [p for p in self.plugins if p.error]

    def _record(self, name: str, error: str) -> None:
        """Note a plugin's error raised while the app runs (shown by `survey plugins`)."""
        logging.getLogger("survey.plugins").error("plugin %s: %s", name, error)
        for info in self.plugins:
            if info.name == name and not info.error:
                info.runtime_error = error


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
    """Register one plugin; a hook name matching no hook leaves it out."""
    info = PluginInfo(name, version)
    try:
        pm.register(module, name=name)
        pm.check_pending()
    except Exception as exc:
        if pm.is_registered(module):
            pm.unregister(module)
        info.error = f"invalid plugin: {exc}"
        return info
    info.hooks = sorted(c.name for c in pm.get_hookcallers(module) or [])
    return info


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


def _collect(pm, plugin, name, registry):
    """Validate what one plugin provides against what is already registered."""
    sectors = {}
    for value in _call(pm, plugin, "survey_sectors"):
        s = value if isinstance(value, Sector) else Sector.model_validate(value)
        if s.key in registry.sectors or s.key in sectors:
            raise QuestionnaireError(f"sector {s.key!r} is already provided by {_owner(registry, 'sectors', s.key)}")
        sectors[s.key] = s
    scales = {}
    for value in _call(pm, plugin, "survey_scales"):
        sc = value if isinstance(value, Scale) else Scale.model_validate(value)
        if sc.key in registry.scales or sc.key in scales:
            raise QuestionnaireError(f"scale {sc.key!r} is already provided by {_owner(registry, 'scales', sc.key)}")
        scales[sc.key] = sc
    questionnaires = {}
    known_sectors = {**registry.sectors, **sectors}
    known_scales = {**registry.scales, **scales}
    for value in _call(pm, plugin, "survey_questionnaires"):
        q = _as_questionnaire(value, name)
        if q.key in registry.questionnaires or q.key in questionnaires:
            raise QuestionnaireError(
                f"questionnaire {q.key!r} is already provided by {_owner(registry, 'questionnaires', q.key)}")
        if q.sector not in known_sectors:
            raise QuestionnaireError(f"questionnaire {q.key!r}: unknown sector {q.sector!r}")
        missing = q.scales_used() - set(known_scales)
        if missing:
            raise QuestionnaireError(f"questionnaire {q.key!r}: unknown scale {sorted(missing)[0]!r}")
        problems = point_of_service_problems(q)
        if problems:
            raise QuestionnaireError(f"questionnaire {q.key!r}: " + "; ".join(problems))
        questionnaires[q.key] = q
    known = {**registry.questionnaires, **questionnaires}
    for q in questionnaires.values():
        _check_pair(q, known)
    for sector in known_sectors:
        for impl in pm.hook.survey_respondent_categories.get_hookimpls():
            if impl.plugin is plugin:
                for value in impl.function(sector=sector) or []:
                    if not isinstance(value, Category):
                        Category.model_validate(value)
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


def _owner(registry, kind, key):
    """Name the plugin that provided a sector, scale or questionnaire first."""
    for info in registry.plugins:
        if key in getattr(info, kind):
            return f"plugin {info.name!r}"
    return "this plugin"


def _as_questionnaire(value, plugin_name) -> Questionnaire:
    if isinstance(value, Questionnaire):
        return value
    if isinstance(value, (str, Path)):
        return load_questionnaire(value)
    return parse_questionnaire(value, f"plugin {plugin_name}")


def _short(exc: Exception) -> str:
    """One line for a failure: the exception and where in the plugin it was raised."""
    if isinstance(exc, QuestionnaireError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
