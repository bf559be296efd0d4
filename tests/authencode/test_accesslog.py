"""The production web process's logs never carry a citizen ID or a secret.

The hostile review's requests go through the Procfile's gunicorn line against PostgreSQL:
the HIS API with personalId in the spellings it accepts, reset links, API tokens in query
strings; then the whole captured output (access log, error log, app log) is searched.
"""

from __future__ import annotations

import base64
import http.client
import secrets
import socket
from pathlib import Path
from urllib.parse import quote, unquote_plus, urlsplit

from authencode.cid import SEPARATORS, separator_characters
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.services.api_tokens import create_token
from tests.support.factories import make_facility, make_person, new_cid
from tests.support.procfile import procfile_web
from tests.support.shared import TEST_DATA_KEY

STATUS = "/authencodestatus/api/check-authen-status?serviceDate=2026-11-22&personalId="


def _spellings(cid: str) -> list[str]:
    """personalId as hospital tools and an attacker may write it in a URL: grouped by each
    separator parse_cid accepts (percent-encoded), and a few mixes."""
    dashed = f"{cid[0]}-{cid[1:5]}-{cid[5:10]}-{cid[10:12]}-{cid[12]}"
    return [
        dashed.replace("-", quote(separator, safe="")) for separator in separator_characters()
    ] + [
        cid,
        dashed,
        dashed.replace("-", "+"),
        cid[:12] + "%" + f"{ord(cid[12]):02X}",
        "".join(f"%{ord(d):02X}" for d in cid),
        f"%09{cid}%0A",
        dashed.replace("-", "%e2%80%83-"),
    ]


def _get(base_url: str, target: str, headers: dict[str, str] | None = None) -> int:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=20)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _raw_get(base_url: str, target: bytes) -> None:
    """A request line with raw UTF-8 bytes, which http.client would not send (gunicorn
    refuses it, and its warning quotes the line)."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass


def test_procfile_gunicorn_logs_no_cid_spelling_and_no_token(pg_url: str, tmp_path: Path) -> None:
    protector = DataProtector(TEST_DATA_KEY)
    cid = new_cid()
    database = Database(pg_url)
    with database.transaction() as session:
        facility = make_facility(session, hcode="10675")
        make_person(session, protector, cid)
        api_token = create_token(session, facility, "HIS", "test").secret
    database.dispose()
    reset_token = secrets.token_urlsafe(32)
    env = {"DATA_KEY": base64.b64encode(TEST_DATA_KEY).decode()}
    bearer = {"Authorization": f"Bearer {api_token}"}
    with procfile_web(pg_url, tmp_path, env=env) as web:
        accepted = [_get(web.base_url, STATUS + spelling, bearer) for spelling in _spellings(cid)]
        _raw_get(web.base_url, (STATUS + cid[:5]).encode() + "\u3000".encode() + cid[5:].encode())
        _get(web.base_url, f"/agent/api/latest-authen-code/{_spellings(cid)[1]}", bearer)
        _get(web.base_url, f"/clinic/reset/{reset_token}")
        for spelling in _spellings(cid)[-7:]:  # an old clinic bookmark: a message, logged masked
            _get(web.base_url, f"/clinic/facilities/10675/records?cid={spelling}")
        _get(web.base_url, f"{STATUS}{cid}&access_token={api_token}")
        _get(web.base_url, f"/authencodestatus/api/codes?token={api_token}")
        _get(web.base_url, f"/authencodestatus/api/codes?auth=Bearer%20{api_token}")
    output = web.output
    # Every spelling reached the app and was taken as this person's CID.
    assert accepted == [200] * len(accepted)
    assert output.count("check-authen-status") > len(accepted)  # the lines were written
    decoded = unquote_plus(output)
    squashed = SEPARATORS.sub("", decoded)
    for spelling in _spellings(cid):
        assert spelling not in output
    assert cid not in squashed and cid not in SEPARATORS.sub("", output)
    assert reset_token not in decoded and api_token not in decoded
    assert api_token[3:20] not in decoded and cid[5:] not in output
