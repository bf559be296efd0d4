"""Who may see and change what in the clinic web app: roles and facility scoping.

- system admin: every facility and account; creates facilities; grants any role.
- registry admin: sees the list of facilities (the registry side of the scheme).
- facility admin: their own facility: its services, QR keys, API tokens and staff accounts.
- staff: their own facility's QR codes and counter display.
"""

from __future__ import annotations

from authencode.errors import DomainError, register
from authencode.models import Facility, StaffUser

FORBIDDEN = register(
    "FORBIDDEN", "forbidden", "You do not have permission for this.", "ท่านไม่มีสิทธิ์ดำเนินการนี้"
)

ROLE_NAMES = {
    "system_admin": ("ผู้ดูแลระบบ", "System administrator"),
    "registry_admin": ("ผู้ดูแลทะเบียน", "Registry administrator"),
    "facility_admin": ("ผู้ดูแลหน่วยบริการ", "Facility administrator"),
    "staff": ("เจ้าหน้าที่", "Staff"),
}
FACILITY_ROLES = ("facility_admin", "staff")


def is_system_admin(actor: StaffUser) -> bool:
    return actor.role == "system_admin"


def sees_all_facilities(actor: StaffUser) -> bool:
    return actor.role in ("system_admin", "registry_admin")


def can_view_facility(actor: StaffUser, facility: Facility) -> bool:
    return is_system_admin(actor) or actor.facility_id == facility.id


def can_manage_facility(actor: StaffUser, facility: Facility) -> bool:
    return is_system_admin(actor) or (
        actor.role == "facility_admin" and actor.facility_id == facility.id
    )


def require_view(actor: StaffUser, facility: Facility) -> None:
    """Raise FORBIDDEN unless the actor works at the facility (or is a system admin)."""
    if not can_view_facility(actor, facility):
        raise DomainError(FORBIDDEN)


def require_manage(actor: StaffUser, facility: Facility) -> None:
    """Raise FORBIDDEN unless the actor administers the facility."""
    if not can_manage_facility(actor, facility):
        raise DomainError(FORBIDDEN)


def can_manage_staff(actor: StaffUser, target: StaffUser) -> bool:
    if actor.id == target.id:
        return False  # nobody approves, re-roles or disables themselves
    if is_system_admin(actor):
        return True
    return (
        actor.role == "facility_admin"
        and actor.facility_id is not None
        and target.facility_id == actor.facility_id
        and target.role in FACILITY_ROLES
    )


def require_staff_admin(actor: StaffUser, target: StaffUser) -> None:
    """Raise FORBIDDEN unless the actor administers the target's account."""
    if not can_manage_staff(actor, target):
        raise DomainError(FORBIDDEN)


def can_decide_pcu_changes(actor: StaffUser) -> bool:
    """Primary care unit changes are the registry office's (and the system admin's) to decide."""
    return actor.role in ("system_admin", "registry_admin")


def can_manage_accounts(actor: StaffUser) -> bool:
    return is_system_admin(actor) or (
        actor.role == "facility_admin" and actor.facility_id is not None
    )


def assignable_roles(actor: StaffUser) -> tuple[str, ...]:
    if is_system_admin(actor):
        return tuple(ROLE_NAMES)
    if actor.role == "facility_admin":
        return FACILITY_ROLES
    return ()
