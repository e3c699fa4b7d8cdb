"""SMS-portalen: the Flask application factory."""

from pathlib import Path

from flask import Flask

from portal import cli, config, database, errors, htmx, i18n, logs, navigation, queue, security
from portal.extensions import csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides=None):
    """Build one application; `overrides` (tests) wins over the environment."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(config.load(app.instance_path, overrides))
    logs.install(production=app.config["PORTAL_ENV"] == "production")
    _init_extensions(app)
    _register_blueprints(app)
    errors.init_app(app)
    cli.init_app(app)
    return app


def _init_extensions(app):
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    security.init_app(app)
    csrf.init_app(app)
    queue.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    htmx.init_app(app)
    navigation.init_app(app)
    login_manager.init_app(app)


def _register_blueprints(app):
    from portal.activation import bp as activation_bp
    from portal.audit import bp as audit_bp
    from portal.auth import bp as auth_bp
    from portal.billing import bp as billing_bp
    from portal.directory import bp as directory_bp
    from portal.hooks import bp as hooks_bp
    from portal.main import bp as main_bp
    from portal.messaging import bp as messaging_bp
    from portal.operations import bp as operations_bp
    from portal.orders import bp as orders_bp
    from portal.people import bp as people_bp

    for blueprint in (
        main_bp,
        auth_bp,
        orders_bp,
        activation_bp,
        billing_bp,
        audit_bp,
        directory_bp,
        people_bp,
        messaging_bp,
        operations_bp,
        hooks_bp,
    ):
        app.register_blueprint(blueprint)
