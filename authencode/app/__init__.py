"""The composition root: builds the Flask application from settings, the web toolkit
(authencode.web) and the front ends, which declare what their blueprints need themselves."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from authencode import redaction
from authencode.app.pages import CORE_PATHS, core_pages
from authencode.settings import Settings
from authencode.web.context import Services, init_services
from authencode.web.errors import register_error_handlers
from authencode.web.input_guard import init_input_guard
from authencode.web.limits import init_rate_limits
from authencode.web.metrics import count_issued_codes, init_metrics
from authencode.web.openapi import openapi_pages, register_paths
from authencode.web.security_headers import init_security_headers

MAX_BODY_BYTES = 2 * 1024 * 1024  # uploads (photos, documents) included; webhooks are far smaller


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Create the WSGI application; settings come from the environment unless given."""
    settings = _settings(config)
    app = Flask("authencode", instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    init_logging(settings)
    init_proxies(app, settings)
    metrics = init_metrics(app)  # first: its timing hook then sees the final response
    init_services(app, settings)
    count_issued_codes(metrics, app.extensions["authencode"].db.sessionmaker)
    init_rate_limits(app, settings)
    register_error_handlers(app)
    init_input_guard(app)  # before the blueprints: it sets how their routes read ids
    init_security_headers(app, settings)  # before the blueprints: they widen its CSP
    register_blueprints(app)
    return app


def _settings(config: Settings | dict[str, Any] | None) -> Settings:
    if isinstance(config, Settings):
        return config
    settings = Settings.from_env()
    return settings.with_overrides(**config) if config else settings


def init_logging(settings: Settings) -> None:
    level = logging.INFO if settings.is_production else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redaction.install(keep_whole_allowed=settings.environment == "development")


def init_proxies(app: Flask, settings: Settings) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client address comes from X-Forwarded-For."""
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]


# The entry point group through which the front ends register themselves (pyproject.toml):
# each names a function ``register(app)`` that adds its blueprints, their JSON errors, rate
# limits, OpenAPI paths and content policies. The core imports none of them.
FRONT_END_GROUP = "authencode.frontends"
# The front ends this application is made of, in the order their blueprints are registered
# (any other registered front end follows, by name). A missing one is an error at start-up.
FRONT_ENDS = ("clinic", "liff", "line")


class FrontEndMissing(RuntimeError):
    """A front end the application needs is not registered (a stale or partial install)."""


def register_blueprints(app: Flask) -> None:
    """The core's pages, then each front end registers its own routes and OpenAPI paths."""
    app.register_blueprint(core_pages)
    app.register_blueprint(openapi_pages)
    register_paths(app, CORE_PATHS)
    for point in front_ends():
        point.load()(app)


def front_ends() -> list[EntryPoint]:
    """The registered front ends in registration order; FrontEndMissing names any missing."""
    registered = {point.name: point for point in entry_points(group=FRONT_END_GROUP)}
    missing = [name for name in FRONT_ENDS if name not in registered]
    if missing:
        raise FrontEndMissing(
            f"front end(s) {', '.join(missing)} not registered in the entry point group "
            f"{FRONT_END_GROUP!r}: install the project (pip install -e . or make run) so "
            "that pyproject.toml's entry points are registered"
        )
    others = sorted(name for name in registered if name not in FRONT_ENDS)
    return [registered[name] for name in (*FRONT_ENDS, *others)]


__all__ = ["FrontEndMissing", "Services", "create_app"]
