"""The agent's local HTTP API, driven as kiosk and hospital software drive it."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import urllib.error
import urllib.request
from typing import Any

import pytest
from fake_authen_server import CLAIM_TYPES, CLINIC_ORIGIN, HCODE, HIS_TOKEN
from pcsc_stack import require, wait_for_card
from virtual_card import READER_NAMES, CardContent, VirtualThaiIdCard

require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")

PATIENT_CID = "1101700207030"
STAFF_CID = "3100600123450"
SPRING_KEYS = {"timestamp", "status", "error", "message", "path"}
READ_KEYS = {
    "pid", "titleName", "fname", "lname", "nation", "birthDate", "sex", "transDate",
    "mainInscl", "subInscl", "age", "checkDate", "claimTypes", "image", "correlationId",
    "hospMain", "hospMainOp", "hospSub",
}  # fmt: skip


def call(
    agent: Any,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Call the agent; returns status, headers and the decoded JSON (None if no body)."""
    data = json.dumps(body).encode() if body is not None else None
    # The URL is the agent's own http://127.0.0.1 address.
    request = urllib.request.Request(agent.url + path, data=data, method=method)  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, answer_headers, raw = error.code, dict(error.headers), error.read()
    return status, answer_headers, json.loads(raw) if raw else None


def test_terminals_lists_both_readers_and_where_the_card_is(agent, insert_card) -> None:
    insert_card(VirtualThaiIdCard(), reader_index=1)
    status, _headers, body = call(agent, "GET", "/api/smartcard/terminals")
    assert status == 200
    assert body == [
        {"terminalName": READER_NAMES[0], "isPresent": False},
        {"terminalName": READER_NAMES[1], "isPresent": True},
    ]


def test_read_with_image_returns_card_rights_and_correlation_id(
    agent, insert_card, fake_server
) -> None:
    card = insert_card(VirtualThaiIdCard(), reader_index=1)
    status, _headers, body = call(agent, "GET", "/api/smartcard/read?readImageFlag=true")

    assert status == 200
    assert set(body) == READ_KEYS
    assert (body["pid"], body["titleName"], body["fname"], body["lname"]) == (
        PATIENT_CID, "นาย", "สมชาย", "ใจดี",
    )  # fmt: skip
    assert (body["birthDate"], body["sex"]) == ("25300115", "ชาย")
    assert base64.b64decode(body["image"]) == card.content.photo
    assert body["claimTypes"] == CLAIM_TYPES
    assert body["hospMain"] == {"hcode": HCODE, "hname": "โรงพยาบาลตัวอย่าง"}
    assert body["mainInscl"] == "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ"
    assert body["correlationId"] in fake_server.state.correlations

    method, path, headers, sent = fake_server.state.requests[-1]
    assert (method, path) == ("POST", "/agent/api/card-reads")
    assert headers["Authorization"] == "Bearer facility-token-for-tests"
    assert sent == {
        "pid": PATIENT_CID,
        "titleName": "นาย",
        "fname": "สมชาย",
        "lname": "ใจดี",
        "birthDate": "25300115",
        "sex": "1",
        "terminalName": READER_NAMES[1],
    }


def test_read_without_image_flag_gives_null_image(agent, insert_card) -> None:
    insert_card(VirtualThaiIdCard(CardContent(name_th="นาง#มาลี#ศรี#สุขใจ", sex="2")))
    status, _headers, body = call(agent, "GET", "/api/smartcard/read?readImageFlag=false")
    assert status == 200
    assert body["image"] is None
    assert (body["fname"], body["lname"], body["sex"]) == ("มาลี ศรี", "สุขใจ", "หญิง")


def test_read_card_only_gives_card_data_only(agent, insert_card, fake_server) -> None:
    card = insert_card(VirtualThaiIdCard())
    status, _headers, body = call(agent, "GET", "/api/smartcard/read-card-only?readImageFlag=true")
    assert status == 200
    assert set(body) == {"pid", "titleName", "fname", "lname", "birthDate", "sex", "image"}
    assert base64.b64decode(body["image"]) == card.content.photo
    assert fake_server.state.requests == []  # nothing went to the server

    status, _headers, body = call(agent, "GET", "/api/smartcard/read-card-only")
    assert status == 200 and "image" not in body


def test_no_card_is_http_500_in_spring_style(agent) -> None:
    status, _headers, body = call(agent, "GET", "/api/smartcard/read?readImageFlag=false")
    assert status == 500
    assert set(body) == SPRING_KEYS
    assert body["status"] == 500 and body["error"] == "Internal Server Error"
    assert body["path"] == "/api/smartcard/read"
    assert "no card" in body["message"]


