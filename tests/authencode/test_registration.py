"""The registration rules (core service), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import AuditEntry, FamilyLink, LineAccount
from authencode.services import consent, line_accounts, link_trust, registration
from authencode.services.people import LocalRegistryRights
from authencode.services.registration import (
    RegistrationPolicy,
    links_of,
    remove_family_member,
)
from tests.support.factories import (
    add_family_member,
    birth_date,
    make_person,
    new_cid,
    register_self,
)

POLICY = RegistrationPolicy()
TODAY = dt.date(2026, 11, 22)


def _account(session: Session, user: str = "U" + "1" * 32) -> LineAccount:
    account, _ = line_accounts.get_or_create_account(session, user)
    consent.accept(session, account, consent.CONSENT_VERSION, channel="liff")
    return account


def _code(excinfo: pytest.ExceptionInfo[DomainError]) -> str:
    return excinfo.value.code


def test_register_self_links_slot_zero(session: Session, protector: DataProtector) -> None:
    cid = new_cid()
    person = make_person(session, protector, cid, birth_year=1990)
    account = _account(session)
    link = register_self(session, protector, account, cid, "081-234-5678", POLICY, TODAY)
    assert (link.slot, link.person_id, link.phone, link.relation) == (
        0,
        person.id,
        "0812345678",
        "self",
    )
    again = register_self(session, protector, account, cid, "0899999999", POLICY, TODAY)
    assert again.id == link.id and again.phone == "0899999999"
    actions = set(session.scalars(select(AuditEntry.action)))
    assert "line.register_self" in actions
    details = " ".join(str(d) for d in session.scalars(select(AuditEntry.details)))
    assert cid not in details and "0812345678" not in details


def test_consent_comes_first(session: Session, protector: DataProtector) -> None:
    cid = new_cid()
    make_person(session, protector, cid)
    account, _ = line_accounts.get_or_create_account(session, "U" + "2" * 32)
    with pytest.raises(DomainError) as excinfo:
        register_self(session, protector, account, cid, "0812345678", POLICY, TODAY)
    assert _code(excinfo) == "CONSENT_REQUIRED"


@pytest.mark.parametrize(
    ("fields", "raw", "code"),
    [
        ({}, "1234567890123", "CID_CHECK_DIGIT"),
        ({}, "12345", "CID_LENGTH"),
        ({}, "", "CID_REQUIRED"),
        ({"birth_year": 2012, "birth_month": 12, "birth_day": 1}, None, "AGE_TOO_YOUNG"),
        ({"main_right": "OFC"}, None, "RIGHT_NOT_ELIGIBLE"),
        ({"main_right": "SSS"}, None, "RIGHT_NOT_ELIGIBLE"),
        ({"deceased": True}, None, "PERSON_DECEASED"),
    ],
)
def test_self_registration_refusals(
    session: Session,
    protector: DataProtector,
    fields: dict[str, object],
    raw: str | None,
    code: str,
) -> None:
    cid = new_cid()
    make_person(session, protector, cid, **fields)
    account = _account(session)
    with pytest.raises(DomainError) as excinfo:
        register_self(
            session,
            protector,
            account,
            raw if raw is not None else cid,
            "0812345678",
            POLICY,
            TODAY,
        )
    assert _code(excinfo) == code
    assert excinfo.value.message_th


def test_unknown_cid_and_bad_phone(session: Session, protector: DataProtector) -> None:
    account = _account(session)
    with pytest.raises(DomainError) as excinfo:
        register_self(session, protector, account, new_cid(), "0812345678", POLICY, TODAY)
    assert _code(excinfo) == "PERSON_NOT_FOUND"
    cid = new_cid()
    make_person(session, protector, cid)
    with pytest.raises(DomainError) as excinfo:
        register_self(session, protector, account, cid, "02-123-4567", POLICY, TODAY)
    assert _code(excinfo) == "PHONE_INVALID"


def test_fifteen_on_the_birthday_and_no_right_are_eligible(
    session: Session, protector: DataProtector
) -> None:
    cid = new_cid()
    make_person(
        session, protector, cid, birth_year=2011, birth_month=11, birth_day=22, main_right=None
    )
    link = register_self(session, protector, _account(session), cid, "0812345678", POLICY, TODAY)
    assert link.slot == 0


def test_policy_is_configurable() -> None:
    policy = RegistrationPolicy.from_setting("ucs, sss")
    assert policy.eligible_rights == frozenset({"UCS", "SSS"})
    assert RegistrationPolicy.from_setting("UCS,NONE").eligible_rights == frozenset({"UCS", None})
    assert RegistrationPolicy.from_setting("") == RegistrationPolicy()


def test_a_cid_is_someones_own_account_once(session: Session, protector: DataProtector) -> None:
    """A second account registering the same ID as its own waits, pending, for proof."""
    cid = new_cid()
    make_person(session, protector, cid)
    first = register_self(
        session, protector, _account(session, "U" + "a" * 32), cid, "0812345678", POLICY, TODAY
    )
    second = register_self(
        session, protector, _account(session, "U" + "b" * 32), cid, "0899999999", POLICY, TODAY
    )
    assert (first.level, second.level) == ("claimed", "pending")
    # Also when the first is verified (which removed the waiting second): pending again.
    link_trust.verify_link(session, first, method="registry", actor="cli")
    assert session.get(FamilyLink, second.id) is None
    third = register_self(
        session, protector, _account(session, "U" + "c" * 32), cid, "0899999998", POLICY, TODAY
    )
    assert third.level == "pending"
    # Verifying a pending self link moves the person to that account.
    moved = link_trust.verify_link(session, third, method="counter", actor="staff:1")
    assert moved.link.level == "verified"
    assert moved.displaced_account_ids == (first.line_account_id,)


def test_an_account_registers_one_self(session: Session, protector: DataProtector) -> None:
    first, second = new_cid(), new_cid()
    make_person(session, protector, first)
    make_person(session, protector, second)
    account = _account(session)
    register_self(session, protector, account, first, "0812345678", POLICY, TODAY)
    with pytest.raises(DomainError) as excinfo:
        register_self(session, protector, account, second, "0812345678", POLICY, TODAY)
    assert _code(excinfo) == "SELF_ALREADY_REGISTERED"


def _family(session: Session, protector: DataProtector, n: int) -> list[str]:
    cids = [new_cid() for _ in range(n)]
    for cid in cids:
        make_person(session, protector, cid, birth_year=2018)
    return cids


def test_family_up_to_five_then_refused(session: Session, protector: DataProtector) -> None:
    me = new_cid()
    make_person(session, protector, me)
    account = _account(session)
    cids = _family(session, protector, 6)
    with pytest.raises(DomainError) as excinfo:
        add_family_member(session, protector, account, cids[0], "0812345678", "child", POLICY)
    assert _code(excinfo) == "SELF_REGISTRATION_REQUIRED"
    register_self(session, protector, account, me, "0812345678", POLICY, TODAY)
    for cid in cids[:5]:
        add_family_member(session, protector, account, cid, "0812345678", "child", POLICY)
    with pytest.raises(DomainError) as excinfo:
        add_family_member(session, protector, account, cids[5], "0812345678", "child", POLICY)
    assert _code(excinfo) == "FAMILY_FULL"
    assert [link.slot for link in links_of(session, account)] == [0, 1, 2, 3, 4, 5]


def test_family_member_rules(session: Session, protector: DataProtector) -> None:
    me = new_cid()
    make_person(session, protector, me)
    account = _account(session)
    register_self(session, protector, account, me, "0812345678", POLICY, TODAY)
    (child,) = _family(session, protector, 1)
    with pytest.raises(DomainError) as excinfo:
        add_family_member(session, protector, account, child, "0812345678", "cousin", POLICY)
    assert _code(excinfo) == "RELATION_INVALID"
    link = add_family_member(session, protector, account, child, "0812345678", "child", POLICY)
    for cid in (child, me):
        with pytest.raises(DomainError) as excinfo:
            add_family_member(session, protector, account, cid, "0812345678", "child", POLICY)
        assert _code(excinfo) == "FAMILY_ALREADY_LINKED"
    officer = new_cid()
    make_person(session, protector, officer, main_right="OFC")
    with pytest.raises(DomainError) as excinfo:
        add_family_member(session, protector, account, officer, "0812345678", "parent", POLICY)
    assert _code(excinfo) == "RIGHT_NOT_ELIGIBLE"
    # A child may be linked by another family too (only "own account" is unique).
    other = _account(session, "U" + "c" * 32)
    other_self = new_cid()
    make_person(session, protector, other_self)
    register_self(session, protector, other, other_self, "0899999999", POLICY, TODAY)
    add_family_member(session, protector, other, child, "0899999999", "child", POLICY)
    # Removing frees the slot for someone new.
    remove_family_member(session, account, link.id)
    assert (
        session.scalar(
            select(func.count())
            .select_from(FamilyLink)
            .where(FamilyLink.line_account_id == account.id)
        )
        == 1
    )


def test_cannot_remove_self_or_someone_elses_member(
    session: Session, protector: DataProtector
) -> None:
    me, child = new_cid(), new_cid()
    make_person(session, protector, me)
    make_person(session, protector, child)
    account = _account(session)
    own = register_self(session, protector, account, me, "0812345678", POLICY, TODAY)
    link = add_family_member(session, protector, account, child, "0812345678", "child", POLICY)
    stranger = _account(session, "U" + "d" * 32)
    for account_, link_id in (
        (account, own.id),
        (stranger, link.id),
        (account, "abc"),
        (account, 999999),
    ):
        with pytest.raises(DomainError) as excinfo:
            remove_family_member(session, account_, link_id)
        assert _code(excinfo) == "FAMILY_MEMBER_NOT_FOUND"


@pytest.mark.parametrize("fields", [{}, {"deceased": True}, {"main_right": "OFC"}])
def test_a_wrong_birth_date_answers_like_an_unknown_cid(
    session: Session, protector: DataProtector, fields: dict[str, object]
) -> None:
    """Whoever types a CID without its birth date learns nothing: not death, right or age."""
    cid = new_cid()
    make_person(session, protector, cid, **fields)
    account = _account(session)
    for call in (
        lambda: registration.register_self(
            session, protector, account, cid, "0812345678", "1991-05-17", POLICY, TODAY
        ),
        lambda: registration.check_self_candidate(
            session, protector, account, cid, "1990-05-18", POLICY, TODAY
        ),
    ):
        with pytest.raises(DomainError) as excinfo:
            call()
        assert _code(excinfo) == "PERSON_NOT_FOUND"
    assert session.scalars(select(FamilyLink)).all() == []


def test_a_verified_persons_family_link_waits_for_their_approval(
    session: Session, protector: DataProtector
) -> None:
    """Adding someone who holds a verified account of their own gives no access at all."""
    owner_cid, mine = new_cid(), new_cid()
    make_person(session, protector, owner_cid)
    make_person(session, protector, mine)
    owner = register_self(
        session, protector, _account(session, "U" + "e" * 32), owner_cid, "0811111111", POLICY
    )
    account = _account(session)
    register_self(session, protector, account, mine, "0812345678", POLICY, TODAY)
    claimed = add_family_member(
        session, protector, account, owner_cid, "0812345678", "parent", POLICY
    )
    assert claimed.level == "claimed"  # the owner's own link is only claimed
    remove_family_member(session, account, claimed.id)
    link_trust.verify_link(session, owner, method="counter", actor="staff:1")
    pending = add_family_member(
        session, protector, account, owner_cid, "0812345678", "parent", POLICY
    )
    assert pending.level == "pending"
    with pytest.raises(DomainError) as excinfo:
        registration.rights_view(session, LocalRegistryRights(), POLICY, pending)
    assert _code(excinfo) == "LINK_PENDING"


def test_acting_link_needs_ones_own_link_and_a_link_of_this_account(
    session: Session, protector: DataProtector
) -> None:
    me, child = new_cid(), new_cid()
    make_person(session, protector, me)
    make_person(session, protector, child, birth_year=2018)
    account = _account(session)
    with pytest.raises(DomainError) as excinfo:
        registration.acting_link(session, account, None)
    assert _code(excinfo) == "SELF_REGISTRATION_REQUIRED"
    own = register_self(session, protector, account, me, "0812345678", POLICY, TODAY)
    member = add_family_member(session, protector, account, child, "0812345678", "child", POLICY)
    assert registration.acting_link(session, account, str(member.id)) is member
    assert registration.acting_link(session, account, own.id) is own
    stranger = _account(session, "U" + "f" * 32)
    stranger_cid = new_cid()
    make_person(session, protector, stranger_cid)
    register_self(session, protector, stranger, stranger_cid, "0899999999", POLICY, TODAY)
    # Another account's link, a missing id, junk and an id past the column's range.
    for wanted in (member.id, None, "1 OR 1=1", 2**63):
        with pytest.raises(DomainError) as excinfo:
            registration.acting_link(session, stranger, wanted)
        assert _code(excinfo) == "FAMILY_MEMBER_NOT_FOUND"
        with pytest.raises(DomainError) as excinfo:
            registration.get_link(session, stranger, wanted)
        assert _code(excinfo) == "FAMILY_MEMBER_NOT_FOUND"


def test_rights_detail_only_through_a_verified_link(
    session: Session, protector: DataProtector
) -> None:
    cid = new_cid()
    make_person(session, protector, cid, main_right="UCS")
    link = register_self(session, protector, _account(session), cid, "0812345678", POLICY, TODAY)
    claimed = registration.rights_view(session, LocalRegistryRights(), POLICY, link)
    assert claimed.eligible and claimed.detail is None
    link_trust.verify_link(session, link, method="counter", actor="staff:1")
    verified = registration.rights_view(session, LocalRegistryRights(), POLICY, link)
    assert verified.detail is not None and verified.detail.main.code == "UCS"
    narrow = RegistrationPolicy.from_setting("WEL")
    assert not registration.rights_view(session, LocalRegistryRights(), narrow, link).eligible


def test_the_chat_may_refuse_before_asking_for_a_phone(
    session: Session, protector: DataProtector
) -> None:
    me, other = new_cid(), new_cid()
    make_person(session, protector, me)
    make_person(session, protector, other)
    account = _account(session)
    person = registration.check_self_candidate(
        session, protector, account, me, birth_date(me, be=True), POLICY, TODAY
    )
    assert session.scalars(select(FamilyLink)).all() == []  # nothing stored by a check
    register_self(session, protector, account, me, "0812345678", POLICY, TODAY)
    assert (
        registration.check_self_candidate(
            session, protector, account, me, birth_date(me), POLICY, TODAY
        )
        is person
    )
    with pytest.raises(DomainError) as excinfo:
        registration.check_self_candidate(
            session, protector, account, other, birth_date(other), POLICY, TODAY
        )
    assert _code(excinfo) == "SELF_ALREADY_REGISTERED"
