"""The LIFF pages patients open inside LINE, and their JSON API.

LINE Developers console: a LIFF app on the LINE Login channel (LINE_LOGIN_CHANNEL_ID) with
endpoint URL `{PUBLIC_BASE_URL}/liff`, scopes `openid` and `profile`, size Full, and the
"Scan QR" feature on (liff.scanCodeV2). Its id is LIFF_ID; `https://liff.line.me/{LIFF_ID}/x`
then opens `/liff/x`. Pages: /liff/ (request a code), consent, register, family, history,
rights, linked-by (who has linked me), my-data (everything held, and erasure); the clinic
QR `/q/<token>` leads into the request page with the token.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the LIFF pages, their JSON API and its OpenAPI paths on the application."""
    from authencode.web import limits
    from authencode.web.errors import json_api
    from authencode.web.openapi import register_paths
    from authencode.web.security_headers import content_policy
    from liff_web import api_mydata, api_owner  # noqa: F401 - their routes join liff_api
    from liff_web.api import liff_api
    from liff_web.openapi import LIFF_OPENAPI, LIFF_SECURITY
    from liff_web.pages import LIFF_CSP, liff_pages, qr_links
    from liff_web.state import make_state
    from liff_web.thaid import thaid_pages

    state = make_state(app.extensions["authencode"].settings)
    app.extensions["liff"] = state
    app.register_blueprint(liff_pages)
    app.register_blueprint(liff_api)
    app.register_blueprint(qr_links)
    app.register_blueprint(thaid_pages)
    json_api(app, liff_api)
    limits.per_ip(app, liff_api, "ip")  # and per LINE user once its ID token is verified
    limits.per_ip(app, qr_links, "ip")
    if state.dev_signer is not None:
        from liff_web.devtools import dev_liff

        app.register_blueprint(dev_liff)
    if app.extensions["authencode"].settings.thaid_dev_provider:
        from liff_web.dev_thaid import register_dev_provider

        register_dev_provider(app)
    register_paths(app, LIFF_OPENAPI, LIFF_SECURITY)
    content_policy(app, "liff_pages.", LIFF_CSP)
