"""Development only: a small OpenID provider standing in for ThaID (`make run` without ThaID).

Registered under /dev/thaid only when AUTHENCODE_ENV=development and no THAID_* variable is
set; production never registers it. It is a real provider as far as the client can tell: a
discovery document, an authorize page (type or pick a CID of the demo registry, press
"ยืนยัน"), a token endpoint that authenticates the client and checks the PKCE S256 verifier
of a one-use code, and a JWKS; ID tokens are RS256, signed with a key kept in instance/. The
client (authencode.oidc) reaches it over HTTP through discovery, exactly as it reaches ThaID.
Tests serve the same provider on its own port (tests/support/oidc_provider.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge
from flask import Blueprint, Flask, Response, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from authencode.cid import is_valid_cid, parse_cid
from authencode.models import Person
from authencode.settings import DEV_THAID_CLIENT_ID, DEV_THAID_CLIENT_SECRET, DEV_THAID_PATH
from liff_web.state import THAID_CALLBACK_PATH

CODE_TTL_SECONDS = 60
ID_TOKEN_TTL = dt.timedelta(minutes=10)
Claims = dict[str, Any]


def load_key(instance_path: Path) -> RSAKey:
    """The development signing key, made once and kept in instance/ (like dev-secrets)."""
    path = instance_path / "dev-thaid-rs256.pem"
    if path.exists():
        return RSAKey.import_key(path.read_bytes())
    key = RSAKey.generate_key(2048, private=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.as_pem(private=True))
    path.chmod(0o600)
    return key


@dataclass
class _Code:
    redirect_uri: str
    challenge: str
    nonce: str | None
    cid: str
    expires: float


@dataclass
class DevOpenIdProvider:
    """The provider's state: one client, its redirect URIs, the key and the live codes.

    ``tweak`` (tests only) changes the claims of the next ID tokens; ``signing_key`` may
    differ from the published ``key`` to test a forged signature.
    """

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    key: RSAKey
    people: Callable[[], list[tuple[str, str]]] = list
    tweak: Callable[[Claims], Claims] | None = None
    signing_key: RSAKey | None = None
    _codes: dict[str, _Code] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def kid(self) -> str:
        return self.key.thumbprint()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks.json",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "pid"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "pid"],
        }

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def new_code(self, params: dict[str, str], cid: str) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            for old in [c for c, v in self._codes.items() if v.expires < now]:
                del self._codes[old]
            self._codes[code] = _Code(
                params["redirect_uri"],
                params["code_challenge"],
                params.get("nonce") or None,
                cid,
                now + CODE_TTL_SECONDS,
            )
        return code

    def redeem(self, code: str, redirect_uri: str, verifier: str) -> _Code | None:
        """The code's grant when the redirect URI and PKCE verifier match; one use only."""
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires < time.monotonic():
            return None
        if grant.redirect_uri != redirect_uri:
            return None
        if not verifier or not compare_s256_code_challenge(verifier, grant.challenge):
            return None
        return grant

    def id_token(self, grant: _Code) -> str:
        now = dt.datetime.now(dt.UTC)
        claims: Claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "dev-" + grant.cid[-6:],
            "pid": grant.cid,
            "iat": int(now.timestamp()),
            "exp": int((now + ID_TOKEN_TTL).timestamp()),
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        if self.tweak is not None:
            claims = self.tweak(claims)
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, self.signing_key or self.key)


def _bad_request(message: str) -> tuple[str, int]:
    return render_template("liff/thaid_dev_error.html", message=message), 400


