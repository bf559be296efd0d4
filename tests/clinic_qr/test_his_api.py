"""The hospital-system API: check-authen-status (NHSO-compatible) and the reconciliation list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from authencode.models import ApiToken
from authencode.services.api_tokens import create_token, revoke_token, token_digest
from authencode.services.issuance import cancel_code, issue_code
from authencode.thaidate import BANGKOK
from tests.support.factories import make_facility, make_person, make_staff, new_cid

DAY = dt.date(2026, 3, 1)
URL = "/authencodestatus/api/check-authen-status"
LIST_URL = "/authencodestatus/api/codes"
STATUS_KEYS = {
    "statusAuthen", "statusMessage", "personalId", "firstName", "middleName", "lastName", "sex",
    "birthDate", "nation", "province", "mainInscl", "subInscl", "serviceHistories",
}  # fmt: skip


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), BANGKOK).astimezone(dt.UTC)


@pytest.fixture
def world(app, protector) -> dict[str, Any]:
    db = app.extensions["authencode"].db
    cids = {"patient": new_cid(), "nocode": new_cid(), "cancelled": new_cid()}
    with db.transaction() as session:
        clinic = make_facility(session, hcode="10675", name="รพ.สต.บ้านทดสอบ")
        other = make_facility(session, hcode="10676", name="คลินิกอื่น")
        staff = make_staff(session, protector, clinic)
        patient = make_person(
            session,
            protector,
            cids["patient"],
            title_th="นาง",
            first_name_th="สมหญิง",
            middle_name_th="กลาง",
            last_name_th="ใจงาม",
            sex="2",
            birth_year=1987,
            birth_month=1,
            province_code="4000",
            province_name="ขอนแก่น",
        )
        make_person(session, protector, cids["nocode"])
        cancelled = make_person(session, protector, cids["cancelled"])
        code = issue_code(
            session,
            patient,
            hcode="10675",
            service_code="PG0060001",
            phones="0812345678",
            channel="line",
            now=_at(DAY, 9, 5),
        ).code.code
        card = issue_code(
            session,
            patient,
            hcode="10675",
            service_code="PG0090001",
            phones="0812345678",
            channel="smartcard",
            now=_at(DAY, 10),
            recorder_staff_id=staff.id,
            hn="HN1",
        ).code.code
        issue_code(
            session,
            patient,
            hcode="10675",
            service_code="PG0060001",
            phones="0812345678",
            channel="line",
            now=_at(DAY + dt.timedelta(days=1), 8),
        )
        issue_code(
            session,
            patient,
            hcode="10676",
            service_code="PG0060001",
            phones="0812345678",
            channel="kiosk",
            now=_at(DAY, 11),
        )
        gone = issue_code(
            session,
            cancelled,
            hcode="10675",
            service_code="PG0060001",
            phones="0812345678",
            channel="line",
            now=_at(DAY, 12),
        ).code
        cancel_code(session, gone, staff_id=staff.id, reason="ผู้ป่วยไม่มารับบริการ")
        token = create_token(session, clinic, "HIS", "test").secret
        other_token = create_token(session, other, "HIS", "test").secret
    return {
        "db": db,
        "cids": cids,
        "code": code,
        "card": card,
        "token": token,
        "other_token": other_token,
    }


def _get(client, url: str, token: str | None, **params: str):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, query_string=params, headers=headers)


def _check(client, world, **params: str):
    return _get(client, URL, world["token"], **params)


def test_found_answers_the_nhso_fields(client, world) -> None:
    cid = world["cids"]["patient"]
    response = _check(
        client, world, personalId=cid, serviceDate="2026-03-01", serviceCode="PG0060001"
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == STATUS_KEYS
    assert body["statusAuthen"] is True
    assert body["statusMessage"] == "พบข้อมูลการ authen"
    assert (body["personalId"], body["firstName"], body["middleName"], body["lastName"]) == (
        cid,
        "สมหญิง",
        "กลาง",
        "ใจงาม",
    )
    assert body["sex"] == "หญิง"
    assert body["birthDate"] == {"year": 1987, "month": 1}
    assert body["nation"] == {"code": "099", "descriptionTh": "ไทย"}
    assert body["province"] == {"id": "4000", "name": "ขอนแก่น"}
    assert body["mainInscl"] == {"id": "UCS", "name": "สิทธิหลักประกันสุขภาพแห่งชาติ"}
    assert body["subInscl"] == {"id": "89", "name": "ช่วงอายุ 12-59 ปี"}
    assert body["serviceHistories"] == [
        {
            "hospital": {"hcode": "10675", "hname": "รพ.สต.บ้านทดสอบ"},
            "serviceDateTime": "2026-03-01T09:05:00",
            "claimCode": world["code"],
            "service": {"code": "PG0060001", "name": "เข้ารับบริการรักษาทั่วไป (OPD/ IPD/ PP)"},
            "sourceChannel": "LINE",
        }
    ]


def test_without_a_service_code_every_service_of_the_day_is_listed(client, world) -> None:
    body = _check(
        client, world, personalId=world["cids"]["patient"], serviceDate="2026-03-01"
    ).get_json()
    assert body["statusAuthen"] is True
    assert [(h["claimCode"], h["sourceChannel"]) for h in body["serviceHistories"]] == [
        (world["code"], "LINE"),
        (world["card"], "SMARTCARD"),
    ]


@pytest.mark.parametrize("who", ["nocode", "cancelled", "unregistered"])
def test_not_found_is_200_with_status_false_and_no_personal_details(client, world, who) -> None:
    cid = world["cids"].get(who) or new_cid()
    response = _check(
        client, world, personalId=cid, serviceDate="2026-03-01", serviceCode="PG0060001"
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == STATUS_KEYS
    assert body["statusAuthen"] is False
    assert body["statusMessage"] == "ไม่พบข้อมูลการ authen"
    assert body["personalId"] == cid
    assert body["firstName"] is None and body["mainInscl"] is None
    assert body["serviceHistories"] == []


def test_another_day_is_not_found(client, world) -> None:
    body = _check(
        client, world, personalId=world["cids"]["patient"], serviceDate="2026-02-28"
    ).get_json()
    assert (body["statusAuthen"], body["statusMessage"]) == (False, "ไม่พบข้อมูลการ authen")


def test_not_found_for_this_service(client, world) -> None:
    response = _check(
        client,
        world,
        personalId=world["cids"]["patient"],
        serviceDate="2026-03-01",
        serviceCode="PG0150001",
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["statusAuthen"] is False
    assert body["statusMessage"] == "ไม่พบข้อมูลการ authen ของบริการ PG0150001 ในวันที่ระบุ"
    assert body["serviceHistories"] == [] and body["firstName"] is None


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"serviceDate": "2026-03-01"},
            "PERSONAL_ID_REQUIRED",
            "กรุณาระบุเลขประจำตัวประชาชน 13 หลัก (personalId)",
        ),
        (
            {"personalId": " ", "serviceDate": "2026-03-01"},
            "PERSONAL_ID_REQUIRED",
            "กรุณาระบุเลขประจำตัวประชาชน 13 หลัก (personalId)",
        ),
        (
            {"personalId": "1101700207031", "serviceDate": "2026-03-01"},
            "PERSONAL_ID_INVALID",
            "เลขประจำตัวประชาชน (personalId) ไม่ถูกต้อง",
        ),
        (
            {"personalId": "11017002070", "serviceDate": "2026-03-01"},
            "PERSONAL_ID_INVALID",
            "เลขประจำตัวประชาชน (personalId) ไม่ถูกต้อง",
        ),
        (
            {"personalId": "1101700207030", "serviceDate": "01/03/2026"},
            "SERVICE_DATE_INVALID",
            "รูปแบบวันที่เข้ารับบริการ (serviceDate) ไม่ถูกต้อง ต้องเป็น yyyy-MM-dd",
        ),
        (
            {"personalId": "1101700207030", "serviceDate": "2026-02-30"},
            "SERVICE_DATE_INVALID",
            "รูปแบบวันที่เข้ารับบริการ (serviceDate) ไม่ถูกต้อง ต้องเป็น yyyy-MM-dd",
        ),
        (
            {"personalId": "1101700207030"},
            "SERVICE_DATE_INVALID",
            "รูปแบบวันที่เข้ารับบริการ (serviceDate) ไม่ถูกต้อง ต้องเป็น yyyy-MM-dd",
        ),
        (
            {
                "personalId": "1101700207030",
                "serviceDate": "2026-03-01",
                "serviceCode": "PG9999999",
            },
            "SERVICE_CODE_UNKNOWN",
            "ไม่พบรหัสบริการ (serviceCode) นี้ในระบบ",
        ),
    ],
)
def test_malformed_questions_are_400_with_the_thai_status_message(
    client, world, params, code, message
) -> None:
    response = _check(client, world, **params)
    assert response.status_code == 400
    body = response.get_json()
    assert body["statusAuthen"] is False
    assert body["statusMessage"] == message
    assert body["error"]["code"] == code
    assert body["error"]["message_th"] == message and body["error"]["message"]


def test_tokens_are_required_valid_and_not_revoked(client, world) -> None:
    params = {"personalId": world["cids"]["patient"], "serviceDate": "2026-03-01"}
    missing = _get(client, URL, None, **params)
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "TOKEN_MISSING"
    wrong = _get(client, URL, "ac_not-a-token", **params)
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "TOKEN_INVALID"
    assert wrong.get_json()["error"]["message_th"]
    assert (
        _get(
            client, LIST_URL, "ac_not-a-token", **{"from": "2026-03-01", "to": "2026-03-01"}
        ).status_code
        == 401
    )

    assert _get(client, URL, world["token"], **params).status_code == 200
    with world["db"].transaction() as session:
        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == token_digest(world["token"]))
        )
        revoke_token(session, row, "test")
    revoked = _get(client, URL, world["token"], **params)
    assert revoked.status_code == 401
    assert revoked.get_json()["error"]["code"] == "TOKEN_INVALID"


def test_a_facility_sees_only_its_own_codes(client, world) -> None:
    body = _get(
        client,
        URL,
        world["other_token"],
        personalId=world["cids"]["patient"],
        serviceDate="2026-03-01",
    ).get_json()
    assert body["statusAuthen"] is True
    assert [(h["hospital"]["hcode"], h["sourceChannel"]) for h in body["serviceHistories"]] == [
        ("10676", "KIOSK")
    ]
    listed = _get(
        client, LIST_URL, world["other_token"], **{"from": "2026-03-01", "to": "2026-03-31"}
    ).get_json()
    assert listed["hcode"] == "10676" and listed["total"] == 1


def test_codes_list_pages_a_date_range_oldest_first(client, world) -> None:
    range_ = {"from": "2026-03-01", "to": "2026-03-02"}
    body = _get(client, LIST_URL, world["token"], **range_).get_json()
    assert (body["hcode"], body["from"], body["to"]) == ("10675", "2026-03-01", "2026-03-02")
    assert (body["total"], body["page"], body["size"], body["totalPages"]) == (4, 1, 100, 1)
    assert [i["serviceDateTime"] for i in body["items"]] == [
        "2026-03-01T09:05:00",
        "2026-03-01T10:00:00",
        "2026-03-01T12:00:00",
        "2026-03-02T08:00:00",
    ]
    first = body["items"][0]
    assert first == {
        "claimCode": world["code"],
        "personalId": world["cids"]["patient"],
        "fullName": "นางสมหญิง กลาง ใจงาม",
        "service": {"code": "PG0060001", "name": "เข้ารับบริการรักษาทั่วไป (OPD/ IPD/ PP)"},
        "serviceDateTime": "2026-03-01T09:05:00",
        "recordedDateTime": "2026-03-01T09:05:00",
        "sourceChannel": "LINE",
        "status": "active",
        "hn": None,
        "an": None,
        "cancelledDateTime": None,
        "cancelReason": None,
    }
    cancelled = body["items"][2]
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelReason"] == "ผู้ป่วยไม่มารับบริการ" and cancelled["cancelledDateTime"]

    second = _get(client, LIST_URL, world["token"], page="2", size="2", **range_).get_json()
    assert (second["total"], second["totalPages"], len(second["items"])) == (4, 2, 2)
    assert second["items"][0]["serviceDateTime"] == "2026-03-01T12:00:00"
    only = _get(
        client, LIST_URL, world["token"], serviceCode="PG0090001", status="active", **range_
    ).get_json()
    assert [i["claimCode"] for i in only["items"]] == [world["card"]]
    assert only["items"][0]["hn"] == "HN1"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to": "2026-03-01"}, "DATE_RANGE_INVALID"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "DATE_RANGE_INVALID"),
        ({"from": "2026-01-01", "to": "2026-04-30"}, "DATE_RANGE_INVALID"),
        ({"from": "1/3/2026", "to": "2026-03-01"}, "DATE_RANGE_INVALID"),
        ({"from": "2026-03-01", "to": "2026-03-01", "page": "0"}, "PAGE_INVALID"),
        ({"from": "2026-03-01", "to": "2026-03-01", "size": "5000"}, "PAGE_INVALID"),
        ({"from": "2026-03-01", "to": "2026-03-01", "size": "ten"}, "PAGE_INVALID"),
        ({"from": "2026-03-01", "to": "2026-03-01", "status": "gone"}, "REPORT_FILTER_INVALID"),
    ],
)
def test_codes_list_refuses_bad_parameters(client, world, params, code) -> None:
    response = _get(client, LIST_URL, world["token"], **params)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"] and error["message_th"]


def test_both_calls_are_described_in_openapi(client) -> None:
    spec = client.get("/openapi.json").get_json()
    status = spec["paths"]["/authencodestatus/api/check-authen-status"]["get"]
    assert {p["name"] for p in status["parameters"]} == {"personalId", "serviceDate", "serviceCode"}
    schema = status["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) >= STATUS_KEYS
    assert status["security"] == [{"hisToken": []}]
    listing = spec["paths"]["/authencodestatus/api/codes"]["get"]
    assert {"from", "to", "page", "size"} <= {p["name"] for p in listing["parameters"]}
    assert "401" in listing["responses"]
