"""Clinic QR tokens under attack: arbitrary scans, tampering, forgery across facilities, expiry
and replay — in the signing service (properties) and through the LIFF API and /q/ links."""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import CATALOGUE, DomainError
from authencode.models import AuthenCode, Facility, OutboxMessage
from authencode.services import qr_tokens
from tests.support.factories import make_facility
from tests.support.liff import JwksServer, World, bearer, new_user_id, registered, setup_push

REFUSALS = {"QR_MALFORMED", "QR_FORGED", "QR_EXPIRED", "QR_REVOKED"}
TOKEN_CHARS = string.ascii_letters + string.digits + "._-/:"
# A function-scoped database is shared by every example: the examples only read from it.
PROPERTY = hypothesis_settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def facilities(session: Session, protector: DataProtector) -> tuple[Facility, Facility]:
    a = make_facility(session, "10675", "รพ.สต.ต้นทาง")
    b = make_facility(session, "10676", "รพ.ปลายทาง", services=("PG0060001",))
    qr_tokens.ensure_key(session, protector, a)
    qr_tokens.ensure_key(session, protector, b)
    session.commit()
    return a, b


def _refusal(
    session: Session, protector: DataProtector, scanned: str, now: dt.datetime | None = None
) -> str:
    with pytest.raises(DomainError) as refused:
        qr_tokens.verify(session, protector, scanned, now=now)
    assert refused.value.code in REFUSALS
    return refused.value.code


# --- properties of the signing service --------------------------------------------------------


@PROPERTY
@given(
    scanned=st.one_of(
        st.text(max_size=300),
        st.text(alphabet=TOKEN_CHARS, max_size=120),
        st.from_regex(
            r"\A1\.[0-9A-Za-z]{5}\.[0-9A-Za-z]{1,16}\.[0-9a-z]{1,8}\.[0-9A-Za-z_-]{4,16}"
            r"\.[0-9A-Za-z_-]{22}\Z"
        ),
        st.builds("http://127.0.0.1:5000/q/{}".format, st.text(alphabet=TOKEN_CHARS, max_size=90)),
    )
)
def test_any_scanned_text_is_refused_with_a_qr_error_only(
    facilities, session, protector, scanned: str
) -> None:
    _refusal(session, protector, scanned)


@PROPERTY
@given(
    service=st.from_regex(r"\A[0-9A-Za-z]{1,16}\Z"), display=st.booleans(), as_link=st.booleans()
)
def test_signed_tokens_verify_to_what_was_signed(
    facilities, session, protector, service: str, display: bool, as_link: bool
) -> None:
    facility = facilities[1]
    if display:
        token, expires_at = qr_tokens.sign_display(session, protector, facility, service)
    else:
        token, expires_at = qr_tokens.sign_poster(session, protector, facility, service), None
    scanned = qr_tokens.qr_url("https://authen.example", token) if as_link else token
    claim = qr_tokens.verify(session, protector, scanned)
    assert (claim.hcode, claim.service_code, claim.facility_id) == ("10676", service, facility.id)
    assert claim.expires_at == expires_at


@PROPERTY
@given(
    position=st.integers(min_value=0, max_value=200),
    replacement=st.characters(),
    display=st.booleans(),
)
def test_any_single_character_change_is_refused(
    facilities, session, protector, position: int, replacement: str, display: bool
) -> None:
    facility = facilities[0]
    token = (
        qr_tokens.sign_display(session, protector, facility, "PG0060001")[0]
        if display
        else qr_tokens.sign_poster(session, protector, facility, "PG0060001")
    )
    position %= len(token)
    if token[position] == replacement:
        replacement = "A" if replacement != "A" else "B"
    tampered = token[:position] + replacement + token[position + 1 :]
    assert _refusal(session, protector, tampered) in ("QR_MALFORMED", "QR_FORGED")


def test_a_facility_key_cannot_sign_for_another_facility(facilities, session, protector) -> None:
    a, _b = facilities
    key_a = qr_tokens.current_key(session, a)
    assert key_a is not None
    # A valid signature by A's own key, over a payload naming B's hcode.
    cross = qr_tokens._sign(protector, key_a, "10676", "PG0060001", 0)
    assert _refusal(session, protector, cross) == "QR_FORGED"


@PROPERTY
@given(expires=st.integers(min_value=1, max_value=36**8 - 1))
def test_every_expiry_the_format_allows_is_a_clean_answer(
    facilities, session, protector, expires: int
) -> None:
    """Even a far-future expiry signed by the key itself is an answer, not a crash."""
    key = qr_tokens.current_key(session, facilities[0])
    assert key is not None
    token = qr_tokens._sign(protector, key, "10675", "PG0060001", expires)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    try:
        claim = qr_tokens.verify(session, protector, token, now=now)
    except DomainError as refused:
        assert refused.code in ("QR_EXPIRED", "QR_MALFORMED")
    else:
        assert claim.expires_at is not None and claim.expires_at >= now


