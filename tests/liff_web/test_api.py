"""/liff/api end to end through the app: consent, registration, family, codes, rights."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from authencode.models import AuthenCode, OutboxMessage
from authencode.services import consent
from tests.support.factories import birth_date
from tests.support.liff import (
    JwksServer,
    World,
    bearer,
    consented,
    new_user_id,
    registered,
    setup_push,
)


def _outbox(world: World, *, with_consent: bool = False) -> list[OutboxMessage]:
    """Queued LINE messages; the set-up's confirmations (consent, registration) left out."""
    with world.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [row for row in rows if with_consent or not setup_push(row.payload)]


def test_consent_decline_then_accept(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    text = client.get("/liff/api/consent", headers=bearer(token)).json
    assert text["version"] == consent.CONSENT_VERSION and "1330" in text["text_th"]
    refused = client.post(
        "/liff/api/register",
        headers=bearer(token),
        json={"cid": world.adult_cid, "phone": "0812345678"},
    )
    assert refused.status_code == 403 and refused.json["error"]["code"] == "CONSENT_REQUIRED"
    declined = client.post(
        "/liff/api/consent",
        headers=bearer(token),
        json={"decision": "decline", "version": text["version"]},
    )
    assert declined.status_code == 200 and declined.json["given"] is False
    stale = client.post(
        "/liff/api/consent",
        headers=bearer(token),
        json={"decision": "accept", "version": "1999-01"},
    )
    assert stale.status_code == 409 and stale.json["error"]["code"] == "CONSENT_VERSION_STALE"
    bad = client.post("/liff/api/consent", headers=bearer(token), json={"decision": "maybe"})
    assert bad.status_code == 400
    assert _outbox(world, with_consent=True) == []
    consented(client, token)
    assert client.get("/liff/api/me", headers=bearer(token)).json["consent"]["given"] is True
    # The chat gets a confirmation that also switches the rich menu (done by the worker).
    [push] = _outbox(world, with_consent=True)
    assert push.kind == "push" and push.payload.get("sync_rich_menu") is True


def test_register_self_answers_masked_data(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    member = registered(client, token, world.adult_cid, "081-234-5678")
    assert member["is_self"] and member["slot"] == 0
    assert (
        member["masked_cid"] == f"{world.adult_cid[0]}-{world.adult_cid[1:5]}-xxxxx-"
        f"{world.adult_cid[10:12]}-{world.adult_cid[12]}"
    )
    assert member["phone_masked"] == "081-xxx-5678"
    # Typed, not proven: whether the right allows the service, not which right it is.
    assert (member["level"], member["level_th"]) == ("claimed", "ยังไม่ยืนยันตัวตน")
    assert member["eligible"] is True and member["main_right"] is None
    assert "ThaID" in member["level_note_th"]
    me = client.get("/liff/api/me", headers=bearer(token)).json
    assert me["self"]["id"] == member["id"] and me["max_family"] == 5
    body = client.get("/liff/api/me", headers=bearer(token)).get_data(as_text=True)
    assert world.adult_cid not in body and "0812345678" not in body


def test_registration_refusals_are_clear(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    consented(client, token)

    def form(cid: str, phone: str = "0812345678") -> dict[str, str]:
        return {"cid": cid, "phone": phone, "birthDate": birth_date(cid)}

    cases = [
        (form("1234567890123"), 400, "CID_CHECK_DIGIT"),
        (form(world.teen_cid), 422, "AGE_TOO_YOUNG"),
        (form(world.officer_cid), 422, "RIGHT_NOT_ELIGIBLE"),
        (form(world.adult_cid, "12345"), 400, "PHONE_INVALID"),
        ({"cid": world.adult_cid, "phone": "0812345678"}, 400, "BIRTH_DATE_REQUIRED"),
        ({**form(world.adult_cid), "birthDate": "31/02/2533"}, 400, "BIRTH_DATE_INVALID"),
    ]
    for body, status, code in cases:
        response = client.post("/liff/api/register", headers=bearer(token), json=body)
        assert response.status_code == status, body
        assert response.json["error"]["code"] == code
        assert response.json["error"]["message_th"]
    garbage = client.post(
        "/liff/api/register",
        headers=bearer(token),
        data="not json",
        content_type="application/json",
    )
    assert garbage.status_code == 400 and garbage.json["error"]["code"] == "BAD_REQUEST"
    # Someone else's own CID: a pending link, and how to move it here.
    registered(client, jwks.token(new_user_id()), world.spouse_cid)
    taken = client.post("/liff/api/register", headers=bearer(token), json=form(world.spouse_cid))
    assert taken.status_code == 200 and taken.json["member"]["level"] == "pending"
    assert taken.json["member"]["name"] is None and taken.json["member"]["eligible"] is None
    notice = taken.json["notice"]["message_th"]
    assert "บัญชี LINE อื่น" in notice and "ThaID" in notice and "1330" not in notice


def test_family_add_list_remove(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    added = []
    for cid in [world.child_cid, *world.family_cids[:4]]:
        response = client.post(
            "/liff/api/members",
            headers=bearer(token),
            json={
                "cid": cid,
                "phone": "0898765432",
                "relation": "child",
                "birthDate": birth_date(cid),
            },
        )
        assert response.status_code == 201, response.json
        added.append(response.json["member"])
    sixth = client.post(
        "/liff/api/members",
        headers=bearer(token),
        json={
            "cid": world.family_cids[5],
            "phone": "0898765432",
            "relation": "relative",
            "birthDate": birth_date(world.family_cids[5]),
        },
    )
    assert sixth.status_code == 409 and sixth.json["error"]["code"] == "FAMILY_FULL"
    listed = client.get("/liff/api/members", headers=bearer(token)).json["members"]
    assert [m["slot"] for m in listed] == [0, 1, 2, 3, 4, 5]
    gone = client.delete(f"/liff/api/members/{added[0]['id']}", headers=bearer(token))
    assert gone.status_code == 200
    again = client.post(
        "/liff/api/members",
        headers=bearer(token),
        json={
            "cid": world.family_cids[5],
            "phone": "0898765432",
            "relation": "relative",
            "birthDate": birth_date(world.family_cids[5]),
        },
    )
    assert again.status_code == 201 and again.json["member"]["slot"] == 1
    # Another account cannot touch these members.
    stranger = jwks.token(new_user_id())
    registered(client, stranger, world.spouse_cid)
    response = client.delete(f"/liff/api/members/{added[1]['id']}", headers=bearer(stranger))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "FAMILY_MEMBER_NOT_FOUND"


def test_scan_issues_one_code_a_day_and_pushes_it_once(
    client: Any, jwks: JwksServer, world: World
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    me = registered(client, token, world.adult_cid)
    world.verify(user)  # a poster needs a verified link
    url = world.poster_url()
    first = client.post(
        "/liff/api/codes", headers=bearer(token), json={"member_id": me["id"], "scanned": url}
    )
    assert first.status_code == 201 and first.json["created"] is True
    code = first.json["code"]
    assert code["code"].startswith("PP") and len(code["code"]) == 12
    assert (code["hcode"], code["service_code"]) == ("10675", "PG0060001")
    assert code["facility_name"] == "รพ.สต.บ้านทดสอบ"
    assert code["service_at_be"].split(" ")[0].endswith(str(int(code["service_date"][:4]) + 543))
    again = client.post(
        "/liff/api/codes", headers=bearer(token), json={"member_id": str(me["id"]), "scanned": url}
    )
    assert again.status_code == 200 and again.json["created"] is False
    assert again.json["code"]["code"] == code["code"]
    pushes = _outbox(world)
    assert len(pushes) == 1
    assert pushes[0].recipient == user and pushes[0].kind == "push"
    flex = pushes[0].payload["messages"][0]
    assert flex["type"] == "flex" and code["code"] in flex["altText"]
    assert world.adult_cid not in str(pushes[0].payload)
    with world.session() as session:
        row = session.scalar(select(AuthenCode))
        assert row is not None
        assert (row.channel, row.verify_method, row.phones) == ("line", "line_qr", "0812345678")
    listed = client.get("/liff/api/codes", headers=bearer(token)).json
    assert [c["code"] for c in listed["today"]] == [code["code"]]
    assert [c["code"] for c in listed["history"]] == [code["code"]]


def test_a_family_member_gets_their_own_code(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    me = registered(client, token, world.adult_cid)
    child = client.post(
        "/liff/api/members",
        headers=bearer(token),
        json={
            "cid": world.child_cid,
            "phone": "0898765432",
            "relation": "child",
            "birthDate": birth_date(world.child_cid),
        },
    ).json["member"]
    url = world.display_url("PG0090001")  # claimed links: the counter's rotating QR
    mine = client.post(
        "/liff/api/codes", headers=bearer(token), json={"member_id": me["id"], "scanned": url}
    ).json["code"]
    theirs = client.post(
        "/liff/api/codes", headers=bearer(token), json={"member_id": child["id"], "scanned": url}
    ).json["code"]
    assert mine["code"] != theirs["code"] and theirs["person_name"].endswith("ภูมิ ใจดี")
    only_child = client.get(f"/liff/api/codes?member_id={child['id']}", headers=bearer(token)).json[
        "history"
    ]
    assert [c["code"] for c in only_child] == [theirs["code"]]
    with world.session() as session:
        phones = dict(session.execute(select(AuthenCode.code, AuthenCode.phones)).all())
    assert phones[theirs["code"]] == "0898765432"


def test_bad_qr_codes_are_refused_in_thai(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    me = registered(client, token, world.adult_cid)
    cases = [
        (world.forged_url(), 400, "QR_FORGED"),
        (world.expired_display_url(), 410, "QR_EXPIRED"),
        ("https://example.com/menu", 400, "QR_MALFORMED"),
        ("", 400, "QR_MALFORMED"),
    ]
    for scanned, status, code in cases:
        response = client.post(
            "/liff/api/codes",
            headers=bearer(token),
            json={"member_id": me["id"], "scanned": scanned},
        )
        assert response.status_code == status, scanned
        assert response.json["error"]["code"] == code
        assert "คิวอาร์โค้ด" in response.json["error"]["message_th"]
    assert _outbox(world) == []
    other = client.post(
        "/liff/api/codes",
        headers=bearer(token),
        json={"member_id": 987654, "scanned": world.poster_url()},
    )
    assert other.status_code == 404


def test_rights_and_primary_care_unit_change(client: Any, jwks: JwksServer, world: World) -> None:
    user = new_user_id()
    token = jwks.token(user)
    me = registered(client, token, world.adult_cid)
    claimed = client.get(f"/liff/api/members/{me['id']}/rights", headers=bearer(token)).json
    assert claimed["detail"] is False and claimed["eligible"] is True
    assert "main_right" not in claimed and "hosp_sub" not in claimed
    refused = client.post(
        "/liff/api/pcu-changes",
        headers=bearer(token),
        json={"member_id": me["id"], "hcode": "10676"},
    )
    assert refused.status_code == 403 and refused.json["error"]["code"] == "LINK_NOT_VERIFIED"
    world.verify(user)
    rights = client.get(f"/liff/api/members/{me['id']}/rights", headers=bearer(token)).json
    assert rights["level"] == "verified" and rights["detail"] is True
    assert rights["main_right"]["code"] == "UCS" and rights["sub_right"]["code"] == "89"
    assert rights["hosp_sub"] == {
        "hcode": "10675",
        "hname": "รพ.สต.บ้านทดสอบ",
        "label": "รพ.สต.บ้านทดสอบ (10675)",
    }
    assert rights["hosp_main"]["hcode"] == "10676"
    assert rights["pcu_change"]["used"] == 0 and rights["pcu_change"]["limit"] == 4
    assert rights["pcu_change"]["fiscal_year_be"] > 2560
    found = client.get("/liff/api/facilities?q=อำเภอ", headers=bearer(token)).json
    assert [f["label"] for f in found["facilities"]] == ["โรงพยาบาลทดสอบอำเภอเมือง (10676)"]
    sent = client.post(
        "/liff/api/pcu-changes",
        headers=bearer(token),
        json={"member_id": me["id"], "hcode": "10676"},
    )
    assert sent.status_code == 201 and sent.json["request"]["status"] == "pending"
    rights = client.get(f"/liff/api/members/{me['id']}/rights", headers=bearer(token)).json
    assert rights["pcu_change"]["pending"]["to_hcode"] == "10676"
    assert rights["pcu_change"]["pending"]["to_hname"] == "โรงพยาบาลทดสอบอำเภอเมือง"
    # Pending counts against the limit but shows as pending, not as used.
    assert (rights["pcu_change"]["used"], rights["pcu_change"]["remaining"]) == (0, 3)
    assert rights["pcu_change"]["quota_th"].endswith(": ใช้ไปแล้ว 0 จาก 4 ครั้ง, รออนุมัติ 1")
    twice = client.post(
        "/liff/api/pcu-changes",
        headers=bearer(token),
        json={"member_id": me["id"], "hcode": "10676"},
    )
    assert twice.status_code == 409 and twice.json["error"]["code"] == "PCU_CHANGE_PENDING"


def test_openapi_describes_every_liff_route(client: Any, app: Any) -> None:
    spec = client.get("/openapi.json").json
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/liff/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in spec["paths"], path
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][path][method.lower()]
            assert operation["security"] == [{"liffIdToken": []}]
            assert "401" in operation["responses"]
