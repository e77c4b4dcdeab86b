"""Jiedian (节点): the node-work supervision portal."""

from __future__ import annotations

import os

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config → extensions → blueprints → CLI. No I/O happens on import."""
    app = Flask(__name__, instance_relative_config=True)

    from portal.core import config

    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", config.engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    if not app.config.get("REDIS_PREFIX"):
        app.config["REDIS_PREFIX"] = config.redis_prefix(app.config["SQLALCHEMY_DATABASE_URI"])
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from portal import auth
    from portal.audit import services as audit
    from portal.core import clock, errors, i18n, inputs, security, templating
    from portal.core.extensions import csrf, db, migrate
    from portal.notifications import services as notifications

    clock.init_app(app)
    inputs.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    audit.init_app(app)
    notifications.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)

    from portal.core import database

    database.init_app(app)

    from portal.admin.views import bp as admin_bp
    from portal.assignments.views import bp as assignments_bp
    from portal.audit.views import bp as audit_bp
    from portal.auth.views import bp as auth_bp
    from portal.boards.views import bp as boards_bp
    from portal.dashboard.views import bp as dashboard_bp
    from portal.documents.views import bp as documents_bp
    from portal.health.views import bp as health_bp
    from portal.interviews.views import bp as interviews_bp
    from portal.ledger.views import bp as ledger_bp
    from portal.main import views as main
    from portal.main.views import bp as main_bp
    from portal.meetings.views import bp as meetings_bp
    from portal.nodes.views import bp as nodes_bp
    from portal.notifications import views as notifications
    from portal.problems.views import bp as problems_bp
    from portal.projects.views import bp as projects_bp
    from portal.rankings.views import bp as rankings_bp
    from portal.recommitments.views import bp as recommitments_bp
    from portal.sweeps.views import bp as sweeps_bp

    for blueprint in (auth_bp, main_bp, health_bp, admin_bp, projects_bp, audit_bp, boards_bp, nodes_bp, sweeps_bp, recommitments_bp, notifications.bp, rankings_bp, documents_bp, interviews_bp, dashboard_bp, ledger_bp, problems_bp, assignments_bp, meetings_bp):
        app.register_blueprint(blueprint)
    notifications.init_app(app)
    main.init_app(app)

    from portal.ops import cli

    cli.init_app(app)
    return app
