"""Rate limits: per LINE user and per IP, 429 with Retry-After, shared through Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from authencode.models import OutboxMessage, WebhookEvent
from authencode.ratelimit import (
    DEFAULT_LIMITS,
    UPLOAD_BYTES,
    RateLimitedError,
    RateLimiter,
    parse_limits,
)
from authencode.settings import Settings, SettingsError
from linebot_app.inbox import SLOW_DOWN_TH
from tests.support.liff import CHANNEL_ID, JwksServer, bearer, new_user_id
from tests.support.line_bot import ACCESS_TOKEN, CHANNEL_SECRET, post, text, webhook
from tests.support.redis_server import RedisServer

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the limiter itself ---------------------------------------------------------------------


def test_a_key_is_refused_past_its_limit_until_the_window_ends() -> None:
    clock = FakeClock(1_800_000_010.0)  # 10 s into a minute
    limiter = RateLimiter({"ip": 3}, clock=clock)
    assert [limiter.hit("ip", "10.0.0.1").allowed for _ in range(4)] == [True] * 3 + [False]
    assert limiter.hit("ip", "10.0.0.2").allowed  # other keys have their own count
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("ip", "10.0.0.1")
    assert refused.value.retry_after == 50
    assert refused.value.http_status == 429 and "50" in refused.value.message_th
    clock.now += 50
    assert limiter.hit("ip", "10.0.0.1").allowed  # a new window


def test_cid_lookups_are_counted_by_the_hour_with_their_own_message() -> None:
    clock = FakeClock(1_800_000_000.0 - 1_800_000_000.0 % 3600 + 600)  # 10 min into an hour
    limiter = RateLimiter({"cid_lookup": 3, "ip": 1}, clock=clock)
    for _ in range(3):
        limiter.check("cid_lookup", "Uaaa")
        limiter.check("ip", "10.0.0.1")  # minute windows roll and are pruned meanwhile...
        clock.now += 61
    with pytest.raises(RateLimitedError) as refused:  # ...the hour's count is not
        limiter.check("cid_lookup", "Uaaa")
    error = refused.value
    assert error.code == "CID_LOOKUPS_EXCEEDED" and error.http_status == 429
    assert error.retry_after == 3600 - 600 - 3 * 61
    assert "47 นาที" in error.message_th and "47 minutes" in error.message
    assert limiter.hit("cid_lookup", "Ubbb").allowed  # another LINE user
    clock.now += error.retry_after
    assert limiter.hit("cid_lookup", "Uaaa").allowed  # the next hour


@pytest.mark.parametrize("shared", [False, True])
def test_a_daily_byte_quota_counts_costs_and_gives_refusals_back(
    shared: bool, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_server").url if shared else None
    clock = FakeClock(1_800_000_000.0 - 1_800_000_000.0 % 86400 + 3600)  # 01:00 UTC
    one = RateLimiter({UPLOAD_BYTES: 2500}, redis_url, clock=clock)
    # Through Redis another process shares the quota.
    two = RateLimiter({UPLOAD_BYTES: 2500}, redis_url, clock=clock) if shared else one
    one.check(UPLOAD_BYTES, "10.0.0.1", 1000)
    two.check(UPLOAD_BYTES, "10.0.0.1", 1000)
    with pytest.raises(RateLimitedError) as refused:
        two.check(UPLOAD_BYTES, "10.0.0.1", 1000)
    assert refused.value.code == "UPLOAD_QUOTA_EXCEEDED"
    assert refused.value.retry_after == 86400 - 3600  # until the day ends
    one.check(UPLOAD_BYTES, "10.0.0.1", 400)  # the refused 1000 were not kept
    assert not one.hit(UPLOAD_BYTES, "10.0.0.1", 200).allowed
    assert one.hit(UPLOAD_BYTES, "10.0.0.2", 2500).allowed
    clock.now += 86400 - 3600
    assert one.hit(UPLOAD_BYTES, "10.0.0.1", 2500).allowed  # the next day


def test_a_rule_set_to_zero_never_refuses() -> None:
    limiter = RateLimiter({"ip": 0})
    assert all(limiter.hit("ip", "x").allowed for _ in range(500))
    assert not limiter.enabled("ip") and not limiter.enabled("unknown-rule")


def test_limits_setting_is_parsed_and_checked(tmp_path: Path) -> None:
    assert parse_limits(None) == dict(DEFAULT_LIMITS)
    assert parse_limits("liff_user=5, ip=0")["liff_user"] == 5
    assert parse_limits("liff_user=5")["line_user"] == DEFAULT_LIMITS["line_user"]
    assert set(parse_limits("off").values()) == {0}
    for bad in ("liff_user", "nobody=3", "ip=-1", "ip=many"):
        with pytest.raises(ValueError, match="rule=N"):
            parse_limits(bad)
    env = {"AUTHENCODE_ENV": "test", "AUTHENCODE_INSTANCE_PATH": str(tmp_path), "RATE_LIMITS": "ip"}
    with pytest.raises(SettingsError, match="RATE_LIMITS"):
        Settings.from_env(env)


def test_limits_are_shared_through_redis_and_local_when_it_is_down(
    redis_server: RedisServer,
) -> None:
    clock = FakeClock()
    # Two web processes sharing one Redis: together they allow the limit, not twice it.
    one = RateLimiter({"liff_user": 4}, redis_server.url, clock=clock)
    two = RateLimiter({"liff_user": 4}, redis_server.url, clock=clock)
    answers = [limiter.hit("liff_user", "Uaaa").allowed for limiter in (one, two) * 3]
    assert answers == [True] * 4 + [False] * 2
    assert one.using_redis and one.redis_failures == 0

    redis_server.kill()
    clock.now += 60  # a new window
    answers = [one.hit("liff_user", "Uaaa").allowed for _ in range(5)]
    assert answers == [True] * 4 + [False]  # the same limit, counted in this process
    assert not one.using_redis and one.redis_failures == 1  # not retried on every request

    redis_server.start()  # same port
    clock.now += one.retry_redis_after
    assert one.hit("liff_user", "Ubbb").allowed and one.using_redis


def test_an_hourly_count_in_redis_lives_as_long_as_its_window(redis_server: RedisServer) -> None:
    clock = FakeClock(1_800_000_000.0 - 1_800_000_000.0 % 3600 + 1200)  # 20 min into an hour
    one = RateLimiter({"cid_lookup": 2}, redis_server.url, clock=clock)
    two = RateLimiter({"cid_lookup": 2}, redis_server.url, clock=clock)
    assert [
        one.hit("cid_lookup", "Uaaa").allowed,
        two.hit("cid_lookup", "Uaaa").allowed,
        one.hit("cid_lookup", "Uaaa").allowed,
    ] == [True, True, False]
    [key] = one.shared.client.keys("authencode:rl:cid_lookup:*")  # type: ignore[union-attr]
    assert b"Uaaa" not in key  # hashed
    assert 2400 < one.shared.client.ttl(key) <= 2400 + 60  # type: ignore[union-attr]


# --- LIFF API ---------------------------------------------------------------------------------


def _limited_settings(settings: Settings, jwks: JwksServer, **limits: int) -> Settings:
    rules = {rule: 0 for rule in DEFAULT_LIMITS} | limits
    return settings.with_overrides(
        line_login_channel_id=CHANNEL_ID,
        line_jwks_url=jwks.url,
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        rate_limits=rules,
    )


def _app(settings: Settings) -> Any:
    from authencode.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def _assert_429(response: Any) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    error = response.get_json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert "wait" in error["message"] and "กรุณารอ" in error["message_th"]


@sqlite_only
def test_liff_api_is_limited_per_line_user(settings: Settings, jwks: JwksServer) -> None:
    app = _app(_limited_settings(settings, jwks, liff_user=3))
    client = app.test_client()
    alice, bob = bearer(jwks.token(new_user_id())), bearer(jwks.token(new_user_id()))
    assert [client.get("/liff/api/me", headers=alice).status_code for _ in range(3)] == [200] * 3
    _assert_429(client.get("/liff/api/me", headers=alice))
    assert client.get("/liff/api/me", headers=bob).status_code == 200
    # A caller without a valid token is refused by authentication, not counted for anyone.
    assert client.get("/liff/api/me", headers=bearer("garbage")).status_code == 401
    app.extensions["authencode"].db.dispose()


@sqlite_only
def test_liff_api_and_qr_links_are_limited_per_ip(settings: Settings, jwks: JwksServer) -> None:
    app = _app(_limited_settings(settings, jwks, ip=3))
    client = app.test_client()
    for _ in range(3):
        assert (
            client.get("/liff/api/me", headers=bearer(jwks.token(new_user_id()))).status_code == 200
        )
    _assert_429(client.get("/liff/api/me", headers=bearer(jwks.token(new_user_id()))))
    assert client.get("/q/not-a-token").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert other.get("/liff/api/me", headers=bearer(jwks.token(new_user_id()))).status_code == 200
    app.extensions["authencode"].db.dispose()


@sqlite_only
def test_forwarded_for_is_believed_only_behind_trusted_proxies(
    settings: Settings, jwks: JwksServer
) -> None:
    headers = {"X-Forwarded-For": "198.51.100.1"}
    spoofing = _app(_limited_settings(settings, jwks, ip=1))
    client = spoofing.test_client()
    assert client.get("/q/x", headers=headers).status_code != 429
    headers["X-Forwarded-For"] = "198.51.100.2"  # a new address each time does not help
    assert client.get("/q/x", headers=headers).status_code == 429
    spoofing.extensions["authencode"].db.dispose()

    proxied = _app(_limited_settings(settings, jwks, ip=1).with_overrides(trusted_proxies=1))
    client = proxied.test_client()
    assert client.get("/q/x", headers={"X-Forwarded-For": "198.51.100.1"}).status_code != 429
    assert client.get("/q/x", headers={"X-Forwarded-For": "198.51.100.2"}).status_code != 429
    assert client.get("/q/x", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    proxied.extensions["authencode"].db.dispose()


@sqlite_only
def test_clinic_login_is_limited_per_ip_with_a_page(settings: Settings, jwks: JwksServer) -> None:
    app = _app(_limited_settings(settings, jwks, login=2))
    client = app.test_client()
    form = {"username": "nobody", "password": "wrong-password"}
    assert client.get("/clinic/login").status_code == 200
    for _ in range(2):  # whatever a wrong password answers, it is not a rate limit
        assert client.post("/clinic/login", data=form).status_code != 429
    refused = client.post("/clinic/login", data=form)
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/clinic/login").status_code == 200  # the page itself still opens
    app.extensions["authencode"].db.dispose()


# --- LINE webhook -----------------------------------------------------------------------------


@sqlite_only
def test_badly_signed_webhook_posts_are_limited_per_ip_but_line_never_is(
    settings: Settings, jwks: JwksServer
) -> None:
    app = _app(_limited_settings(settings, jwks, bad_signature=2))
    client = app.test_client()
    assert [post(client, webhook(), signature="forged").status_code for _ in range(2)] == [400, 400]
    refused = post(client, webhook(), signature="forged")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    for _ in range(5):
        assert post(client, webhook(text("สวัสดี"))).status_code == 200
    app.extensions["authencode"].db.dispose()


@sqlite_only
def test_a_chatty_line_user_is_asked_once_to_slow_down(
    settings: Settings, jwks: JwksServer
) -> None:
    app = _app(_limited_settings(settings, jwks, line_user=2))
    client = app.test_client()
    db = app.extensions["authencode"].db
    chatty, quiet = "U" + "c" * 32, "U" + "d" * 32
    events = [text(f"ข้อความ {i}", chatty) for i in range(5)]
    for event in events:
        assert post(client, webhook(event)).status_code == 200
    assert post(client, webhook(text("สวัสดี", quiet))).status_code == 200
    with db.sessionmaker() as session:
        stored = session.scalar(select(func.count()).select_from(WebhookEvent))
        replies = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == chatty)
                .order_by(OutboxMessage.id)
            )
        )
        quiet_replies = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == quiet)
        )
    assert stored == 6  # every event is stored: a redelivery is not handled later
    assert [r.reply_token for r in replies][:2] == [e["replyToken"] for e in events[:2]]
    slow_down = [r for r in replies if r.payload["messages"][0].get("text") == SLOW_DOWN_TH]
    assert [r.reply_token for r in slow_down] == [events[2]["replyToken"]]
    assert {r.reply_token for r in replies}.isdisjoint(e["replyToken"] for e in events[3:])
    assert quiet_replies and quiet_replies >= 1
    app.extensions["authencode"].db.dispose()
