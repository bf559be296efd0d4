"""Security headers (Flask-Talisman): a strict Content-Security-Policy for every response,
which a front end widens for its own blueprint or endpoint with :func:`content_policy`.

Flask-Talisman sets one policy for the app and others per view function (an attribute on the
function, shared by every app made in the process); the policies here are kept per app and
looked up by the request's endpoint, then its blueprint, so each front end declares what its
pages need in its own ``register`` (settings-dependent sources included).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_talisman import DENY, Talisman

from authencode.settings import Settings

Policy = dict[str, str]

# Nothing but this server's own scripts, styles and images; no frames of it anywhere.
DEFAULT_CSP: Policy = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


class _PerBlueprintTalisman(Talisman):
    """Talisman whose per-view options come from this app's own table."""

    def __init__(self, app: Flask, **kwargs: Any) -> None:
        self.policies: dict[str, dict[str, Any]] = {}
        super().__init__(app, **kwargs)

    def _get_local_options(self) -> dict[str, Any]:
        options: dict[str, Any] = dict(super()._get_local_options())
        endpoint = request.endpoint or ""
        blueprint = request.blueprint or ""
        options.update(self.policies.get(endpoint) or self.policies.get(blueprint + ".") or {})
        return options

    def _set_referrer_policy_headers(self, headers: Any) -> None:
        # A view may ask for less (the QR link's redirect carries a token: no-referrer).
        headers.setdefault("Referrer-Policy", self.referrer_policy)


def init_security_headers(app: Flask, settings: Settings) -> None:
    """CSP, X-Frame-Options DENY, nosniff, Referrer-Policy, HSTS and the session cookie's flags."""
    https = settings.public_base_url.startswith("https://")
    app.extensions["security_headers"] = _PerBlueprintTalisman(
        app,
        force_https=False,  # TLS ends at the reverse proxy; PUBLIC_BASE_URL says which scheme
        strict_transport_security=https,
        frame_options=DENY,
        content_security_policy=DEFAULT_CSP,
        referrer_policy="same-origin",
        session_cookie_secure=https,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",  # LIFF and the clinic only post to their own origin
    )
    # Talisman sets SESSION_COOKIE_SECURE only when a request arrives; say it from the start.
    app.config["SESSION_COOKIE_SECURE"] = https


def content_policy(app: Flask, name: str, csp_changes: Policy, **options: Any) -> None:
    """Widen the default CSP for a blueprint (``name`` ending in ".") or one endpoint.

    ``csp_changes`` replaces whole directives; ``options`` are Talisman's per-view options
    (``frame_options``, ``permissions_policy``, ...).
    """
    talisman: _PerBlueprintTalisman = app.extensions["security_headers"]
    talisman.policies[name] = {"content_security_policy": {**DEFAULT_CSP, **csp_changes}, **options}
