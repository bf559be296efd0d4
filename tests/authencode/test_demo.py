"""`authencode demo`: the data a newcomer tries, and the CIDs and logins it prints to try it."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from click.testing import CliRunner

from authencode import cli
from authencode.cid import is_valid_cid
from authencode.demo import DEMO_PASSWORD, DEMO_PEOPLE, DEMO_STAFF
from authencode.services.people import get_person
from authencode.settings import Settings
from tests.support.clinic import ClinicClient
from tests.support.shared import TEST_DATA_KEY


def _demo(settings: Settings, tmp_path: Path) -> str:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "DATA_KEY": base64.b64encode(TEST_DATA_KEY).decode(),
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "cli-instance"),
    }
    result = CliRunner().invoke(cli.main, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_prints_valid_cids_of_persons_it_loaded(app, settings, protector, tmp_path) -> None:
    output = _demo(settings, tmp_path)
    printed = re.findall(r"^\s+(\d{13})\s", output, flags=re.MULTILINE)
    assert len(printed) == len(DEMO_PEOPLE) and len(set(printed)) == len(printed)
    db = app.extensions["authencode"].db
    with db.sessionmaker() as session:
        for cid in printed:
            assert is_valid_cid(cid), cid
            person = get_person(session, protector, cid)  # raises if it is not in the registry
            assert person.first_name_th in output
    # each person comes with what it demonstrates
    for p in DEMO_PEOPLE:
        assert p.shows and p.shows in output
    assert "deceased" in output and "under 15" in output
    # and every login, the registry office's included
    for username, *_ in DEMO_STAFF:
        assert re.search(rf"^\s+{re.escape(username)}\s", output, flags=re.MULTILINE), username
    assert DEMO_PASSWORD in output
    # running it again changes nothing and prints the same guide
    again = _demo(settings, tmp_path)
    assert "0 staff accounts created" in again
    assert again.split("\n", 1)[1] == output.split("\n", 1)[1]


def test_the_registry_office_demo_login_works(app, settings, tmp_path) -> None:
    _demo(settings, tmp_path)
    registry = ClinicClient(app.test_client())
    response = registry.login("registry", DEMO_PASSWORD)
    assert response.status_code == 302
    home = registry.get("/clinic/")
    assert home.status_code == 200 and "registry" in home.get_data(as_text=True)
    # the registry office's own queues open; a facility's admin pages do not
    assert registry.get("/clinic/pcu-changes").status_code == 200
    assert registry.get("/clinic/erasures").status_code == 200
    assert registry.get("/clinic/facilities/10675/keys").status_code in (403, 404)
    # a wrong password is still refused
    other = ClinicClient(app.test_client())
    assert other.login("registry", "not-the-password").status_code != 302
