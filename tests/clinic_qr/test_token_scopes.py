"""Scoped facility API tokens: each opens only its own API (issue 18, point 3).

The routes are read from the application's URL map, so an API route added later is checked
too; tokens are made the ways operators make them (the CLI, the clinic's page).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from authencode import passwords
from authencode.models import ApiToken
from authencode.models.agent import TOKEN_SCOPES
from authencode.passwords import hash_password
from authencode.services.api_tokens import create_token
from tests.support.clinic import ClinicClient
from tests.support.factories import make_facility, make_person, make_staff, new_cid

# The API each URL prefix belongs to, and the scopes it takes (the first named in refusals):
# the agent API serves staff PCs' agents and registered kiosks' agents (issue 23).
API_SCOPES = {"/agent/api/": ("agent", "kiosk"), "/authencodestatus/api/": ("his",)}


def _needed_scope(path: str) -> tuple[str, ...] | None:
    return next((scope for prefix, scope in API_SCOPES.items() if path.startswith(prefix)), None)


def _api_calls(app: Any, cid: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, URL, scope it needs) of every facility-token API route in the URL map."""
    adapter = app.url_map.bind("localhost")
    calls: list[tuple[str, str, tuple[str, ...]]] = []
    for rule in app.url_map.iter_rules():
        scope = _needed_scope(rule.rule)
        if scope is None:
            continue
        url = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, cid))
        calls.extend(
            (method, url, scope)
            for method in sorted(rule.methods or ())
            if method not in ("HEAD", "OPTIONS")
        )
    return calls


@pytest.fixture
def scoped(app: Any, protector: Any) -> dict[str, Any]:
    """A facility with a token of each scope, a patient and a staff member with a PIN."""
    db = app.extensions["authencode"].db
    with db.transaction() as session:
        facility = make_facility(session)
        patient = new_cid()
        make_person(session, protector, cid=patient)
        staff = new_cid("3")
        make_staff(session, protector, facility, cid=staff, pin_hash=hash_password("1234"))
        tokens = {
            scope: create_token(session, facility, f"{scope} token", "test", scope).secret
            for scope in TOKEN_SCOPES
        }
    return {"db": db, "tokens": tokens, "patient": patient, "staff": staff}


def _call(client: Any, method: str, url: str, secret: str) -> Any:
    return client.open(
        url,
        method=method,
        headers={"Authorization": f"Bearer {secret}"},
        json={} if method in ("POST", "PUT", "PATCH") else None,
    )


def test_every_api_route_opens_only_for_its_own_scope(
    app: Any, client: Any, scoped: dict[str, Any]
) -> None:
    calls = _api_calls(app, scoped["patient"])
    # The routes known today are all found (a rule renamed away would otherwise go unchecked).
    assert {(m, url) for m, url, _ in calls} >= {
        ("POST", "/agent/api/card-reads"),
        ("POST", "/agent/api/staff-unlock"),
        ("POST", "/agent/api/confirm-save"),
        ("GET", f"/agent/api/latest-authen-code/{scoped['patient']}"),
        ("GET", "/authencodestatus/api/check-authen-status"),
        ("GET", "/authencodestatus/api/codes"),
    }
    for method, url, needed in calls:
        for scope, secret in scoped["tokens"].items():
            response = _call(client, method, url, secret)
            body = response.get_json()
            if scope in needed:
                assert response.status_code != 403, (method, url, scope, body)
                continue
            assert response.status_code == 403, (method, url, scope, body)
            error = body["error"]
            assert error["code"] == "TOKEN_SCOPE", (method, url, scope)
            assert needed[0] in error["message"] and needed[0] in error["message_th"]


def test_a_refused_scope_reads_nothing_and_creates_nothing(
    client: Any, scoped: dict[str, Any]
) -> None:
    """A hospital system's token cannot look up a CID's rights through the agent API."""
    response = client.post(
        "/agent/api/card-reads",
        json={"pid": scoped["patient"]},
        headers={"Authorization": f"Bearer {scoped['tokens']['his']}"},
    )
    assert response.status_code == 403 and set(response.get_json()) == {"error"}
    with scoped["db"].sessionmaker() as session:
        from authencode.models import CardRead

        assert session.scalars(select(CardRead)).all() == []


