"""The API for hospital systems (HIS): check-authen-status as NHSO's, and a reconciliation list.

Both take ``Authorization: Bearer <facility API token>`` of scope ``his`` and answer for that
facility only.

check-authen-status keeps the field names and Thai ``statusMessage`` texts hospital systems
already parse. A valid question always gets HTTP 200 (``statusAuthen`` false when nothing
was found); a malformed one gets HTTP 400 with ``statusAuthen: false`` and the Thai
``statusMessage`` *and* this server's usual ``error`` object, so both kinds of client
understand it; a missing, wrong or revoked token gets 401 in the usual error format, a token
of another scope 403.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from authencode.cid import parse_cid
from authencode.errors import DomainError, register
from authencode.models import ApiToken, AuthenCode, Person
from authencode.services import api_tokens, reports
from authencode.services.people import RightRef
from authencode.thaidate import local
from authencode.web.context import db_session, services
from authencode.web.openapi import ERROR_SCHEMA, error_responses

his_api = Blueprint("his_api", __name__, url_prefix="/authencodestatus/api")

MAX_RANGE_DAYS = 92
DEFAULT_PAGE_SIZE = 100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEX_TH = {"1": "ชาย", "2": "หญิง"}
_NATIONS_TH = {"099": "ไทย"}

# statusMessage texts of a valid question.
FOUND_TH = "พบข้อมูลการ authen"
NOT_FOUND_TH = "ไม่พบข้อมูลการ authen"
NOT_FOUND_FOR_SERVICE_TH = "ไม่พบข้อมูลการ authen ของบริการ {service} ในวันที่ระบุ"

# A malformed question: the Thai text is also its statusMessage.
PERSONAL_ID_REQUIRED = register(
    "PERSONAL_ID_REQUIRED",
    "invalid",
    "personalId (the 13-digit citizen ID) is required.",
    "กรุณาระบุเลขประจำตัวประชาชน 13 หลัก (personalId)",
)
PERSONAL_ID_INVALID = register(
    "PERSONAL_ID_INVALID",
    "invalid",
    "personalId is not a valid citizen ID.",
    "เลขประจำตัวประชาชน (personalId) ไม่ถูกต้อง",
)
SERVICE_DATE_INVALID = register(
    "SERVICE_DATE_INVALID",
    "invalid",
    "serviceDate must be a date written yyyy-MM-dd.",
    "รูปแบบวันที่เข้ารับบริการ (serviceDate) ไม่ถูกต้อง ต้องเป็น yyyy-MM-dd",
)
SERVICE_CODE_UNKNOWN = register(
    "SERVICE_CODE_UNKNOWN",
    "invalid",
    "serviceCode is not a known service type.",
    "ไม่พบรหัสบริการ (serviceCode) นี้ในระบบ",
)
DATE_RANGE_INVALID = register(
    "DATE_RANGE_INVALID",
    "invalid",
    "from and to are required (yyyy-MM-dd), from not after to, at most {days} days apart.",
    "กรุณาระบุ from และ to เป็น yyyy-MM-dd โดย from ไม่อยู่หลัง to และห่างกันไม่เกิน {days} วัน",
)


@his_api.before_request
def _authenticate() -> None:
    """Every call: a hospital-system token of a live facility."""
    g.api_token = api_tokens.authenticate(db_session(), request.headers.get("Authorization"), "his")


def _token() -> ApiToken:
    return g.api_token


def _parse_date(raw: str | None) -> dt.date | None:
    """A yyyy-MM-dd date, or None when it is missing or not a real date."""
    if raw is None or not _DATE.fullmatch(raw.strip()):
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _iso_local(moment: dt.datetime | None) -> str | None:
    """Bangkok wall time without offset, as NHSO's APIs write it: 2026-11-22T10:15:03."""
    return local(moment).replace(tzinfo=None).isoformat(timespec="seconds") if moment else None


def _refusal(error: DomainError, personal_id: str | None) -> Response:
    response = jsonify(
        statusAuthen=False,
        statusMessage=error.message_th,
        personalId=personal_id,
        error=error.to_dict(),
    )
    response.status_code = error.http_status
    return response


def _inscl(right: RightRef | None) -> dict[str, Any] | None:
    return {"id": right.code, "name": right.name_th} if right else None


def _history(code: AuthenCode) -> dict[str, Any]:
    return {
        "hospital": {"hcode": code.facility.hcode, "hname": code.facility.name},
        "serviceDateTime": _iso_local(code.service_at),
        "claimCode": code.code,
        "service": {"code": code.service_code, "name": code.service.name_th},
        "sourceChannel": code.channel.upper(),
    }


