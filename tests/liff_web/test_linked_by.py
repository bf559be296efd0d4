"""The person's own say through /liff/api: who has linked me, removing a link, approving or
declining a pending one, and "this was not me" about a code, which the facility then sees on
its records page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import AuditEntry, Facility, FamilyLink, LineAccount, OutboxMessage
from authencode.passwords import hash_password
from authencode.services import line_accounts, link_trust
from authencode.services.people import find_person
from linebot_app import notify
from tests.support.clinic import PASSWORD, ClinicClient
from tests.support.factories import birth_date, make_staff
from tests.support.liff import JwksServer, World, bearer, new_user_id, registered


def _verify_self(db: Database, user_id: str) -> None:
    with db.transaction() as session:
        account, _ = line_accounts.get_or_create_account(session, user_id)
        link = session.scalar(
            select(FamilyLink).where(FamilyLink.line_account_id == account.id, FamilyLink.slot == 0)
        )
        assert link is not None
        link_trust.verify_link(session, link, method="counter", actor="staff:1")


def _pushes_to(db: Database, user_id: str) -> list[dict[str, Any]]:
    with db.sessionmaker() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == user_id, OutboxMessage.kind == "push")
            .order_by(OutboxMessage.id)
        )
        return [m for row in rows for m in row.payload["messages"]]


def _link_of(db: Database, user_id: str, cid_person: int) -> FamilyLink | None:
    with db.sessionmaker() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == user_id))
        assert account is not None
        return session.scalar(
            select(FamilyLink).where(
                FamilyLink.line_account_id == account.id, FamilyLink.person_id == cid_person
            )
        )


def _person_id(db: Database, protector: DataProtector, cid: str) -> int:
    with db.sessionmaker() as session:
        person = find_person(session, protector, cid)
        assert person is not None
        return person.id


def test_the_attack_is_told_and_undone_by_the_person(
    client: Any, app: Any, jwks: JwksServer, world: World, protector: DataProtector
) -> None:
    db = app.extensions["authencode"].db
    owner, stranger = new_user_id(), new_user_id()
    owner_token, stranger_token = jwks.token(owner), jwks.token(stranger)
    registered(client, owner_token, world.adult_cid)
    _verify_self(db, owner)
    registered(client, stranger_token, world.spouse_cid)

    added = client.post(
        "/liff/api/members",
        headers=bearer(stranger_token),
        json={
            "cid": world.adult_cid,
            "birthDate": birth_date(world.adult_cid),
            "phone": "0898765432",
            "relation": "child",
        },
    )
    assert added.status_code == 201, added.json
    told = _pushes_to(db, owner)[-1]
    assert "บัญชี LINE อื่น" in told["text"] and "บุตร" in told["text"]

    # Only the person's verified own account sees who linked them.
    refused = client.get("/liff/api/linked-by", headers=bearer(stranger_token))
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "LINK_NOT_VERIFIED"
    listing = client.get("/liff/api/linked-by", headers=bearer(owner_token)).json
    [entry] = listing["links"]
    assert (entry["account_th"], entry["relation"]) == ("บัญชี LINE อื่น", "child")
    assert entry["since_be"].endswith(str(int(entry["since"][:4]) + 543))
    assert listing["codes"] == []

    # Say the stranger's link got verified (at a counter): a code in the person's name.
    adult = _person_id(db, protector, world.adult_cid)
    with db.transaction() as session:
        link = session.get(FamilyLink, entry["id"])
        assert link is not None
        link_trust.verify_link(session, link, method="counter", actor="staff:1")
    issued = client.post(
        "/liff/api/codes",
        headers=bearer(stranger_token),
        json={"member_id": entry["id"], "scanned": world.poster_url()},
    )
    assert issued.status_code == 201, issued.json
    code = issued.json["code"]["code"]
    notice, carousel = _pushes_to(db, owner)[-2:]
    assert "ผ่านบัญชี LINE อื่น" in notice["text"] and code in carousel["altText"]

    [shown] = client.get("/liff/api/linked-by", headers=bearer(owner_token)).json["codes"]
    assert (shown["code"], shown["disputed"]) == (code, False)
    not_me = client.post(
        "/liff/api/not-me", headers=bearer(owner_token), json={"code_id": shown["id"]}
    )
    assert not_me.status_code == 200, not_me.json
    assert not_me.json["flagged"] == [code] and not_me.json["removed_link"] is True
    assert _link_of(db, stranger, adult) is None
    after = client.get("/liff/api/linked-by", headers=bearer(owner_token)).json
    assert after["links"] == [] and after["codes"][0]["disputed"] is True
    # The stranger no longer sees the person's codes.
    history = client.get("/liff/api/codes", headers=bearer(stranger_token)).json["history"]
    assert code not in [c["code"] for c in history]

    # The facility sees the flag on its records page and on the record.
    with db.transaction() as session:
        facility = session.get(Facility, world.facility_id)
        make_staff(
            session,
            protector,
            facility,
            username="clerk",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
    staff = ClinicClient(client)
    staff.login("clerk")
    page = staff.get("/clinic/facilities/10675/records").get_data(as_text=True)
    row = page[page.index(f'data-code="{code}"') :]
    row = row[: row.index("</tr>")]
    assert "ผู้มีสิทธิแจ้งว่าไม่ได้ขอรหัสนี้" in row
    assert page.count("ผู้มีสิทธิแจ้งว่าไม่ได้ขอรหัสนี้") == 1
    with db.sessionmaker() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert {"code.disputed", "link.not_me"} <= set(actions)


def _pending(db: Database, protector: DataProtector, user_id: str, cid: str) -> int:
    with db.transaction() as session:
        account, _ = line_accounts.get_or_create_account(session, user_id)
        person = find_person(session, protector, cid)
        assert person is not None
        link = FamilyLink(
            line_account_id=account.id,
            person_id=person.id,
            slot=1,
            relation="parent",
            phone="0898765432",
            level="pending",
        )
        session.add(link)
        session.flush()
        notify.link_added(session, link)
        return link.id


def test_approving_declining_and_removing_from_the_page(
    client: Any, app: Any, jwks: JwksServer, world: World, protector: DataProtector
) -> None:
    db = app.extensions["authencode"].db
    owner = new_user_id()
    token = jwks.token(owner)
    registered(client, token, world.adult_cid)
    _verify_self(db, owner)
    approve_id = _pending(db, protector, new_user_id(), world.adult_cid)
    decline_id = _pending(db, protector, new_user_id(), world.adult_cid)
    remove_id = _pending(db, protector, new_user_id(), world.adult_cid)

    links = {
        e["id"]: e for e in client.get("/liff/api/linked-by", headers=bearer(token)).json["links"]
    }
    assert set(links) == {approve_id, decline_id, remove_id}
    assert all(e["level"] == "pending" and e["approval_id"] for e in links.values())

    bad = client.post(
        f"/liff/api/approvals/{links[approve_id]['approval_id']}",
        headers=bearer(token),
        json={"decision": "maybe"},
    )
    assert bad.status_code == 400
    ok = client.post(
        f"/liff/api/approvals/{links[approve_id]['approval_id']}",
        headers=bearer(token),
        json={"decision": "approve"},
    )
    assert ok.status_code == 200, ok.json
    no = client.post(
        f"/liff/api/approvals/{links[decline_id]['approval_id']}",
        headers=bearer(token),
        json={"decision": "decline"},
    )
    assert no.status_code == 200, no.json
    gone = client.post(
        f"/liff/api/approvals/{links[decline_id]['approval_id']}",
        headers=bearer(token),
        json={"decision": "approve"},
    )
    assert gone.status_code == 404 and gone.json["error"]["code"] == "APPROVAL_GONE"
    removed = client.delete(f"/liff/api/linked-by/{remove_id}", headers=bearer(token))
    assert removed.status_code == 200

    [left] = client.get("/liff/api/linked-by", headers=bearer(token)).json["links"]
    assert (left["id"], left["level"], left["approval_id"]) == (approve_id, "verified", None)
    # Neither the person's own link nor a link to someone else can be removed this way.
    assert client.delete("/liff/api/linked-by/999999", headers=bearer(token)).status_code == 404
    me = client.get("/liff/api/me", headers=bearer(token)).json["self"]
    assert (
        client.delete(f"/liff/api/linked-by/{me['id']}", headers=bearer(token)).status_code == 404
    )


def test_odd_ids_are_refused_cleanly(client: Any, app: Any, jwks: JwksServer, world: World) -> None:
    db = app.extensions["authencode"].db
    owner = new_user_id()
    token = jwks.token(owner)
    registered(client, token, world.adult_cid)
    _verify_self(db, owner)
    for odd in ("abc", "-1", "0", str(2**40), "1.5"):
        removed = client.delete(f"/liff/api/linked-by/{odd}", headers=bearer(token))
        assert removed.status_code == 404, (odd, removed.json)
        decided = client.post(
            f"/liff/api/approvals/{odd}", headers=bearer(token), json={"decision": "approve"}
        )
        assert decided.json["error"]["code"] == "APPROVAL_GONE", odd
    for bad in ("abc", -1, 2**40, 1.5, True, None, [1]):
        not_me = client.post("/liff/api/not-me", headers=bearer(token), json={"code_id": bad})
        assert not_me.status_code == 404, (bad, not_me.json)
