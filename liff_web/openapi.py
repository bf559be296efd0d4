"""OpenAPI paths of /liff/api (served in GET /openapi.json)."""

from __future__ import annotations

from typing import Any

from authencode.web.openapi import error_responses

_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
_SECURITY: list[dict[str, list[str]]] = [{"liffIdToken": []}]
LIFF_SECURITY: dict[str, Any] = {
    "liffIdToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "LIFF ID token (ES256)",
    }
}
_AUTH_ERRORS = (401, 429, 503)  # 429: the per-IP and per-LINE-user rate limits


def _body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


def _op(
    summary: str,
    ok: str,
    *errors: int,
    status: str = "200",
    also_ok: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    oks = {status: {"description": ok}}
    if also_ok:
        oks[also_ok] = {"description": ok}
    return {
        "summary": summary,
        "security": _SECURITY,
        **extra,
        "responses": {**oks, **error_responses(*sorted({*errors, *_AUTH_ERRORS}))},
    }


_BIRTH_DATE: dict[str, Any] = {
    "type": "string",
    "example": "2533-05-17",
    "description": "Birth date as YYYY-MM-DD, the year in the Buddhist era (above 2400) or "
    "the Common Era; DD/MM/YYYY is accepted too. 00 for an unknown month or "
    "day. It must match the registry; a mismatch answers 404 PERSON_NOT_FOUND, "
    "as an unknown CID does.",
}
_MEMBER_ID = {"name": "member_id", "in": "path", "required": True, "schema": _S}

LIFF_OPENAPI: dict[str, Any] = {
    "/liff/api/me": {
        "get": _op(
            "Consent state and the persons the LINE account acts for", "consent, self, members"
        )
    },
    "/liff/api/consent": {
        "get": _op("The consent text (Thai) and its version", "version, text_th, given"),
        "post": _op(
            "Accept or decline the consent text of a version",
            "decision recorded",
            400,
            409,
            requestBody=_body(
                ["decision", "version"],
                {"decision": {"type": "string", "enum": ["accept", "decline"]}, "version": _S},
            ),
        ),
    },
    "/liff/api/register": {
        "post": _op(
            "Register the account holder: CID, birth date and mobile (registry match, age >= 15, "
            "eligible main right). The link is claimed (level), or pending with a `notice` "
            "when the CID is another LINE account's own: verifying at a counter or with ThaID "
            "moves it here",
            "member (with level), notice when pending",
            400,
            403,
            404,
            409,
            422,
            requestBody=_body(
                ["cid", "phone", "birthDate"], {"cid": _S, "phone": _S, "birthDate": _BIRTH_DATE}
            ),
        )
    },
    "/liff/api/members": {
        "get": _op(
            "The persons the account acts for (CIDs and phones masked), each with its "
            "level: pending, claimed or verified",
            "members",
        ),
        "post": _op(
            "Add a family member (at most five per account): claimed, or pending "
            "(no access) when the person is another LINE account's verified own",
            "member",
            400,
            403,
            404,
            409,
            422,
            status="201",
            requestBody=_body(
                ["cid", "phone", "birthDate", "relation"],
                {"cid": _S, "phone": _S, "birthDate": _BIRTH_DATE, "relation": _S},
            ),
        ),
    },
    "/liff/api/members/{member_id}": {
        "delete": _op("Remove a family member", "removed", 404, parameters=[_MEMBER_ID])
    },
    "/liff/api/members/{member_id}/thaid": {
        "post": _op(
            "Start verifying the link with ThaID (OpenID Connect, PKCE): the URL to open in this "
            "browser, which also gets a cookie binding the sign-in to it; 404 THAID_NOT_CONFIGURED "
            "when ThaID is off, 403 for a guardian's link to a child under 15 (counter only)",
            "authorization_url, expires_at",
            403,
            404,
            409,
            parameters=[_MEMBER_ID],
        )
    },
    "/liff/api/members/{member_id}/rights": {
        "get": _op(
            "Main and sub right, registered units, primary care unit changes this fiscal year "
            "(verified links; claimed: only `eligible`, `detail` false; pending: 403)",
            "rights",
            403,
            404,
            parameters=[_MEMBER_ID],
        )
    },
    "/liff/api/codes": {
        "get": _op(
            "Today's codes and the history of the account's persons: the codes this "
            "account requested, and every code of a person it holds a verified link to",
            "today, history",
            403,
            404,
            parameters=[{"name": "member_id", "in": "query", "required": False, "schema": _S}],
        ),
        "post": _op(
            "Scanned clinic QR: issue (or return) today's code for a linked person; "
            "201 when new (also pushed to the LINE chat), 200 when already issued",
            "code",
            400,
            403,
            404,
            410,
            422,
            status="201",
            also_ok="200",
            requestBody=_body(["member_id", "scanned"], {"member_id": _I, "scanned": _S}),
        ),
    },
    "/liff/api/qr": {
        "get": _op(
            "What a scanned clinic QR asks for (facility, service), checked as a code request "
            "checks it (QR_* refusals, SERVICE_NOT_OFFERED); nothing is issued",
            "hcode, facility_name, service_code, service_name_th, service_name_en, expires_at",
            400,
            404,
            410,
            parameters=[{"name": "scanned", "in": "query", "required": True, "schema": _S}],
        )
    },
    "/liff/api/consent/withdraw": {
        "post": _op(
            "Withdraw consent: the account's links and an unfinished dialogue go; issued codes, "
            "the consent history and the audit log stay; told in the LINE chat. Sent again "
            "(a double tap) it answers the withdrawal already recorded (created false)",
            "withdrawn, created, decided_at",
            400,
            409,
            requestBody=_body(["confirm"], {"confirm": {"type": "string", "enum": ["withdraw"]}}),
        )
    },
    "/liff/api/members/{member_id}/verification-code": {
        "post": _op(
            "A one-time code to verify this link at a clinic counter (6 digits and a QR of them, "
            "10 minutes, replaces the link's unused code)",
            "code, qr_svg, expires_at",
            403,
            404,
            409,
            status="201",
            parameters=[_MEMBER_ID],
        )
    },
    "/liff/api/facilities": {
        "get": _op(
            "Active facilities to choose a new primary care unit from",
            "facilities",
            parameters=[{"name": "q", "in": "query", "required": False, "schema": _S}],
        )
    },
    "/liff/api/linked-by": {
        "get": _op(
            "The holder's own say (verified own account only): other accounts' links to them "
            "(relation, level, since) and the codes those accounts asked for in their name",
            "links, codes",
            403,
        )
    },
    "/liff/api/linked-by/{link_id}": {
        "delete": _op(
            "Remove another account's link to the holder (audited)",
            "removed",
            403,
            404,
            parameters=[{"name": "link_id", "in": "path", "required": True, "schema": _S}],
        )
    },
    "/liff/api/my-data": {
        "get": _op(
            "Everything held about the account holder (PDPA access): links and levels, codes, "
            "consent history, who has linked them (verified own link), unit-change requests, "
            "erasures; full values only of the holder's own data",
            "account, links, codes, consent_history, linked_by, pcu_requests, erasures",
        )
    },
    "/liff/api/my-data/erase": {
        "post": _op(
            "Erase the holder's data (PDPA): links, phones, photos, dialogues and consent go; "
            "codes are kept for claims and detached from LINE; confirmed in the chat, audited. "
            "Sent again it answers the erasure already done",
            "erasure, created",
            400,
            409,
            requestBody=_body(["confirm"], {"confirm": {"type": "string", "enum": ["erase"]}}),
        )
    },
    "/liff/api/not-me": {
        "post": _op(
            "This was not me: the account that asked for the code loses its link to the holder "
            "and its codes in their name are flagged for the facility's review",
            "flagged",
            400,
            403,
            404,
            requestBody=_body(["code_id"], {"code_id": _I}),
        )
    },
    "/liff/api/approvals/{approval_id}": {
        "post": _op(
            "Approve (verifies the pending link) or decline (removes it) a request to link the "
            "holder",
            "decision",
            400,
            403,
            404,
            parameters=[{"name": "approval_id", "in": "path", "required": True, "schema": _S}],
            requestBody=_body(
                ["decision"], {"decision": {"type": "string", "enum": ["approve", "decline"]}}
            ),
        )
    },
    "/liff/api/pcu-changes": {
        "post": _op(
            "Request a new primary care unit (at most 4 changes per fiscal year)",
            "request",
            400,
            403,
            404,
            409,
            422,
            status="201",
            requestBody=_body(["member_id", "hcode"], {"member_id": _I, "hcode": _S}),
        )
    },
}
