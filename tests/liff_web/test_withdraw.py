"""Withdrawing consent on the LIFF pages (/liff/api/consent/withdraw, issue 21 item 4): what
goes (links, an unfinished dialogue) and what stays (codes, the consent history, the audit
log), told in the chat once; only ever the token holder's own consent; a double submit or
parallel requests on PostgreSQL withdraw once. Also the terms the page shows, and the QR
preview the request page shows before asking for a code."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select

from authencode.db import Database, utcnow
from authencode.models import (
    AuditEntry,
    AuthenCode,
    ChatConversation,
    ConsentRecord,
    FamilyLink,
    LineAccount,
    OutboxMessage,
)
from authencode.services import consent, conversations
from tests.liff_web.test_concurrency import _call
from tests.support.factories import birth_date
from tests.support.liff import (
    FORGERIES,
    JwksServer,
    World,
    bearer,
    forged_headers,
    new_user_id,
    registered,
)

WITHDRAW = {"confirm": "withdraw"}


def _db(app: Any) -> Database:
    return app.extensions["authencode"].db


def _withdraw(client: Any, token: str, body: Any = WITHDRAW) -> Any:
    return client.post("/liff/api/consent/withdraw", headers=bearer(token), json=body)


def _pushes_told(session: Any, user: str) -> list[OutboxMessage]:
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user))
    return [row for row in rows if "ถอนความยินยอมเรียบร้อยแล้ว" in str(row.payload["messages"])]


def test_withdrawal_removes_links_keeps_codes_and_is_told_in_the_chat_once(
    client: Any, app: Any, jwks: JwksServer, world: World, protector: Any
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    me = registered(client, token, world.adult_cid)
    added = client.post(
        "/liff/api/members",
        headers=bearer(token),
        json={
            "cid": world.child_cid,
            "phone": "0898765432",
            "birthDate": birth_date(world.child_cid),
            "relation": "child",
        },
    )
    assert added.status_code == 201
    issued = client.post(
        "/liff/api/codes",
        headers=bearer(token),
        json={"member_id": me["id"], "scanned": world.display_url()},
    )
    assert issued.status_code == 201
    with _db(app).transaction() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == user))
        assert account is not None
        conversations.start(session, protector, account, "register", "cid", utcnow())

    # The page shows what goes and what stays (and why) before asking.
    terms = client.get("/liff/api/my-data", headers=bearer(token)).json["withdrawal_terms"]
    assert {k["kind"] for k in terms["keeps"]} == {"codes", "consent_records", "audit_log"}
    assert all(k["why_th"] and k["why_en"] for k in terms["keeps"])
    assert "links" in {r["kind"] for r in terms["removes"]}
    assert "30" in terms["note_th"]

    done = _withdraw(client, token)
    assert done.status_code == 200, done.json
    assert done.json["created"] is True
    assert done.json["decided_at"]["th"][6:8] == "25"  # Buddhist era in Thai ...
    assert done.json["decided_at"]["en"][6:8] == "20"  # ... the Common Era in English
    again = _withdraw(client, token)  # a double tap
    assert again.status_code == 200 and again.json["created"] is False

    with _db(app).sessionmaker() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == user))
        assert account is not None and account.consent_version is None
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 0
        assert session.scalar(select(func.count()).select_from(ChatConversation)) == 0
        # Kept: the code (claims), the consent history with the withdrawal, the audit log.
        assert session.scalar(select(func.count()).select_from(AuthenCode)) == 1
        decisions = session.scalars(
            select(ConsentRecord.decision).where(ConsentRecord.line_account_id == account.id)
        ).all()
        assert sorted(decisions) == ["accepted", "withdrawn"]
        withdrawn = select(func.count()).select_from(AuditEntry)
        assert session.scalar(withdrawn.where(AuditEntry.action == "consent.withdrawn")) == 1
        [told] = _pushes_told(session, user)
        assert told.payload.get("sync_rich_menu") is True  # back to the guest menu first

    # Back to unregistered: the pages ask for consent again; the account can come back.
    me_now = client.get("/liff/api/me", headers=bearer(token)).json
    assert me_now["consent"]["given"] is False and me_now["self"] is None
    registered(client, token, world.adult_cid)


def test_withdrawal_wants_a_confirmation_and_consent_to_withdraw(
    client: Any, jwks: JwksServer, world: World
) -> None:
    token = jwks.token(new_user_id())
    never = _withdraw(client, token)
    assert never.status_code == 409
    assert never.json["error"]["code"] == "CONSENT_NOT_GIVEN"
    assert never.json["error"]["message_th"]
    registered(client, token, world.adult_cid)
    bodies: tuple[object, ...] = (
        None,
        [],
        {"confirm": "yes"},
        {"confirm": True},
        {"confirm": "erase"},
    )
    for body in bodies:
        refused = _withdraw(client, token, body)
        assert refused.status_code == 400, body
        assert refused.json["error"]["message_th"]
    assert client.get("/liff/api/me", headers=bearer(token)).json["consent"]["given"] is True


@pytest.mark.parametrize("forge", FORGERIES)
def test_a_forged_or_expired_token_withdraws_nothing(
    client: Any, app: Any, jwks: JwksServer, world: World, forge: str
) -> None:
    holder = new_user_id()
    registered(client, jwks.token(holder), world.adult_cid)
    headers = forged_headers(jwks, holder, forge)
    refused = client.post("/liff/api/consent/withdraw", headers=headers, json=WITHDRAW)
    assert refused.status_code == 401 and refused.json["error"]["message_th"]
    with _db(app).sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 1
        withdrawn = ConsentRecord.decision == "withdrawn"
        assert session.scalar(select(func.count()).select_from(ConsentRecord).where(withdrawn)) == 0


def test_another_accounts_token_withdraws_only_its_own_consent(
    client: Any, app: Any, jwks: JwksServer, world: World
) -> None:
    holder, other = new_user_id(), new_user_id()
    registered(client, jwks.token(holder), world.adult_cid)
    registered(client, jwks.token(other), world.spouse_cid, phone="0811111111")
    # The body names nobody: the account is the token's `sub`, whatever else is sent.
    sneaky = {**WITHDRAW, "line_user_id": holder, "account_id": 1}
    assert _withdraw(client, jwks.token(other), sneaky).status_code == 200
    assert client.get("/liff/api/me", headers=bearer(jwks.token(holder))).json["consent"]["given"]
    with _db(app).sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 1
        assert _pushes_told(session, holder) == []


CALLS = 4


def test_withdrawals_sent_at_once_withdraw_once(
    live_server: str, live_world: World, jwks: JwksServer
) -> None:
    """A double submit or two phones at once, on PostgreSQL: one withdrawal, one record, one
    audit entry, one message in the chat; the others get that withdrawal back."""
    user = new_user_id()
    token = jwks.token(user)
    accept: dict[str, object] = {"decision": "accept", "version": consent.CONSENT_VERSION}
    assert _call(live_server, token, "/consent", accept)[0] == 200
    cid = live_world.adult_cid
    me: dict[str, object] = {"cid": cid, "phone": "0812345678", "birthDate": birth_date(cid)}
    assert _call(live_server, token, "/register", me)[0] == 200
    start = Barrier(CALLS)

    def withdraw(_: int) -> tuple[int, dict]:
        start.wait(timeout=30)
        return _call(live_server, token, "/consent/withdraw", dict(WITHDRAW))

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        results = list(pool.map(withdraw, range(CALLS)))

    assert [status for status, _ in results] == [200] * CALLS, results
    assert sorted(body["created"] for _, body in results) == [False] * (CALLS - 1) + [True]
    assert len({body["decided_at"]["th"] for _, body in results}) == 1
    with live_world.session() as session:
        withdrawn = ConsentRecord.decision == "withdrawn"
        assert session.scalar(select(func.count()).select_from(ConsentRecord).where(withdrawn)) == 1
        audited = select(func.count()).select_from(AuditEntry)
        assert session.scalar(audited.where(AuditEntry.action == "consent.withdrawn")) == 1
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 0
        assert len(_pushes_told(session, user)) == 1


def test_the_qr_preview_names_the_clinic_and_service_and_refuses_a_dead_qr(
    client: Any, jwks: JwksServer, world: World
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)

    def preview(scanned: str, headers: dict[str, str] | None = None) -> Any:
        return client.get(
            "/liff/api/qr",
            query_string={"scanned": scanned},
            headers=bearer(token) if headers is None else headers,
        )

    shown = preview(world.display_url("PG0090001"))
    assert shown.status_code == 200, shown.json
    assert shown.json["facility_name"] == "รพ.สต.บ้านทดสอบ"
    assert shown.json["service_code"] == "PG0090001"
    assert shown.json["service_name_th"] and shown.json["service_name_en"]
    assert shown.json["expires_at"]["en"][6:8] == "20"
    assert preview(world.poster_url()).json["expires_at"] is None
    expired = preview(world.expired_display_url())
    assert expired.status_code == 410 and expired.json["error"]["code"] == "QR_EXPIRED"
    assert preview(world.forged_url()).json["error"]["code"] == "QR_FORGED"
    assert preview("https://example.com/not-a-clinic").json["error"]["code"] == "QR_MALFORMED"
    assert preview(world.display_url(), headers={}).status_code == 401
    # Nothing is issued by looking.
    assert client.get("/liff/api/codes", headers=bearer(token)).json["today"] == []


def test_a_refused_right_is_named_not_coded(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    client.post(
        "/liff/api/consent",
        headers=bearer(token),
        json={"decision": "accept", "version": consent.CONSENT_VERSION},
    )
    refused = client.post(
        "/liff/api/register",
        headers=bearer(token),
        json={
            "cid": world.officer_cid,
            "phone": "0812345678",
            "birthDate": birth_date(world.officer_cid),
        },
    )
    assert refused.status_code == 422
    error = refused.json["error"]
    assert "สิทธิสวัสดิการการรักษาพยาบาลของข้าราชการ" in error["message_th"]
    assert "Civil servants" in error["message"]
    assert "OFC" not in error["message_th"] and "is OFC" not in error["message"]
