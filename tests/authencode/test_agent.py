"""What reader agents may do (authencode.services.agent): card reads, a staff member's card
and PIN unlocking the agent, a confirm-save bound to this agent's recent read of this person,
used once, and the latest code of the agent's own facility."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.errors import DomainError
from authencode.models import AgentSession, ApiToken, AuthenCode, CardRead, StaffUser
from authencode.services import agent, api_tokens
from authencode.services.issuance import Issued, issue_code
from tests.support.factories import make_facility, make_person, make_staff, new_cid
from tests.support.race import race

PIN = "2468"


def _token(session: Session, hcode: str = "10675") -> ApiToken:
    facility = make_facility(session, hcode, f"หน่วย {hcode}", services=("PG0060001",))
    return api_tokens.create_token(session, facility, "reader", "admin", scope="agent").token


def _staff_with_pin(
    session: Session, protector: DataProtector, token: ApiToken, cid: str
) -> StaffUser:
    staff = make_staff(session, protector, token.facility, f"s{cid[-5:]}", cid=cid)
    agent.set_pin(session, staff, PIN, "admin")
    return staff


def _refusal(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_a_card_read_is_kept_by_hash_with_the_facilitys_services(
    session: Session, protector: DataProtector
) -> None:
    token = _token(session)
    cid = new_cid()
    make_person(session, protector, cid)
    result = agent.record_card_read(session, protector, token, cid, "counter-1" * 20)
    assert [s.code for s in result.services] == ["PG0060001"]
    assert result.read.cid_hash == protector.lookup_hash(cid)
    assert len(result.read.terminal_name) == 100
    unknown = lambda: agent.record_card_read(session, protector, token, new_cid())  # noqa: E731
    assert _refusal(unknown) == "PERSON_NOT_FOUND"
    assert session.scalar(select(func.count()).select_from(CardRead)) == 1


def test_only_active_staff_of_the_tokens_facility_with_a_pin_unlock_it(
    session: Session, protector: DataProtector
) -> None:
    token, other = _token(session), _token(session, "10676")
    here, there, disabled, no_pin = (new_cid("3") for _ in range(4))
    _staff_with_pin(session, protector, token, here)
    _staff_with_pin(session, protector, other, there)
    _staff_with_pin(session, protector, token, disabled).status = "disabled"
    make_staff(session, protector, token.facility, "nopin", cid=no_pin)
    for cid in (there, disabled, no_pin, new_cid("3")):
        unlock = lambda c=cid: agent.unlock_agent(session, protector, token, c, PIN)  # noqa: E731
        assert _refusal(unlock) == "STAFF_NOT_ALLOWED"
    for pin in ("123", "12345", "๑๒๓๔", "abcd", None):
        unlock = lambda p=pin: agent.unlock_agent(session, protector, token, here, p)  # noqa: E731
        assert _refusal(unlock) == "PIN_FORMAT"
    row, secret = agent.unlock_agent(session, protector, token, here, PIN)
    assert agent.require_agent_session(session, token, secret) is row
    # The secret opens this agent only, and only until midnight in Bangkok.
    assert _refusal(lambda: agent.require_agent_session(session, other, secret)) == "AGENT_LOCKED"
    assert _refusal(lambda: agent.require_agent_session(session, token, None)) == "AGENT_LOCKED"
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    assert _refusal(lambda: agent.require_agent_session(session, token, secret)) == "AGENT_LOCKED"


def test_five_wrong_pins_lock_it_even_for_the_right_one_until_a_new_pin(
    session: Session, protector: DataProtector
) -> None:
    token = _token(session)
    cid = new_cid("3")
    staff = _staff_with_pin(session, protector, token, cid)
    for _ in range(agent.PIN_MAX_FAILURES):
        wrong = lambda: agent.unlock_agent(session, protector, token, cid, "0000")  # noqa: E731
        assert _refusal(wrong) == "PIN_INVALID"
    right = lambda: agent.unlock_agent(session, protector, token, cid, PIN)  # noqa: E731
    assert _refusal(right) == "PIN_LOCKED"
    assert staff.pin_locked_until is not None
    agent.set_pin(session, staff, "1357", "admin")
    assert agent.unlock_agent(session, protector, token, cid, "1357")[0].staff_id == staff.id
    assert staff.pin_failures == 0


def test_a_confirm_save_needs_this_agents_recent_unused_read_of_this_person(
    session: Session, protector: DataProtector
) -> None:
    token, other = _token(session), _token(session, "10676")
    staff_cid, cid, someone = new_cid("3"), new_cid(), new_cid()
    _staff_with_pin(session, protector, token, staff_cid)
    make_person(session, protector, cid)
    make_person(session, protector, someone)
    unlocked, _ = agent.unlock_agent(session, protector, token, staff_cid, PIN)
    mine = agent.record_card_read(session, protector, token, cid).read
    theirs = agent.record_card_read(session, protector, other, cid).read

    def save(raw_cid: str, correlation: str, hcode: str | None = None) -> object:
        return agent.confirm_save(
            session,
            protector,
            token,
            unlocked,
            raw_cid=raw_cid,
            service_code="PG0060001",
            mobile="0812345678",
            correlation_id=correlation,
            hcode=hcode,
        )

    assert _refusal(lambda: save(cid, mine.correlation_id, "10676")) == "HCODE_MISMATCH"
    assert _refusal(lambda: save(cid, theirs.correlation_id)) == "CORRELATION_UNKNOWN"
    assert _refusal(lambda: save(someone, mine.correlation_id)) == "CORRELATION_UNKNOWN"
    assert _refusal(lambda: save(cid, "")) == "CORRELATION_UNKNOWN"
    issued = save(cid, mine.correlation_id, " 10675 ")
    assert isinstance(issued, Issued) and issued.code.channel == "smartcard"
    assert issued.code.recorder_staff_id == unlocked.staff_id
    assert _refusal(lambda: save(cid, mine.correlation_id)) == "CORRELATION_USED"
    stale = agent.record_card_read(session, protector, token, cid).read
    stale.created_at = utcnow() - agent.CARD_READ_VALID - dt.timedelta(seconds=1)
    assert _refusal(lambda: save(cid, stale.correlation_id)) == "CORRELATION_EXPIRED"


def test_the_latest_code_is_the_tokens_facilitys_active_one(
    session: Session, protector: DataProtector
) -> None:
    token, other = _token(session), _token(session, "10676")
    cid = new_cid()
    person = make_person(session, protector, cid)
    assert _refusal(lambda: agent.latest_code(session, protector, token, cid)) == "CODE_NOT_FOUND"
    issued = issue_code(
        session, person, hcode="10675", service_code="PG0060001", phones="0812345678",
        channel="smartcard",
    )  # fmt: skip
    assert agent.latest_code(session, protector, token, cid) is issued.code
    assert _refusal(lambda: agent.latest_code(session, protector, other, cid)) == "CODE_NOT_FOUND"
    issued.code.status = "cancelled"
    assert _refusal(lambda: agent.latest_code(session, protector, token, cid)) == "CODE_NOT_FOUND"


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def test_wrong_pins_at_once_are_counted_one_after_the_other(
    pg: Database, protector: DataProtector
) -> None:
    cid = new_cid("3")
    with pg.transaction() as session:
        token = _token(session)
        token_id, staff_id = token.id, _staff_with_pin(session, protector, token, cid).id

    def wrong(session: Session, i: int) -> object:
        token = session.get(ApiToken, token_id)
        assert token is not None
        try:
            return agent.unlock_agent(session, protector, token, cid, f"000{i}")
        except DomainError as refused:
            session.commit()  # the caller commits the counted failure
            return refused.code

    tries = agent.PIN_MAX_FAILURES + 2
    assert (
        sorted(map(str, race(pg, tries, wrong)))
        == ["PIN_INVALID"] * (agent.PIN_MAX_FAILURES) + ["PIN_LOCKED"] * 2
    )
    with pg.transaction() as session:
        staff = session.get(StaffUser, staff_id)
        assert staff is not None and staff.pin_failures == agent.PIN_MAX_FAILURES


def test_one_card_read_confirmed_twice_at_once_issues_once(
    pg: Database, protector: DataProtector
) -> None:
    cid, staff_cid = new_cid(), new_cid("3")
    with pg.transaction() as session:
        token = _token(session)
        _staff_with_pin(session, protector, token, staff_cid)
        make_person(session, protector, cid)
        make_person(session, protector, new_cid())
        unlocked_id = agent.unlock_agent(session, protector, token, staff_cid, PIN)[0].id
        correlation = agent.record_card_read(session, protector, token, cid).read.correlation_id
        token_id = token.id

    def save(session: Session, i: int) -> object:
        token = session.get(ApiToken, token_id)
        unlocked = session.get(AgentSession, unlocked_id)
        assert token is not None and unlocked is not None
        return agent.confirm_save(
            session, protector, token, unlocked, raw_cid=cid, service_code="PG0060001",
            mobile=f"08123456{i:02d}", correlation_id=correlation,
        ).code.code  # fmt: skip

    outcomes = race(pg, 4, save)
    assert sorted(map(str, outcomes)).count("CORRELATION_USED") == 3
    with pg.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuthenCode)) == 1
