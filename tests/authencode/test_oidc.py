"""The OpenID Connect client on its own, against a local provider over HTTP: discovery, keys,
and ID tokens that must be refused however they are forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest

from authencode.oidc import OpenIdClient, ProviderConfig, ProviderUnavailable, TokenRefused
from liff_web.dev_thaid import DevOpenIdProvider
from tests.support.live_server import free_port
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, local_provider

REDIRECT = "http://127.0.0.1:5000/liff/thaid/callback"


@pytest.fixture
def provider() -> Iterator[DevOpenIdProvider]:
    with local_provider(REDIRECT) as provider:
        yield provider


def _client(issuer: str) -> OpenIdClient:
    return OpenIdClient(
        ProviderConfig(
            issuer=issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scopes="openid pid",
            redirect_uri=REDIRECT,
        ),
        timeout=5,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(provider: DevOpenIdProvider, nonce: str = "n-1") -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "aud": CLIENT_ID,
        "sub": "s",
        "iat": now,
        "exp": now + 600,
        "nonce": nonce,
        "pid": "1000000000319",
    }


def test_discovery_gives_the_endpoints(provider: DevOpenIdProvider) -> None:
    client = _client(provider.issuer)
    url = client.authorization_url(state="st", nonce="no", code_verifier="v" * 50)
    assert url.startswith(provider.issuer + "/authorize?")
    for part in (
        "code_challenge_method=S256",
        "state=st",
        "nonce=no",
        "response_type=code",
        f"client_id={CLIENT_ID}",
        "scope=openid+pid",
    ):
        assert part in url


def test_a_provider_naming_another_issuer_is_not_used(provider: DevOpenIdProvider) -> None:
    client = _client(provider.issuer)
    provider.issuer = "https://elsewhere.example"
    with pytest.raises(ProviderUnavailable):
        client.metadata()


def test_an_unreachable_provider_is_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        _client(f"http://127.0.0.1:{free_port()}/op").metadata()


def test_a_good_token_passes(provider: DevOpenIdProvider) -> None:
    from joserfc import jwt

    token = jwt.encode({"alg": "RS256", "kid": provider.kid}, _claims(provider), provider.key)
    claims = _client(provider.issuer).check_id_token(token, nonce="n-1")
    assert claims["pid"] == "1000000000319"


def test_unsigned_and_hmac_forged_tokens_are_refused(provider: DevOpenIdProvider) -> None:
    client = _client(provider.issuer)
    body = _b64(json.dumps(_claims(provider)).encode())
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'kid': provider.kid}).encode())}.{body}."
    header = _b64(json.dumps({"alg": "HS256", "kid": provider.kid}).encode())
    public = json.dumps(provider.jwks()["keys"][0]).encode()
    mac = hmac.new(public, f"{header}.{body}".encode(), hashlib.sha256).digest()
    for forged in (unsigned, f"{header}.{body}.{_b64(mac)}", "not-a-token"):
        with pytest.raises(TokenRefused) as refused:
            client.check_id_token(forged, nonce="n-1")
        assert refused.value.reason == "signature"


def test_audience_list_needs_our_client_as_authorised_party(provider: DevOpenIdProvider) -> None:
    from joserfc import jwt

    claims = {**_claims(provider), "aud": [CLIENT_ID, "another"]}
    token = jwt.encode({"alg": "RS256", "kid": provider.kid}, claims, provider.key)
    with pytest.raises(TokenRefused) as refused:
        _client(provider.issuer).check_id_token(token, nonce="n-1")
    assert refused.value.reason == "audience"
