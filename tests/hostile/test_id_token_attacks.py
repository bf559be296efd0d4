"""Forged and broken LIFF ID tokens against every /liff/api route: each is a 401 with the
JSON error, reads nothing and creates no LINE account."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select

from authencode.models import LineAccount
from tests.support.liff import (
    CHANNEL_ID,
    ISSUER,
    JwksServer,
    SigningKey,
    hs256_with_public_key,
    new_user_id,
    unsigned_token,
)

USER = new_user_id()
LIFF_REFUSALS = {"LIFF_TOKEN_MISSING", "LIFF_TOKEN_INVALID", "LIFF_TOKEN_EXPIRED"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> list[str]:
    return token.split(".")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": ISSUER, "sub": USER, "aud": CHANNEL_ID, "iat": now, "exp": now + 3600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(
    jwks: JwksServer,
    claims: dict[str, Any],
    *,
    key: SigningKey | None = None,
    headers: dict[str, Any] | None = None,
    algorithm: str = "ES256",
) -> str:
    key = key or jwks.key
    return jwt.encode(
        claims, key.private, algorithm=algorithm, headers={"kid": key.kid, **(headers or {})}
    )


def _tampered(jwks: JwksServer) -> str:
    """A genuine token whose payload names another user, signature left as it was."""
    header, _payload, signature = _segments(jwks.token(USER))
    payload = _b64(json.dumps(_claims(sub=new_user_id())).encode())
    return f"{header}.{payload}.{signature}"


def _embedded_jwk(jwks: JwksServer) -> str:
    """Signed by the attacker's key, which the header itself offers (jwk/jku injection)."""
    attacker = SigningKey(jwks.key.kid)
    return _signed(
        jwks,
        _claims(),
        key=attacker,
        headers={"jwk": attacker.jwk(), "jku": "http://127.0.0.1:9/keys"},
    )


def _rs256(jwks: JwksServer) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(), private, algorithm="RS256", headers={"kid": jwks.key.kid})


ATTACKS: dict[str, Callable[[JwksServer], str]] = {
    "alg none": lambda j: unsigned_token(USER),
    "alg none, signature kept": lambda j: unsigned_token(USER) + _segments(j.token(USER))[2],
    "HS256 keyed with the public key": lambda j: hs256_with_public_key(USER, j.key),
    "RS256 by an unknown key": _rs256,
    "ES256 signature labelled ES384": lambda j: ".".join(
        [
            _b64(json.dumps({"alg": "ES384", "kid": j.key.kid}).encode()),
            *_segments(j.token(USER))[1:],
        ]
    ),
    "wrong audience": lambda j: j.token(USER, aud="1657999999"),
    "audience list without ours": lambda j: _signed(j, _claims(aud=["1", "2"])),
    "audience list with ours": lambda j: _signed(j, _claims(aud=[CHANNEL_ID, "1657999999"])),
    "audience list of ours alone": lambda j: _signed(j, _claims(aud=[CHANNEL_ID])),
    "audience a number": lambda j: _signed(j, _claims(aud=int(CHANNEL_ID))),
    "wrong issuer": lambda j: j.token(USER, iss="https://evil.example"),
    "no issuer": lambda j: _signed(j, _claims(iss=None)),
    "expired": lambda j: j.token(USER, expires_in=-3600),
    "no expiry": lambda j: _signed(j, _claims(exp=None)),
    "issued in the future": lambda j: _signed(
        j, _claims(iat=int(dt.datetime.now(dt.UTC).timestamp()) + 3600)
    ),
    "not valid before the future": lambda j: _signed(
        j, _claims(nbf=int(dt.datetime.now(dt.UTC).timestamp()) + 3600)
    ),
    "unknown kid": lambda j: j.token(USER, kid="nobody-knows-this-kid"),
    "no kid": lambda j: jwt.encode(_claims(), j.key.private, algorithm="ES256"),
    "another key under our kid": lambda j: j.token(USER, key=SigningKey(j.key.kid)),
    "key offered in the header": _embedded_jwk,
    "tampered payload": _tampered,
    "no subject": lambda j: _signed(j, _claims(sub=None)),
    "subject not a string": lambda j: _signed(j, _claims(sub=12345)),
    "subject too long": lambda j: _signed(j, _claims(sub="U" + "0" * 200)),
    "exp not a number": lambda j: _signed(j, _claims(exp="tomorrow")),
    "header not base64": lambda j: "%%%." + ".".join(_segments(j.token(USER))[1:]),
    "payload not JSON": lambda j: ".".join(
        [_segments(j.token(USER))[0], _b64(b"{not json"), _segments(j.token(USER))[2]]
    ),
    "header a JSON list": lambda j: ".".join([_b64(b"[1,2]"), *_segments(j.token(USER))[1:]]),
    "two segments": lambda j: ".".join(_segments(j.token(USER))[:2]),
    "four segments": lambda j: j.token(USER) + ".AAAA",
    "huge": lambda j: j.token(USER, padding="x" * 20_000),
    "not a JWT": lambda j: "hello",
}


@pytest.fixture
def routes(app: Any) -> list[tuple[str, str]]:
    """Every /liff/api route and method, with path parameters filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/liff/api"):
            path = rule.rule.replace("<member_id>", "1")
            found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(found) >= 10
    return found


def _accounts(app: Any) -> int:
    with app.extensions["authencode"].db.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(LineAccount)) or 0


def _refusals(client: Any, routes: list[tuple[str, str]], authorization: str) -> list[str]:
    """What was not a 401 with the JSON error, for one Authorization header on every route."""
    wrong = []
    for method, path in routes:
        response = client.open(
            path,
            method=method,
            headers={"Authorization": authorization},
            json={"decision": "accept", "cid": "1101700207030"},
        )
        error = (response.json or {}).get("error", {}) if response.is_json else {}
        if (
            response.status_code != 401
            or error.get("code") not in LIFF_REFUSALS
            or not error.get("message_th")
        ):
            wrong.append(f"{method} {path}: {response.status_code} {response.data[:120]!r}")
    return wrong


def test_forged_id_tokens_are_refused_everywhere(
    app: Any, client: Any, jwks: JwksServer, routes: list[tuple[str, str]]
) -> None:
    wrong = {
        attack: found
        for attack, make in ATTACKS.items()
        if (found := _refusals(client, routes, f"Bearer {make(jwks)}"))
    }
    assert not wrong, wrong
    assert _accounts(app) == 0


def test_missing_or_malformed_authorization_is_refused(
    app: Any, client: Any, routes: list[tuple[str, str]]
) -> None:
    headers = [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer a b c",
        "bearer\tx.y.z",
        "Bearer " + "A" * 9000,
    ]
    wrong = {
        header[:20]: found for header in headers if (found := _refusals(client, routes, header))
    }
    assert not wrong, wrong
    assert _accounts(app) == 0


def test_the_same_kind_of_token_done_right_is_accepted(client: Any, jwks: JwksServer) -> None:
    """The attacks above differ from a good token only in what they break."""
    response = client.get("/liff/api/me", headers={"Authorization": f"Bearer {jwks.token(USER)}"})
    assert response.status_code == 200
