"""Bodies over the size limit, at every entry point that takes a body: 413 in the entry
point's own error format (JSON for programs, a Thai page for staff), and nothing stored."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from authencode.app import MAX_BODY_BYTES
from authencode.db import Database
from authencode.models import (
    ApiToken,
    AuditEntry,
    AuthenCode,
    CardRead,
    Facility,
    LineAccount,
    OutboxMessage,
    StaffUser,
    WebhookEvent,
)
from authencode.services.api_tokens import create_token
from authencode.settings import Settings
from linebot_app.webhook import WEBHOOK_MAX_BYTES
from tests.support.clinic import World as ClinicWorld
from tests.support.liff import JwksServer, bearer, new_user_id, registered
from tests.support.liff import World as LiffWorld

OVER = MAX_BODY_BYTES + 1
TABLES = (
    AuthenCode,
    StaffUser,
    WebhookEvent,
    OutboxMessage,
    LineAccount,
    CardRead,
    ApiToken,
    AuditEntry,
)
TOO_LARGE_TH = "ข้อมูลที่ส่งมีขนาดใหญ่เกินไป"


def _counts(db: Database) -> dict[str, int]:
    with db.sessionmaker() as session:
        return {
            t.__name__: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES
        }


def _json_body(size: int) -> bytes:
    """Valid JSON of exactly `size` bytes (a long string field)."""
    head, tail = b'{"pid": "1101700207030", "padding": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def _assert_json_413(response: Any) -> None:
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
    assert response.json["error"]["code"] == "BODY_TOO_LARGE"
    assert response.json["error"]["message_th"] == TOO_LARGE_TH


@pytest.fixture
def facility_token(app: Any, clinic_world: ClinicWorld) -> str:
    with clinic_world.db.transaction() as session:
        facility = session.scalar(select(Facility).where(Facility.hcode == "10675"))
        assert facility is not None
        return create_token(session, facility, "big bodies", "test", "agent").secret


JSON_ENTRY_POINTS = [
    "/liff/api/consent",
    "/liff/api/register",
    "/liff/api/members",
    "/liff/api/codes",
    "/liff/api/pcu-changes",
    "/agent/api/card-reads",
    "/agent/api/staff-unlock",
    "/agent/api/confirm-save",
]


@pytest.mark.parametrize("path", JSON_ENTRY_POINTS)
def test_json_apis_refuse_big_bodies(
    app: Any, client: Any, clinic_world: ClinicWorld, facility_token: str, path: str
) -> None:
    before = _counts(clinic_world.db)
    # The credentials may or may not be checked first: either way nothing is read or kept.
    headers = {"Authorization": f"Bearer {facility_token}", "Content-Type": "application/json"}
    response = client.post(path, data=_json_body(OVER), headers=headers)
    if response.status_code == 401:  # a LIFF token is checked before the body is read
        assert path.startswith("/liff/api")
    else:
        _assert_json_413(response)
    assert _counts(clinic_world.db) == before


def test_liff_api_refuses_big_bodies_of_a_signed_in_user(
    client: Any, jwks: JwksServer, world: LiffWorld
) -> None:
    token = jwks.token(new_user_id())
    registered(client, token, world.adult_cid)
    before = _counts(world.db)
    for path in JSON_ENTRY_POINTS[:5]:
        response = client.post(
            path,
            data=_json_body(OVER),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        _assert_json_413(response)
    assert _counts(world.db) == before


def test_a_body_just_under_the_limit_is_read(app: Any, client: Any, facility_token: str) -> None:
    response = client.post(
        "/agent/api/card-reads",
        data=_json_body(MAX_BODY_BYTES - 1024),
        headers={"Authorization": f"Bearer {facility_token}", "Content-Type": "application/json"},
    )
    assert response.status_code != 413


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        line_channel_secret="0123456789abcdef0123456789abcdef",
        line_channel_access_token="test-access-token",
    )


@pytest.mark.parametrize("size", [WEBHOOK_MAX_BYTES + 1, OVER])
def test_the_line_webhook_refuses_big_bodies(app: Any, client: Any, size: int) -> None:
    db = app.extensions["authencode"].db
    before = _counts(db)
    events = {"destination": "U0", "events": [], "padding": "x" * size}
    response = client.post(
        "/line/webhook",
        data=json.dumps(events),
        headers={"X-Line-Signature": "bad", "Content-Type": "application/json"},
    )
    _assert_json_413(response)
    assert _counts(db) == before


def test_a_chunked_body_without_a_length_is_cut_off_too(
    app: Any, client: Any, facility_token: str
) -> None:
    body = _json_body(OVER)
    response = client.post(
        "/agent/api/card-reads",
        input_stream=io.BytesIO(body),
        headers={
            "Authorization": f"Bearer {facility_token}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    _assert_json_413(response)


CLINIC_FORMS = [
    "/clinic/login",
    "/clinic/register",
    "/clinic/password",
    "/clinic/forgot",
    "/clinic/reset/some-token",
    "/clinic/logout",
    "/clinic/facilities",
    "/clinic/facilities/10675/services",
    "/clinic/facilities/10675/keys/rotate",
    "/clinic/facilities/10675/tokens",
    "/clinic/facilities/10675/tokens/1/revoke",
    "/clinic/facilities/10675/kiosks",
    "/clinic/facilities/10675/kiosks/1/revoke",
    "/clinic/facilities/10675/visit",
    "/clinic/facilities/10675/records/1/edit",
    "/clinic/facilities/10675/records/1/cancel",
    "/clinic/staff/1/approve",
    "/clinic/staff/1/reject",
    "/clinic/staff/1/role",
    "/clinic/staff/1/active",
]


def test_clinic_forms_refuse_big_bodies_with_a_page(client: Any, clinic_world: ClinicWorld) -> None:
    # A photo or document upload, as the visit and registration forms take them; built in
    # memory (the test client would spool it to a temporary file).
    upload = FileStorage(
        io.BytesIO(b"\xff\xd8" + b"\x00" * OVER), "photo.jpg", "photo", "image/jpeg"
    )
    boundary, body = encode_multipart({"photo": upload, "cid": "1", "username": "x"})
    before = _counts(clinic_world.db)
    for path in CLINIC_FORMS:
        response = client.post(
            path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        assert response.status_code == 413, path
        assert response.mimetype == "text/html"
        assert TOO_LARGE_TH in response.get_data(as_text=True)
    assert _counts(clinic_world.db) == before


def test_the_reader_agent_refuses_big_bodies_spring_style() -> None:
    """The agent on the staff PC: 413 in the Spring error format its clients parse."""
    import threading
    import urllib.error
    import urllib.request

    from reader_agent.agent_service import AgentService
    from reader_agent.card_reader import ThaiIdCardReader
    from reader_agent.http_api import _MAX_BODY, AgentHttpServer

    server = AgentHttpServer(AgentService(ThaiIdCardReader(), None), 0, ())  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/nhso-service/confirm-save",
            data=_json_body(_MAX_BODY + 1),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        with refused.value as answer:
            body = json.loads(answer.read())
        assert refused.value.code == 413
        assert {"timestamp", "status", "error", "message"} <= set(body)
        assert body["status"] == 413
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
