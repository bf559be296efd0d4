"""Input no handler can use: ids past any row, NUL characters, oversized chunked bodies.
Each is a clean 4xx in the entry point's own format, never a database error."""

from __future__ import annotations

import io
from typing import Any

from tests.support.clinic import ClinicClient
from tests.support.clinic import World as ClinicWorld
from tests.support.liff import JwksServer, World, bearer, new_user_id, registered

HUGE = "9" * 30


def test_ids_past_any_row_are_not_found(
    clinic_client: ClinicClient, clinic_world: ClinicWorld
) -> None:
    assert clinic_client.login("a-admin").status_code == 302
    base = "/clinic/facilities/10675"
    for path in (
        f"{base}/records/{HUGE}",
        f"{base}/visits/2147483648",
        f"{base}/records/{HUGE}/person",
        f"/clinic/staff/{HUGE}",
        f"{base}/records?page={HUGE}",
    ):
        response = clinic_client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code)


def test_liff_member_ids_past_any_row_are_not_found(
    client: Any, jwks: JwksServer, world: World
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    for method, path, body in (
        ("GET", f"/liff/api/members/{HUGE}/rights", None),
        ("DELETE", f"/liff/api/members/-{HUGE}", None),
        ("POST", "/liff/api/codes", {"member_id": int(HUGE), "scanned": "x"}),
        ("POST", "/liff/api/pcu-changes", {"member_id": -(2**70), "hcode": "10676"}),
    ):
        response = client.open(path, method=method, headers=bearer(token), json=body)
        assert response.status_code == 404, (path, response.json)
        assert response.json["error"]["code"] == "FAMILY_MEMBER_NOT_FOUND"


def test_nul_characters_are_a_400_everywhere(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    for response in (
        client.get("/liff/api/facilities?q=%00", headers=bearer(token)),
        client.post(
            "/liff/api/members",
            headers=bearer(token),
            json={"cid": world.spouse_cid, "phone": "0812345678", "relation": "คู่สมรส\u0000"},
        ),
        client.post("/clinic/login", data={"username": "a\x00", "password": "x"}),
        client.get("/clinic/login?next=%00"),
    ):
        assert response.status_code == 400, response.data[:200]
    assert (
        client.get("/liff/api/facilities?q=%00", headers=bearer(token)).json["error"]["code"]
        == "BAD_REQUEST"
    )


def test_a_chunked_body_under_the_limit_is_read_whole(
    client: Any, jwks: JwksServer, world: World
) -> None:
    token = jwks.token(new_user_id())
    body = b'{"decision": "accept", "version": "' + b"x" * 300_000 + b'"}'
    response = client.post(
        "/liff/api/consent",
        input_stream=io.BytesIO(body),
        headers={
            **bearer(token),
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    # the whole body arrived and was judged on what it says (a version that does not exist)
    assert response.status_code in (400, 409), response.json
    assert response.json["error"]["code"] != "BAD_REQUEST"
