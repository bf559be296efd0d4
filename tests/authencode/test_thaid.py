"""Verifying a link with ThaID (authencode.services.thaid), without the network: what a
pending authorization keeps, that it is used up once, and what the callback's claims must say.
The whole flow against a local OpenID provider is tested in tests/liff_web/test_thaid.py."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.errors import DomainError
from authencode.models import FamilyLink, LineAccount, ThaidAuthorization
from authencode.oidc import OpenIdClient, ProviderConfig
from authencode.services import thaid
from tests.support.factories import make_person, new_cid
from tests.support.live_server import free_port
from tests.support.race import race

ISSUER = "https://thaid.example"
CONFIG = ProviderConfig(
    issuer=ISSUER,
    client_id="authencode",
    client_secret="secret",
    scopes="openid pid",
    redirect_uri="https://authencode.example/liff/thaid/callback",
    authorize_url=ISSUER + "/authorize",
    token_url=ISSUER + "/token",
    jwks_url=ISSUER + "/jwks",
)
CLIENT = OpenIdClient(CONFIG)  # every endpoint configured: no discovery request


def _link(
    session: Session, protector: DataProtector, cid: str, *, user: str = "U1", slot: int = 0,
    birth_year: int = 1990,
) -> FamilyLink:  # fmt: skip
    account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == user))
    if account is None:
        account = LineAccount(line_user_id=user, consent_version="1")
        session.add(account)
        session.flush()
    person = make_person(session, protector, cid, birth_year=birth_year)
    link = FamilyLink(
        line_account_id=account.id,
        person_id=person.id,
        slot=slot,
        relation="self" if slot == 0 else "child",
        phone="0812345678",
        level="claimed",
    )
    session.add(link)
    session.flush()
    return link


def _account(session: Session, link: FamilyLink) -> LineAccount:
    account = session.get(LineAccount, link.line_account_id)
    assert account is not None
    return account


def _state(started: thaid.Started) -> str:
    return parse_qs(urlsplit(started.url).query)["state"][0]


def _refusal(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_a_started_sign_in_keeps_its_secrets_hashed_or_encrypted(
    session: Session, protector: DataProtector
) -> None:
    link = _link(session, protector, new_cid())
    started = thaid.start(session, protector, CLIENT, _account(session, link), link.id)
    query = parse_qs(urlsplit(started.url).query)
    assert started.url.startswith(ISSUER + "/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["nonce"]
    row = session.scalars(select(ThaidAuthorization)).one()
    stored = repr([row.state_hash, row.browser_hash, row.secrets_enc])
    for secret in (_state(started), query["nonce"][0], started.browser_secret):
        assert secret not in stored
    assert (row.family_link_id, row.expires_at) == (link.id, started.expires_at)


def test_only_ones_own_unverified_adult_link_may_start(
    session: Session, protector: DataProtector
) -> None:
    mine = _link(session, protector, new_cid())
    theirs = _link(session, protector, new_cid(), user="U2")
    child = _link(session, protector, new_cid(), slot=1, birth_year=utcnow().year - 5)
    account = _account(session, mine)

    def start(link_id: object) -> object:
        return thaid.start(session, protector, CLIENT, account, link_id)

    assert _refusal(lambda: start(theirs.id)) == "FAMILY_MEMBER_NOT_FOUND"
    assert _refusal(lambda: start("x")) == "FAMILY_MEMBER_NOT_FOUND"
    assert _refusal(lambda: start(child.id)) == "THAID_MINOR_COUNTER_ONLY"
    mine.level = "verified"
    assert _refusal(lambda: start(mine.id)) == "THAID_ALREADY_VERIFIED"
    down = OpenIdClient(
        ProviderConfig(ISSUER.replace("https://thaid.example", f"http://127.0.0.1:{free_port()}"),
                       "authencode", None, "openid", CONFIG.redirect_uri),
        timeout=2,
    )  # fmt: skip
    mine.level = "claimed"
    unavailable = lambda: thaid.start(session, protector, down, account, mine.id)  # noqa: E731
    assert _refusal(unavailable) == "THAID_UNAVAILABLE"
    assert session.scalar(select(func.count()).select_from(ThaidAuthorization)) == 0


def test_a_pending_sign_in_is_used_up_once_and_only_in_time(
    session: Session, protector: DataProtector
) -> None:
    link = _link(session, protector, new_cid())
    now = utcnow()
    started = thaid.start(session, protector, CLIENT, _account(session, link), link.id, now=now)
    state = _state(started)
    altered = state[:-1] + ("B" if state.endswith("A") else "A")  # never the state itself
    for forged in (None, "", altered, "x" * 300):
        assert _refusal(lambda f=forged: thaid.take_pending(session, protector, f, None)) == (
            "THAID_STATE_INVALID"
        )
    late = now + thaid.PENDING_TTL
    take = lambda when: thaid.take_pending(session, protector, state, "x", now=when)  # noqa: E731
    assert _refusal(lambda: take(late)) == "THAID_AUTHORIZATION_EXPIRED"
    pending = take(now)
    assert (pending.link_id, pending.account_id, pending.browser_matches) == (
        link.id,
        link.line_account_id,
        False,  # another browser's secret
    )
    assert _refusal(lambda: take(now)) == "THAID_AUTHORIZATION_EXPIRED"
    again = thaid.start(session, protector, CLIENT, _account(session, link), link.id, now=now)
    assert thaid.take_pending(
        session, protector, _state(again), again.browser_secret, now=now
    ).browser_matches


def test_the_callback_refuses_another_browser_or_a_cancel_before_any_exchange() -> None:
    pending = thaid.Pending(1, 1, "nonce", "verifier", browser_matches=False)
    # CLIENT's provider does not exist: reaching the exchange would be THAID_UNAVAILABLE.
    mismatch = lambda: thaid.claims_for(CLIENT, pending, code="abc", error=None)  # noqa: E731
    assert _refusal(mismatch) == "THAID_BROWSER_MISMATCH"
    here = thaid.Pending(1, 1, "nonce", "verifier", browser_matches=True)
    for code, error in ((None, None), ("abc", "access_denied")):
        denied = lambda c=code, e=error: thaid.claims_for(CLIENT, here, code=c, error=e)  # noqa: E731
        assert _refusal(denied) == "THAID_DENIED"


def test_the_token_must_name_the_links_person_and_the_link_still_be_there(
    session: Session, protector: DataProtector
) -> None:
    cid, other_cid = new_cid(), new_cid()
    link = _link(session, protector, cid)
    make_person(session, protector, other_cid)
    pending = thaid.Pending(link.id, link.line_account_id, "n", "v", browser_matches=True)

    def verify(claims: dict[str, object], p: thaid.Pending = pending) -> object:
        return thaid.verify(session, protector, p, claims, cid_claim="pid")

    for claims in ({}, {"pid": "123"}, {"pid": None}, {"sub": cid}):
        assert _refusal(lambda c=claims: verify(c)) == "THAID_CID_MISSING"
    assert _refusal(lambda: verify({"pid": other_cid})) == "THAID_CID_MISMATCH"
    moved = thaid.Pending(link.id, link.line_account_id + 1, "n", "v", browser_matches=True)
    assert _refusal(lambda: verify({"pid": cid}, moved)) == "FAMILY_MEMBER_NOT_FOUND"
    assert link.level == "claimed"
    verified = verify({"pid": int(cid)})
    assert isinstance(verified, thaid.link_trust.Verified)
    assert (link.level, link.verified_method, link.verified_by) == ("verified", "thaid", "thaid")
    assert verify({"pid": cid}) == thaid.link_trust.Verified(link, ())  # a second callback
    session.delete(link)
    session.flush()
    assert _refusal(lambda: verify({"pid": cid})) == "FAMILY_MEMBER_NOT_FOUND"


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def test_two_callbacks_racing_with_one_state_use_it_once(
    pg: Database, protector: DataProtector
) -> None:
    with pg.transaction() as session:
        link = _link(session, protector, new_cid())
        started = thaid.start(session, protector, CLIENT, _account(session, link), link.id)
    state = _state(started)

    def take(session: Session, i: int) -> object:
        return thaid.take_pending(session, protector, state, started.browser_secret).link_id

    outcomes = race(pg, 4, take)
    assert sorted(map(str, outcomes)) == [str(link.id)] + ["THAID_AUTHORIZATION_EXPIRED"] * 3
    with pg.transaction() as session:
        assert session.scalars(select(ThaidAuthorization.used_at)).one() is not None
