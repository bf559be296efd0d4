"""Where the rate limits apply to HTTP requests (the rules and counting: authencode.ratelimit).

- LIFF API (`/liff/api/...`) and clinic QR links (`/q/<token>`): per client IP, and the LIFF
  API also per LINE user once the ID token is verified (its `sub`).
- Clinic log-in posts: per client IP (failed log-ins are also throttled per account, address
  and device cookie: authencode.services.login_throttle).
- The clinic's anonymous forms: staff registration posts and password-reset requests per
  client IP here; per CID, per email address and the daily document bytes per IP where the
  page reads them (clinic_qr.auth).
- The reader agent's API (`/agent/api/...`): per agent token, counted by clinic_qr.agent_api
  once the token is known.
- The LINE webhook limits badly signed posts per IP and throttles chatty LINE users per
  event itself (linebot_app.webhook); LINE's own signed deliveries are never refused.

Over a limit the answer is 429 with Retry-After, in the JSON error format for APIs and the
clinic's error page for staff pages.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request

from authencode.app.metrics import note_rate_limited
from authencode.ratelimit import UPLOAD_BYTES, RateLimitedError, RateLimiter
from authencode.settings import Settings

_IP_LIMITED_BLUEPRINTS = ("liff_api", "liff_qr")
# endpoint -> the rule its posts count under, per client IP
_IP_LIMITED_POSTS = {"clinic.login": "login", "clinic.register": "register",
                     "clinic.forgot_password": "forgot"}


def init_rate_limits(app: Flask, settings: Settings) -> RateLimiter:
    limiter = RateLimiter({**settings.rate_limits, UPLOAD_BYTES: settings.upload_bytes_per_day},
                          settings.redis_url)
    app.extensions["ratelimit"] = limiter

    @app.before_request
    def _per_ip() -> None:
        if request.blueprint in _IP_LIMITED_BLUEPRINTS:
            check("ip", client_ip())
        elif request.method == "POST" and request.endpoint in _IP_LIMITED_POSTS:
            check(_IP_LIMITED_POSTS[request.endpoint], client_ip())

    @app.after_request
    def _retry_after(response: Response) -> Response:
        retry_after = g.pop("retry_after", None)
        if response.status_code == 429 and retry_after and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(retry_after)
        return response

    return limiter


def register_user_limit(app: Flask) -> None:
    """Per LINE user on the LIFF API: runs after liff_web's own authentication hook."""
    def _per_line_user() -> None:
        user = g.get("line_user")
        if user is not None:
            check("liff_user", user.user_id)

    # Blueprint hooks run in the order they were added, so this follows the ID token check
    # that liff_api registered with its blueprint.
    app.before_request_funcs.setdefault("liff_api", []).append(_per_line_user)


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
