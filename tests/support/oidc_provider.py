"""A local OpenID provider on its own port: the development ThaID provider's code, served by
a small Flask app of its own, with a fresh RSA key and knobs to misbehave for a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from joserfc.jwk import RSAKey

from liff_web.dev_thaid import DevOpenIdProvider, provider_blueprint
from tests.support.live_server import free_port, serve

CLIENT_ID = "authencode-test-client"
CLIENT_SECRET = "test-client-secret-0123456789"


@contextmanager
def local_provider(redirect_uri: str) -> Iterator[DevOpenIdProvider]:
    """A provider at http://127.0.0.1:<port>/op for one client with one redirect URI."""
    port = free_port()
    provider = DevOpenIdProvider(
        issuer=f"http://127.0.0.1:{port}/op",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=(redirect_uri,),
        key=RSAKey.generate_key(2048, private=True),
    )
    app = Flask("test_oidc_provider")
    app.register_blueprint(provider_blueprint(provider, "/op"))
    with serve(app, port):
        yield provider
