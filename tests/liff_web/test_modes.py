"""Development sign-in stands in for LINE only in development; production has none of it.
The clinic QR link leads into the LIFF app; pages load LINE's SDK in production only."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from authencode.app import create_app
from authencode.reference import FAMILY_RELATIONS
from authencode.settings import Settings
from liff_web.devtools import DevSigner
from tests.support.liff import CHANNEL_ID, JwksServer, World, bearer, new_user_id


def _app(settings: Settings, **changes: Any) -> Any:
    app = create_app(settings.with_overrides(**changes))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def dev_app(settings: Settings) -> Any:
    app = _app(settings, environment="development", line_login_channel_id=None)
    yield app
    app.extensions["authencode"].db.dispose()


@pytest.fixture
def prod_app(settings: Settings) -> Any:
    app = _app(settings, environment="production", liff_id="1657000000-AbCdEfGh")
    yield app
    app.extensions["authencode"].db.dispose()


def test_development_signs_in_without_line(dev_app: Any) -> None:
    client = dev_app.test_client()
    jwks = client.get("/dev/liff/jwks.json").json
    assert jwks["keys"][0]["alg"] == "ES256" and "d" not in jwks["keys"][0]
    issued = client.post("/dev/liff/token", json={}).json
    assert issued["user_id"].startswith("U")
    me = client.get("/liff/api/me", headers=bearer(issued["id_token"]))
    assert me.status_code == 200
    again = client.post("/dev/liff/token", json={"user_id": issued["user_id"]}).json
    assert again["user_id"] == issued["user_id"]
    page = client.get("/liff/").get_data(as_text=True)
    assert "/liff/static/vendor/liff-dev.js" in page and "/dev/liff/token" in page
    assert "static.line-scdn.net" not in page


def test_production_has_no_development_routes(prod_app: Any) -> None:
    client = prod_app.test_client()
    rules = {r.rule for r in prod_app.url_map.iter_rules()}
    assert not [r for r in rules if r.startswith("/dev/")]
    assert client.get("/dev/liff/jwks.json").status_code == 404
    assert client.post("/dev/liff/token", json={}).status_code == 404


def test_production_refuses_development_tokens(
    prod_app: Any, tmp_path: Path, jwks: JwksServer
) -> None:
    forged = DevSigner(tmp_path / "someone-elses-instance").issue(new_user_id())
    response = prod_app.test_client().get("/liff/api/me", headers=bearer(forged))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "LIFF_TOKEN_INVALID"
    # The same server accepts LINE's tokens.
    assert (
        prod_app.test_client()
        .get("/liff/api/me", headers=bearer(jwks.token(new_user_id())))
        .status_code
        == 200
    )


def test_development_with_a_line_channel_uses_line(settings: Settings, jwks: JwksServer) -> None:
    app = _app(settings, environment="development", line_login_channel_id=CHANNEL_ID)
    assert "dev_liff" not in app.blueprints
    assert (
        app.test_client().get("/liff/api/me", headers=bearer(jwks.token(new_user_id()))).status_code
        == 200
    )
    app.extensions["authencode"].db.dispose()


def test_production_pages_load_lines_sdk(prod_app: Any) -> None:
    page = prod_app.test_client().get("/liff/register").get_data(as_text=True)
    assert "https://static.line-scdn.net/liff/edge/2/sdk.js" in page
    assert "liff-dev.js" not in page and "/dev/liff" not in page
    assert "1657000000-AbCdEfGh" in page and '"mode": "line"' in page


def test_every_page_renders_in_thai(client: Any) -> None:
    for path in (
        "/liff/",
        "/liff/request",
        "/liff/consent",
        "/liff/register",
        "/liff/family",
        "/liff/history",
        "/liff/rights",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert '<html lang="th">' in html and 'name="viewport"' in html


def test_family_page_renders_the_relations_of_the_one_definition(client: Any) -> None:
    html = client.get("/liff/family").get_data(as_text=True)
    for relation in FAMILY_RELATIONS:
        assert (
            f'<option value="{relation.code}" data-i18n="relation.{relation.code}">'
            f"{relation.label_th}</option>"
        ) in html
    config = re.search(
        r'<script type="application/json" id="liff-config">(.*?)</script>', html, re.S
    )
    assert config is not None
    relations = json.loads(config.group(1))["reference"]["relations"]
    assert relations == [
        {"code": r.code, "th": r.label_th, "en": r.label_en} for r in FAMILY_RELATIONS
    ]


def test_qr_link_leads_into_the_liff_app(prod_app: Any, client: Any, world: World) -> None:
    url = world.poster_url()
    token = url.rsplit("/", 1)[1]
    local = client.get(f"/q/{token}")
    assert local.status_code == 302
    assert local.headers["Location"] == f"/liff/request?qr={token}"
    assert local.headers["Referrer-Policy"] == "no-referrer"  # the token stays out of referers
    line = prod_app.test_client().get(f"/q/{token}")
    assert line.status_code == 302
    assert line.headers["Location"] == (
        f"https://liff.line.me/1657000000-AbCdEfGh/request?qr={token}"
    )


def test_a_malformed_qr_link_explains_itself(client: Any) -> None:
    response = client.get("/q/not-a-token")
    assert response.status_code == 400
    assert "คิวอาร์โค้ดนี้ไม่ใช่คิวอาร์โค้ดขอรหัส" in response.get_data(as_text=True)
