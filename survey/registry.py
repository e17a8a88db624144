"""The app's plugin registry: built once at start, kept in app.extensions."""
from pathlib import Path

from flask import current_app

from .plugins import Registry, build_registry

KEY = "survey.registry"
FAULT_LOG = "plugin-faults.log"  # hook errors seen while running; `survey plugins --check` reads it


def init_app(app, extra_plugins=()):
    """Load plugins once, honouring SURVEY_DISABLED_PLUGINS."""
    disabled = {n.strip() for n in str(app.config.get("SURVEY_DISABLED_PLUGINS") or "").split(",") if n.strip()}
    extra = list(extra_plugins) + list(app.config.get("SURVEY_EXTRA_PLUGINS", ()))
    registry = build_registry(disabled=disabled, extra_plugins=extra)
    registry.fault_log = Path(app.instance_path) / FAULT_LOG
    app.extensions[KEY] = registry
    for info in registry.failed():
        app.logger.error("plugin %s left out: %s", info.name, info.error)


def current_registry() -> Registry:
    """The registry of the app handling this request or command."""
    return current_app.extensions[KEY]