def test_openapi_names_the_scope_each_api_needs(client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert {"hisToken", "agentToken", "kioskToken"} <= set(schemes)
    for path, operations in spec["paths"].items():
        needed = _needed_scope(path)
        for operation in operations.values():
            if needed:
                assert operation["security"] == [{f"{s}Token": []} for s in needed], path
                assert "403" in operation["responses"], path


# --- staff-unlock does not tell staff CIDs from others ----------------------------------------


def test_staff_unlock_answers_a_non_staff_cid_as_a_wrong_pin(
    app: Any, client: Any, scoped: dict[str, Any], protector: Any, monkeypatch: Any
) -> None:
    with scoped["db"].transaction() as session:
        other = make_facility(session, hcode="10676", name="อีกแห่ง")
        other_staff = new_cid("3")
        make_staff(
            session,
            protector,
            other,
            username="other",
            cid=other_staff,
            pin_hash=hash_password("1234"),
        )
        no_pin = new_cid("3")
        facility = session.scalar(select(ApiToken).where(ApiToken.scope == "agent")).facility
        make_staff(session, protector, facility, username="no-pin", cid=no_pin)
    secret = scoped["tokens"]["agent"]

    checked: list[str] = []
    real_verify = passwords.verify_password

    def counting_verify(stored: str, given: str) -> bool:
        checked.append(stored)
        return real_verify(stored, given)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)

    def unlock(cid: str, pin: str) -> tuple[int, Any]:
        checked.clear()
        response = client.post(
            "/agent/api/staff-unlock",
            json={"staffPid": cid, "pin": pin},
            headers={"Authorization": f"Bearer {secret}"},
        )
        # every answer costs one hash check, so its timing tells staff from others no more
        # than its body does
        assert len(checked) == 1, cid
        return response.status_code, response.get_json()

    wrong_pin = unlock(scoped["staff"], "9999")
    assert wrong_pin[0] == 401 and wrong_pin[1]["error"]["code"] == "UNLOCK_REFUSED"
    for cid in (scoped["patient"], new_cid(), other_staff, no_pin):  # not staff here
        assert unlock(cid, "1234") == wrong_pin, cid
    # The staff member's own PIN still works (one failure so far).
    status, body = unlock(scoped["staff"], "1234")
    assert status == 200 and body["sessionToken"]


# --- making tokens: the CLI and the clinic's page ---------------------------------------------


def test_cli_creates_a_token_of_each_scope(
    app: Any, client: Any, db_url: str, tmp_path: Path
) -> None:
    db = app.extensions["authencode"].db
    with db.transaction() as session:
        make_facility(session)
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": db_url,
        "PATH": "/usr/bin:/bin",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
    }
    cli = [sys.executable, "-m", "authencode.cli", "token"]

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], env=env, capture_output=True, text=True, check=check)

    secrets = {"HIS": run("create", "10675", "HIS").stdout.strip().splitlines()[-1]}
    for scope in TOKEN_SCOPES:
        created = run("create", "10675", f"{scope} made", "--scope", scope)
        assert created.stdout.startswith(f"{scope} token")
        secrets[f"{scope} made"] = created.stdout.strip().splitlines()[-1]
    with db.sessionmaker() as session:
        assert {
            name: scope for name, scope in session.execute(select(ApiToken.name, ApiToken.scope))
        } == {"HIS": "his", "his made": "his", "agent made": "agent", "kiosk made": "kiosk"}
    listed = run("list", "10675").stdout.splitlines()
    assert [line.split("\t")[2] for line in listed] == ["his", "his", "agent", "kiosk"]
    refused = run("create", "10675", "bad", "--scope", "admin", check=False)
    assert refused.returncode == 2 and "admin" in refused.stderr
    # What the CLI made opens what it says.
    card_read = "/agent/api/card-reads"
    assert _call(client, "POST", card_read, secrets["agent made"]).status_code == 400  # no pid
    assert _call(client, "POST", card_read, secrets["HIS"]).status_code == 403


def test_clinic_page_creates_scoped_tokens_and_lists_their_scope(
    app: Any, clinic_world: Any
) -> None:
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    page = admin.get("/clinic/facilities/10675/tokens").get_data(as_text=True)
    options = re.findall(r'<option value="(\w+)"\s*(selected)?>([^<]+)</option>', page)
    assert [(value, label) for value, _, label in options] == [
        ("his", "ระบบโรงพยาบาล (HIS)"),
        ("agent", "เครื่องอ่านบัตร (Reader agent)"),
    ]  # a kiosk's token comes with registering the kiosk (test_kiosks.py)
    assert [value for value, selected, _ in options if selected] == ["his"]

    created = admin.post(
        "/clinic/facilities/10675/tokens", {"name": "เคาน์เตอร์ 1", "scope": "agent"}
    )
    assert created.status_code == 200
    shown = created.get_data(as_text=True)
    assert "“เคาน์เตอร์ 1” (เครื่องอ่านบัตร (Reader agent))" in shown
    secret = shown.split('id="new-token">', 1)[1].split("<", 1)[0]
    row = next(
        r
        for r in re.findall(
            r"<tr>(.*?)</tr>",
            admin.get("/clinic/facilities/10675/tokens").get_data(as_text=True),
            re.S,
        )
        if "เคาน์เตอร์ 1" in r
    )
    assert "เครื่องอ่านบัตร (Reader agent)" in row
    client = app.test_client()
    assert _call(client, "POST", "/agent/api/card-reads", secret).status_code == 400  # no pid
    his = _call(client, "GET", "/authencodestatus/api/codes", secret)
    assert his.status_code == 403 and his.get_json()["error"]["code"] == "TOKEN_SCOPE"

    refused = admin.post("/clinic/facilities/10675/tokens", {"name": "x", "scope": "root"})
    assert refused.status_code == 400
    assert "ขอบเขตของโทเคน" in refused.get_data(as_text=True)
    with clinic_world.db.sessionmaker() as session:
        assert session.scalar(select(ApiToken).where(ApiToken.name == "x")) is None
