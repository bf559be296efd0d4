"""The registry office verifies in bulk the links it checked offline.

A CSV names each link by the person's ``cid`` and either the LINE user id (``line_user_id``)
or the mobile number the link was registered with (``phone``), which is what a paper form
at the office has.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.cid import parse_cid
from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import FamilyLink, LineAccount
from authencode.phone import parse_mobile
from authencode.services import audit, link_trust
from authencode.services.people import find_person
from authencode.services.registry_import import RowError

COLUMNS = ("cid",)
WHO = ("line_user_id", "phone")  # at least one of them


@dataclass
class VerifyReport:
    verified: int = 0
    already: int = 0
    displaced: int = 0  # other accounts' self links removed: the person reclaimed their ID
    errors: list[RowError] = field(default_factory=list)


def _link(
    session: Session, protector: DataProtector, raw_cid: str, line_user_id: str, raw_phone: str
) -> FamilyLink | str:
    """The link a row names, or why there is none (the CID itself is never echoed)."""
    try:
        cid = parse_cid(raw_cid)
        phone = parse_mobile(raw_phone) if raw_phone.strip() else None
    except DomainError as error:
        return f"bad {'CID' if error.code.startswith('CID') else 'phone'} ({error.code})"
    if not line_user_id and phone is None:
        return "neither line_user_id nor phone"
    person = find_person(session, protector, cid)
    if person is None:
        return "no person with this CID in the registry"
    stmt = select(FamilyLink).join(LineAccount).where(FamilyLink.person_id == person.id)
    if line_user_id:
        stmt = stmt.where(LineAccount.line_user_id == line_user_id)
    if phone is not None:
        stmt = stmt.where(FamilyLink.phone == phone)
    links = session.scalars(stmt.limit(2)).all()
    if len(links) > 1:
        return "several links with this phone: give line_user_id"
    return links[0] if links else "no such link (this person with this LINE user or phone)"


def verify_csv(
    session: Session, protector: DataProtector, stream: TextIO, *, actor: str = "cli"
) -> VerifyReport:
    """Verify each row's link (method "registry"), each row on its own: a bad row is listed
    and changes nothing, the good ones are verified (audited by link_trust.verify_link)."""
    report = VerifyReport()
    reader = csv.reader(stream)
    header = [h.strip().lower() for h in next(reader, [])]
    if "cid" not in header or not any(name in header for name in WHO):
        report.errors.append(RowError(1, "the header must name cid and line_user_id or phone"))
        return report
    at = {name: header.index(name) for name in (*COLUMNS, *WHO) if name in header}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            report.errors.append(RowError(line, "too few columns"))
            continue

        def cell(name: str, row: list[str] = row) -> str:
            return row[at[name]].strip() if name in at else ""

        found = _link(session, protector, cell("cid"), cell("line_user_id"), cell("phone"))
        if isinstance(found, str):
            report.errors.append(RowError(line, found))
            continue
        if found.is_verified:
            report.already += 1
            continue
        with session.begin_nested():
            outcome = link_trust.verify_link(session, found, method="registry", actor=actor)
        report.verified += 1
        report.displaced += len(outcome.displaced_account_ids)
    audit.record(
        session,
        actor,
        "links.verify_csv",
        "family_links",
        {"verified": report.verified, "already": report.already, "errors": len(report.errors)},
    )
    return report
