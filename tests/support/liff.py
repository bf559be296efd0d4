"""LIFF fixtures: a local JWKS server with a real ES256 key, ID tokens signed by it, and the
application (test client and live server) configured to trust that JWKS; the LIFF "world" of
facilities and registry persons. tests/liff_web/conftest.py and other suites use them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import Facility
from authencode.services import consent, qr_tokens, registration
from authencode.settings import Settings
from tests.support.factories import birth_date, make_facility, make_person, new_cid
from tests.support.links import verify_links

CHANNEL_ID = "1657000000"
ISSUER = "https://access.line.me"
_users = itertools.count(1)


def new_user_id() -> str:
    return "U" + hashlib.sha256(f"user-{next(_users)}".encode()).hexdigest()[:32]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def jwk(self) -> dict[str, Any]:
        public = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "ES256", "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class JwksServer:
    """A local HTTP server answering the JWKS LINE would; counts how often it is fetched."""

    def __init__(self) -> None:
        self.keys = [SigningKey("test-key-1")]
        self.fetches = 0
        self.fail = False
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                state.fetches += 1
                if state.fail or self.path != "/oauth2/v2.1/certs":
                    self.send_response(503 if state.fail else 404)
                    self.end_headers()
                    return
                body = json.dumps({"keys": [k.jwk() for k in state.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oauth2/v2.1/certs"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def key(self) -> SigningKey:
        return self.keys[0]

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def token(
        self,
        sub: str,
        *,
        aud: str = CHANNEL_ID,
        iss: str = ISSUER,
        expires_in: int = 3600,
        key: SigningKey | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A LIFF ID token as LINE issues it (ES256), with any claim changed for a test."""
        key = key or self.key
        now = dt.datetime.now(dt.UTC)
        payload = {
            "iss": iss,
            "sub": sub,
            "aud": aud,
            "iat": now,
            "exp": now + dt.timedelta(seconds=expires_in),
            "name": "ทดสอบ",
            **claims,
        }
        return jwt.encode(payload, key.private, algorithm="ES256", headers={"kid": kid or key.kid})


