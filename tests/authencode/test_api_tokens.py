"""Facility API tokens (authencode.services.api_tokens): shown once, stored hashed, scoped."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.errors import DomainError
from authencode.models import ApiToken, AuditEntry
from authencode.services import api_tokens
from tests.support.factories import make_facility


def _code(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_a_new_token_opens_its_own_api_only_and_its_secret_is_not_stored(session: Session) -> None:
    facility = make_facility(session)
    new = api_tokens.create_token(session, facility, "  HIS  ", "admin", scope="his")
    session.commit()
    row = session.scalars(select(ApiToken)).one()
    assert row.name == "HIS" and new.secret.startswith(api_tokens.TOKEN_PREFIX)
    assert new.secret not in (row.token_hash, row.prefix)
    assert api_tokens.authenticate(session, f"Bearer {new.secret}", "his").id == row.id
    assert row.last_used_at is not None
    assert (
        _code(lambda: api_tokens.authenticate(session, f"Bearer {new.secret}", "agent"))
        == "TOKEN_SCOPE"
    )
    assert session.scalars(select(AuditEntry.action)).all() == ["api_token.create"]


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic abc", "bearer"])
def test_a_missing_token_is_told_apart_from_a_wrong_one(
    session: Session, header: str | None
) -> None:
    assert _code(lambda: api_tokens.authenticate(session, header, "his")) == "TOKEN_MISSING"
    assert (
        _code(lambda: api_tokens.authenticate(session, "Bearer ac_nope", "his")) == "TOKEN_INVALID"
    )


def test_a_revoked_token_or_one_of_a_closed_facility_stops_working(session: Session) -> None:
    facility = make_facility(session)
    revoked = api_tokens.create_token(session, facility, "old", "admin")
    kept = api_tokens.create_token(session, facility, "kept", "admin")
    api_tokens.revoke_token(session, revoked.token, "admin")
    api_tokens.revoke_token(session, revoked.token, "admin")  # once is audited, not twice
    session.commit()
    assert (
        _code(lambda: api_tokens.authenticate(session, f"Bearer {revoked.secret}", "his"))
        == "TOKEN_INVALID"
    )
    assert api_tokens.authenticate(session, f"bearer {kept.secret}", "his").name == "kept"
    facility.active = False
    session.commit()
    assert (
        _code(lambda: api_tokens.authenticate(session, f"Bearer {kept.secret}", "his"))
        == "TOKEN_INVALID"
    )
    actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("api_token.revoke") == 1


@pytest.mark.parametrize(
    ("name", "scope", "code"),
    [
        ("", "his", "FIELD_INVALID"),
        ("   ", "his", "FIELD_INVALID"),
        ("x", "root", "TOKEN_SCOPE_UNKNOWN"),
    ],
)
def test_a_token_needs_a_name_and_a_known_scope(
    session: Session, name: str, scope: str, code: str
) -> None:
    facility = make_facility(session)
    assert (
        _code(lambda: api_tokens.create_token(session, facility, name, "admin", scope=scope))
        == code
    )
    assert session.scalars(select(ApiToken)).all() == []
