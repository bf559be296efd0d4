"""Where the rate limits apply to HTTP requests (the rules and counting: authencode.ratelimit).

Each front end declares its own from its ``register``: :func:`per_ip` (every request to a
blueprint counts per client IP under a rule) and :func:`per_ip_on_post` (posts to one
endpoint, e.g. a log-in form). Limits that need to know who is asking (a LINE user, an
agent token, a CID) are counted by the handler with :func:`check` once it knows.

Over a limit the answer is 429 with Retry-After, in the JSON error format for APIs and the
front end's own error page for its pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, current_app, g, request

from authencode.ratelimit import UPLOAD_BYTES, RateLimitedError, RateLimiter
from authencode.settings import Settings
from authencode.web.metrics import note_rate_limited


@dataclass
class IpRules:
    """What the front ends declared: blueprint or endpoint -> the rule it counts under."""

    blueprints: dict[str, str] = field(default_factory=dict)
    posts: dict[str, str] = field(default_factory=dict)


def init_rate_limits(app: Flask, settings: Settings) -> RateLimiter:
    limiter = RateLimiter(
        {**settings.rate_limits, UPLOAD_BYTES: settings.upload_bytes_per_day}, settings.redis_url
    )
    app.extensions["ratelimit"] = limiter
    rules = app.extensions["ratelimit_ip_rules"] = IpRules()

    @app.before_request  # an app hook: it runs before any of the blueprint's own
    def _per_ip() -> None:
        if request.blueprint in rules.blueprints:
            check(rules.blueprints[request.blueprint], client_ip())
        elif request.method == "POST" and request.endpoint in rules.posts:
            check(rules.posts[request.endpoint], client_ip())

    @app.after_request
    def _retry_after(response: Response) -> Response:
        retry_after = g.pop("retry_after", None)
        if response.status_code == 429 and retry_after and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(retry_after)
        return response

    return limiter


def per_ip(app: Flask, blueprint: Blueprint, rule: str) -> None:
    """Every request to ``blueprint`` counts per client IP under ``rule``, before the
    blueprint's own hooks (authentication included) run."""
    _ip_rules(app).blueprints[blueprint.name] = rule


def per_ip_on_post(app: Flask, endpoint: str, rule: str) -> None:
    """Every POST to ``endpoint`` (e.g. a log-in form) counts per client IP under ``rule``."""
    _ip_rules(app).posts[endpoint] = rule


def _ip_rules(app: Flask) -> IpRules:
    return app.extensions["ratelimit_ip_rules"]


def limiter() -> RateLimiter:
    return current_app.extensions["ratelimit"]


def check(rule: str, key: str, cost: int = 1) -> None:
    """Count one request (or ``cost``); over the limit raises RateLimitedError (429 with
    Retry-After)."""
    try:
        count(limiter(), rule, key, cost)
    except RateLimitedError as error:
        g.retry_after = error.retry_after  # for handlers that render a page of their own
        raise


def within(rule: str, key: str) -> bool:
    """Count one request; False over the limit (counted in /metrics), for a caller that
    answers the same either way."""
    try:
        count(limiter(), rule, key)
    except RateLimitedError:
        return False
    return True


def count(rate: RateLimiter, rule: str, key: str, cost: int = 1) -> None:
    """Count one request on ``rate``; over the limit the refusal is counted in /metrics and
    RateLimitedError raised (also outside a request: a webhook event's own handling)."""
    try:
        rate.check(rule, key, cost)
    except RateLimitedError:
        note_rate_limited(rule)
        raise


def client_ip() -> str:
    """The client's address (X-Forwarded-For is believed only through TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"
