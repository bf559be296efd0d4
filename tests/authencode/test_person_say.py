"""The person's own say (authencode.services.person_say): from a verified own account they
see and remove other accounts' links to them, and say "this was not me", which removes that
account's link and flags its codes once. A merely claimed own link may be the impostor's."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import AuditEntry, AuthenCode, FamilyLink, LineAccount, Person
from authencode.services import issuance, person_say
from tests.support.factories import make_facility, make_person


def _account(session: Session, user: str) -> LineAccount:
    account = LineAccount(line_user_id=user, consent_version="1")
    session.add(account)
    session.flush()
    return account


def _link(
    session: Session, account: LineAccount, person: Person, slot: int, level: str = "claimed"
) -> FamilyLink:
    link = FamilyLink(
        line_account_id=account.id,
        person_id=person.id,
        slot=slot,
        relation="self" if slot == 0 else "parent",
        phone="0812345678",
        level=level,
    )
    session.add(link)
    session.flush()
    return link


def _code(
    session: Session,
    person: Person,
    account: LineAccount | None,
    service: str,
    hcode: str = "10675",
) -> AuthenCode:
    return issuance.issue_code(
        session, person, hcode=hcode, service_code=service, phones="0812345678",
        channel="line" if account else "kiosk", line_account_id=account.id if account else None,
    ).code  # fmt: skip


def _refusal(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


@pytest.fixture
def world(session: Session, protector: DataProtector) -> dict[str, object]:
    """Me (verified own account), an impostor's family link to me, a relative's, and a
    stranger's link to someone else."""
    make_facility(session)
    make_facility(session, "10676", "อีกแห่ง")
    me, someone = make_person(session, protector), make_person(session, protector)
    mine, impostor, relative = (_account(session, u) for u in ("Ume", "Uimpostor", "Urelative"))
    own = _link(session, mine, me, 0, "verified")
    return {
        "me": me,
        "mine": mine,
        "own": own,
        "impostor": impostor,
        "impostors_link": _link(session, impostor, me, 1),
        "relatives_link": _link(session, relative, me, 1),
        "strangers_link": _link(session, relative, someone, 2),
    }


def test_only_a_verified_own_account_has_the_say(session: Session, world: dict) -> None:
    own, mine = world["own"], world["mine"]
    assert person_say.linked_by(session, mine) == [world["impostors_link"], world["relatives_link"]]
    own.level = "claimed"  # the impostor's own link may be the claimed one
    for call in (
        lambda: person_say.linked_by(session, mine),
        lambda: person_say.remove_link(session, mine, world["impostors_link"].id),
        lambda: person_say.not_me(session, mine, other_account_id=world["impostor"].id),
        lambda: person_say.codes_through_others(session, mine),
    ):
        assert _refusal(call) == "LINK_NOT_VERIFIED"
    loner = _account(session, "Uloner")
    assert _refusal(lambda: person_say.linked_by(session, loner)) == "SELF_REGISTRATION_REQUIRED"
    assert session.get(FamilyLink, world["impostors_link"].id) is not None


def test_a_person_removes_links_to_themselves_only(session: Session, world: dict) -> None:
    mine = world["mine"]
    for wanted in (world["own"].id, world["strangers_link"].id, "abc", -1, 2**63, None):
        assert _refusal(lambda w=wanted: person_say.remove_link(session, mine, w)) == (
            "FAMILY_MEMBER_NOT_FOUND"
        )
    removed = person_say.remove_link(session, mine, str(world["relatives_link"].id))
    assert (removed.account_id, removed.relation, removed.level) == (
        world["relatives_link"].line_account_id,
        "parent",
        "claimed",
    )
    assert person_say.linked_by(session, mine) == [world["impostors_link"]]
    assert session.scalars(select(AuditEntry.action)).all() == ["link.removed_by_person"]


def test_not_me_removes_the_link_and_flags_that_accounts_codes_once(
    session: Session, world: dict
) -> None:
    me, mine, impostor = world["me"], world["mine"], world["impostor"]
    theirs = [_code(session, me, impostor, s) for s in ("PG0060001", "PG0090001")]
    own_code = _code(session, me, mine, "PG0060001", "10676")
    kiosk = issuance.issue_code(
        session, me, hcode="10676", service_code="PG0090001", phones="0812345678",
        channel="kiosk",
    )  # fmt: skip
    assert set(person_say.codes_through_others(session, mine)) == set(theirs)
    for code_id in (own_code.id, kiosk.code.id, "x", theirs[0].id + 1000):
        assert _refusal(lambda c=code_id: person_say.not_me(session, mine, code_id=c)) == (
            "CODE_NOT_FOUND"
        )
    for other in (mine.id, None, "x"):
        assert _refusal(lambda o=other: person_say.not_me(session, mine, other_account_id=o)) == (
            "FAMILY_MEMBER_NOT_FOUND"
        )
    said = person_say.not_me(session, mine, code_id=theirs[0].id)
    assert said.account_id == impostor.id and said.removed is not None
    assert said.flagged == theirs and all(c.disputed_at for c in theirs)
    assert own_code.disputed_at is None
    again = person_say.not_me(session, mine, other_account_id=impostor.id)
    assert (again.removed, again.flagged) == (None, [])
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a != "code.issue"] == [
        "link.not_me",
        "code.disputed",
        "code.disputed",
    ]


def test_codes_of_other_persons_are_none_of_my_business(
    session: Session, protector: DataProtector, world: dict
) -> None:
    someone = session.get(Person, world["strangers_link"].person_id)
    assert someone is not None
    code = _code(session, someone, world["impostor"], "PG0060001")
    mine = world["mine"]
    assert _refusal(lambda: person_say.not_me(session, mine, code_id=code.id)) == "CODE_NOT_FOUND"
    assert code.disputed_at is None
    assert person_say.codes_requested_by(session, someone.id, []) == []
    assert person_say.codes_requested_by(session, someone.id, [world["impostor"].id]) == [code]
