"""The person's own approval of a pending link (issue 17, point 2).

When someone adds a person who is already another account's *verified* self link, the link
is created *pending* and that verified account is asked to approve it. Only approval
verifies the link; declining, or no answer within a day, removes it. Every step locks the
person (link_trust.lock_person) before it looks at the link, so an approval racing a removal
of the same link ends either verified or gone, never with a request pointing at nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from authencode.db import MAX_ROW_ID, utcnow
from authencode.errors import DomainError, register
from authencode.models import FamilyLink, LineAccount, LinkApproval
from authencode.services import audit, link_trust

APPROVAL_LIFETIME = dt.timedelta(hours=24)

APPROVAL_GONE = register(
    "APPROVAL_GONE",
    "not_found",
    "This request is no longer open: it was answered, it expired, or the link was removed.",
    "คำขอนี้ไม่อยู่ในสถานะรออนุมัติแล้ว (ตอบไปแล้ว หมดอายุ หรือถูกยกเลิก)",
)


@dataclass(frozen=True)
class Closed:
    """A request that ended without approval: whose link went, and to whom it was."""

    requester_account_id: int
    person_id: int
    relation: str
    slot: int


def request_approval(
    session: Session, link: FamilyLink, now: dt.datetime | None = None
) -> LinkApproval | None:
    """Open the approval request of a pending link, to the person's verified own account.

    Returns None when there is no one to ask (the link is not pending, or the person has no
    verified own account any more): the caller then has nothing to send. Asking again for
    the same link returns the open request. Audited.
    """
    if link.level != "pending":
        return None
    owner = link_trust.verified_self_link(session, link.person_id)
    if owner is None or owner.line_account_id == link.line_account_id:
        return None
    existing = open_request(session, link)
    if existing is not None:
        return existing
    now = now or utcnow()
    approval = LinkApproval(
        link_id=link.id,
        approver_account_id=owner.line_account_id,
        created_at=now,
        expires_at=now + APPROVAL_LIFETIME,
    )
    session.add(approval)
    session.flush()
    audit.record(
        session,
        f"line:{link.line_account_id}",
        "link.approval_requested",
        f"family_link:{link.id}",
        {"person_id": link.person_id, "approver": owner.line_account_id},
    )
    return approval


def open_request(session: Session, link: FamilyLink) -> LinkApproval | None:
    """The open approval request of a link, if there is one."""
    return session.scalar(select(LinkApproval).where(LinkApproval.link_id == link.id))


def _locked(
    session: Session, approval_id: int, link_id: int, person_id: int
) -> tuple[LinkApproval, FamilyLink] | None:
    """The request and its link, read again under locks taken in the order every remover
    takes them: the person, the link row, then the request row. A removal of the link (which
    takes the request with it) either committed before, and None is returned, or waits."""
    link_trust.lock_person(session, person_id)
    link = session.scalar(
        select(FamilyLink)
        .where(FamilyLink.id == link_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    approval = session.scalar(
        select(LinkApproval)
        .where(LinkApproval.id == approval_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if link is None or approval is None:
        return None
    return approval, link


def _due(
    session: Session, *where: ColumnElement[bool], limit: int | None = None
) -> list[tuple[int, int, int]]:
    rows = session.execute(
        select(LinkApproval.id, LinkApproval.link_id, FamilyLink.person_id)
        .join(FamilyLink, FamilyLink.id == LinkApproval.link_id)
        .where(*where)
        .order_by(LinkApproval.id)
        .limit(limit)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _open(
    session: Session, approval_id: object, account: LineAccount, now: dt.datetime
) -> tuple[LinkApproval, FamilyLink]:
    """The open request and its link, locked; raises APPROVAL_GONE.

    Only the account asked may answer, and only while it is still the person's verified own
    account and the request has not expired.
    """
    try:
        wanted = int(str(approval_id))
    except ValueError:
        raise DomainError(APPROVAL_GONE) from None
    found = _due(session, LinkApproval.id == wanted) if 0 < wanted <= MAX_ROW_ID else []
    locked = _locked(session, *found[0]) if found else None
    if locked is None or locked[0].approver_account_id != account.id:
        raise DomainError(APPROVAL_GONE)
    owner = link_trust.verified_self_link(session, locked[1].person_id)
    if owner is None or owner.line_account_id != account.id or locked[0].expires_at <= now:
        raise DomainError(APPROVAL_GONE)
    return locked


def approve(
    session: Session, approval_id: object, by_account: LineAccount, now: dt.datetime | None = None
) -> link_trust.Verified:
    """The person approves: the pending link becomes verified; raises APPROVAL_GONE."""
    now = now or utcnow()
    approval, link = _open(session, approval_id, by_account, now)
    session.delete(approval)
    session.flush()
    return link_trust.verify_link(
        session, link, method="approval", actor=f"line:{by_account.id}", now=now
    )


def _close(
    session: Session, approval: LinkApproval, link: FamilyLink, actor: str, action: str
) -> Closed | None:
    """Remove the request and its link, unless the link was verified another way meanwhile
    (at a counter, through ThaID): then only the request goes."""
    session.delete(approval)
    if link.level != "pending":
        session.flush()
        return None
    closed = Closed(link.line_account_id, link.person_id, link.relation, link.slot)
    audit.record(
        session,
        actor,
        action,
        f"family_link:{link.id}",
        {"person_id": link.person_id, "requester": link.line_account_id},
    )
    session.delete(link)
    session.flush()
    return closed


def decline(
    session: Session, approval_id: object, by_account: LineAccount, now: dt.datetime | None = None
) -> Closed | None:
    """The person declines: the pending link is removed (None if it was verified another
    way meanwhile); raises APPROVAL_GONE."""
    approval, link = _open(session, approval_id, by_account, now or utcnow())
    return _close(session, approval, link, f"line:{by_account.id}", "link.approval_declined")


def open_for(session: Session, account: LineAccount) -> list[LinkApproval]:
    """The requests waiting for this account's answer, oldest first."""
    return list(
        session.scalars(
            select(LinkApproval)
            .where(LinkApproval.approver_account_id == account.id)
            .order_by(LinkApproval.id)
        )
    )


def expire_due(session: Session, now: dt.datetime | None = None, limit: int = 100) -> list[Closed]:
    """Remove the pending links whose request went unanswered past its day; audited."""
    now = now or utcnow()
    closed = []
    for found in _due(session, LinkApproval.expires_at <= now, limit=limit):
        locked = _locked(session, *found)
        if locked is None or locked[0].expires_at > now:
            continue  # answered (or removed) while we waited for the locks
        gone = _close(session, *locked, "system", "link.approval_expired")
        if gone is not None:
            closed.append(gone)
    return closed
