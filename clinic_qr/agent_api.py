"""The server side of the reader agent: JSON over HTTPS, authenticated by a facility token of
scope ``agent`` (a staff PC: confirm-save needs a staff unlock) or ``kiosk`` (a registered
kiosk: kiosk codes only, for its own fresh card reads, no unlock; authencode.services.kiosks),
rate-limited per token (rule ``agent_token``) and, for kiosk codes, per kiosk (``kiosk_code``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from authencode.errors import DomainError, register
from authencode.models import ApiToken, AuthenCode, Kiosk
from authencode.services import agent, api_tokens, kiosks
from authencode.services.issuance import Issued
from authencode.services.people import UnitRef, person_cid
from authencode.thaidate import local, service_day
from authencode.web.context import db_session, services
from authencode.web.limits import check
from authencode.web.openapi import error_responses

agent_api = Blueprint("agent_api", __name__, url_prefix="/agent/api")

# A wrong PIN, a locked PIN and a card that is not active staff here get the same answer,
# so the unlock cannot be used to learn which citizen IDs belong to staff (a PIN locks only
# for staff, so "locked" would tell them apart).
UNLOCK_REFUSED = register(
    "UNLOCK_REFUSED",
    "unauthorized",
    "Wrong PIN, or this card is not an active staff member of this facility. After five "
    "wrong PINs a staff PIN rests for 15 minutes.",
    "PIN ไม่ถูกต้อง หรือบัตรนี้ไม่ใช่เจ้าหน้าที่ที่ใช้งานได้ของหน่วยบริการนี้ "
    "หากกรอก PIN ผิด 5 ครั้ง จะต้องรอ 15 นาทีจึงลองใหม่ได้",
)
_UNLOCK_REFUSALS = (agent.PIN_INVALID, agent.STAFF_NOT_ALLOWED, agent.PIN_LOCKED)


@agent_api.before_request
def _authenticate() -> None:
    """Every call: an agent token of a live facility, within its per-minute limit."""
    session = db_session()
    token = api_tokens.authenticate(session, request.headers.get("Authorization"), "agent", "kiosk")
    check("agent_token", str(token.id))
    g.api_token = token
    g.kiosk = kiosks.token_kiosk(session, token) if token.scope == "kiosk" else None


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("BAD_REQUEST", detail="a JSON object is expected")
    return body


def _token() -> ApiToken:
    return g.api_token


def _kiosk() -> Kiosk | None:
    """The kiosk whose agent is calling, or None for a staff PC's agent."""
    return g.kiosk


def _unit(unit: UnitRef | None) -> dict[str, str] | None:
    return {"hcode": unit.hcode, "hname": unit.hname} if unit else None


def _iso(moment: dt.datetime) -> str:
    return local(moment).replace(tzinfo=None).isoformat(timespec="seconds")


@agent_api.post("/card-reads")
def card_read() -> Response:
    """A card was read: answer rights, the services on offer and a correlation id."""
    body = _json_body()
    session, svc = db_session(), services()
    result = agent.record_card_read(
        session, svc.protector, _token(), body.get("pid"), str(body.get("terminalName") or "")
    )
    rights = svc.rights.rights_for(session, result.person)
    person = result.person
    return jsonify(
        correlationId=result.read.correlation_id,
        mainInscl=rights.main.display_th,
        subInscl=rights.sub.display_th if rights.sub else None,
        hospMain=_unit(rights.hosp_main),
        hospMainOp=_unit(rights.hosp_main_op),
        hospSub=_unit(rights.hosp_sub),
        claimTypes=[{"claimType": s.code, "claimTypeName": s.name_th} for s in result.services],
        age=f"{person.age_on(service_day())} ปี",
        nation="ไทย" if person.nation_code == "099" else person.nation_code,
        checkDate=_iso(rights.checked_at),
        transDate=_iso(rights.checked_at),
    )


@agent_api.post("/staff-unlock")
def staff_unlock() -> Response:
    body = _json_body()
    session, svc = db_session(), services()
    token = _token()
    if _kiosk() is not None:
        raise DomainError(kiosks.KIOSK_NO_UNLOCK)
    try:
        agent_session, secret = agent.unlock_agent(
            session, svc.protector, token, body.get("staffPid"), str(body.get("pin", ""))
        )
    except DomainError as error:
        session.commit()  # keep the counted failure (and its audit entry) despite the refusal
        if error.code in _UNLOCK_REFUSALS:
            raise DomainError(UNLOCK_REFUSED) from None
        raise
    return jsonify(sessionToken=secret, expiresAt=agent_session.expires_at.isoformat())


