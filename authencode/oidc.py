"""An OpenID Connect relying party (ThaID): authorization URLs with PKCE, code exchange, and
ID tokens checked against the provider's JWKS, all through Authlib.

The provider is found through its discovery document (``{issuer}/.well-known/
openid-configuration``) unless its endpoints are configured; the document's ``issuer`` must
be the configured one. An ID token passes only with an asymmetric signature by a key of the
provider's JWKS, ``iss`` the configured issuer, ``aud`` our client id (``azp`` too when it
names several audiences), an ``exp`` in the future and the ``nonce`` of our request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

# Signatures we accept on an ID token: asymmetric only (never "none", never an HMAC that a
# published key could forge).
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
CLOCK_SKEW_SECONDS = 60
METADATA_MAX_AGE = 3600.0
JWKS_MIN_REFRESH = 10.0
MAX_DOCUMENT_BYTES = 256 * 1024


class ProviderUnavailable(Exception):
    """The provider's discovery document, JWKS or token endpoint could not be used."""


class TokenRefused(Exception):
    """The provider refused the code, or its ID token failed a check; ``reason`` says which
    (exchange, signature, issuer, audience, expired, nonce, claims)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    redirect_uri: str
    authorize_url: str | None = None
    token_url: str | None = None
    jwks_url: str | None = None


class OpenIdClient:
    """One provider: its metadata and keys cached per process, fetched over HTTP(S)."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    # --- the provider -------------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(
                url, timeout=self.timeout, headers={"Accept": "application/json"}
            )
            response.raise_for_status()
            if len(response.content) > MAX_DOCUMENT_BYTES:
                raise ProviderUnavailable(f"document too large: {url}")
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"{type(exc).__name__} from {url}") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"not a JSON object: {url}")
        return document

    def metadata(self) -> dict[str, Any]:
        """Endpoints: configured ones over the discovery document's (fetched when needed)."""
        config = self.config
        explicit = {
            "authorization_endpoint": config.authorize_url,
            "token_endpoint": config.token_url,
            "jwks_uri": config.jwks_url,
        }
        if all(explicit.values()):
            return {"issuer": config.issuer, **explicit}
        with self._lock:
            fresh = (
                self._metadata is not None and self._clock() - self._metadata_at < METADATA_MAX_AGE
            )
            if not fresh:
                document = self._get_json(config.issuer + "/.well-known/openid-configuration")
                if document.get("issuer") != config.issuer:
                    raise ProviderUnavailable("discovery document names another issuer")
                self._metadata, self._metadata_at = document, self._clock()
            assert self._metadata is not None
            found = dict(self._metadata)
        found.update({k: v for k, v in explicit.items() if v})
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(found.get(name), str):
                raise ProviderUnavailable(f"discovery document has no {name}")
        return found

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            stale = self._keys is None or (
                refresh and self._clock() - self._keys_at >= JWKS_MIN_REFRESH
            )
            if not stale:
                assert self._keys is not None
                return self._keys
        document = self._get_json(self.metadata()["jwks_uri"])
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailable("unreadable JWKS") from None
        with self._lock:
            self._keys, self._keys_at = keys, self._clock()
        return keys

    def _session(self) -> OAuth2Session:
        config = self.config
        return OAuth2Session(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=config.scopes,
            redirect_uri=config.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if config.client_secret else "none",
        )

    # --- the flow -----------------------------------------------------------------------

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser: response type code, PKCE S256, state and nonce."""
        url = self.metadata()["authorization_endpoint"]
        with self._session() as session:
            uri, _ = session.create_authorization_url(
                url, state=state, code_verifier=code_verifier, nonce=nonce
            )
        return str(uri)

    def exchange(self, *, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Redeem the code with the PKCE verifier; the checked ID token's claims.

        Raises TokenRefused (the provider refused, or a check failed) or ProviderUnavailable.
        """
        token_url = self.metadata()["token_endpoint"]
        with self._session() as session:
            try:
                token = session.fetch_token(
                    token_url,
                    code=code,
                    code_verifier=code_verifier,
                    grant_type="authorization_code",
                    timeout=self.timeout,
                )
            except OAuthError:
                raise TokenRefused("exchange") from None
            except (requests.RequestException, ValueError) as exc:
                raise ProviderUnavailable(f"token endpoint: {type(exc).__name__}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise TokenRefused("claims")
        return self.check_id_token(id_token, nonce=nonce, access_token=token.get("access_token"))

    def check_id_token(
        self, id_token: str, *, nonce: str, access_token: str | None = None
    ) -> dict[str, Any]:
        """The claims of an ID token that passes every check; raises TokenRefused."""
        allowed = self.metadata().get("id_token_signing_alg_values_supported")
        algorithms = [a for a in (allowed or SIGNING_ALGORITHMS) if a in SIGNING_ALGORITHMS]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(refresh=False), registry=registry)
            except InvalidKeyIdError:  # the provider may have rotated its keys
                decoded = jwt.decode(id_token, self._key_set(refresh=True), registry=registry)
        except JoseError:
            raise TokenRefused("signature") from None
        config = self.config
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": config.issuer},
            "aud": {"essential": True, "value": config.client_id},
            "exp": {"essential": True},
            "nonce": {"essential": True},
        }
        params: dict[str, Any] = {"nonce": nonce, "client_id": config.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(leeway=CLOCK_SKEW_SECONDS)
        except ExpiredTokenError:
            raise TokenRefused("expired") from None
        except JoseError as exc:
            claim = getattr(exc, "claim", "")
            reason = {"iss": "issuer", "aud": "audience", "azp": "audience", "nonce": "nonce"}.get(
                claim, "claims"
            )
            raise TokenRefused(reason) from None
        return dict(claims)
