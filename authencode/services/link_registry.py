"""The registry office verifies in bulk the links it checked offline (a CSV of cid,line_user_id)."""

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
from authencode.services import audit, link_trust
from authencode.services.people import find_person
from authencode.services.registry_import import RowError

COLUMNS = ("cid", "line_user_id")


@dataclass
class VerifyReport:
    verified: int = 0
    already: int = 0
    displaced: int = 0  # other accounts' self links removed: the person reclaimed their ID
    errors: list[RowError] = field(default_factory=list)


def _link(session: Session, protector: DataProtector, raw_cid: str,
          line_user_id: str) -> FamilyLink | str:
    """The link a row names, or why there is none (the CID itself is never echoed)."""
    try:
        cid = parse_cid(raw_cid)
    except DomainError as error:
        return f"bad CID ({error.code})"
    person = find_person(session, protector, cid)
    if person is None:
        return "no person with this CID in the registry"
    link = session.scalar(select(FamilyLink).join(LineAccount).where(
        LineAccount.line_user_id == line_user_id, FamilyLink.person_id == person.id))
    return link if link is not None else "no link between this LINE user and this person"


def verify_csv(session: Session, protector: DataProtector, stream: TextIO, *,
               actor: str = "cli") -> VerifyReport:
    """Verify each row's link (method "registry"), each row on its own: a bad row is listed
    and changes nothing, the good ones are verified (audited by link_trust.verify_link)."""
    report = VerifyReport()
    reader = csv.reader(stream)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        report.errors.append(RowError(1, f"missing column(s): {', '.join(missing)} "
                                         f"(the header must name {', '.join(COLUMNS)})"))
        return report
    at = {name: header.index(name) for name in COLUMNS}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            report.errors.append(RowError(line, "too few columns"))
            continue
        found = _link(session, protector, row[at["cid"]], row[at["line_user_id"]].strip())
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
    audit.record(session, actor, "links.verify_csv", "family_links",
                 {"verified": report.verified, "already": report.already,
                  "errors": len(report.errors)})
    return report
