"""The real reader agent against the real running server: card, unlock, confirm, latest code.

pcscd + vpcd with the tests' virtual Thai ID cards on one side; the application served over
HTTP on PostgreSQL on the other; the agent's own HTTP API in between, called as kiosk and
hospital software call it.
"""

from __future__ import annotations

import importlib.util

from conftest import LIVE_HCODE, LIVE_PIN, LiveAuthenServer
from pcsc_stack import require, wait_for_card
from sqlalchemy import func, select
from test_agent_http_api import SPRING_KEYS, call
from virtual_card import READER_NAMES, CardContent, VirtualThaiIdCard

from authencode.models import ApiToken, AuthenCode, CardRead
from authencode.services.api_tokens import revoke_token, token_digest
from authencode.services.issuance import issue_code
from authencode.services.people import find_person

require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")

PATIENT_CID = "1101700207030"
STAFF_CID = "3100600123450"
OTHER_STAFF_CID = "3100600123468"


def _swap_card(insert_card, old: VirtualThaiIdCard, new: CardContent) -> VirtualThaiIdCard:
    """Take ``old`` out of the first reader and put a card with ``new`` in."""
    old.remove()
    wait_for_card(READER_NAMES[0], present=False)
    return insert_card(VirtualThaiIdCard(new))


def _unlock(agent, insert_card, card: VirtualThaiIdCard, staff_cid: str, pin: str):
    """The staff member's own card in, the PIN, the card out again; the card left in."""
    staff_card = _swap_card(insert_card, card, CardContent(cid=staff_cid, name_th="นาง#ใจดี##มีสุข"))
    answer = call(agent, "POST", "/api/agent/unlock", body={"pin": pin})
    return answer, staff_card


def _codes(server: LiveAuthenServer) -> list[AuthenCode]:
    with server.db.sessionmaker() as session:
        return list(session.scalars(select(AuthenCode).order_by(AuthenCode.id)))


def _card_read(server: LiveAuthenServer, correlation_id: str) -> CardRead | None:
    with server.db.sessionmaker() as session:
        return session.scalar(select(CardRead).where(CardRead.correlation_id == correlation_id))


def test_read_unlock_confirm_and_latest_code_on_the_real_server(
    live_authen_server, agent_factory, pcscd, insert_card
) -> None:
    server = live_authen_server
    agent = agent_factory(server_url=server.url, api_token=server.token)

    patient = insert_card(VirtualThaiIdCard())
    status, _headers, read = call(agent, "GET", "/api/smartcard/read?readImageFlag=true")
    assert status == 200, read
    assert (read["pid"], read["fname"], read["lname"]) == (PATIENT_CID, "สมชาย", "ใจดี")
    assert read["mainInscl"] == "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ"
    assert read["subInscl"] == "(89) ช่วงอายุ 12-59 ปี"
    assert [c["claimType"] for c in read["claimTypes"]] == ["PG0060001", "PG0150001"]
    assert read["hospMain"] == {"hcode": LIVE_HCODE, "hname": "โรงพยาบาลตัวอย่าง"}
    assert read["image"]
    # The server recorded the read, and its correlationId is the agent's.
    recorded = _card_read(server, read["correlationId"])
    assert recorded is not None and recorded.used_at is None
    assert recorded.terminal_name == READER_NAMES[0]

    status, _headers, body = call(
        agent, "GET", f"/api/nhso-service/latest-authen-code/{PATIENT_CID}"
    )
    assert status == 404 and set(body) >= SPRING_KEYS  # no code yet

    confirm = {
        "pid": read["pid"],
        "claimType": "PG0060001",
        "mobile": "0812345678",
        "correlationId": read["correlationId"],
        "hn": "HN-1001",
    }
    status, _headers, body = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 403 and "unlock" in body["message"]  # not before a staff unlock
    assert _codes(server) == []

    (status, _h, body), card = _unlock(agent, insert_card, patient, STAFF_CID, "1111")
    assert status == 401 and body["messageTh"]  # wrong PIN, counted by the server
    status, _headers, body = call(agent, "POST", "/api/agent/unlock", body={"pin": LIVE_PIN})
    assert status == 200 and body["unlocked"] is True
    card.remove()
    wait_for_card(READER_NAMES[0], present=False)

    status, _headers, saved = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 200, saved
    assert (saved["pid"], saved["claimType"], saved["correlationId"]) == (
        PATIENT_CID,
        "PG0060001",
        read["correlationId"],
    )
    assert saved["claimCode"].startswith("PP") and len(saved["claimCode"]) == 12
    [code] = _codes(server)
    assert code.code == saved["claimCode"]
    assert (code.channel, code.verify_method, code.phones, code.hn) == (
        "smartcard",
        "smartcard",
        "0812345678",
        "HN-1001",
    )
    assert code.recorder_staff_id == server.staff_id
    used = _card_read(server, read["correlationId"])
    assert used is not None and used.used_at is not None

    status, _headers, latest = call(
        agent, "GET", f"/api/nhso-service/latest-authen-code/{PATIENT_CID}"
    )
    assert status == 200
    assert (latest["claimCode"], latest["claimType"], latest["hcode"]) == (
        saved["claimCode"],
        "PG0060001",
        LIVE_HCODE,
    )

    # The same read cannot confirm twice.
    status, _headers, body = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 409 and set(body) >= SPRING_KEYS
    assert "already been used" in body["message"]
    assert len(_codes(server)) == 1