def _person_fields(person: Person) -> dict[str, Any]:
    rights = services().rights.rights_for(db_session(), person)
    province = (
        {"id": person.province_code, "name": person.province_name}
        if person.province_code or person.province_name
        else None
    )
    return {
        "firstName": person.first_name_th,
        "middleName": person.middle_name_th or None,
        "lastName": person.last_name_th,
        "sex": _SEX_TH.get(person.sex, person.sex),
        "birthDate": {"year": person.birth_year, "month": person.birth_month},
        "nation": {
            "code": person.nation_code,
            "descriptionTh": _NATIONS_TH.get(person.nation_code, person.nation_code),
        },
        "province": province,
        "mainInscl": _inscl(rights.main),
        "subInscl": _inscl(rights.sub),
    }


_PERSON_KEYS = (
    "firstName",
    "middleName",
    "lastName",
    "sex",
    "birthDate",
    "nation",
    "province",
    "mainInscl",
    "subInscl",
)


@his_api.get("/check-authen-status")
def check_authen_status() -> Response:
    """Was this person authenticated at the token's facility on the day (for the service)?"""
    token = _token()
    args = request.args
    raw_pid = (args.get("personalId") or "").strip()
    if not raw_pid:
        return _refusal(DomainError(PERSONAL_ID_REQUIRED), None)
    try:
        cid = parse_cid(raw_pid)
    except DomainError as error:
        return _refusal(DomainError(PERSONAL_ID_INVALID, detail=error.message), raw_pid[:20])
    day = _parse_date(args.get("serviceDate"))
    if day is None:
        return _refusal(DomainError(SERVICE_DATE_INVALID), cid)
    service_code = (args.get("serviceCode") or "").strip().upper() or None
    try:
        status = reports.authen_status(
            db_session(), services().protector, token.facility_id, cid, day, service_code
        )
    except DomainError as error:
        if error.code == "SERVICE_NOT_FOUND":
            return _refusal(DomainError(SERVICE_CODE_UNKNOWN, detail=service_code), cid)
        raise
    # Person details only with a code: a token is not a way to look people up by CID.
    answer: dict[str, Any] = {
        "statusAuthen": bool(status.codes),
        "personalId": cid,
        **dict.fromkeys(_PERSON_KEYS),
        "serviceHistories": [],
    }
    if status.codes and status.person is not None:
        answer.update(
            statusMessage=FOUND_TH,
            **_person_fields(status.person),
            serviceHistories=[_history(c) for c in status.codes],
        )
    elif status.other_service_codes and service_code:
        answer["statusMessage"] = NOT_FOUND_FOR_SERVICE_TH.format(service=service_code)
    else:
        answer["statusMessage"] = NOT_FOUND_TH
    return jsonify(answer)


@his_api.get("/codes")
def list_codes() -> Response:
    """The facility's codes of a date range, oldest first, a page at a time (reconciliation)."""
    token = _token()
    args = request.args
    date_from, date_to = _parse_date(args.get("from")), _parse_date(args.get("to"))
    if (
        date_from is None
        or date_to is None
        or date_from > date_to
        or (date_to - date_from).days >= MAX_RANGE_DAYS
    ):
        raise DomainError(DATE_RANGE_INVALID, days=MAX_RANGE_DAYS)
    page = _int_arg("page", 1)
    size = _int_arg("size", DEFAULT_PAGE_SIZE)
    code_filter = reports.CodeFilter(
        facility_ids=(token.facility_id,),
        date_from=date_from,
        date_to=date_to,
        service_code=args.get("serviceCode") or None,
        status=args.get("status") or None,
    )
    result = reports.search_codes(
        db_session(),
        services().protector,
        code_filter,
        page=page,
        size=size,
        reveal_cid=True,
        oldest_first=True,
    )
    return jsonify(
        hcode=token.facility.hcode,
        **{"from": date_from.isoformat()},
        to=date_to.isoformat(),
        page=result.page,
        size=result.size,
        total=result.total,
        totalPages=result.pages,
        items=[
            {
                "claimCode": item.code,
                "personalId": item.cid,
                "fullName": item.full_name,
                "service": {"code": item.service_code, "name": item.service_name},
                "serviceDateTime": _iso_local(item.service_at),
                "recordedDateTime": _iso_local(item.recorded_at),
                "sourceChannel": item.channel.upper(),
                "status": item.status,
                "hn": item.hn,
                "an": item.an,
                "cancelledDateTime": _iso_local(item.cancelled_at),
                "cancelReason": item.cancel_reason,
            }
            for item in result.items
        ],
    )


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        raise DomainError(reports.PAGE_INVALID, max=reports.MAX_PAGE_SIZE)
    return int(raw)


# --- OpenAPI ----------------------------------------------------------------------------------

_S: dict[str, Any] = {"type": "string"}
_NS: dict[str, Any] = {"type": "string", "nullable": True}
_SECURITY: list[dict[str, list[str]]] = [{"hisToken": []}]


