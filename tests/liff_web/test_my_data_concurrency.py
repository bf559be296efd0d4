"""Erasure requests sent at once (a double submit, or two phones): real HTTP requests to the
live server on PostgreSQL, each in its own thread and transaction. One erasure happens, one
audit entry and one chat confirmation are written; the others get that erasure back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import func, select

from authencode.models import AuditEntry, ErasureRequest, FamilyLink, OutboxMessage
from authencode.services import consent
from tests.liff_web.test_concurrency import _call
from tests.support.factories import birth_date
from tests.support.liff import JwksServer, World, new_user_id

CALLS = 4


def test_erasures_sent_at_once_erase_once(
    live_server: str, live_world: World, jwks: JwksServer
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    accept: dict[str, object] = {"decision": "accept", "version": consent.CONSENT_VERSION}
    assert _call(live_server, token, "/consent", accept)[0] == 200
    cid = live_world.adult_cid
    me: dict[str, object] = {"cid": cid, "phone": "0812345678", "birthDate": birth_date(cid)}
    assert _call(live_server, token, "/register", me)[0] == 200
    child = live_world.child_cid
    member: dict[str, object] = {
        "cid": child,
        "phone": "0898765432",
        "birthDate": birth_date(child),
        "relation": "child",
    }
    assert _call(live_server, token, "/members", member)[0] == 201
    start = Barrier(CALLS)

    def erase(_: int) -> tuple[int, dict]:
        start.wait(timeout=30)
        return _call(live_server, token, "/my-data/erase", {"confirm": "erase"})

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        results = list(pool.map(erase, range(CALLS)))

    assert [status for status, _ in results] == [200] * CALLS, results
    assert sorted(body["created"] for _, body in results) == [False] * (CALLS - 1) + [True]
    assert len({body["erasure"]["id"] for _, body in results}) == 1
    with live_world.session() as session:
        assert session.scalar(select(func.count()).select_from(ErasureRequest)) == 1
        erased = select(func.count()).select_from(AuditEntry)
        assert session.scalar(erased.where(AuditEntry.action == "data.erased")) == 1
        assert session.scalar(erased.where(AuditEntry.action == "consent.withdrawn")) == 1
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 0
        pushes = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user))
        told = [p for p in pushes if "ลบข้อมูลของท่าน" in p.payload["messages"][0].get("text", "")]
        assert len(told) == 1
    # Back to unregistered: consent and register again.
    assert _call(live_server, token, "/consent", accept)[0] == 200
    assert _call(live_server, token, "/register", me)[0] == 200
