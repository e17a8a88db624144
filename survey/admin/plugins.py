"""The plugins page: what each installed plugin provides, and which ones failed."""
from flask import render_template

from ..registry import current_registry
from . import bp


@bp.get("/plugins")
def plugins():
    """Every plugin with its version, status, hooks, sectors, questionnaires and error."""
    registry = current_registry()
    return render_template("admin/plugins.html", plugins=registry.plugins, registry=registry)
