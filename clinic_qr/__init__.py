"""The clinic staff web app: accounts, per-service QR codes, visits, reports, hospital API."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the clinic front end's blueprints and OpenAPI paths on the application."""
    from authencode.web import limits
    from authencode.web.errors import json_api
    from authencode.web.openapi import register_paths
    from clinic_qr import (  # noqa: F401 - they add routes
        auth,
        counter_verify,
        erasure_admin,
        facility_pages,
        kiosk_admin,
        pcu_admin,
        records,
        staff_admin,
        visits,
    )
    from clinic_qr.agent_api import AGENT_OPENAPI, agent_api
    from clinic_qr.kiosk_screen import kiosk_api, kiosk_screen
    from clinic_qr.web import clinic, init_csrf

    init_csrf(app)
    app.register_blueprint(agent_api)
    app.register_blueprint(clinic)
    app.register_blueprint(kiosk_api)
    app.register_blueprint(kiosk_screen)
    json_api(app, kiosk_api)
    register_paths(app, AGENT_OPENAPI)
    from clinic_qr.his_api import HIS_OPENAPI, his_api

    app.register_blueprint(his_api)
    register_paths(app, HIS_OPENAPI)
    json_api(app, agent_api)
    json_api(app, his_api, prefix="/authencodestatus")
    # Per client IP on the anonymous forms (failed log-ins are also throttled per account,
    # address and device cookie: authencode.services.login_throttle).
    for endpoint, rule in (
        ("clinic.login", "login"),
        ("clinic.register", "register"),
        ("clinic.forgot_password", "forgot"),
    ):
        limits.per_ip_on_post(app, endpoint, rule)
    init_content_policy(app)


def init_content_policy(app: Flask) -> None:
    """The clinic's pages keep the default policy (no frames, own scripts only); the counter
    page also calls the reader agent on the staff PC and shows the webcam's photo (blob:),
    and the kiosk's screen calls the agent on the kiosk PC."""
    from authencode.web.security_headers import content_policy
    from clinic_qr.visits import agent_url

    settings = app.extensions["authencode"].settings
    for endpoint in ("clinic.visit_confirm", "clinic.visit_lookup"):  # the lookup's page too
        content_policy(
            app,
            endpoint,
            {"img-src": "'self' data: blob:", "connect-src": f"'self' {agent_url(settings)}"},
        )
    for endpoint in ("clinic.verify_link", "clinic.verify_confirm"):  # the agent reads the card
        content_policy(app, endpoint, {"connect-src": f"'self' {agent_url(settings)}"})
    # The kiosk's screen reads the card through the agent on the kiosk PC; its QR is data:.
    content_policy(
        app,
        "kiosk.screen",
        {"img-src": "'self' data:", "connect-src": f"'self' {agent_url(settings)}"},
    )
