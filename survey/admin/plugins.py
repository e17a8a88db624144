"""The plugins page: what each installed plugin provides, and which ones failed."""
from flask import render_template

from ..registry import current_registry
from ..roles import require
from . import bp


@bp.get("/plugins")
@require("plugins.view")
def plugins():
    """Every plugin with its version, status, hooks, sectors, questionnaires and error."""
    registry = current_registry()
    return render_template("admin/plugins.html", plugins=registry.plugins, registry=registry)