def unsigned_token(sub: str, kid: str = "test-key-1") -> str:
    """alg "none": no signature at all."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    body = _b64(
        json.dumps(
            {"iss": ISSUER, "sub": sub, "aud": CHANNEL_ID, "iat": now, "exp": now + 3600}
        ).encode()
    )
    return f"{header}.{body}."


def hs256_with_public_key(sub: str, key: SigningKey) -> str:
    """The classic confusion attack: HS256 "signed" with the published public key."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = _b64(
        json.dumps(
            {"iss": ISSUER, "sub": sub, "aud": CHANNEL_ID, "iat": now, "exp": now + 3600}
        ).encode()
    )
    signing_input = f"{header}.{body}".encode()
    signature = hmac.new(key.public_pem(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# What an attacker may send instead of the holder's LIFF ID token (see forged_headers).
FORGERIES = ("none", "expired", "wrong_key", "hs256", "unsigned", "other_audience")


def forged_headers(jwks: JwksServer, holder: str, forge: str) -> dict[str, str]:
    """The request headers of one of FORGERIES, each naming ``holder``."""
    tokens = {
        "none": None,
        "expired": jwks.token(holder, expires_in=-120),
        "wrong_key": jwks.token(holder, key=SigningKey("test-key-1")),
        "hs256": hs256_with_public_key(holder, jwks.key),
        "unsigned": unsigned_token(holder),
        "other_audience": jwks.token(holder, aud="9999999999"),
    }
    token = tokens[forge]
    return bearer(token) if token else {}


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, jwks: JwksServer) -> Settings:
    return settings.with_overrides(line_login_channel_id=CHANNEL_ID, line_jwks_url=jwks.url)


@pytest.fixture
def live_settings(live_settings: Settings, jwks: JwksServer) -> Settings:
    return live_settings.with_overrides(line_login_channel_id=CHANNEL_ID, line_jwks_url=jwks.url)


# --- data --------------------------------------------------------------------------------


@dataclass
class World:
    """A facility offering two services, registry persons, and the clinic's QR links."""

    db: Database
    protector: DataProtector
    public_base_url: str
    facility_id: int = 0
    adult_cid: str = ""
    spouse_cid: str = ""
    child_cid: str = ""
    officer_cid: str = ""
    teen_cid: str = ""
    family_cids: list[str] = field(default_factory=list)

    def session(self) -> Session:
        return self.db.sessionmaker()

    def poster_url(self, service: str = "PG0060001") -> str:
        with self.db.transaction() as session:
            facility = session.get(Facility, self.facility_id)
            assert facility is not None
            token = qr_tokens.sign_poster(session, self.protector, facility, service)
        return qr_tokens.qr_url(self.public_base_url, token)

    def display_url(self, service: str = "PG0060001") -> str:
        """The counter screen's rotating QR, as it shows now."""
        with self.db.transaction() as session:
            facility = session.get(Facility, self.facility_id)
            assert facility is not None
            token, _ = qr_tokens.sign_display(session, self.protector, facility, service)
        return qr_tokens.qr_url(self.public_base_url, token)

    def verify(self, line_user_id: str, person_id: int | None = None) -> int:
        """Verify the account's links as the registry office would (tests/support/links)."""
        return verify_links(self.db, line_user_id, person_id=person_id)

    def expired_display_url(self, service: str = "PG0060001") -> str:
        with self.db.transaction() as session:
            facility = session.get(Facility, self.facility_id)
            assert facility is not None
            past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
            token, _ = qr_tokens.sign_display(session, self.protector, facility, service, now=past)
        return qr_tokens.qr_url(self.public_base_url, token)

    def forged_url(self, service: str = "PG0060001") -> str:
        url = self.poster_url(service)
        head, sig = url.rsplit(".", 1)
        return f"{head}.{('A' if sig[0] != 'A' else 'B') + sig[1:]}"


def build_world(db: Database, protector: DataProtector, public_base_url: str) -> World:
    world = World(db=db, protector=protector, public_base_url=public_base_url)
    today = dt.date.today()
    with db.transaction() as session:
        facility = make_facility(
            session, "10675", "รพ.สต.บ้านทดสอบ", services=("PG0060001", "PG0090001")
        )
        make_facility(session, "10676", "โรงพยาบาลทดสอบอำเภอเมือง", services=("PG0060001",))
        world.facility_id = facility.id
        world.adult_cid = new_cid()
        make_person(
            session,
            protector,
            world.adult_cid,
            first_name_th="สมชาย",
            last_name_th="ใจดี",
            first_name_en="Somchai",
            last_name_en="Jaidee",
            birth_year=today.year - 40,
            hosp_main="10676",
            hosp_sub="10675",
        )
        world.spouse_cid = new_cid()
        make_person(
            session,
            protector,
            world.spouse_cid,
            title_th="นาง",
            first_name_th="สมหญิง",
            last_name_th="ใจดี",
            sex="2",
            birth_year=today.year - 38,
            main_right=None,
            sub_right=None,
        )
        world.child_cid = new_cid()
        make_person(
            session,
            protector,
            world.child_cid,
            title_th="ด.ช.",
            first_name_th="ภูมิ",
            last_name_th="ใจดี",
            birth_year=today.year - 9,
            sub_right="73",
        )
        world.teen_cid = new_cid()
        make_person(
            session,
            protector,
            world.teen_cid,
            birth_year=today.year - 14,
            birth_month=1,
            birth_day=1,
        )
        world.officer_cid = new_cid()
        make_person(
            session,
            protector,
            world.officer_cid,
            birth_year=today.year - 50,
            main_right="OFC",
            sub_right=None,
        )
        for i in range(25):
            cid = new_cid()
            make_person(
                session,
                protector,
                cid,
                first_name_th=f"ญาติ{i + 1}",
                birth_year=today.year - 30 - i,
                main_right="UCS",
            )
            world.family_cids.append(cid)
    return world


@pytest.fixture
def world(app: Any, protector: DataProtector, settings: Settings) -> World:
    return build_world(app.extensions["authencode"].db, protector, settings.public_base_url)


@pytest.fixture
def live_world(live_app: Any, protector: DataProtector, live_server: str) -> World:
    return build_world(live_app.extensions["authencode"].db, protector, live_server)


def setup_push(payload: dict[str, Any]) -> bool:
    """Whether a queued push is a confirmation the set-up helpers cause: consent given (with
    its menu switch) or the holder's own registration (linebot_app.notify.self_registered)."""
    from linebot_app import notify  # the bot's words: only tests that register need them

    if payload.get("sync_rich_menu"):
        return True
    first = json.dumps(payload.get("messages", [])[:1], ensure_ascii=False)
    starts = (notify.REGISTERED_TH, registration.SELF_PENDING_TH)
    return any(text.split("\n")[0][:30] in first for text in starts)


def consented(client: Any, token: str) -> None:
    response = client.post(
        "/liff/api/consent",
        headers=bearer(token),
        json={"decision": "accept", "version": consent.CONSENT_VERSION},
    )
    assert response.status_code == 200, response.json


def registered(
    client: Any, token: str, cid: str, phone: str = "0812345678", birth: str | None = None
) -> dict[str, Any]:
    """Consent and register oneself (with the person's birth date unless ``birth``)."""
    consented(client, token)
    response = client.post(
        "/liff/api/register",
        headers=bearer(token),
        json={"cid": cid, "phone": phone, "birthDate": birth or birth_date(cid)},
    )
    assert response.status_code == 200, response.json
    return response.json["member"]
