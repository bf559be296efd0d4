"""Redis (REDIS_URL) down: the service keeps answering, with rate limits counted locally."""

from __future__ import annotations

from typing import Any

from authencode.app import create_app
from authencode.ratelimit import DEFAULT_LIMITS
from authencode.settings import Settings
from tests.support.line_bot import post, text, webhook
from tests.support.redis_server import RedisServer


class FrozenClock:
    """One fixed instant, so no window boundary falls inside the test."""

    def __call__(self) -> float:
        return 1_800_000_030.0


def _web_worker(settings: Settings) -> Any:
    app = create_app(settings)
    app.config["TESTING"] = True
    app.extensions["ratelimit"].clock = FrozenClock()
    return app


def test_service_keeps_working_with_local_limits_when_redis_dies(
    fault_settings: Settings, redis_server: RedisServer
) -> None:
    limits = {rule: 0 for rule in DEFAULT_LIMITS} | {"ip": 5}
    settings = fault_settings.with_overrides(redis_url=redis_server.url, rate_limits=limits)
    one, two = _web_worker(settings), _web_worker(settings)
    try:
        a, b = one.test_client(), two.test_client()
        # Shared: two web workers together allow five requests from one address, not ten.
        answers = [client.get("/q/not-a-token").status_code for client in (a, b, a, b, a, b)]
        assert 429 not in answers[:5] and answers[5] == 429

        redis_server.kill()
        # Everything still answers; each worker now counts on its own (five more each).
        assert a.get("/healthz").status_code == 200 and a.get("/readyz").status_code == 200
        assert post(a, webhook(text("สวัสดี"))).status_code == 200
        answers = [a.get("/q/not-a-token").status_code for _ in range(6)]
        assert 429 not in answers[:5] and answers[5] == 429
        refused = b.get("/liff/api/me")
        assert refused.status_code in (401, 429)  # answered, not a server error
        assert all(b.get("/q/not-a-token").status_code < 500 for _ in range(3))
        metrics = a.get("/metrics").get_data(as_text=True)
        assert "authencode_ratelimit_redis_up 0.0" in metrics
        assert one.extensions["ratelimit"].redis_failures == 1  # not retried per request
    finally:
        one.extensions["authencode"].db.dispose()
        two.extensions["authencode"].db.dispose()
