"""Facility API tokens for hospital systems and reader agents: shown once, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import ApiToken, Facility
from authencode.services import audit

TOKEN_MISSING = register("TOKEN_MISSING", "unauthorized", "An API token is required.",
                         "ต้องระบุโทเคนสำหรับเรียกใช้ API")
TOKEN_INVALID = register("TOKEN_INVALID", "unauthorized",
                         "The API token is not valid or has been revoked.",
                         "โทเคนไม่ถูกต้องหรือถูกยกเลิกแล้ว")
TOKEN_PREFIX = "ac_"  # noqa: S105 - a visible prefix, not a secret


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to the creator once, never stored


def create_token(session: Session, facility: Facility, name: str, actor: str) -> NewToken:
    """Create a token for the facility; the secret is returned once. Audited."""
    name = (name or "").strip()[:100]
    if not name:
        raise DomainError("FIELD_INVALID", detail="a token needs a name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(facility_id=facility.id, name=name, token_hash=token_digest(secret),
                   prefix=secret[:10], created_by=actor)
    session.add(row)
    session.flush()
    audit.record(session, actor, "api_token.create", f"api_token:{row.id}",
                 {"facility": facility.hcode, "name": name})
    return NewToken(row, secret)


def revoke_token(session: Session, token: ApiToken, actor: str) -> None:
    """Revoke a token; it stops working at once. Audited."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "api_token.revoke", f"api_token:{token.id}")


def authenticate(session: Session, authorization: str | None) -> ApiToken:
    """The live token named by an `Authorization: Bearer …` header.

    Raises TOKEN_MISSING or TOKEN_INVALID.
    """
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise DomainError(TOKEN_MISSING)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    if row is None or row.revoked_at is not None or not row.facility.active:
        raise DomainError(TOKEN_INVALID)
    row.last_used_at = utcnow()
    return row
