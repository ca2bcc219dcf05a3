"""时间银行 · timebank: party-member volunteer service and a community time bank."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from timebank.config import PROJECT_ROOT, Config


def create_app(config: Config | None = None) -> Flask:
    """Build the web app: config -> extensions -> blueprints -> CLI. Never starts the scheduler."""
    config = config or Config()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=config.INSTANCE_PATH,
        instance_relative_config=False,
    )
    app.config.from_object(config)
    from timebank.i18n import catalogue_dirs

    # Flask-Babel merges the catalogues of every listed folder (one per feature).
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in catalogue_dirs())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from timebank.core.db import create_private_sqlite_file

    create_private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)

    _init_extensions(app)
    _register_blueprints(app)
    from timebank import ops

    ops.init_app(app)
    from timebank.notify.registry import build_transports

    # A wrong delivery setting stops the start with its TIMEBANK_* name (ConfigError), instead
    # of failing every delivery at night.
    build_transports(app.config)

    from timebank import cli

    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from timebank.core import web
    from timebank.extensions import (babel, bootstrap, csrf, db, limiter, login_manager, migrate,
                                     select_locale)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   timezone_selector=lambda: app.config["TIMEBANK_TIMEZONE"])
    bootstrap.init_app(app)
    limiter.init_app(app)
    web.init_app(app)

    from timebank import models  # noqa: F401  (every model registered on the metadata)
    from timebank.accounts.views import load_user

    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"


def _register_blueprints(app: Flask) -> None:
    from timebank.accounts.views import bp as accounts_bp
    from timebank.certificates.views import bp as certificates_bp
    from timebank.exchange.views import bp as exchange_bp
    from timebank.api.views import bp as api_bp
    from timebank.home.views import bp as home_bp
    from timebank.inbox.views import bp as inbox_bp
    from timebank.jobs.views import bp as jobs_bp
    from timebank.ledger.views import bp as ledger_bp
    from timebank.lists.views import bp as lists_bp
    from timebank.matching.views import bp as matching_bp
    from timebank.measures.views import bp as measures_bp
    from timebank.members.views import bp as members_bp
    from timebank.notify.views import bp as notify_bp
    from timebank.orgs.views import bp as orgs_bp
    from timebank.posts.views import bp as posts_bp
    from timebank.recognition.views import bp as recognition_bp
    from timebank.reports.views import bp as reports_bp
    from timebank.scan.views import bp as scan_bp
    from timebank.teams.views import bp as teams_bp
    from timebank.units.views import bp as units_bp

    for bp in (home_bp, accounts_bp, orgs_bp, inbox_bp, jobs_bp, posts_bp, members_bp,
               recognition_bp, ledger_bp,
               lists_bp, matching_bp, api_bp, reports_bp, notify_bp, certificates_bp,
               scan_bp, measures_bp, units_bp, exchange_bp, teams_bp):
        app.register_blueprint(bp)
