"""CIDs never appear in plain text: not in the database, the logs, or error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.demo import DEMO_PEOPLE, DEMO_STAFF, load_demo
from authencode.models import Person
from authencode.services.issuance import issue_code
from authencode.services.people import get_person, person_masked_cid
from authencode.services.registry_import import ImportRejected, import_registry, parse_text
from authencode.thaidate import service_day


def _all_text(session: Session) -> str:
    """Every value of every table, as text (bytea as its bytes)."""
    chunks = []
    for table in inspect(session.get_bind()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - own tables
            for value in row:
                if isinstance(value, bytes | memoryview):
                    chunks.append(bytes(value).decode("latin-1"))
                else:
                    chunks.append(str(value))
    return "\n".join(chunks)


def test_cids_are_stored_only_hashed_and_encrypted(
    db_url: str, session: Session, protector: DataProtector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    load_demo(session, protector, service_day())
    person = get_person(session, protector, DEMO_PEOPLE[0].cid)
    issue_code(
        session,
        person,
        hcode="10675",
        service_code="PG0060001",
        phones="0812345678",
        channel="line",
    )
    session.commit()
    cids = [p.cid for p in DEMO_PEOPLE] + [s[4] for s in DEMO_STAFF]
    stored = _all_text(session)
    assert not [c for c in cids if c in stored]
    if db_url.startswith("sqlite:///"):
        session.close()
        path = Path(db_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert not [c for c in cids if c.encode() in raw]
    assert not [c for c in cids if c in caplog.text]
    # An entitled viewer still gets it back, masked for screens.
    first = session.scalars(select(Person).order_by(Person.id)).first()
    assert first is not None and "xxxxx" in person_masked_cid(protector, first)


def test_error_messages_never_echo_the_cid(session: Session, protector: DataProtector) -> None:
    bad = "1101700207031"
    with pytest.raises(ImportRejected) as info:
        import_registry(
            session,
            protector,
            parse_text("cid,first_name_th,sex,birth_date\n" + bad + ",ก,1,25300101\n"),
        )
    assert bad not in str(info.value) and not [e for e in info.value.errors if bad in str(e)]