@agent_api.post("/confirm-save")
def confirm_save() -> Response:
    body = _json_body()
    svc = services()
    token = _token()
    kiosk = _kiosk()
    if kiosk is not None:
        issued = _kiosk_confirm_save(kiosk, body)
    else:
        issued = _staff_confirm_save(token, body)
    code = issued.code
    return jsonify(
        pid=person_cid(svc.protector, code.person),
        claimType=code.service_code,
        correlationId=body.get("correlationId"),
        createdDate=_iso(code.recorded_at),
        claimCode=code.code,
    )


def _kiosk_confirm_save(kiosk: Kiosk, body: dict[str, Any]) -> Issued:
    check("kiosk_code", str(kiosk.id))
    return kiosks.issue_kiosk_code(
        db_session(),
        services().protector,
        kiosk,
        correlation_id=body.get("correlationId"),
        raw_cid=body.get("pid"),
        service_code=str(body.get("claimType") or ""),
        mobile=body.get("mobile"),
        hn=body.get("hn"),
        hcode=body.get("hcode"),
    )


def _staff_confirm_save(token: ApiToken, body: dict[str, Any]) -> Issued:
    session, svc = db_session(), services()
    agent_session = agent.require_agent_session(
        session, token, request.headers.get("X-Agent-Session")
    )
    return agent.confirm_save(
        session,
        svc.protector,
        token,
        agent_session,
        raw_cid=body.get("pid"),
        service_code=str(body.get("claimType") or ""),
        mobile=body.get("mobile"),
        correlation_id=str(body.get("correlationId") or ""),
        hn=body.get("hn"),
        hcode=body.get("hcode"),
    )


@agent_api.get("/latest-authen-code/<pid>")
def latest_authen_code(pid: str) -> Response:
    session, svc = db_session(), services()
    kiosk = _kiosk()
    code: AuthenCode
    if kiosk is not None:
        code = kiosks.latest_code_for_kiosk(session, svc.protector, kiosk, pid)
    else:
        code = agent.latest_code(session, svc.protector, _token(), pid)
    return jsonify(
        claimType=code.service_code,
        claimCode=code.code,
        hcode=code.facility.hcode,
        claimDateTime=_iso(code.service_at),
        checkDate=_iso(code.recorded_at),
    )


def _body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


_S = {"type": "string"}
_SECURITY: list[dict[str, list[str]]] = [{"agentToken": []}, {"kioskToken": []}]
AGENT_OPENAPI: dict[str, Any] = {
    "/agent/api/card-reads": {
        "post": {
            "summary": "A reader agent read a card: rights, services on offer, correlation id",
            "security": _SECURITY,
            "requestBody": _body(
                ["pid"],
                {
                    "pid": _S,
                    "titleName": _S,
                    "fname": _S,
                    "lname": _S,
                    "birthDate": _S,
                    "sex": _S,
                    "terminalName": _S,
                },
            ),
            "responses": {
                "200": {"description": "rights and correlationId"},
                **error_responses(400, 401, 403, 404, 429),
            },
        }
    },
    "/agent/api/staff-unlock": {
        "post": {
            "summary": "Unlock the agent with a staff card's CID and PIN until midnight",
            "security": _SECURITY,
            "requestBody": _body(["staffPid", "pin"], {"staffPid": _S, "pin": _S}),
            "responses": {
                "200": {"description": "sessionToken, expiresAt"},
                **error_responses(400, 401, 403, 429),
            },
        }
    },
    "/agent/api/confirm-save": {
        "post": {
            "summary": "Issue the Authen Code for a recent card read: the smart-card channel "
            "(agent token, needs X-Agent-Session) or the kiosk channel (kiosk token, a read by "
            "the same token in the last 2 minutes)",
            "security": _SECURITY,
            "parameters": [
                {"name": "X-Agent-Session", "in": "header", "required": False, "schema": _S}
            ],
            "requestBody": _body(
                ["pid", "claimType", "mobile", "correlationId"],
                {
                    "pid": _S,
                    "claimType": _S,
                    "mobile": _S,
                    "correlationId": _S,
                    "hn": _S,
                    "hcode": _S,
                },
            ),
            "responses": {
                "200": {"description": "claimCode"},
                **error_responses(400, 401, 403, 404, 409, 410, 422, 429),
            },
        }
    },
    "/agent/api/latest-authen-code/{pid}": {
        "get": {
            "summary": "The person's latest active code at this facility",
            "security": _SECURITY,
            "parameters": [{"name": "pid", "in": "path", "required": True, "schema": _S}],
            "responses": {
                "200": {"description": "claimCode"},
                **error_responses(400, 401, 403, 404, 429),
            },
        }
    },
}
