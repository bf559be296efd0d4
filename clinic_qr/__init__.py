"""The clinic staff web app: accounts, per-service QR codes, visits, reports, hospital API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the clinic front end's blueprints and OpenAPI paths on the application."""
    from authencode.app.openapi import register_paths
    from clinic_qr.agent_api import AGENT_OPENAPI, agent_api

    app.register_blueprint(agent_api)
    register_paths(app, AGENT_OPENAPI)
