"""Mass-evaluation (群众评议) toolkit: the Flask core.

``create_app`` builds the application; plugins import only ``hookimpl`` from here.
"""
import os

from flask import Flask

from .hookspecs import hookimpl, required_check

__all__ = ["create_app", "hookimpl", "required_check", "__version__"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("survey-toolkit")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


__version__ = _version()


def create_app(test_config=None):
    """Create the app: instance folder, settings, database, plugins, blueprints, CLI."""
    instance = os.environ.get("SURVEY_INSTANCE")
    if test_config and test_config.get("INSTANCE_PATH"):
        instance = test_config["INSTANCE_PATH"]
    app = Flask(__name__, instance_path=os.path.abspath(instance) if instance else None,
                instance_relative_config=True)
    make_private_dir(app.instance_path)

    from . import config
    config.configure(app, test_config)

    from . import (admin, answering, assets, auth, cli, compression, db, errors, health, i18n, limits, logs,
                   metrics, public_results, registry, security)
    app.url_map.converters["int"] = db.IdConverter  # before any route is added
    compression.init_app(app)
    assets.init_app(app)
    db.init_app(app)
    i18n.init_app(app)
    limits.init_app(app)
    registry.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    logs.init_app(app)
    app.register_blueprint(answering.bp)
    auth.csrf.exempt(answering.bp)  # anonymous answering has no session to protect: docs/anonymity.md
    app.register_blueprint(admin.bp)
    app.register_blueprint(public_results.bp)
    health.init_app(app)
    metrics.init_app(app)
    cli.init_app(app)
    proxies = int(app.config["SURVEY_PROXY_COUNT"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return app


def make_private_dir(path: str) -> None:
    """Create the instance folder readable by its owner only (0700): it holds the SQLite
    database with every comment residents wrote, the secret key and the backups' inputs.
    An existing folder is left as the operator set it."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)  # makedirs' mode is filtered through the umask
