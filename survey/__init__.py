"""Mass-evaluation (群众评议) toolkit: the Flask core.

``create_app`` builds the application; plugins import only ``hookimpl`` from here.
"""
import logging
import os

from flask import Flask

from .hookspecs import hookimpl, required_check

__all__ = ["create_app", "hookimpl", "required_check"]


def create_app(test_config=None):
    """Create the app: instance folder, settings, database, plugins, blueprints, CLI."""
    instance = os.environ.get("SURVEY_INSTANCE")
    if test_config and test_config.get("INSTANCE_PATH"):
        instance = test_config["INSTANCE_PATH"]
    app = Flask(__name__, instance_path=os.path.abspath(instance) if instance else None,
                instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)

    from . import config
    config.configure(app, test_config)

    from . import admin, answering, auth, cli, db, errors, i18n, limits, logs, public_results, registry, security
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
    cli.init_app(app)
    proxies = int(app.config["SURVEY_PROXY_COUNT"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    logging.getLogger("survey").setLevel(logging.INFO)
    return app
