"""Signed clinic QR tokens: what verifies, and every way a token is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authencode.errors import DomainError
from authencode.services import audit, qr_tokens
from tests.support.factories import make_facility


def _code(call) -> str:
    with pytest.raises(DomainError) as info:
        call()
    return info.value.code


def test_poster_token_round_trips_through_its_link(session, protector) -> None:
    facility = make_facility(session)
    token = qr_tokens.sign_poster(session, protector, facility, "PG0060001")
    url = qr_tokens.qr_url("https://authen.example/", token)
    assert url == f"https://authen.example/q/{token}"
    claim = qr_tokens.verify(session, protector, url)
    assert (claim.hcode, claim.service_code, claim.facility_id) == (
        "10675",
        "PG0060001",
        facility.id,
    )
    assert not claim.is_display
    assert qr_tokens.verify(session, protector, token) == claim
    assert len(token) < 80


def test_one_key_per_facility_until_rotated(session, protector) -> None:
    facility = make_facility(session)
    first = qr_tokens.ensure_key(session, protector, facility)
    assert qr_tokens.ensure_key(session, protector, facility).id == first.id
    rotated = qr_tokens.rotate_key(session, protector, facility, actor="staff:1")
    assert rotated.id != first.id and first.revoked_at is not None
    current = qr_tokens.current_key(session, facility)
    assert current is not None and current.id == rotated.id
    assert audit.verify(session).ok


def test_rotated_key_refuses_old_posters_with_ask_the_counter(session, protector) -> None:
    facility = make_facility(session)
    old = qr_tokens.sign_poster(session, protector, facility, "PG0060001")
    qr_tokens.rotate_key(session, protector, facility, actor="staff:1")
    with pytest.raises(DomainError) as info:
        qr_tokens.verify(session, protector, old)
    assert info.value.code == "QR_REVOKED"
    assert "เคาน์เตอร์" in info.value.message_th
    new = qr_tokens.sign_poster(session, protector, facility, "PG0060001")
    assert qr_tokens.verify(session, protector, new).service_code == "PG0060001"


def test_display_token_expires(session, protector) -> None:
    facility = make_facility(session)
    now = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    token, expires_at = qr_tokens.sign_display(session, protector, facility, "PG0090001", now=now)
    assert expires_at == now + qr_tokens.DISPLAY_TTL
    claim = qr_tokens.verify(session, protector, token, now=now + dt.timedelta(seconds=89))
    assert claim.is_display and claim.expires_at == expires_at
    assert (
        _code(
            lambda: qr_tokens.verify(session, protector, token, now=now + dt.timedelta(seconds=91))
        )
        == "QR_EXPIRED"
    )


def test_token_of_another_facility_key_is_forged(session, protector) -> None:
    a = make_facility(session, hcode="10675")
    b = make_facility(session, hcode="10676")
    token_b = qr_tokens.sign_poster(session, protector, b, "PG0060001")
    # Claim facility A while signed with B's key: the key does not belong to A.
    swapped = token_b.replace("1.10676.", "1.10675.", 1)
    assert _code(lambda: qr_tokens.verify(session, protector, swapped)) == "QR_FORGED"
    # A token signed with A's kid but B's secret does not verify either.
    key_a = qr_tokens.ensure_key(session, protector, a)
    key_b = qr_tokens.current_key(session, b)
    assert key_b is not None
    crossed = token_b.replace("1.10676.", "1.10675.").replace(f".{key_b.kid}.", f".{key_a.kid}.")
    assert _code(lambda: qr_tokens.verify(session, protector, crossed)) == "QR_FORGED"


@pytest.mark.parametrize("part", ["service", "expiry", "signature"])
def test_tampered_token_is_forged(session, protector, part: str) -> None:
    facility = make_facility(session)
    token = qr_tokens.sign_poster(session, protector, facility, "PG0060001")
    fields = token.split(".")
    if part == "service":
        fields[2] = "PG0090001"
    elif part == "expiry":
        fields[3] = "zzzzzz"
    else:
        fields[5] = ("A" if fields[5][0] != "A" else "B") + fields[5][1:]
    assert _code(lambda: qr_tokens.verify(session, protector, ".".join(fields))) == "QR_FORGED"


@pytest.mark.parametrize(
    "scanned",
    [
        "",
        "   ",
        "hello",
        "https://evil.example/other/path",
        "ftp://x/q/abc",
        "1.10675.PG0060001.0.abcd",
        "x" * 5000,
        "javascript:alert(1)//q/x",
    ],
)
def test_malformed_scans_are_refused_clearly(session, protector, scanned: str) -> None:
    assert _code(lambda: qr_tokens.verify(session, protector, scanned)) == "QR_MALFORMED"


@given(st.text(max_size=300))
def test_extract_token_never_fails_unexpectedly(text: str) -> None:
    try:
        token = qr_tokens.extract_token(text)
    except DomainError as exc:
        assert exc.code == "QR_MALFORMED"
    else:
        assert token.startswith("1.") and token.count(".") == 5


@pytest.mark.postgres_only
def test_concurrent_first_uses_share_one_key(pg_url: str, protector) -> None:
    """Several pages asking for a facility's first QR at once (PNG, SVG, PDF) get one key."""
    import threading

    from sqlalchemy import func, select

    from authencode.db import Database
    from authencode.models import Facility, FacilityKey

    db = Database(pg_url)
    with db.transaction() as session:
        facility_id = make_facility(session).id
    barrier = threading.Barrier(8)
    kids: list[str] = []

    def first_use() -> None:
        with db.transaction() as session:
            facility = session.get_one(Facility, facility_id)
            barrier.wait()
            kids.append(qr_tokens.ensure_key(session, protector, facility).kid)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with db.transaction() as session:
        live = session.scalar(
            select(func.count()).select_from(FacilityKey).where(FacilityKey.revoked_at.is_(None))
        )
        rotated = qr_tokens.rotate_key(
            session, protector, session.get_one(Facility, facility_id), actor="staff:1"
        )
    db.dispose()
    assert len(kids) == 8 and len(set(kids)) == 1 and live == 1
    assert rotated.kid not in kids
