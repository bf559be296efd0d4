"""LIFF ID tokens: real ES256 tokens checked against a local JWKS; every bad one is a 401."""

from __future__ import annotations

import time
from typing import Any

import pytest

from authencode.errors import DomainError
from liff_web.auth import (
    CLOCK_SKEW_SECONDS,
    IdTokenVerifier,
    JwksCache,
    KeysUnavailable,
    fetch_jwks,
)
from tests.support.liff import (
    CHANNEL_ID,
    JwksServer,
    SigningKey,
    bearer,
    hs256_with_public_key,
    new_user_id,
    unsigned_token,
)


def _assert_401(response: Any, code: str) -> None:
    assert response.status_code == 401
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"] and error["message_th"]


def test_a_valid_token_names_the_line_user(client: Any, jwks: JwksServer) -> None:
    user = new_user_id()
    response = client.get("/liff/api/me", headers=bearer(jwks.token(user)))
    assert response.status_code == 200
    assert response.json["consent"]["given"] is False
    assert response.json["members"] == []


def test_the_line_user_comes_from_sub_never_from_the_body(
    client: Any, jwks: JwksServer, app: Any
) -> None:
    from sqlalchemy import select

    from authencode.models import LineAccount

    me, other = new_user_id(), new_user_id()
    response = client.post(
        "/liff/api/consent",
        headers=bearer(jwks.token(me)),
        json={"decision": "accept", "version": "2026-11", "line_user_id": other, "sub": other},
    )
    assert response.status_code == 200
    with app.extensions["authencode"].db.sessionmaker() as session:
        ids = set(session.scalars(select(LineAccount.line_user_id)))
    assert ids == {me}


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "1111111111"},
        {"iss": "https://evil.example"},
        {"expires_in": -120},
    ],
)
def test_wrong_audience_issuer_or_expired_is_refused(
    client: Any, jwks: JwksServer, change: dict[str, Any]
) -> None:
    token = jwks.token(new_user_id(), **change)
    response = client.get("/liff/api/me", headers=bearer(token))
    _assert_401(response, "LIFF_TOKEN_EXPIRED" if "expires_in" in change else "LIFF_TOKEN_INVALID")


def test_alg_none_is_refused(client: Any) -> None:
    _assert_401(
        client.get("/liff/api/me", headers=bearer(unsigned_token(new_user_id()))),
        "LIFF_TOKEN_INVALID",
    )


def test_hs256_signed_with_the_public_key_is_refused(client: Any, jwks: JwksServer) -> None:
    token = hs256_with_public_key(new_user_id(), jwks.key)
    _assert_401(client.get("/liff/api/me", headers=bearer(token)), "LIFF_TOKEN_INVALID")


def test_unknown_kid_and_foreign_key_are_refused(client: Any, jwks: JwksServer) -> None:
    stranger = SigningKey("test-key-1")  # same kid, a key LINE never published
    _assert_401(
        client.get("/liff/api/me", headers=bearer(jwks.token(new_user_id(), key=stranger))),
        "LIFF_TOKEN_INVALID",
    )
    unknown = SigningKey("not-published")
    _assert_401(
        client.get("/liff/api/me", headers=bearer(jwks.token(new_user_id(), key=unknown))),
        "LIFF_TOKEN_INVALID",
    )


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Basic abc", "Bearer not.a.jwt", "Bearer " + "x" * 9000]
)
def test_missing_or_garbage_authorization_is_refused(client: Any, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/liff/api/me", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] in ("LIFF_TOKEN_MISSING", "LIFF_TOKEN_INVALID")


def test_every_api_route_requires_a_token(client: Any, app: Any) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/liff/api/")]
    assert len(rules) >= 9
    for rule in rules:
        path = rule.rule.replace("<member_id>", "1")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={})
            assert response.status_code == 401, (method, path)
            assert response.json["error"]["code"] == "LIFF_TOKEN_MISSING"


