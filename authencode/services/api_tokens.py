"""Facility API tokens for hospital systems and reader agents: shown once, stored hashed.

Each token has a scope and opens only that API: ``his`` the hospital-system API, ``agent``
the reader agent's, ``kiosk`` a registered kiosk's agent (the reader agent's API, with the
kiosk's rules: authencode.services.kiosks).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import ApiToken, Facility
from authencode.models.agent import TOKEN_SCOPES
from authencode.services import audit

TOKEN_MISSING = register(
    "TOKEN_MISSING", "unauthorized", "An API token is required.", "ต้องระบุโทเคนสำหรับเรียกใช้ API"
)
TOKEN_INVALID = register(
    "TOKEN_INVALID",
    "unauthorized",
    "The API token is not valid or has been revoked.",
    "โทเคนไม่ถูกต้องหรือถูกยกเลิกแล้ว",
)
TOKEN_SCOPE = register(
    "TOKEN_SCOPE",
    "forbidden",
    "This API token is not for this API; it needs a token of scope {scope}.",
    "โทเคนนี้ใช้กับ API นี้ไม่ได้ ต้องใช้โทเคนขอบเขต {scope}",
)
TOKEN_SCOPE_UNKNOWN = register(
    "TOKEN_SCOPE_UNKNOWN",
    "invalid",
    "A token's scope is one of: {scopes}.",
    "ขอบเขตของโทเคนต้องเป็นหนึ่งใน: {scopes}",
)
TOKEN_PREFIX = "ac_"  # noqa: S105 - a visible prefix, not a secret


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to the creator once, never stored


def create_token(
    session: Session, facility: Facility, name: str, actor: str, scope: str = "his"
) -> NewToken:
    """Create a token of the scope for the facility; the secret is returned once. Audited.

    Raises FIELD_INVALID (no name) or TOKEN_SCOPE_UNKNOWN.
    """
    name = (name or "").strip()[:100]
    if not name:
        raise DomainError("FIELD_INVALID", detail="a token needs a name")
    if scope not in TOKEN_SCOPES:
        raise DomainError(TOKEN_SCOPE_UNKNOWN, scopes=", ".join(TOKEN_SCOPES))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        facility_id=facility.id,
        name=name,
        token_hash=token_digest(secret),
        prefix=secret[:10],
        scope=scope,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "api_token.create",
        f"api_token:{row.id}",
        {"facility": facility.hcode, "name": name, "scope": scope},
    )
    return NewToken(row, secret)


def revoke_token(session: Session, token: ApiToken, actor: str) -> None:
    """Revoke a token; it stops working at once. Audited."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "api_token.revoke", f"api_token:{token.id}")


def authenticate(session: Session, authorization: str | None, scope: str, *also: str) -> ApiToken:
    """The live token of the scope (or of one of ``also``) named by an `Authorization:
    Bearer …` header.

    Raises TOKEN_MISSING, TOKEN_INVALID or (a live token of another scope) TOKEN_SCOPE.
    """
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise DomainError(TOKEN_MISSING)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    if row is None or row.revoked_at is not None or not row.facility.active:
        raise DomainError(TOKEN_INVALID)
    if row.scope != scope and row.scope not in also:
        raise DomainError(TOKEN_SCOPE, scope=scope)
    row.last_used_at = utcnow()
    return row
