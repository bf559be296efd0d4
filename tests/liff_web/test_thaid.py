"""Verifying a link through ThaID against a local OpenID provider the tests start.

The application (Flask test client, standing in for the patient's browser on our side) talks
to the provider over real HTTP: discovery, the token endpoint with the PKCE verifier, the
JWKS. The browser's part at the provider (the authorize page and its form) is played with
requests, so every hop a phone makes is a real request.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from authencode.models import AuditEntry, FamilyLink, OutboxMessage, ThaidAuthorization
from authencode.settings import Settings
from liff_web.dev_thaid import DevOpenIdProvider
from tests.support.factories import birth_date
from tests.support.liff import JwksServer, World, bearer, new_user_id, registered, setup_push
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, local_provider

CALLBACK = "http://127.0.0.1:5000/liff/thaid/callback"


@pytest.fixture
def provider() -> Iterator[DevOpenIdProvider]:
    with local_provider(CALLBACK) as provider:
        yield provider


@pytest.fixture
def settings(settings: Settings, provider: DevOpenIdProvider) -> Settings:
    return settings.with_overrides(
        thaid_issuer=provider.issuer, thaid_client_id=CLIENT_ID, thaid_client_secret=CLIENT_SECRET
    )


@dataclass
class Flow:
    """One sign-in started from the LIFF API: the provider URL and what it carries."""

    url: str
    params: dict[str, str]


def start(client: Any, token: str, member_id: int) -> Flow:
    response = client.post(f"/liff/api/members/{member_id}/thaid", headers=bearer(token))
    assert response.status_code == 200, response.json
    url = response.json["authorization_url"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return Flow(url, params)


def at_provider(flow: Flow, cid: str, *, action: str = "confirm") -> str:
    """The patient at the provider: its page, then the form; the callback URL it redirects to."""
    page = requests.get(flow.url, timeout=10)
    assert page.status_code == 200 and "ยืนยัน" in page.text
    answer = requests.post(
        flow.url.split("?")[0],
        data={**flow.params, "cid": cid, "action": action},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK)
    return location[len("http://127.0.0.1:5000") :]


def outcome(response: Any) -> str | None:
    """The refusal code the result page carries (None: verified)."""
    found = re.search(r'data-code="([A-Z_]+)"', response.get_data(as_text=True))
    return found.group(1) if found else None


def link_level(world: World, link_id: int) -> str | None:
    with world.session() as session:
        link = session.get(FamilyLink, link_id)
        return None if link is None else link.level


def pushes(world: World) -> list[OutboxMessage]:
    with world.session() as session:
        return [
            row
            for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if not setup_push(row.payload)
        ]


def family(client: Any, token: str, cid: str, relation: str = "spouse") -> dict[str, Any]:
    response = client.post(
        "/liff/api/members",
        headers=bearer(token),
        json={
            "cid": cid,
            "birthDate": birth_date(cid),
            "phone": "0898765432",
            "relation": relation,
        },
    )
    assert response.status_code == 201, response.json
    return response.json["member"]


def test_family_link_verified_through_thaid(
    client: Any, jwks: JwksServer, world: World, provider: DevOpenIdProvider
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    spouse = family(client, token, world.spouse_cid)
    me = client.get("/liff/api/me", headers=bearer(token)).json
    assert me["thaid"] is True and spouse["level"] == "claimed"

    flow = start(client, token, spouse["id"])
    assert flow.params["code_challenge_method"] == "S256" and flow.params["code_challenge"]
    assert flow.params["nonce"] and flow.params["state"] and flow.params["client_id"] == CLIENT_ID
    assert flow.params["redirect_uri"] == CALLBACK
    page = client.get(at_provider(flow, world.spouse_cid))

    assert page.status_code == 200 and outcome(page) is None, page.get_data(as_text=True)
    assert "ยืนยันตัวตนด้วย ThaID สำเร็จ" in page.get_data(as_text=True)
    with world.session() as session:
        link = session.get(FamilyLink, spouse["id"])
        assert link is not None and link.level == "verified"
        assert link.verified_method == "thaid" and link.verified_by == "thaid"
        actions = session.scalars(select(AuditEntry.action)).all()
        assert "thaid.started" in actions and "link.verified" in actions
    [push] = pushes(world)
    assert "ThaID" in push.payload["messages"][0]["text"]
    listed = client.get("/liff/api/members", headers=bearer(token)).json["members"]
    assert {m["id"]: m["level"] for m in listed}[spouse["id"]] == "verified"
    # The callback cannot be replayed: the authorization is spent.
    again = client.get(f"/liff/thaid/callback?state={flow.params['state']}&code=whatever")
    assert again.status_code == 410 and outcome(again) == "THAID_AUTHORIZATION_EXPIRED"


def test_self_link_reclaimed_through_thaid(
    client: Any, jwks: JwksServer, world: World, provider: DevOpenIdProvider
) -> None:
    """Someone registered the person's CID as their own; the person proves it with ThaID
    from their own LINE account: the impostor's self link goes, both accounts are told."""
    impostor, owner = jwks.token(new_user_id()), jwks.token(new_user_id())
    squatted = registered(client, impostor, world.adult_cid)
    registered(client, owner, world.family_cids[0])  # the owner's account exists
    owner_id = client.get("/liff/api/me", headers=bearer(owner)).json["self"]["id"]
    with world.session() as session, session.begin():
        mine = session.get(FamilyLink, owner_id)
        assert mine is not None
        person = session.get(FamilyLink, squatted["id"]).person  # type: ignore[union-attr]
        # The pending self link the owner gets when their CID is already someone's own.
        session.delete(mine)
        session.flush()
        session.add(
            FamilyLink(
                line_account_id=mine.line_account_id,
                person_id=person.id,
                slot=0,
                relation="self",
                phone="0811111111",
                level="pending",
            )
        )
    pending_id = client.get("/liff/api/me", headers=bearer(owner)).json["self"]["id"]

    page = client.get(at_provider(start(client, owner, pending_id), world.adult_cid))

    assert page.status_code == 200 and outcome(page) is None, page.get_data(as_text=True)
    assert link_level(world, pending_id) == "verified"
    assert link_level(world, squatted["id"]) is None
    assert client.get("/liff/api/me", headers=bearer(impostor)).json["self"] is None
    texts = [p.payload["messages"][0]["text"] for p in pushes(world)]
    # the owner: verified, and the other account's registration removed; the other account told
    assert len(texts) == 3 and any("ThaID" in t for t in texts)
    assert any("ยกเลิกการลงทะเบียนของบัญชีนี้" in t for t in texts)