def test_display_tokens_expire_and_rotation_revokes(facilities, session, protector) -> None:
    a = facilities[0]
    token, expires_at = qr_tokens.sign_display(session, protector, a, "PG0060001")
    assert qr_tokens.verify(session, protector, token, now=expires_at).expires_at == expires_at
    later = expires_at + dt.timedelta(seconds=1)
    assert _refusal(session, protector, token, now=later) == "QR_EXPIRED"
    poster = qr_tokens.sign_poster(session, protector, a, "PG0060001")
    qr_tokens.rotate_key(session, protector, a, "test")
    assert _refusal(session, protector, poster) == "QR_REVOKED"


# --- through the LIFF API and the /q/ link ---------------------------------------------------


def _counts(world: World) -> tuple[int, int]:
    with world.session() as session:
        return (
            session.scalar(select(func.count()).select_from(AuthenCode)) or 0,
            sum(not setup_push(row.payload) for row in session.scalars(select(OutboxMessage))),
        )


def _scan(client: Any, token: str, member_id: int, scanned: str) -> Any:
    return client.post(
        "/liff/api/codes", headers=bearer(token), json={"member_id": member_id, "scanned": scanned}
    )


def _thai_refusal(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.json
    error = response.json["error"]
    assert error["code"] == code
    assert error["message_th"] == CATALOGUE[code][2]


def _cross_facility_url(world: World) -> str:
    """A link whose signature is by facility 10675's key, naming facility 10676."""
    world.poster_url()  # makes sure 10675 has a key
    with world.db.transaction() as session:
        facility = session.get(Facility, world.facility_id)
        assert facility is not None
        key = qr_tokens.current_key(session, facility)
        assert key is not None
        token = qr_tokens._sign(world.protector, key, "10676", "PG0060001", 0)
    return qr_tokens.qr_url(world.public_base_url, token)


def test_forged_expired_cross_facility_and_revoked_qrs_issue_nothing(
    client: Any, jwks: JwksServer, world: World
) -> None:
    token = jwks.token(new_user_id())
    member = registered(client, token, world.adult_cid)
    before = _counts(world)
    expired = world.expired_display_url()
    poster = world.poster_url()
    cases = [
        (world.forged_url(), 400, "QR_FORGED"),
        (_cross_facility_url(world), 400, "QR_FORGED"),
        (expired, 410, "QR_EXPIRED"),
        (
            "https://evil.example/q/1.10675.PG0060001.0.abcd.AAAAAAAAAAAAAAAAAAAAAA",
            400,
            "QR_FORGED",
        ),
        ("<script>alert(1)</script>", 400, "QR_MALFORMED"),
        ("javascript:alert(document.cookie)//q/x", 400, "QR_MALFORMED"),
        ("x" * 5000, 400, "QR_MALFORMED"),
    ]
    for scanned, status, code in cases:
        _thai_refusal(_scan(client, token, member["id"], scanned), status, code)
    with world.db.transaction() as session:
        facility = session.get(Facility, world.facility_id)
        assert facility is not None
        qr_tokens.rotate_key(session, world.protector, facility, "test")
    _thai_refusal(_scan(client, token, member["id"], poster), 410, "QR_REVOKED")
    assert _counts(world) == before  # no code, no push


def test_a_replayed_poster_gives_the_same_code_not_an_error(
    client: Any, jwks: JwksServer, world: World
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    member = registered(client, token, world.adult_cid)
    world.verify(user)  # posters need a verified link
    poster = world.poster_url()
    first = _scan(client, token, member["id"], poster)
    again = _scan(client, token, member["id"], poster)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["code"]["code"] == again.json["code"]["code"]
    assert again.json["created"] is False
    codes, pushes = _counts(world)
    assert codes == 1
    assert pushes == 1  # one code (set-up confirmations aside): a replay pushes nothing


def test_a_display_qr_works_until_it_expires(client: Any, jwks: JwksServer, world: World) -> None:
    token = jwks.token(new_user_id())
    member = registered(client, token, world.adult_cid)
    with world.db.transaction() as session:
        facility = session.get(Facility, world.facility_id)
        assert facility is not None
        live, _ = qr_tokens.sign_display(session, world.protector, facility, "PG0090001")
    url = qr_tokens.qr_url(world.public_base_url, live)
    assert _scan(client, token, member["id"], url).status_code == 201
    assert _scan(client, token, member["id"], url).status_code == 200
    _thai_refusal(
        _scan(client, token, member["id"], world.expired_display_url("PG0090001")),
        410,
        "QR_EXPIRED",
    )


def test_qr_links_refuse_what_is_not_ours_with_a_thai_page(client: Any, world: World) -> None:
    for path in (
        "/q/<script>alert(1)</script>",
        "/q/1.10675.PG0060001.0.abcd",
        "/q/" + "A" * 3000,
        "/q/%ff%fe",
        "/q/javascript:alert(1)",
    ):
        response = client.get(path)
        assert response.status_code == 400, path
        page = response.get_data(as_text=True)
        assert CATALOGUE["QR_MALFORMED"][2] in page
        assert "<script>alert" not in page
    poster = world.poster_url()
    response = client.get(poster.replace(world.public_base_url, ""))
    assert response.status_code == 302
