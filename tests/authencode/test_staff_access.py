"""Who may see and change what (authencode.services.staff_access): roles and facility
scoping, and nobody administering their own account."""

from __future__ import annotations

import pytest

from authencode.errors import DomainError
from authencode.models import Facility, StaffUser
from authencode.services import staff_access

HERE, THERE = Facility(id=1, hcode="10675", name="ที่นี่"), Facility(id=2, hcode="10676", name="ที่อื่น")


def _staff(id_: int, role: str, facility: Facility | None = HERE) -> StaffUser:
    return StaffUser(id=id_, role=role, facility_id=facility.id if facility else None)


ROOT = _staff(1, "system_admin", None)
REGISTRY = _staff(2, "registry_admin", None)
ADMIN = _staff(3, "facility_admin")
NURSE = _staff(4, "staff")
ADMIN_THERE = _staff(5, "facility_admin", THERE)
NURSE_THERE = _staff(6, "staff", THERE)
FLOATING_ADMIN = _staff(7, "facility_admin", None)


def test_facilities_are_seen_by_their_staff_and_managed_by_their_admin() -> None:
    for actor, view, manage in (
        (ROOT, True, True),
        (REGISTRY, False, False),  # the list of facilities, not their pages
        (ADMIN, True, True),
        (NURSE, True, False),
        (ADMIN_THERE, False, False),
    ):
        assert staff_access.can_view_facility(actor, HERE) is view, actor.role
        assert staff_access.can_manage_facility(actor, HERE) is manage, actor.role
    with pytest.raises(DomainError) as caught:
        staff_access.require_manage(NURSE, HERE)
    assert caught.value.code == "FORBIDDEN" and caught.value.message_th
    with pytest.raises(DomainError):
        staff_access.require_view(NURSE_THERE, HERE)
    assert staff_access.sees_all_facilities(REGISTRY) and not staff_access.sees_all_facilities(
        ADMIN
    )


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        (ROOT, ADMIN, True),
        (ROOT, REGISTRY, True),
        (ROOT, ROOT, False),  # nobody re-roles or disables themselves
        (ADMIN, NURSE, True),
        (ADMIN, ADMIN, False),
        (ADMIN, NURSE_THERE, False),  # another facility's
        (ADMIN, ROOT, False),
        (ADMIN, REGISTRY, False),
        (NURSE, NURSE, False),
        (REGISTRY, NURSE, False),
        (FLOATING_ADMIN, _staff(8, "staff", None), False),  # no facility matches no facility
    ],
)
def test_who_administers_which_account(actor: StaffUser, target: StaffUser, allowed: bool) -> None:
    assert staff_access.can_manage_staff(actor, target) is allowed


def test_roles_an_actor_may_grant_and_who_decides_unit_changes() -> None:
    assert set(staff_access.assignable_roles(ROOT)) == set(staff_access.ROLE_NAMES)
    assert staff_access.assignable_roles(ADMIN) == ("facility_admin", "staff")
    assert staff_access.assignable_roles(NURSE) == staff_access.assignable_roles(REGISTRY) == ()
    assert [a.role for a in (ROOT, REGISTRY, ADMIN) if staff_access.can_decide_pcu_changes(a)] == [
        "system_admin",
        "registry_admin",
    ]
    assert staff_access.can_manage_accounts(ADMIN)
    assert not staff_access.can_manage_accounts(FLOATING_ADMIN)
