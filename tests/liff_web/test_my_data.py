"""/liff/api/my-data and /liff/api/my-data/erase (issue 22, point 4): only ever the
authenticated account's own data; a forged, expired or foreign token gets nothing; erasure is
confirmed in the chat, shows in the registry office's queue, and the account can register
again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from authencode.db import Database
from authencode.models import AuditEntry, ErasureRequest, FamilyLink, OutboxMessage, StaffUser
from authencode.passwords import hash_password
from tests.support.clinic import PASSWORD, ClinicClient
from tests.support.factories import birth_date, make_staff
from tests.support.liff import (
    FORGERIES,
    JwksServer,
    World,
    bearer,
    forged_headers,
    new_user_id,
    registered,
)


def _db(app: Any) -> Database:
    return app.extensions["authencode"].db


def _add_child(client: Any, token: str, cid: str) -> dict[str, Any]:
    response = client.post(
        "/liff/api/members",
        headers=bearer(token),
        json={"cid": cid, "phone": "0898765432", "birthDate": birth_date(cid), "relation": "child"},
    )
    assert response.status_code == 201, response.json
    return response.json["member"]


def test_my_data_is_the_token_holders_own_and_nobody_elses(
    client: Any, jwks: JwksServer, world: World
) -> None:
    holder, other = new_user_id(), new_user_id()
    token = jwks.token(holder)
    registered(client, token, world.adult_cid)
    _add_child(client, token, world.child_cid)
    registered(client, jwks.token(other), world.spouse_cid, phone="0811111111")
    client.post(
        "/liff/api/codes",
        headers=bearer(token),
        json={"member_id": _self_id(client, token), "scanned": world.display_url()},
    )

    mine = client.get("/liff/api/my-data", headers=bearer(token))
    assert mine.status_code == 200
    assert mine.headers["Cache-Control"] == "no-store"
    data = mine.json
    assert data["account"]["line_user_id"] == holder
    own, child = data["links"]
    assert own["cid"] == world.adult_cid and own["phone"] == "0812345678"
    assert child["cid"] is None and child["phone"] is None and child["masked_cid"]
    assert world.child_cid not in str(data) and "0898765432" not in str(data)
    assert [c["is_self"] for c in data["codes"]] == [True]
    # Nothing of the other account, and no way to ask for it: the query and body are ignored.
    assert world.spouse_cid not in str(data) and other not in str(data)
    asked = client.get(f"/liff/api/my-data?line_user_id={other}", headers=bearer(token)).json
    assert asked["account"]["line_user_id"] == holder
    theirs = client.get("/liff/api/my-data", headers=bearer(jwks.token(other))).json
    assert theirs["links"][0]["cid"] == world.spouse_cid
    assert world.adult_cid not in str(theirs) and holder not in str(theirs)


def _self_id(client: Any, token: str) -> int:
    return client.get("/liff/api/me", headers=bearer(token)).json["self"]["id"]


@pytest.mark.parametrize("forge", FORGERIES)
def test_a_forged_or_expired_token_sees_and_erases_nothing(
    client: Any, app: Any, jwks: JwksServer, world: World, forge: str
) -> None:
    holder = new_user_id()
    registered(client, jwks.token(holder), world.adult_cid)
    headers = forged_headers(jwks, holder, forge)
    seen = client.get("/liff/api/my-data", headers=headers)
    assert seen.status_code == 401 and seen.json["error"]["message_th"]
    erased = client.post("/liff/api/my-data/erase", headers=headers, json={"confirm": "erase"})
    assert erased.status_code == 401
    with _db(app).sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 1
        assert session.scalar(select(func.count()).select_from(ErasureRequest)) == 0


def test_erasure_wants_a_confirmation(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    bodies: tuple[object, ...] = (None, [], {"confirm": "yes"}, {"confirm": True})
    for body in bodies:
        refused = client.post("/liff/api/my-data/erase", headers=bearer(token), json=body)
        assert refused.status_code == 400, body
        assert refused.json["error"]["message_th"]
    assert len(client.get("/liff/api/my-data", headers=bearer(token)).json["links"]) == 1


def test_erasure_by_another_account_touches_only_that_account(
    client: Any, app: Any, jwks: JwksServer, world: World
) -> None:
    """An account that added the holder as family erases its own data: the holder's own
    link, consent and codes stay; only the other account's link to them goes."""
    holder, other = new_user_id(), new_user_id()
    token, other_token = jwks.token(holder), jwks.token(other)
    registered(client, token, world.adult_cid)
    registered(client, other_token, world.spouse_cid, phone="0811111111")
    _add_child(client, other_token, world.adult_cid)
    erased = client.post(
        "/liff/api/my-data/erase", headers=bearer(other_token), json={"confirm": "erase"}
    )
    assert erased.status_code == 200 and erased.json["created"] is True
    data = client.get("/liff/api/my-data", headers=bearer(token)).json
    assert data["account"]["consent_given"] is True and len(data["links"]) == 1
    with _db(app).sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 1


