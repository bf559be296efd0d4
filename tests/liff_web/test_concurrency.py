"""Twenty "add family member" calls at once for one account: never more than five members;
ten accounts registering the same ID as their own at once: one claims it, the others wait.

Real HTTP requests to the live server on PostgreSQL, each in its own thread and its own
server-side transaction; the limit holds because the database enforces it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import func, select

from authencode.models import FamilyLink, LineAccount
from authencode.services import consent
from authencode.settings import Settings
from tests.support.factories import birth_date
from tests.support.liff import JwksServer, World, new_user_id

CALLS = 20


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    # Twenty-one CIDs from one LINE user in a second is past the hourly `cid_lookup` limit;
    # what is tested here is the family cap under concurrency, so that limit is off.
    return live_settings.with_overrides(rate_limits={**live_settings.rate_limits, "cid_lookup": 0})


def _call(base: str, token: str, path: str, body: dict[str, object]) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - the local live server
        f"{base}/liff/api{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_twenty_concurrent_adds_never_exceed_five(
    live_server: str, live_world: World, jwks: JwksServer
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    assert (
        _call(
            live_server,
            token,
            "/consent",
            {"decision": "accept", "version": consent.CONSENT_VERSION},
        )[0]
        == 200
    )
    assert (
        _call(
            live_server,
            token,
            "/register",
            {
                "cid": live_world.adult_cid,
                "phone": "0812345678",
                "birthDate": birth_date(live_world.adult_cid),
            },
        )[0]
        == 200
    )
    start = Barrier(CALLS)

    def add(cid: str) -> tuple[int, dict]:
        start.wait(timeout=30)
        return _call(
            live_server,
            token,
            "/members",
            {
                "cid": cid,
                "phone": "0898765432",
                "relation": "relative",
                "birthDate": birth_date(cid),
            },
        )

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        results = list(pool.map(add, live_world.family_cids[:CALLS]))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 5 + [409] * 15, statuses
    refused = {body["error"]["code"] for status, body in results if status == 409}
    assert refused == {"FAMILY_FULL"}
    with live_world.session() as session:
        account_id = session.scalar(select(LineAccount.id).where(LineAccount.line_user_id == user))
        slots = sorted(
            session.scalars(select(FamilyLink.slot).where(FamilyLink.line_account_id == account_id))
        )
        total = session.scalar(select(func.count()).select_from(FamilyLink))
    assert slots == [0, 1, 2, 3, 4, 5]
    assert total == 6


def test_ten_accounts_registering_one_id_as_their_own_at_once(
    live_server: str, live_world: World, jwks: JwksServer
) -> None:
    tokens = [jwks.token(new_user_id()) for _ in range(10)]
    for token in tokens:
        assert (
            _call(
                live_server,
                token,
                "/consent",
                {"decision": "accept", "version": consent.CONSENT_VERSION},
            )[0]
            == 200
        )
    start = Barrier(len(tokens))
    cid = live_world.spouse_cid

    def register(token: str) -> tuple[int, dict]:
        start.wait(timeout=30)
        return _call(
            live_server,
            token,
            "/register",
            {"cid": cid, "phone": "0812345678", "birthDate": birth_date(cid)},
        )

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        results = list(pool.map(register, tokens))
    assert [status for status, _ in results] == [200] * 10, results
    levels = sorted(body["member"]["level"] for _, body in results)
    assert levels == ["claimed"] + ["pending"] * 9
    assert sum("notice" in body for _, body in results) == 9
    with live_world.session() as session:
        stored = sorted(session.scalars(select(FamilyLink.level).where(FamilyLink.slot == 0)))
    assert stored == levels
