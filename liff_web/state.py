"""What the LIFF front end keeps per process: the ID token verifier and the ThaID client."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from authencode.oidc import OpenIdClient, ProviderConfig
from authencode.settings import Settings
from liff_web.auth import IdTokenVerifier, JwksCache, StaticKeys
from liff_web.devtools import DEV_CHANNEL_ID, DevSigner


@dataclass
class LiffState:
    verifier: IdTokenVerifier
    dev_signer: DevSigner | None = None
    thaid: OpenIdClient | None = None  # None: ThaID is not configured


THAID_CALLBACK_PATH = "/liff/thaid/callback"


def liff_state() -> LiffState:
    return current_app.extensions["liff"]


def dev_login_enabled(settings: Settings) -> bool:
    """Development without a LINE Login channel: the server's own signer stands in for LINE."""
    return settings.environment == "development" and not settings.line_login_channel_id


def make_thaid_client(settings: Settings) -> OpenIdClient | None:
    """The ThaID client, or None when ThaID is not configured."""
    if not (settings.thaid_enabled and settings.thaid_issuer and settings.thaid_client_id):
        return None
    return OpenIdClient(
        ProviderConfig(
            issuer=settings.thaid_issuer,
            client_id=settings.thaid_client_id,
            client_secret=settings.thaid_client_secret,
            scopes=settings.thaid_scopes,
            redirect_uri=settings.public_base_url + THAID_CALLBACK_PATH,
            authorize_url=settings.thaid_authorize_url,
            token_url=settings.thaid_token_url,
            jwks_url=settings.thaid_jwks_url,
        )
    )


def make_state(settings: Settings) -> LiffState:
    """The verifier for LINE's keys (or, in development without LINE, the dev signer's)."""
    thaid = make_thaid_client(settings)
    if dev_login_enabled(settings):
        signer = DevSigner(settings.instance_path)
        verifier = IdTokenVerifier(StaticKeys(signer.jwks()), DEV_CHANNEL_ID)
        return LiffState(verifier=verifier, dev_signer=signer, thaid=thaid)
    verifier = IdTokenVerifier(JwksCache(settings.line_jwks_url), settings.line_login_channel_id)
    return LiffState(verifier=verifier, thaid=thaid)
