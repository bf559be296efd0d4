"""`make run` without ThaID: the development provider under /dev/thaid, end to end.

The server runs as `make run` starts it (AUTHENCODE_ENV=development, no LINE and no THAID_*
set), so its ThaID client finds the development provider through discovery over HTTP, on
the same server; a patient verifies a family link from the LIFF family page in headless
Chromium, picking the person on the development provider's page.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authencode.app import create_app
from authencode.crypto import DataProtector
from authencode.models import FamilyLink
from authencode.services import consent
from authencode.settings import Settings
from tests.support.factories import birth_date
from tests.support.liff import World, build_world
from tests.support.live_server import free_port, serve
from tests.support.shared import TEST_DATA_KEY


@pytest.fixture
def dev_server(db_url: str, tmp_path: Path, protector: DataProtector) -> Iterator[World]:
    port = free_port()
    settings = Settings.from_env(
        {
            "AUTHENCODE_ENV": "development",
            "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": db_url,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "DATA_KEY": base64.b64encode(TEST_DATA_KEY).decode(),
        }
    )
    assert settings.thaid_dev_provider and settings.thaid_enabled
    app = create_app(settings)
    try:
        with serve(app, port) as url:
            yield build_world(app.extensions["authencode"].db, protector, url)
    finally:
        app.extensions["authencode"].db.dispose()


def _call(url: str, body: Any, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - local
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server
        return json.loads(response.read())


def test_dev_provider_serves_discovery_and_keys(dev_server: World) -> None:
    base = dev_server.public_base_url
    with urllib.request.urlopen(  # noqa: S310 - the local server
        f"{base}/dev/thaid/.well-known/openid-configuration",
        timeout=10,
    ) as response:
        discovery = json.loads(response.read())
    assert discovery["issuer"] == f"{base}/dev/thaid"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    with urllib.request.urlopen(discovery["jwks_uri"], timeout=10) as response:  # noqa: S310
        [key] = json.loads(response.read())["keys"]
    assert key["kty"] == "RSA" and "d" not in key  # the public half only


def test_newcomer_verifies_a_family_link_with_the_dev_provider(
    dev_server: World, mobile_page: Any, screenshot: Any
) -> None:
    base, page = dev_server.public_base_url, mobile_page
    # The development LIFF sign-in: the server's own signer issues the user's ID token.
    user = _call(f"{base}/dev/liff/token", {})
    token, user_id = user["id_token"], user["user_id"]
    api = f"{base}/liff/api"
    _call(f"{api}/consent", {"decision": "accept", "version": consent.CONSENT_VERSION}, token)
    adult, spouse_cid = dev_server.adult_cid, dev_server.spouse_cid
    _call(
        f"{api}/register",
        {"cid": adult, "birthDate": birth_date(adult), "phone": "0812345678"},
        token,
    )
    spouse = _call(
        f"{api}/members",
        {
            "cid": spouse_cid,
            "birthDate": birth_date(spouse_cid),
            "phone": "0898765432",
            "relation": "spouse",
        },
        token,
    )["member"]

    page.goto(f"{base}/liff/family?dev_user={user_id}")
    page.wait_for_selector("body[data-ready='true']")
    button = page.locator(f"[data-thaid='{spouse['id']}']")
    assert button.inner_text() == "ยืนยันตัวตนด้วย ThaID"
    button.click()
    page.wait_for_url(f"{base}/dev/thaid/authorize?*")
    screenshot(page, "dev-thaid-authorize")
    page.locator("button", has_text=f"({dev_server.spouse_cid})").click()
    page.wait_for_url(f"{base}/liff/thaid/callback?*")
    screenshot(page, "dev-thaid-result")
    assert page.locator("#thaid-result").get_attribute("data-outcome") == "verified"
    assert "สำเร็จ" in page.inner_text("h1")
    with dev_server.session() as session:
        link = session.get(FamilyLink, spouse["id"])
        assert link is not None and link.level == "verified" and link.verified_method == "thaid"
