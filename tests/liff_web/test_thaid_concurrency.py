"""ThaID callbacks racing on PostgreSQL, through the live server: a sign-in is used once, and
two accounts proving to be the same person at once end with one verified self link."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from authencode.models import FamilyLink, LineAccount
from authencode.services import consent
from authencode.settings import Settings
from liff_web.dev_thaid import DevOpenIdProvider
from tests.support.factories import birth_date
from tests.support.liff import JwksServer, World, bearer, new_user_id
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, local_provider


@pytest.fixture
def provider(live_port: int) -> Iterator[DevOpenIdProvider]:
    with local_provider(f"http://127.0.0.1:{live_port}/liff/thaid/callback") as provider:
        yield provider


@pytest.fixture
def live_settings(live_settings: Settings, provider: DevOpenIdProvider) -> Settings:
    return live_settings.with_overrides(
        thaid_issuer=provider.issuer, thaid_client_id=CLIENT_ID, thaid_client_secret=CLIENT_SECRET
    )


def _browser(base: str, token: str) -> requests.Session:
    browser = requests.Session()
    browser.headers.update(bearer(token))
    answer = browser.post(
        f"{base}/liff/api/consent",
        timeout=10,
        json={"decision": "accept", "version": consent.CONSENT_VERSION},
    )
    assert answer.status_code == 200
    return browser


def _callback(base: str, browser: requests.Session, link_id: int, cid: str) -> str:
    """Start a sign-in in this browser and pass ThaID; the callback URL, not yet opened."""
    started = browser.post(f"{base}/liff/api/members/{link_id}/thaid", timeout=10)
    assert started.status_code == 200, started.text
    url = started.json()["authorization_url"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = requests.post(
        url.split("?")[0],
        data={**params, "cid": cid, "action": "confirm"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    return str(answer.headers["Location"])


def _race(calls: list[tuple[requests.Session, str]]) -> list[int]:
    barrier = Barrier(len(calls))

    def call(item: tuple[requests.Session, str]) -> int:
        browser, url = item
        barrier.wait()
        return browser.get(url, timeout=30).status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(call, calls))


def _pending_self_link(world: World, browser: requests.Session, base: str, user_id: str) -> int:
    """A pending self link of the account to the person someone else registered as their
    own (what an account gets when it types a CID that is already someone's own)."""
    browser.get(f"{base}/liff/api/me", timeout=10)  # the account exists
    with world.session() as session, session.begin():
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == user_id))
        person_id = session.scalar(select(FamilyLink.person_id).where(FamilyLink.slot == 0))
        assert account is not None and person_id is not None
        link = FamilyLink(
            line_account_id=account.id,
            person_id=person_id,
            slot=0,
            relation="self",
            phone="0811111111",
            level="pending",
        )
        session.add(link)
        session.flush()
        return link.id


def test_one_sign_in_is_used_once(live_server: str, live_world: World, jwks: JwksServer) -> None:
    browser = _browser(live_server, jwks.token(new_user_id()))
    me = browser.post(
        f"{live_server}/liff/api/register",
        timeout=10,
        json={
            "cid": live_world.adult_cid,
            "birthDate": birth_date(live_world.adult_cid),
            "phone": "0812345678",
        },
    ).json()["member"]
    link_id = browser.post(
        f"{live_server}/liff/api/members",
        timeout=10,
        json={
            "cid": live_world.spouse_cid,
            "birthDate": birth_date(live_world.spouse_cid),
            "phone": "0898765432",
            "relation": "spouse",
        },
    ).json()["member"]["id"]
    assert me["level"] == "claimed"
    url = _callback(live_server, browser, link_id, live_world.spouse_cid)
    assert sorted(_race([(browser, url)] * 4)) == [200, 410, 410, 410]


def test_two_accounts_reclaiming_one_person_at_once(
    live_server: str, live_world: World, jwks: JwksServer
) -> None:
    squatter = _browser(live_server, jwks.token(new_user_id()))
    assert (
        squatter.post(
            f"{live_server}/liff/api/register",
            timeout=10,
            json={
                "cid": live_world.adult_cid,
                "birthDate": birth_date(live_world.adult_cid),
                "phone": "0812345678",
            },
        ).status_code
        == 200
    )
    racers = []
    for _ in range(2):
        user_id = new_user_id()
        browser = _browser(live_server, jwks.token(user_id))
        link_id = _pending_self_link(live_world, browser, live_server, user_id)
        racers.append((browser, _callback(live_server, browser, link_id, live_world.adult_cid)))
    assert sorted(_race(racers)) == [200, 404]
    with live_world.session() as session:
        links = session.scalars(select(FamilyLink).where(FamilyLink.slot == 0)).all()
        assert [link.level for link in links] == ["verified"]
