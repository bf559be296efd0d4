"""The server side of the reader agent, through real HTTP requests to the app."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from authencode.models import AuditEntry, AuthenCode, CardRead, StaffUser
from authencode.passwords import hash_password
from authencode.services.api_tokens import create_token, revoke_token
from tests.support.factories import make_facility, make_person, make_staff, new_cid


@pytest.fixture
def world(app, protector):
    db = app.extensions["authencode"].db
    with db.transaction() as session:
        clinic = make_facility(session)
        other = make_facility(session, hcode="10676", name="อีกแห่ง")
        patient_cid, staff_cid, other_staff_cid = new_cid(), new_cid("3"), new_cid("3")
        make_person(session, protector, cid=patient_cid)
        staff = make_staff(
            session, protector, clinic, cid=staff_cid, pin_hash=hash_password("1234")
        )
        make_staff(
            session,
            protector,
            other,
            username="other",
            cid=other_staff_cid,
            pin_hash=hash_password("1234"),
        )
        token = create_token(session, clinic, "counter 1", "test", "agent").secret
        other_token = create_token(session, other, "other", "test", "agent").secret
    return {
        "db": db,
        "patient": patient_cid,
        "staff": staff_cid,
        "staff_id": staff.id,
        "other_staff": other_staff_cid,
        "token": token,
        "other_token": other_token,
    }


def _auth(token: str, session_token: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if session_token:
        headers["X-Agent-Session"] = session_token
    return headers


def _read(client, world, token=None):
    response = client.post(
        "/agent/api/card-reads",
        headers=_auth(token or world["token"]),
        json={"pid": world["patient"], "terminalName": "Virtual PCD 00 00"},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _unlock(client, world, pin="1234", staff=None):
    return client.post(
        "/agent/api/staff-unlock",
        headers=_auth(world["token"]),
        json={"staffPid": staff or world["staff"], "pin": pin},
    )


def test_card_read_answers_rights_services_and_a_correlation_id(client, world) -> None:
    body = _read(client, world)
    assert body["mainInscl"] == "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ"
    assert body["subInscl"] == "(89) ช่วงอายุ 12-59 ปี"
    assert [c["claimType"] for c in body["claimTypes"]] == ["PG0060001", "PG0090001"]
    assert body["claimTypes"][0]["claimTypeName"].startswith("เข้ารับบริการรักษาทั่วไป")
    assert len(body["correlationId"]) == 36


def test_tokens_are_required_and_revocable(client, world) -> None:
    missing = client.post("/agent/api/card-reads", json={"pid": world["patient"]})
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "TOKEN_MISSING"
    wrong = client.post(
        "/agent/api/card-reads", headers=_auth("ac_nope"), json={"pid": world["patient"]}
    )
    assert wrong.get_json()["error"]["code"] == "TOKEN_INVALID"
    with world["db"].transaction() as session:
        from authencode.models import ApiToken
        from authencode.services.api_tokens import token_digest

        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == token_digest(world["token"]))
        )
        revoke_token(session, row, "test")
    assert (
        client.post(
            "/agent/api/card-reads", headers=_auth(world["token"]), json={"pid": world["patient"]}
        ).status_code
        == 401
    )


def test_confirm_needs_an_unlocked_agent_then_issues_a_smartcard_code(client, world) -> None:
    read = _read(client, world)
    payload = {
        "pid": world["patient"],
        "claimType": "PG0060001",
        "mobile": "0812345678",
        "correlationId": read["correlationId"],
        "hn": "HN42",
    }
    locked = client.post("/agent/api/confirm-save", headers=_auth(world["token"]), json=payload)
    assert locked.status_code == 401
    assert locked.get_json()["error"]["code"] == "AGENT_LOCKED"

    unlocked = _unlock(client, world)
    assert unlocked.status_code == 200
    session_token = unlocked.get_json()["sessionToken"]
    saved = client.post(
        "/agent/api/confirm-save", headers=_auth(world["token"], session_token), json=payload
    )
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["pid"] == world["patient"] and body["claimType"] == "PG0060001"
    assert body["claimCode"].startswith("PP") and body["correlationId"] == read["correlationId"]

    # The same card read cannot be used twice; a fresh read the same day gives the same code.
    reused = client.post(
        "/agent/api/confirm-save", headers=_auth(world["token"], session_token), json=payload
    )
    assert reused.status_code == 409
    assert reused.get_json()["error"]["code"] == "CORRELATION_USED"
    again = client.post(
        "/agent/api/confirm-save",
        headers=_auth(world["token"], session_token),
        json={**payload, "correlationId": _read(client, world)["correlationId"]},
    )
    assert again.get_json()["claimCode"] == body["claimCode"]

    latest = client.get(
        f"/agent/api/latest-authen-code/{world['patient']}", headers=_auth(world["token"])
    )
    assert latest.get_json()["claimCode"] == body["claimCode"]
    assert latest.get_json()["hcode"] == "10675"
    with world["db"].sessionmaker() as session:
        code = session.scalar(select(AuthenCode))
        assert code is not None
        assert (code.channel, code.hn, code.recorder_staff_id) == (
            "smartcard",
            "HN42",
            world["staff_id"],
        )


def test_correlation_ids_are_bound_to_agent_person_and_time(client, world) -> None:
    session_token = _unlock(client, world).get_json()["sessionToken"]
    headers = _auth(world["token"], session_token)
    base = {"pid": world["patient"], "claimType": "PG0060001", "mobile": "0812345678"}

    foreign = _read(client, world, token=world["other_token"])["correlationId"]
    response = client.post(
        "/agent/api/confirm-save", headers=headers, json={**base, "correlationId": foreign}
    )
    assert response.get_json()["error"]["code"] == "CORRELATION_UNKNOWN"

    mine = _read(client, world)["correlationId"]
    response = client.post(
        "/agent/api/confirm-save",
        headers=headers,
        json={**base, "pid": new_cid(), "correlationId": mine},
    )
    assert response.get_json()["error"]["code"] == "CORRELATION_UNKNOWN"

    with world["db"].transaction() as session:
        session.execute(
            update(CardRead)
            .where(CardRead.correlation_id == mine)
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
    response = client.post(
        "/agent/api/confirm-save", headers=headers, json={**base, "correlationId": mine}
    )
    assert response.status_code == 410
    assert response.get_json()["error"]["message_th"]


def test_unlock_checks_staff_of_the_facility_and_limits_pin_attempts(client, world) -> None:
    # not staff of this facility: the same answer as a wrong PIN (test_token_scopes.py)
    assert _unlock(client, world, staff=world["other_staff"]).get_json()["error"]["code"] == (
        "UNLOCK_REFUSED"
    )
    assert _unlock(client, world, staff=world["patient"]).status_code == 401
    assert _unlock(client, world, pin="12a4").get_json()["error"]["code"] == "PIN_FORMAT"
    for _ in range(5):
        assert _unlock(client, world, pin="9999").get_json()["error"]["code"] == "UNLOCK_REFUSED"
    # even the right PIN, while locked; answered like a wrong PIN, since only staff PINs lock
    locked = _unlock(client, world)
    assert locked.status_code == 401 and locked.get_json()["error"]["code"] == "UNLOCK_REFUSED"
    assert locked.get_json() == _unlock(client, world, staff=world["patient"]).get_json()
    with world["db"].sessionmaker() as session:
        staff = session.get(StaffUser, world["staff_id"])
        assert staff is not None and staff.pin_locked_until is not None
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("agent.unlock_failed") == 5


def test_bad_bodies_get_clear_errors(client, world) -> None:
    for body in (None, "not json", [1, 2]):
        response = client.post(
            "/agent/api/card-reads",
            headers=_auth(world["token"]),
            data=body if isinstance(body, str) else None,
            json=body if isinstance(body, list) else None,
        )
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "BAD_REQUEST"
    response = client.post(
        "/agent/api/card-reads", headers=_auth(world["token"]), json={"pid": "1101700207031"}
    )
    assert response.get_json()["error"]["code"] == "CID_CHECK_DIGIT"


def test_cli_creates_lists_and_revokes_tokens(db_url: str, tmp_path: Path) -> None:
    from authencode.db import Database

    database = Database(db_url)
    with database.transaction() as session:
        make_facility(session)
    database.dispose()
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": db_url,
        "PATH": "/usr/bin:/bin",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
    }
    cli = [sys.executable, "-m", "authencode.cli", "token"]
    created = subprocess.run(
        [*cli, "create", "10675", "HIS"], env=env, capture_output=True, text=True, check=True
    )
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("ac_")
    listed = subprocess.run(
        [*cli, "list", "10675"], env=env, capture_output=True, text=True, check=True
    )
    assert "HIS" in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
    subprocess.run([*cli, "revoke", "1"], env=env, capture_output=True, text=True, check=True)
    listed = subprocess.run(
        [*cli, "list", "10675"], env=env, capture_output=True, text=True, check=True
    )
    assert "revoked" in listed.stdout
