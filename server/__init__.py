"""Wiring: build the app from configuration and attach every package to it."""

import os
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask

import bot
import casework
import console
import miniapp_api
import supervision
from qr import cli as qr_cli
from qr import sheet as qr_sheet
from qr import views as qr_views
from qr import wxacode
from server import cli, config, errors, extensions, health, index, jobs

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build a wx110 app from the environment, overridden by `test_config`."""
    app = Flask("wx110", instance_path=str(ROOT / "instance"), instance_relative_config=True)
    if test_config is None:
        load_dotenv(os.environ.get("WX110_ENV_FILE") or ROOT / ".env")
    app.config.from_mapping(config.from_env(os.environ, app.instance_path))
    app.config["MIGRATIONS_DIR"] = ROOT / "migrations"
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False

    extensions.init_db(app)
    casework.init_app(app)
    supervision.init_app(app)
    jobs.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(index.bp)
    qr_views.init_app(app)
    app.cli.add_command(qr_cli.doorplates_cli)
    wxacode.init_app(app)
    bot.init_app(app)
    miniapp_api.init_app(app)
    console.init_app(
        app, printing=console.DoorplatePrinting(sheet=qr_sheet.for_doorplates, import_check=qr_sheet.import_check)
    )
    jobs.start_timer_on_first_request(app)
    return app