def _obj(properties: dict[str, Any], nullable: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if nullable:
        schema["nullable"] = True
    return schema


_CHANNELS = {"type": "string", "enum": ["LINE", "SMARTCARD", "CID_PHOTO", "CERTIFIED_PID", "KIOSK"]}
_CODE_AND_NAME = _obj({"id": _NS, "name": _S}, nullable=True)
_STATUS_SCHEMA = _obj(
    {
        "statusAuthen": {"type": "boolean"},
        "statusMessage": {**_S, "description": f"'{FOUND_TH}', '{NOT_FOUND_TH}', or why not"},
        "personalId": _NS,
        "firstName": _NS,
        "middleName": _NS,
        "lastName": _NS,
        "sex": {**_NS, "description": "ชาย or หญิง"},
        "birthDate": _obj(
            {
                "year": {"type": "integer", "description": "Common Era"},
                "month": {"type": "integer", "nullable": True},
            },
            nullable=True,
        ),
        "nation": _obj({"code": _S, "descriptionTh": _S}, nullable=True),
        "province": _CODE_AND_NAME,
        "mainInscl": _CODE_AND_NAME,
        "subInscl": _CODE_AND_NAME,
        "serviceHistories": {
            "type": "array",
            "items": _obj(
                {
                    "hospital": _obj({"hcode": _S, "hname": _S}),
                    "serviceDateTime": {**_S, "description": "Asia/Bangkok, no offset"},
                    "claimCode": _S,
                    "service": _obj({"code": _S, "name": _S}),
                    "sourceChannel": _CHANNELS,
                }
            ),
        },
        # The inner object of the usual error body, present on a malformed question only.
        "error": ERROR_SCHEMA["properties"]["error"],
    }
)
_QUERY = "query"
HIS_OPENAPI: dict[str, Any] = {
    "/authencodestatus/api/check-authen-status": {
        "get": {
            "summary": "Hospital systems: the person's Authen Codes at this facility on a day",
            "description": "Compatible with NHSO's check-authen-status v1.1. Nothing found is "
            "HTTP 200 with statusAuthen false; a malformed question is HTTP 400 "
            "with statusAuthen false, the Thai statusMessage and an error object.",
            "security": _SECURITY,
            "parameters": [
                {"name": "personalId", "in": _QUERY, "required": True, "schema": _S},
                {
                    "name": "serviceDate",
                    "in": _QUERY,
                    "required": True,
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "serviceCode",
                    "in": _QUERY,
                    "required": False,
                    "schema": _S,
                    "description": "e.g. PG0060001; all services of the day when left out",
                },
            ],
            "responses": {
                "200": {
                    "description": "found, or not found",
                    "content": {"application/json": {"schema": _STATUS_SCHEMA}},
                },
                "400": {
                    "description": "malformed question",
                    "content": {"application/json": {"schema": _STATUS_SCHEMA}},
                },
                **error_responses(401, 403),
            },
        }
    },
    "/authencodestatus/api/codes": {
        "get": {
            "summary": "Hospital systems: this facility's codes of a date range, oldest first",
            "security": _SECURITY,
            "parameters": [
                {
                    "name": "from",
                    "in": _QUERY,
                    "required": True,
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "to",
                    "in": _QUERY,
                    "required": True,
                    "schema": {"type": "string", "format": "date"},
                    "description": f"inclusive; at most {MAX_RANGE_DAYS} days after from",
                },
                {"name": "page", "in": _QUERY, "schema": {"type": "integer", "minimum": 1}},
                {
                    "name": "size",
                    "in": _QUERY,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": reports.MAX_PAGE_SIZE,
                        "default": DEFAULT_PAGE_SIZE,
                    },
                },
                {"name": "serviceCode", "in": _QUERY, "schema": _S},
                {
                    "name": "status",
                    "in": _QUERY,
                    "schema": {"type": "string", "enum": ["active", "cancelled"]},
                },
            ],
            "responses": {
                "200": {
                    "description": "a page of codes",
                    "content": {
                        "application/json": {
                            "schema": _obj(
                                {
                                    "hcode": _S,
                                    "from": _S,
                                    "to": _S,
                                    "page": {"type": "integer"},
                                    "size": {"type": "integer"},
                                    "total": {"type": "integer"},
                                    "totalPages": {"type": "integer"},
                                    "items": {
                                        "type": "array",
                                        "items": _obj(
                                            {
                                                "claimCode": _S,
                                                "personalId": _S,
                                                "fullName": _S,
                                                "service": _obj({"code": _S, "name": _S}),
                                                "serviceDateTime": _S,
                                                "recordedDateTime": _S,
                                                "sourceChannel": _CHANNELS,
                                                "status": {
                                                    "type": "string",
                                                    "enum": ["active", "cancelled"],
                                                },
                                                "hn": _NS,
                                                "an": _NS,
                                                "cancelledDateTime": _NS,
                                                "cancelReason": _NS,
                                            }
                                        ),
                                    },
                                }
                            )
                        }
                    },
                },
                **error_responses(400, 401, 403),
            },
        }
    },
}
