"""POST /liff/api/members/{id}/verification-code: a counter code for one of the account's own
unverified links only, described in /openapi.json."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from authencode.models import FamilyLink
from tests.support.clinic import decode_qr, svg_to_image
from tests.support.liff import JwksServer, World, bearer, new_user_id, registered

PATH = "/liff/api/members/{id}/verification-code"


def test_a_code_for_the_accounts_own_unverified_link(
    client: Any, world: World, jwks: JwksServer
) -> None:
    token = jwks.token(new_user_id())
    member = registered(client, token, world.adult_cid)
    answer = client.post(PATH.format(id=member["id"]), headers=bearer(token))
    assert answer.status_code == 201
    code = answer.json["code"]
    assert len(code) == 6 and code.isdigit() and answer.json["ttl_seconds"] == 600
    assert decode_qr(svg_to_image(answer.json["qr_svg"])) == code

    stranger = jwks.token(new_user_id())
    registered(client, stranger, world.spouse_cid)
    other = client.post(PATH.format(id=member["id"]), headers=bearer(stranger))
    assert other.status_code == 404 and other.json["error"]["code"] == "FAMILY_MEMBER_NOT_FOUND"

    with world.db.transaction() as session:
        session.execute(update(FamilyLink).values(level="verified"))
    done = client.post(PATH.format(id=member["id"]), headers=bearer(token))
    assert done.status_code == 409 and done.json["error"]["code"] == "LINK_ALREADY_VERIFIED"
    assert done.json["error"]["message_th"]


def test_the_route_is_in_openapi(client: Any) -> None:
    paths = client.get("/openapi.json").json["paths"]
    operation = paths["/liff/api/members/{member_id}/verification-code"]["post"]
    assert {"201", "404", "409"} <= set(operation["responses"])