def test_another_facilitys_token_gets_nothing_of_this_clinic(
    live_authen_server, agent_factory, pcscd, insert_card
) -> None:
    server = live_authen_server
    clinic_agent = agent_factory(server_url=server.url, api_token=server.token)
    other_agent = agent_factory(server_url=server.url, api_token=server.other_token)

    patient = insert_card(VirtualThaiIdCard())
    status, _headers, read = call(clinic_agent, "GET", "/api/smartcard/read")
    assert status == 200

    # The clinic's staff card does not unlock the other facility's agent; its own staff's does.
    # (answered as a wrong PIN, so the unlock does not tell which CIDs are staff)
    (status, _h, body), card = _unlock(other_agent, insert_card, patient, STAFF_CID, LIVE_PIN)
    assert status == 401 and set(body) >= SPRING_KEYS
    card = _swap_card(insert_card, card, CardContent(cid=OTHER_STAFF_CID))
    status, _headers, _body = call(other_agent, "POST", "/api/agent/unlock", body={"pin": LIVE_PIN})
    assert status == 200
    card.remove()
    wait_for_card(READER_NAMES[0], present=False)

    # The clinic agent's card read does not let the other facility's agent confirm.
    confirm = {
        "pid": PATIENT_CID,
        "claimType": "PG0060001",
        "mobile": "0812345678",
        "correlationId": read["correlationId"],
    }
    status, _headers, body = call(
        other_agent, "POST", "/api/nhso-service/confirm-save", body=confirm
    )
    assert status == 403 and set(body) >= SPRING_KEYS
    assert _codes(server) == []
    unused = _card_read(server, read["correlationId"])
    assert unused is not None and unused.used_at is None

    # A code of the clinic is the clinic's: the other facility's agent does not see it.
    with server.db.transaction() as session:
        from authencode.crypto import DataProtector
        from tests.support.shared import TEST_DATA_KEY

        person = find_person(session, DataProtector(TEST_DATA_KEY), PATIENT_CID)
        assert person is not None
        issue_code(
            session,
            person,
            hcode=LIVE_HCODE,
            service_code="PG0060001",
            phones="0812345678",
            channel="line",
        )
    path = f"/api/nhso-service/latest-authen-code/{PATIENT_CID}"
    assert call(other_agent, "GET", path)[0] == 404
    assert call(clinic_agent, "GET", path)[0] == 200

    # A revoked token stops the agent at once: the server refuses it (the agent says 502).
    with server.db.transaction() as session:
        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == token_digest(server.token))
        )
        revoke_token(session, row, "test")
        reads_before = session.scalar(select(func.count()).select_from(CardRead))
    insert_card(VirtualThaiIdCard(), reader_index=1)
    status, _headers, body = call(clinic_agent, "GET", "/api/smartcard/read")
    assert status == 502 and set(body) >= SPRING_KEYS
    with server.db.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(CardRead)) == reads_before