def provider_blueprint(provider: DevOpenIdProvider, url_prefix: str) -> Blueprint:
    """The provider's routes (discovery, authorize, token, JWKS) under ``url_prefix``."""
    bp = Blueprint("dev_thaid", __name__, url_prefix=url_prefix, template_folder="templates")

    def authorize_params(source: Any) -> dict[str, str] | str:
        params = {
            name: str(source.get(name) or "")
            for name in (
                "client_id",
                "redirect_uri",
                "response_type",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
            )
        }
        if params["client_id"] != provider.client_id:
            return "unknown client_id"
        if params["redirect_uri"] not in provider.redirect_uris:
            return "redirect_uri is not registered for this client"
        if params["response_type"] != "code" or "openid" not in params["scope"].split():
            return "response_type must be code and scope must include openid"
        if params["code_challenge_method"] != "S256" or not params["code_challenge"]:
            return "PKCE with code_challenge_method=S256 is required"
        return params

    @bp.get("/.well-known/openid-configuration")
    def discovery() -> Response:
        return jsonify(provider.discovery())

    @bp.get("/jwks.json")
    def jwks() -> Response:
        return jsonify(provider.jwks())

    @bp.get("/authorize")
    def authorize_page() -> ResponseReturnValue:
        params = authorize_params(request.args)
        if isinstance(params, str):
            return _bad_request(params)
        return render_template(
            "liff/thaid_dev_authorize.html", params=params, people=provider.people(), error=None
        )

    @bp.post("/authorize")
    def authorize() -> ResponseReturnValue:
        params = authorize_params(request.form)
        if isinstance(params, str):
            return _bad_request(params)
        back = {"state": params["state"]} if params["state"] else {}
        if request.form.get("action") == "cancel":
            query = urlencode({"error": "access_denied", **back})
            return redirect(f"{params['redirect_uri']}?{query}", code=303)
        raw = request.form.get("cid", "")
        if not is_valid_cid(raw):
            return render_template(
                "liff/thaid_dev_authorize.html",
                params=params,
                people=provider.people(),
                error="เลขประจำตัวประชาชนไม่ถูกต้อง",
            ), 400
        code = provider.new_code(params, parse_cid(raw))
        query = urlencode({"code": code, **back})
        return redirect(f"{params['redirect_uri']}?{query}", code=303)

    @bp.post("/token")
    def token() -> tuple[Response, int]:
        auth = request.authorization
        client_id = auth.username if auth else request.form.get("client_id")
        secret = auth.password if auth else request.form.get("client_secret")
        if client_id != provider.client_id or not secrets.compare_digest(
            str(secret or ""), provider.client_secret
        ):
            return jsonify(error="invalid_client"), 401
        if request.form.get("grant_type") != "authorization_code":
            return jsonify(error="unsupported_grant_type"), 400
        grant = provider.redeem(
            request.form.get("code", ""),
            request.form.get("redirect_uri", ""),
            request.form.get("code_verifier", ""),
        )
        if grant is None:
            return jsonify(error="invalid_grant"), 400
        return jsonify(
            access_token=secrets.token_urlsafe(32),
            token_type="Bearer",  # noqa: S106
            expires_in=600,
            id_token=provider.id_token(grant),
        ), 200

    return bp


def demo_people(app: Flask, limit: int = 12) -> Callable[[], list[tuple[str, str]]]:
    """The first registry persons with their CIDs, to pick on the authorize page (the demo
    registry only: this page never exists in production)."""

    def people() -> list[tuple[str, str]]:
        svc = app.extensions["authencode"]
        with svc.db.read_only() as session:
            persons = session.scalars(select(Person).order_by(Person.id).limit(limit)).all()
            return [(p.full_name_th, svc.protector.decrypt(p.cid_enc)) for p in persons]

    return people


def register_dev_provider(app: Flask) -> None:
    """Serve the development provider at THAID_ISSUER (development only)."""
    settings = app.extensions["authencode"].settings
    if settings.is_production or not settings.thaid_dev_provider:
        raise RuntimeError("the development ThaID provider is for development only")
    provider = DevOpenIdProvider(
        issuer=settings.thaid_issuer,
        client_id=DEV_THAID_CLIENT_ID,
        client_secret=DEV_THAID_CLIENT_SECRET,
        redirect_uris=(settings.public_base_url + THAID_CALLBACK_PATH,),
        key=load_key(settings.instance_path),
        people=demo_people(app),
    )
    app.extensions["dev_thaid"] = provider
    app.register_blueprint(provider_blueprint(provider, DEV_THAID_PATH))