def test_jwks_is_fetched_once_and_cached(client: Any, jwks: JwksServer) -> None:
    for _ in range(3):
        assert (
            client.get("/liff/api/me", headers=bearer(jwks.token(new_user_id()))).status_code == 200
        )
    assert jwks.fetches == 1


def test_unavailable_jwks_is_a_503_not_a_401(client: Any, jwks: JwksServer) -> None:
    jwks.fail = True
    response = client.get("/liff/api/me", headers=bearer(jwks.token(new_user_id())))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "LIFF_KEYS_UNAVAILABLE"


def test_unconfigured_channel_refuses_every_token(app: Any, jwks: JwksServer) -> None:
    from liff_web.state import make_state

    settings = app.extensions["authencode"].settings.with_overrides(line_login_channel_id=None)
    app.extensions["liff"] = make_state(settings)
    response = app.test_client().get("/liff/api/me", headers=bearer(jwks.token(new_user_id())))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "LIFF_NOT_CONFIGURED"


# --- the key cache on its own ------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_rotated_key_is_fetched_on_its_new_kid(jwks: JwksServer) -> None:
    clock = _Clock()
    cache = JwksCache(jwks.url, min_refresh_interval=10, clock=clock)
    verifier = IdTokenVerifier(cache, CHANNEL_ID)
    assert verifier.verify(jwks.token("U1")).user_id == "U1"
    rotated = SigningKey("test-key-2")
    jwks.keys = [rotated]
    clock.now += 11
    assert verifier.verify(jwks.token("U2", key=rotated)).user_id == "U2"
    assert jwks.fetches == 2


def test_made_up_kids_do_not_hammer_line(jwks: JwksServer) -> None:
    clock = _Clock()
    cache = JwksCache(jwks.url, min_refresh_interval=10, clock=clock)
    for i in range(20):
        assert cache.key(f"made-up-{i}") is None
    assert jwks.fetches == 1
    clock.now += 10
    assert cache.key("made-up-again") is None
    assert jwks.fetches == 2


def test_cached_keys_expire_after_max_age(jwks: JwksServer) -> None:
    clock = _Clock()
    cache = JwksCache(jwks.url, max_age=60, clock=clock)
    assert cache.key("test-key-1") is not None
    clock.now += 61
    assert cache.key("test-key-1") is not None
    assert jwks.fetches == 2


class _CountingKeys:
    """LINE's keys, counting how often a token's signature needed one."""

    def __init__(self, jwks: JwksServer) -> None:
        self.cache = JwksCache(jwks.url)
        self.lookups = 0

    def key(self, kid: str) -> Any:
        self.lookups += 1
        return self.cache.key(kid)


def test_a_verified_token_is_remembered_until_it_expires_never_after(jwks: JwksServer) -> None:
    keys = _CountingKeys(jwks)
    clock = _Clock()
    clock.now = time.time()
    verifier = IdTokenVerifier(keys, CHANNEL_ID, clock=clock)
    token = jwks.token("U1", expires_in=60)
    assert verifier.verify(token).user_id == "U1"
    assert verifier.verify(token).user_id == "U1"
    assert keys.lookups == 1  # the second call did not check the signature again
    clock.now += 60 + CLOCK_SKEW_SECONDS + 1
    with pytest.raises(DomainError) as refused:
        verifier.verify(token)
    assert refused.value.code == "LIFF_TOKEN_EXPIRED" and keys.lookups == 1


def test_refused_tokens_are_not_remembered_and_the_memory_is_bounded(jwks: JwksServer) -> None:
    keys = _CountingKeys(jwks)
    verifier = IdTokenVerifier(keys, CHANNEL_ID, remember=2)
    forged = jwks.token("U1")[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(DomainError):
            verifier.verify(forged)
    assert keys.lookups == 2
    first, second, third = (jwks.token(f"U{n}") for n in range(3))
    for token in (first, second, third, third, first):
        verifier.verify(token)
    assert keys.lookups == 2 + 4  # "first" was forgotten to keep two, and checked again


def test_fetch_refuses_non_http_urls() -> None:
    with pytest.raises(KeysUnavailable):
        fetch_jwks("file:///etc/passwd")
