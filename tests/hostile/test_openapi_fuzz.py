"""Schemathesis against GET /openapi.json: every operation, with valid credentials (so the
handlers run) and without; no answer is ever a 5xx, and every answer has a documented status,
content type and a body that matches its schema.

Generated values rarely name anything that exists, so about half of the fields that carry an
identifier (member id, CID, scanned QR, correlation id...) are swapped for a real one: the
handlers then also run past their lookups. The examples are derandomised (the same on every
run) and few, so the suite stays quick; `HOSTILE_FUZZ_EXAMPLES=200` makes a longer local run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from authencode.models import Facility
from authencode.passwords import hash_password
from authencode.ratelimit import parse_limits
from authencode.services.api_tokens import create_token
from authencode.settings import Settings
from authencode.thaidate import service_day
from tests.support.factories import make_staff, new_cid
from tests.support.liff import JwksServer, World, new_user_id, registered

STAFF_CID = new_cid("3")
EXAMPLES = int(os.environ.get("HOSTILE_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
Mode = schemathesis.GenerationMode


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Rate limits off: hundreds of calls a minute from one user is the point here (the
    limits have tests of their own)."""
    return settings.with_overrides(rate_limits=parse_limits("off"))


@dataclass
class Credentials:
    liff: str | None = None  # Authorization header values
    his: str | None = None  # a facility API token of scope his
    agent: str | None = None  # ... of scope agent
    agent_session: str | None = None
    known: dict[str, Any] = field(default_factory=dict)  # field name -> a value that exists

    def authorization(self, operation: Any) -> str | None:
        schemes = {
            name
            for requirement in operation.definition.raw.get("security", [])
            for name in requirement
        }
        if "liffIdToken" in schemes:
            return self.liff
        if "hisToken" in schemes:
            return self.his
        if "agentToken" in schemes:
            return self.agent
        return None


def _signed_in(client: Any, jwks: JwksServer, world: World) -> Credentials:
    """A registered patient's ID token, the facility's HIS and agent tokens, an unlocked agent
    session, and the ids, CIDs and QR links that exist."""
    user = new_user_id()
    token = jwks.token(user)
    member = registered(client, token, world.adult_cid)
    world.verify(user)  # everything open to it, posters and unit changes included
    with world.db.transaction() as session:
        facility = session.get(Facility, world.facility_id)
        assert facility is not None
        make_staff(
            session, world.protector, facility, cid=STAFF_CID, pin_hash=hash_password("1234")
        )
        his_secret = create_token(session, facility, "fuzz HIS", "test").secret
        secret = create_token(session, facility, "fuzz agent", "test", "agent").secret
    facility_auth = {"Authorization": f"Bearer {secret}"}
    unlocked = client.post(
        "/agent/api/staff-unlock",
        headers=facility_auth,
        json={"staffPid": STAFF_CID, "pin": "1234"},
    )
    assert unlocked.status_code == 200, unlocked.json
    read = client.post(
        "/agent/api/card-reads", headers=facility_auth, json={"pid": world.family_cids[0]}
    )
    assert read.status_code == 200, read.json
    cid = world.adult_cid
    return Credentials(
        liff=f"Bearer {token}",
        his=f"Bearer {his_secret}",
        agent=f"Bearer {secret}",
        agent_session=unlocked.json["sessionToken"],
        known={
            "member_id": member["id"],
            "cid": cid,
            "pid": cid,
            "personalId": cid,
            "staffPid": STAFF_CID,
            "scanned": world.poster_url(),
            "hcode": "10676",
            "serviceCode": "PG0060001",
            "claimType": "PG0060001",
            "phone": "0812345678",
            "mobile": "0812345678",
            "correlationId": read.json["correlationId"],
            "serviceDate": service_day().isoformat(),
            "relation": "บุตร",
            "decision": "accept",
        },
    )


def _swap_known(case: Any, known: dict[str, Any], data: st.DataObject) -> None:
    """Replace some generated values by ones that name real rows (each a coin toss)."""
    for name in ("body", "query", "path_parameters"):
        values = getattr(case, name)
        if not isinstance(values, dict):
            continue
        for key in [k for k in values if k in known]:
            if data.draw(st.booleans(), label=f"real {key}"):
                values = {**values, key: known[key]}
        setattr(case, name, values)


def _fuzz(
    app: Any, operation: Any, credentials: Credentials, examples: int, mode: Mode
) -> set[int]:
    """Run generated cases of one operation through the WSGI app and check each answer;
    returns the statuses seen."""
    statuses: set[int] = set()
    authorization = credentials.authorization(operation)

    @hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        _swap_known(case, credentials.known, data)
        headers = dict(case.headers or {})
        if authorization is not None:
            headers["Authorization"] = authorization
        if credentials.agent_session and "X-Agent-Session" in headers:
            headers["X-Agent-Session"] = credentials.agent_session
        case.headers = headers
        response = case.call(app=app)
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()
    return statuses


def _fuzz_all(
    app: Any, credentials: Credentials, modes: tuple[Mode, ...], examples: int
) -> tuple[list[str], dict[str, set[int]]]:
    """Failures as text, and the statuses each operation answered."""
    spec = app.test_client().get("/openapi.json").json
    assert "/liff/api/codes" in spec["paths"]
    assert "/authencodestatus/api/check-authen-status" in spec["paths"]
    schema = schemathesis.openapi.from_dict(spec)
    failures = []
    statuses: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        for mode in modes:
            try:
                statuses.setdefault(operation.label, set()).update(
                    _fuzz(app, operation, credentials, examples, mode)
                )
            except Unsatisfiable:
                # nothing to make invalid: an operation without parameters or body
                assert mode is Mode.NEGATIVE, operation.label
            except BaseExceptionGroup as exc:  # every operation's failures, not the first
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return failures, statuses


def test_no_operation_errors_or_breaks_its_schema_when_signed_in(
    app: Any, client: Any, jwks: JwksServer, world: World
) -> None:
    credentials = _signed_in(client, jwks, world)
    failures, statuses = _fuzz_all(app, credentials, (Mode.POSITIVE, Mode.NEGATIVE), EXAMPLES)
    assert not failures, "\n\n".join(failures)
    # The credentials were good: every operation got past authentication to its handler,
    # and the real values led some calls all the way to a success.
    stuck = {label: seen for label, seen in statuses.items() if seen <= {401}}
    assert not stuck, stuck
    succeeded = {label for label, seen in statuses.items() if seen & {200, 201}}
    assert {
        "POST /liff/api/codes",
        "GET /authencodestatus/api/check-authen-status",
        "POST /agent/api/card-reads",
    } <= succeeded, statuses


@pytest.mark.parametrize("authorization", [None, "Bearer x.y.z", "Basic dXNlcjpwYXNz"])
def test_no_operation_errors_without_valid_credentials(
    app: Any, world: World, authorization: str | None
) -> None:
    bad = Credentials(
        liff=authorization, his=authorization, agent=authorization, agent_session=authorization
    )
    failures, statuses = _fuzz_all(app, bad, (Mode.POSITIVE,), max(3, EXAMPLES // 4))
    assert not failures, "\n\n".join(failures)
    protected = {
        label: seen
        for label, seen in statuses.items()
        if label.split(" ", 1)[1].startswith(("/liff/api", "/authencodestatus", "/agent/api"))
    }
    assert protected
    # refused for the credentials, or for input no handler can use (NUL characters)
    assert all(401 in seen and seen <= {400, 401} for seen in protected.values()), protected