def test_card_with_bad_check_digit_is_refused(agent, insert_card) -> None:
    insert_card(VirtualThaiIdCard(CardContent(cid="1101700207031")))
    status, _headers, body = call(agent, "GET", "/api/smartcard/read-card-only")
    assert status == 500 and "check digit" in body["message"]


def test_no_reader_is_http_418(agent, pcscd) -> None:
    pcscd.stop()  # no PC/SC service, no reader
    try:
        for path in ("/api/smartcard/terminals", "/api/smartcard/read?readImageFlag=true"):
            status, _headers, body = call(agent, "GET", path)
            assert status == 418, path
            assert set(body) == SPRING_KEYS and body["status"] == 418
            assert body["error"] == "I'm a Teapot"
    finally:
        pcscd.start()


def test_preflight_from_an_allowed_origin_allows_private_network(agent) -> None:
    status, headers, _body = call(
        agent,
        "OPTIONS",
        "/api/smartcard/read",
        headers={
            "Origin": CLINIC_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == CLINIC_ORIGIN
    assert headers["Access-Control-Allow-Private-Network"] == "true"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]


def test_calls_from_an_allowed_origin_carry_cors_headers(agent) -> None:
    status, headers, _body = call(
        agent, "GET", "/api/smartcard/terminals", headers={"Origin": CLINIC_ORIGIN}
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == CLINIC_ORIGIN
    assert headers["Vary"] == "Origin"


def test_other_origins_are_refused_without_reading_the_card(agent, insert_card) -> None:
    card = insert_card(VirtualThaiIdCard())
    evil = {"Origin": "https://evil.example"}
    status, headers, _body = call(
        agent,
        "OPTIONS",
        "/api/smartcard/read",
        headers={**evil, "Access-Control-Request-Method": "GET"},
    )
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    status, headers, body = call(
        agent, "GET", "/api/smartcard/read?readImageFlag=true", headers=evil
    )
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    assert set(body) == SPRING_KEYS
    assert card.apdus == []


def test_a_foreign_host_name_is_refused(agent) -> None:
    # DNS rebinding: a page on evil.example rebinds its name to 127.0.0.1 and calls
    # "same-origin", without an Origin header.
    status, _headers, _body = call(
        agent, "GET", "/api/smartcard/terminals", headers={"Host": f"evil.example:{agent.port}"}
    )
    assert status == 403


def test_unknown_path_and_bad_input(agent) -> None:
    assert call(agent, "GET", "/api/nope")[0] == 404
    assert call(agent, "GET", "/api/nhso-service/latest-authen-code/12345")[0] == 400
    assert call(agent, "GET", "/api/smartcard/read?readImageFlag=maybe")[0] == 400
    status, _headers, body = call(agent, "POST", "/api/nhso-service/confirm-save", body=[1])
    assert status in (400, 403) and set(body) == SPRING_KEYS


def test_kiosk_flow_confirm_save_needs_staff_unlock(agent, insert_card, fake_server) -> None:
    fake_server.state.staff_pins[STAFF_CID] = "2580"

    # Poll terminals until a card is there, then read it.
    patient = insert_card(VirtualThaiIdCard(), reader_index=0)
    status, _headers, terminals = call(agent, "GET", "/api/smartcard/terminals")
    assert status == 200 and terminals[0]["isPresent"]
    status, _headers, read = call(agent, "GET", "/api/smartcard/read?readImageFlag=false")
    assert status == 200
    status, _headers, body = call(
        agent, "GET", f"/api/nhso-service/latest-authen-code/{PATIENT_CID}"
    )
    assert status == 404  # no code yet today

    confirm = {
        "pid": read["pid"],
        "claimType": read["claimTypes"][0]["claimType"],
        "mobile": "0812345678",
        "correlationId": read["correlationId"],
    }
    status, _headers, body = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 403 and "unlock" in body["message"]
    assert all(path != "/agent/api/confirm-save" for _m, path, _h, _b in fake_server.state.requests)

    # The patient's card comes out; the staff member puts their own card in and enters
    # their PIN (a wrong one first), then takes the card out again.
    patient.remove()
    wait_for_card(READER_NAMES[0], present=False)
    staff = insert_card(VirtualThaiIdCard(CardContent(cid=STAFF_CID, name_th="นาง#ใจดี##มีสุข")))
    status, _headers, body = call(agent, "POST", "/api/agent/unlock", body={"pin": "1111"})
    assert status == 401 and body["messageTh"]
    status, _headers, body = call(agent, "POST", "/api/agent/unlock", body={"pin": "2580"})
    assert status == 200 and body["unlocked"] is True
    staff.remove()
    wait_for_card(READER_NAMES[0], present=False)
    assert fake_server.state.requests[-1][3] == {"staffPid": STAFF_CID, "pin": "2580"}
    assert call(agent, "GET", "/api/agent/status")[2]["unlocked"] is True

    status, _headers, saved = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 200
    assert saved["pid"] == PATIENT_CID and saved["claimType"] == "PG0060001"
    assert saved["correlationId"] == read["correlationId"]
    assert saved["claimCode"].startswith("PP") and len(saved["claimCode"]) == 12
    assert saved["createdDate"]

    status, _headers, latest = call(
        agent, "GET", f"/api/nhso-service/latest-authen-code/{PATIENT_CID}"
    )
    assert status == 200
    assert latest["claimCode"] == saved["claimCode"]
    assert set(latest) == {"claimType", "claimCode", "hcode", "claimDateTime", "checkDate"}

    # A correlationId serves one confirm only.
    status, _headers, body = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 409 and set(body) >= SPRING_KEYS

    assert call(agent, "POST", "/api/agent/lock")[0] == 200
    status, _headers, _body = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 403


def test_session_ended_by_the_server_locks_the_agent(agent, insert_card, fake_server) -> None:
    fake_server.state.staff_pins[STAFF_CID] = "2580"
    staff = insert_card(VirtualThaiIdCard(CardContent(cid=STAFF_CID)))
    assert call(agent, "POST", "/api/agent/unlock", body={"pin": "2580"})[0] == 200
    staff.remove()
    wait_for_card(READER_NAMES[0], present=False)
    insert_card(VirtualThaiIdCard(), reader_index=1)
    read = call(agent, "GET", "/api/smartcard/read")[2]
    fake_server.state.sessions.clear()  # e.g. revoked by an administrator

    confirm = {"pid": PATIENT_CID, "claimType": "PG0060001", "mobile": "0812345678",
               "correlationId": read["correlationId"]}  # fmt: skip
    status, _headers, body = call(agent, "POST", "/api/nhso-service/confirm-save", body=confirm)
    assert status == 401 and body["status"] == 401
    assert call(agent, "GET", "/api/agent/status")[2] == {"unlocked": False, "expiresAt": None}


def test_a_card_that_is_not_staff_cannot_unlock(agent, insert_card, fake_server) -> None:
    insert_card(VirtualThaiIdCard())
    status, _headers, body = call(agent, "POST", "/api/agent/unlock", body={"pin": "2580"})
    assert status == 401 and set(body) >= SPRING_KEYS  # the server's answer to a wrong PIN
    assert call(agent, "POST", "/api/agent/unlock", body={"pin": "12a4"})[0] == 400


@pytest.mark.parametrize("token", ["revoked-token", HIS_TOKEN])
def test_a_refused_facility_token_is_a_bad_gateway(
    agent_factory, pcscd, insert_card, token: str
) -> None:
    """An unknown or revoked token, or one made for hospital systems: the agent's setup."""
    agent = agent_factory(api_token=token)
    insert_card(VirtualThaiIdCard())
    status, _headers, body = call(agent, "GET", "/api/smartcard/read")
    assert status == 502 and set(body) >= SPRING_KEYS


def test_server_unreachable_is_503(agent_factory, pcscd, insert_card) -> None:
    agent = agent_factory(server_url="http://127.0.0.1:9")  # discard port: nothing listens
    insert_card(VirtualThaiIdCard())
    status, _headers, body = call(agent, "GET", "/api/smartcard/read?readImageFlag=false")
    assert status == 503 and "cannot be reached" in body["message"]


def test_configured_default_reader_is_used(agent_factory, pcscd, insert_card) -> None:
    agent = agent_factory(default_reader=READER_NAMES[0])
    insert_card(VirtualThaiIdCard(), reader_index=1)
    status, _headers, _body = call(agent, "GET", "/api/smartcard/read-card-only")
    assert status == 500  # the default reader is empty; the card elsewhere is not taken


def test_logs_hold_no_cid_name_or_photo(
    agent, insert_card, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    insert_card(VirtualThaiIdCard())
    call(agent, "GET", "/api/smartcard/read?readImageFlag=true")
    call(agent, "GET", f"/api/nhso-service/latest-authen-code/{PATIENT_CID}")
    assert caplog.records
    assert PATIENT_CID not in caplog.text
    assert "สมชาย" not in caplog.text and "Somchai" not in caplog.text
    assert "1-1017-xxxxx-03-0" in caplog.text
