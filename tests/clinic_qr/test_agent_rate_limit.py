"""The reader agent's API is rate-limited per agent token (rule agent_token)."""

from __future__ import annotations

from typing import Any

import pytest

from authencode.services.api_tokens import create_token
from authencode.settings import Settings
from tests.support.factories import make_facility, make_person, new_cid


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Three agent-API calls a minute per token, so the limit is reached in a test."""
    return settings.with_overrides(rate_limits={**settings.rate_limits, "agent_token": 3})


def test_agent_api_calls_are_limited_per_token(app: Any, client: Any, protector: Any) -> None:
    with app.extensions["authencode"].db.transaction() as session:
        facility = make_facility(session)
        patient = new_cid()
        make_person(session, protector, cid=patient)
        first, second, his = (
            create_token(session, facility, name, "test", scope).secret
            for name, scope in (("counter 1", "agent"), ("counter 2", "agent"), ("HIS", "his"))
        )

    def call(method: str, url: str, secret: str) -> Any:
        return client.open(
            url,
            method=method,
            headers={"Authorization": f"Bearer {secret}"},
            json={} if method == "POST" else None,
        )

    url = f"/agent/api/latest-authen-code/{patient}"
    for _ in range(3):
        assert call("GET", url, first).status_code == 404  # no code yet
    refused = call("GET", url, first)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    error = refused.get_json()["error"]
    assert error["code"] == "RATE_LIMITED" and error["message_th"]
    # Every route of the agent API counts: the token stays refused on all of them.
    assert call("POST", "/agent/api/card-reads", first).status_code == 429
    # Another counter's token has its own count.
    assert call("GET", url, second).status_code == 404
    # The HIS API is not part of the agent's limit.
    assert (
        call("GET", "/authencodestatus/api/codes?from=2026-01-01&to=2026-01-01", his).status_code
        == 200
    )
    # The refusal is counted in /metrics under its rule.
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'authencode_rate_limited_total{rule="agent_token"} 2.0' in metrics