Tweak = Callable[[dict[str, Any]], dict[str, Any]]


def _claims(**changes: Any) -> Tweak:
    return lambda claims: {**claims, **changes}


def _expired(claims: dict[str, Any]) -> dict[str, Any]:
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).timestamp())
    return {**claims, "iat": past - 600, "exp": past}


TOKEN_REFUSALS = [
    ("wrong issuer", _claims(iss="https://imposter.example"), "THAID_ISSUER_MISMATCH"),
    ("wrong audience", _claims(aud="another-client"), "THAID_AUDIENCE_MISMATCH"),
    ("expired token", _expired, "THAID_TOKEN_EXPIRED"),
    ("wrong nonce", _claims(nonce="not-the-nonce-we-sent"), "THAID_NONCE_MISMATCH"),
    ("no citizen id", lambda c: {k: v for k, v in c.items() if k != "pid"}, "THAID_CID_MISSING"),
]


@pytest.mark.parametrize(
    ("tweak", "code"),
    [(t, c) for _, t, c in TOKEN_REFUSALS],
    ids=[name for name, _, _ in TOKEN_REFUSALS],
)
def test_bad_id_tokens_are_refused(
    client: Any,
    jwks: JwksServer,
    world: World,
    provider: DevOpenIdProvider,
    tweak: Tweak,
    code: str,
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    spouse = family(client, token, world.spouse_cid)
    provider.tweak = tweak
    page = client.get(at_provider(start(client, token, spouse["id"]), world.spouse_cid))
    assert page.status_code == 403 and outcome(page) == code
    assert link_level(world, spouse["id"]) == "claimed" and pushes(world) == []
    assert "ไม่สำเร็จ" in page.get_data(as_text=True)


def test_other_refusals_change_nothing(
    client: Any, jwks: JwksServer, world: World, provider: DevOpenIdProvider
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    spouse = family(client, token, world.spouse_cid)
    link_id = spouse["id"]

    def refused(path: str, status: int, code: str) -> None:
        page = client.get(path)
        assert (page.status_code, outcome(page)) == (status, code), page.get_data(as_text=True)
        body = page.get_data(as_text=True)
        assert re.search("[ก-๙]", body) and 'lang="en"' in body  # Thai, then English
        assert link_level(world, link_id) == "claimed"

    # A tampered state names no sign-in.
    flow = start(client, token, link_id)
    callback = at_provider(flow, world.spouse_cid)
    refused(
        callback.replace(
            flow.params["state"],
            flow.params["state"][:-2] + ("yy" if flow.params["state"].endswith("xx") else "xx"),
        ),
        400,
        "THAID_STATE_INVALID",
    )
    refused("/liff/thaid/callback?code=abc", 400, "THAID_STATE_INVALID")

    # Someone else's citizen ID at ThaID.
    refused(
        at_provider(start(client, token, link_id), world.family_cids[3]), 403, "THAID_CID_MISMATCH"
    )

    # A replayed nonce: the token of an earlier sign-in carries that sign-in's nonce.
    earlier = start(client, token, link_id)
    provider.tweak = _claims(nonce=earlier.params["nonce"])
    refused(
        at_provider(start(client, token, link_id), world.spouse_cid), 403, "THAID_NONCE_MISMATCH"
    )
    provider.tweak = None

    # A stolen code redeemed through another sign-in: our verifier is not the one its
    # challenge was made from, so the provider refuses the exchange (PKCE).
    victim = start(client, token, link_id)
    stolen = parse_qs(urlsplit(at_provider(victim, world.spouse_cid)).query)["code"][0]
    attacker = start(client, token, link_id)
    refused(
        f"/liff/thaid/callback?state={attacker.params['state']}&code={stolen}",
        403,
        "THAID_EXCHANGE_REFUSED",
    )

    # A signature by a key not in the provider's JWKS.
    provider.signing_key = RSAKey.generate_key(2048, private=True)
    refused(
        at_provider(start(client, token, link_id), world.spouse_cid), 403, "THAID_TOKEN_INVALID"
    )
    provider.signing_key = None

    # Cancelled at ThaID.
    refused(
        at_provider(start(client, token, link_id), world.spouse_cid, action="cancel"),
        403,
        "THAID_DENIED",
    )

    # An expired pending authorization.
    late = start(client, token, link_id)
    with world.session() as session, session.begin():
        session.execute(
            update(ThaidAuthorization).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    refused(at_provider(late, world.spouse_cid), 410, "THAID_AUTHORIZATION_EXPIRED")

    # Finished in another browser (no binding cookie): refused, and the state is spent.
    other = start(client, token, link_id)
    callback = at_provider(other, world.spouse_cid)
    client.delete_cookie("thaid_browser", path="/liff/thaid")
    refused(callback, 403, "THAID_BROWSER_MISMATCH")
    refused(callback, 410, "THAID_AUTHORIZATION_EXPIRED")
    assert pushes(world) == []


def test_guardian_of_a_child_must_go_to_the_counter(
    client: Any, jwks: JwksServer, world: World, provider: DevOpenIdProvider
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    child = family(client, token, world.child_cid, relation="child")
    response = client.post(f"/liff/api/members/{child['id']}/thaid", headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "THAID_MINOR_COUNTER_ONLY"
    assert "จุดบริการ" in response.json["error"]["message_th"]
    # Someone else's link is not found; a verified link needs nothing more.
    stranger = jwks.token(new_user_id())
    assert (
        client.post(f"/liff/api/members/{child['id']}/thaid", headers=bearer(stranger)).status_code
        == 404
    )


def test_flow_is_off_when_not_configured(
    jwks: JwksServer, world: World, settings: Settings
) -> None:
    from authencode.app import create_app

    app = create_app(
        settings.with_overrides(thaid_issuer=None, thaid_client_id=None, thaid_client_secret=None)
    )
    try:
        client: Any = app.test_client()
        token = jwks.token(new_user_id())
        me = registered(client, token, world.adult_cid)
        assert client.get("/liff/api/me", headers=bearer(token)).json["thaid"] is False
        response = client.post(f"/liff/api/members/{me['id']}/thaid", headers=bearer(token))
        assert response.status_code == 404
        assert response.json["error"]["code"] == "THAID_NOT_CONFIGURED"
        page = client.get("/liff/thaid/callback?state=x&code=y")
        assert page.status_code == 404 and outcome(page) == "THAID_NOT_CONFIGURED"
        assert client.get("/dev/thaid/.well-known/openid-configuration").status_code == 404
    finally:
        app.extensions["authencode"].db.dispose()


def test_route_is_in_openapi(client: Any) -> None:
    paths = client.get("/openapi.json").json["paths"]
    assert "post" in paths["/liff/api/members/{member_id}/thaid"]
