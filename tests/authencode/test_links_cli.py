"""`authencode links verify-csv`: the registry office verifies in bulk the links it checked
offline, through the real CLI; bad rows are listed and change nothing."""

from __future__ import annotations

import base64
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select

from authencode import cli
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import AuditEntry, FamilyLink, LineAccount
from authencode.services import consent, line_accounts
from authencode.services.registration import RegistrationPolicy
from authencode.settings import Settings
from tests.support.factories import add_family_member, make_person, new_cid, register_self
from tests.support.shared import TEST_DATA_KEY


def _cli(settings: Settings, tmp_path: Path, *args: str) -> Result:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "DATA_KEY": base64.b64encode(TEST_DATA_KEY).decode(),
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    return CliRunner().invoke(cli.main, list(args), env=env)


def _levels(database: Database) -> dict[tuple[str, int], tuple[str, str | None]]:
    with database.sessionmaker() as session:
        rows = session.execute(
            select(
                LineAccount.line_user_id,
                FamilyLink.slot,
                FamilyLink.level,
                FamilyLink.verified_method,
            ).join(LineAccount)
        ).all()
    return {(user, slot): (level, method) for user, slot, level, method in rows}


def test_verify_csv_verifies_good_rows_and_lists_bad_ones(
    database: Database, protector: DataProtector, settings: Settings, tmp_path: Path
) -> None:
    own, child, stranger = new_cid(), new_cid(), new_cid()
    with database.transaction() as session:
        for cid in (own, child, stranger):
            make_person(session, protector, cid)
        account, _ = line_accounts.get_or_create_account(session, "U" + "1" * 32)
        consent.accept(session, account, consent.CONSENT_VERSION)
        register_self(session, protector, account, own, "0812345678", RegistrationPolicy())
        add_family_member(
            session, protector, account, child, "0812345678", "child", RegistrationPolicy()
        )
    user = "U" + "1" * 32
    bad_cid = own[:-1] + str((int(own[-1]) + 1) % 10)
    path = tmp_path / "verified.csv"
    path.write_text(
        "\ufeffCID,line_user_id\n"
        f"{own},{user}\n"
        f"{child[:1]}-{child[1:5]}-{child[5:10]}-{child[10:12]}-{child[12]},{user}\n"
        f"{bad_cid},{user}\n"  # a mistyped CID
        f"{stranger},{user}\n"  # a person this account has no link to
        f"{own},U{'9' * 32}\n"  # an unknown LINE user
        "\n",
        encoding="utf-8",
    )
    result = _cli(settings, tmp_path, "links", "verify-csv", str(path))
    assert result.exit_code == 1, result.output
    assert "verified 2, already verified 0, errors 3" in result.output
    assert "line 4: bad CID (CID_CHECK_DIGIT)" in result.output
    assert "line 5: no such link" in result.output and "line 6: no such link" in result.output
    assert own not in result.output and stranger not in result.output  # CIDs never echoed
    assert _levels(database) == {
        (user, 0): ("verified", "registry"),
        (user, 1): ("verified", "registry"),
    }
    with database.sessionmaker() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
        assert actions.count("link.verified") == 2 and "links.verify_csv" in actions
        actors = set(
            session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "link.verified"))
        )
        assert actors == {"cli"}

    # The phone the link was registered with names it too (what a paper form has).
    with database.transaction() as session:
        other, _ = line_accounts.get_or_create_account(session, "U" + "2" * 32)
        consent.accept(session, other, consent.CONSENT_VERSION)
        register_self(session, protector, other, stranger, "0899999999", RegistrationPolicy())
    by_phone = tmp_path / "by_phone.csv"
    by_phone.write_text(
        f"cid,phone\n{stranger},089-999-9999\n{stranger},0800000000\n", encoding="utf-8"
    )
    result = _cli(settings, tmp_path, "links", "verify-csv", str(by_phone))
    assert "verified 1, already verified 0, errors 1" in result.output
    assert _levels(database)[("U" + "2" * 32, 0)] == ("verified", "registry")

    # Running it again changes nothing and says so.
    again = _cli(settings, tmp_path, "links", "verify-csv", str(path))
    assert "verified 0, already verified 2, errors 3" in again.output


def test_verify_csv_needs_its_columns(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("pid,user\n1,2\n", encoding="utf-8")
    result = _cli(settings, tmp_path, "links", "verify-csv", str(path))
    assert result.exit_code == 1
    assert "the header must name cid and line_user_id or phone" in result.output
