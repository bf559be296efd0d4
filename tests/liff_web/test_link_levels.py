"""Who may act for a person, through the LIFF API: the attack of issue 17 replayed (a
stranger who knows a self-registered person's ID), the birth date check, and what claimed
and verified links may do and see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from authencode.db import utcnow
from authencode.models import AuthenCode, Facility, OutboxMessage
from authencode.services import issuance
from authencode.services.people import find_person
from tests.support.factories import birth_date, new_cid
from tests.support.liff import (
    JwksServer,
    World,
    bearer,
    consented,
    new_user_id,
    registered,
    setup_push,
)


def _add(client: Any, token: str, cid: str, birth: str | None = None) -> Any:
    return client.post(
        "/liff/api/members",
        headers=bearer(token),
        json={
            "cid": cid,
            "phone": "0898765432",
            "relation": "relative",
            "birthDate": birth if birth is not None else birth_date(cid),
        },
    )


def _code(client: Any, token: str, member_id: int, scanned: str) -> Any:
    return client.post(
        "/liff/api/codes", headers=bearer(token), json={"member_id": member_id, "scanned": scanned}
    )


def _history(client: Any, token: str, member_id: int | None = None) -> set[str]:
    query = f"?member_id={member_id}" if member_id else ""
    response = client.get(f"/liff/api/codes{query}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return {c["code"] for c in response.json["history"]}


def _counter_visit(world: World, cid: str, service: str = "PG0090001", days_ago: int = 0) -> str:
    """A visit staff recorded at the counter (a card read), not through LINE."""
    with world.db.transaction() as session:
        person = find_person(session, world.protector, cid)
        facility = session.get(Facility, world.facility_id)
        assert person is not None and facility is not None
        return issuance.issue_code(
            session,
            person,
            hcode=facility.hcode,
            service_code=service,
            phones="0812345678",
            channel="smartcard",
            now=utcnow() - dt.timedelta(days=days_ago),
        ).code.code


def _codes_of(world: World, cid: str) -> int:
    with world.db.sessionmaker() as session:
        person = find_person(session, world.protector, cid)
        assert person is not None
        return (
            session.scalar(
                select(func.count())
                .select_from(AuthenCode)
                .where(AuthenCode.person_id == person.id)
            )
            or 0
        )


def test_a_stranger_who_knows_a_verified_persons_id_gets_nothing(
    client: Any, jwks: JwksServer, world: World
) -> None:
    victim_user = new_user_id()
    victim = jwks.token(victim_user)
    me = registered(client, victim, world.adult_cid)
    world.verify(victim_user)
    own = _code(client, victim, me["id"], world.poster_url()).json["code"]["code"]
    dialysis = _counter_visit(world, world.adult_cid)

    stranger_user = new_user_id()
    stranger = jwks.token(stranger_user)
    registered(client, stranger, world.family_cids[0])
    added = _add(client, stranger, world.adult_cid)  # the ID and birth date off a photocopy
    assert added.status_code == 201
    member = added.json["member"]
    assert (member["level"], member["level_th"]) == ("pending", "รอการอนุมัติ")
    assert member["name"] is None and member["name_en"] is None
    assert member["eligible"] is None and member["main_right"] is None
    me_now = client.get("/liff/api/me", headers=bearer(stranger))
    listed = me_now.get_data(as_text=True)
    assert "สมชาย" not in listed and "Somchai" not in listed
    [shown] = [m for m in me_now.json["members"] if m["level"] == "pending"]
    assert shown["masked_cid"].endswith(world.adult_cid[-1]) and "UCS" not in str(shown)

    # No code, no history, no rights.
    refused = client.get(f"/liff/api/codes?member_id={member['id']}", headers=bearer(stranger))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "LINK_PENDING"
    assert not {own, dialysis} & _history(client, stranger)
    rights = client.get(f"/liff/api/members/{member['id']}/rights", headers=bearer(stranger))
    assert rights.status_code == 403 and rights.json["error"]["code"] == "LINK_PENDING"
    pcu = client.post(
        "/liff/api/pcu-changes",
        headers=bearer(stranger),
        json={"member_id": member["id"], "hcode": "10676"},
    )
    assert pcu.status_code == 403 and pcu.json["error"]["code"] == "LINK_PENDING"
    # And no code in their name, with a poster or with the counter's display.
    before = _codes_of(world, world.adult_cid)
    for scanned in (world.poster_url("PG0090001"), world.display_url("PG0060001")):
        response = _code(client, stranger, member["id"], scanned)
        assert response.status_code == 403, response.json
        assert response.json["error"]["code"] == "LINK_PENDING"
        assert "รอการอนุมัติ" in response.json["error"]["message_th"]
    assert _codes_of(world, world.adult_cid) == before
    with world.session() as session:
        pushed = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.recipient == stranger_user, OutboxMessage.kind == "push"
            )
        )
        assert [row.payload for row in pushed if not setup_push(row.payload)] == []
    # The person's own account still sees everything.
    assert {own, dialysis} <= _history(client, victim, me["id"])


def test_a_wrong_birth_date_answers_as_an_unknown_id(
    client: Any, jwks: JwksServer, world: World
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.family_cids[1])
    wrong = "01/01/2500"

    def register(cid: str, birth: str) -> tuple[int, Any]:
        other = jwks.token(new_user_id())
        consented(client, other)
        response = client.post(
            "/liff/api/register",
            headers=bearer(other),
            json={"cid": cid, "phone": "0812345678", "birthDate": birth},
        )
        return response.status_code, response.json

    unknown = register(new_cid(), wrong)
    assert unknown[0] == 404 and unknown[1]["error"]["code"] == "PERSON_NOT_FOUND"
    # Nothing about the person leaks before the date matches: not their age, right or links.
    for cid in (world.adult_cid, world.teen_cid, world.officer_cid):
        assert register(cid, wrong) == unknown, cid
    for cid in (world.family_cids[1], world.officer_cid, world.adult_cid):  # mine, OFC, other
        response = _add(client, token, cid, wrong)
        assert (response.status_code, response.json) == unknown, cid
    # Where the registry does not know the day, the year and month are enough.
    with world.db.transaction() as session:
        person = find_person(session, world.protector, world.family_cids[2])
        assert person is not None
        person.birth_day = None
        year, month = person.birth_year, person.birth_month
    assert (
        _add(client, token, world.family_cids[2], f"15/{month:02d}/{year + 543}").status_code == 201
    )


def test_a_claimed_link_uses_the_counter_display_not_a_poster(
    client: Any, jwks: JwksServer, world: World
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    child = _add(client, token, world.child_cid).json["member"]
    assert child["level"] == "claimed" and child["eligible"] is True
    poster = _code(client, token, child["id"], world.poster_url())
    assert poster.status_code == 403 and poster.json["error"]["code"] == "LINK_NOT_VERIFIED"
    assert "บัตรประชาชน" in poster.json["error"]["message_th"]
    display = _code(client, token, child["id"], world.display_url())
    assert display.status_code == 201 and display.json["code"]["person_name"].endswith("ภูมิ ใจดี")


def test_history_shows_a_claimed_link_only_its_own_requests(
    client: Any, jwks: JwksServer, world: World
) -> None:
    holder_user = new_user_id()
    holder = jwks.token(holder_user)
    me = registered(client, holder, world.adult_cid)  # claimed
    mine = _code(client, holder, me["id"], world.display_url()).json["code"]["code"]
    counter = _counter_visit(world, world.adult_cid, days_ago=1)  # e.g. dialysis yesterday

    relative = jwks.token(new_user_id())
    registered(client, relative, world.family_cids[3])
    link = _add(client, relative, world.adult_cid).json["member"]
    assert link["level"] == "claimed"  # the holder is not verified: nobody to ask
    theirs = _code(client, relative, link["id"], world.display_url("PG0090001")).json["code"][
        "code"
    ]
    assert theirs not in (mine, counter)

    assert _history(client, holder) == {mine}
    assert _history(client, holder, me["id"]) == {mine}
    assert _history(client, relative, link["id"]) == {theirs}
    today = client.get("/liff/api/codes", headers=bearer(relative)).json["today"]
    assert mine not in {c["code"] for c in today}

    # Verified: every code of the person, from every channel and account.
    world.verify(holder_user)
    assert _history(client, holder) == {mine, counter, theirs}
    assert _history(client, relative) == {theirs}  # still only what it asked for