def test_erasure_is_confirmed_in_chat_queued_for_the_registry_office_and_can_register_again(
    client: Any, app: Any, jwks: JwksServer, world: World, protector: Any
) -> None:
    holder = new_user_id()
    token = jwks.token(holder)
    registered(client, token, world.adult_cid)
    _add_child(client, token, world.child_cid)
    issued = client.post(
        "/liff/api/codes",
        headers=bearer(token),
        json={"member_id": _self_id(client, token), "scanned": world.display_url()},
    )
    assert issued.status_code == 201, issued.json
    code = issued.json["code"]["code"]

    erased = client.post(
        "/liff/api/my-data/erase", headers=bearer(token), json={"confirm": "erase"}
    )
    assert erased.status_code == 200, erased.json
    assert erased.json["created"] is True
    removed = {r["kind"]: r["count"] for r in erased.json["erasure"]["removed"]}
    assert removed["links"] == 2 and removed["phones"] == 2 and removed["consent"] == 1
    kept = {k["kind"]: k for k in erased.json["erasure"]["kept"]}
    assert kept["codes"]["count"] == 1 and "หลักประกันสุขภาพ" in kept["codes"]["why_th"]

    again = client.post("/liff/api/my-data/erase", headers=bearer(token), json={"confirm": "erase"})
    assert again.status_code == 200 and again.json["created"] is False
    assert again.json["erasure"]["id"] == erased.json["erasure"]["id"]

    db = _db(app)
    with db.sessionmaker() as session:
        pushes = list(
            session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.recipient == holder, OutboxMessage.status == "pending"
                )
            )
        )
        confirmations = [
            p for p in pushes if "ลบข้อมูลของท่านตามคำขอ" in p.payload["messages"][0].get("text", "")
        ]
        assert len(confirmations) == 1  # the second request told nobody again
        assert confirmations[0].payload.get("sync_rich_menu") is True
        text = confirmations[0].payload["messages"][0]["text"]
        assert "รหัสเข้ารับบริการ 1 รายการ" in text and world.adult_cid not in text
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "data.erased")
            )
            == 1
        )

    # The account is unregistered: my data shows the erasure, the code kept but detached.
    data = client.get("/liff/api/my-data", headers=bearer(token)).json
    assert data["links"] == [] and data["codes"] == [] and data["account"]["consent_given"] is False
    assert [e["id"] for e in data["erasures"]] == [erased.json["erasure"]["id"]]
    me = client.get("/liff/api/me", headers=bearer(token)).json
    assert me["self"] is None and me["consent"]["given"] is False
    registered(client, token, world.adult_cid, phone="0822222222")
    assert client.get("/liff/api/me", headers=bearer(token)).json["self"]["phone_masked"] == (
        "082-xxx-2222"
    )
    history = client.get("/liff/api/codes", headers=bearer(token)).json["history"]
    assert code not in [c["code"] for c in history]  # detached from LINE: no longer this account's

    # The registry office's queue lists it: what was removed, what was kept and why.
    with db.transaction() as session:
        make_staff(
            session,
            protector,
            None,
            username="registry",
            role="registry_admin",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
    staff = ClinicClient(client)
    staff.login("registry")
    page = staff.get("/clinic/erasures")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row_id = erased.json["erasure"]["id"]
    assert f'data-erasure="{row_id}"' in html
    assert "การเชื่อมโยงบัญชี LINE นี้กับบุคคล" in html and "หลักประกันสุขภาพแห่งชาติ" in html
    assert world.adult_cid not in html and "0812345678" not in html and holder not in html
    assert 'href="/clinic/erasures"' in html  # in the registry office's navigation
    with db.sessionmaker() as session:
        staff_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "registry"))
    done = staff.post(f"/clinic/erasures/{row_id}/review", data={"note": "ทำลายแบบฟอร์มแล้ว"})
    assert done.status_code == 302
    with db.sessionmaker() as session:
        row = session.get(ErasureRequest, row_id)
        assert row is not None and row.reviewed_by_staff_id == staff_id
        assert row.review_note == "ทำลายแบบฟอร์มแล้ว"


def _thai_labels(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, key) of every ``*_th`` field holding text, anywhere in the answer."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_th") and isinstance(item, str):
                found.append((path, key))
            found += _thai_labels(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _thai_labels(item, f"{path}[{i}]")
    return found


def _at(value: Any, path: str) -> Any:
    for part in re.findall(r"\.(\w+)|\[(\d+)\]", path):
        value = value[part[0]] if part[0] else value[int(part[1])]
    return value


def test_every_thai_label_has_an_english_twin(client: Any, jwks: JwksServer, world: World) -> None:
    """English mode reads ``*_en``: each ``*_th`` label of the answer (statuses, channels,
    decisions, relations, levels, notes) has one, with no Thai in it."""
    holder = new_user_id()
    token = jwks.token(holder)
    registered(client, token, world.adult_cid)
    _add_child(client, token, world.child_cid)
    client.post(
        "/liff/api/codes",
        headers=bearer(token),
        json={"member_id": _self_id(client, token), "scanned": world.display_url()},
    )
    data = client.get("/liff/api/my-data", headers=bearer(token)).json
    labels = _thai_labels(data)
    keys = {key for _, key in labels}
    assert {"status_th", "channel_th", "decision_th", "relation_th", "level_th"} <= keys
    assert "note_th" in keys  # who linked me: not shown until the own link is verified
    for path, key in labels:
        english = _at(data, path)[key[:-3] + "_en"]
        assert english and not re.search("[\u0e00-\u0e7f]", english), (path, key, english)
