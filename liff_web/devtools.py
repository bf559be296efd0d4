"""Development only (`make run` without LINE): an ES256 signer standing in for LINE Login.

Registered only when AUTHENCODE_ENV=development and no LINE_LOGIN_CHANNEL_ID is set. The
server then verifies LIFF ID tokens against this signer's JWKS (the same document served at
/dev/liff/jwks.json) with the development audience, through the very checks production uses.
Production never registers these routes and never trusts this key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from authencode.demo import DEMO_HCODE
from authencode.models import Facility
from authencode.services import facilities, qr_tokens
from authencode.web.context import db_session, services
from liff_web.auth import ALGORITHM, LINE_ISSUER

DEV_CHANNEL_ID = "dev-liff-channel"
DEV_TOKEN_TTL = dt.timedelta(hours=1)
_USER_ID = re.compile(r"^U[0-9a-f]{32}$")

dev_liff = Blueprint("dev_liff", __name__, url_prefix="/dev/liff")


class DevSigner:
    """A P-256 key kept in instance/ so tokens survive a restart of the development server."""

    def __init__(self, instance_path: Path) -> None:
        path = instance_path / "dev-liff-es256.pem"
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{path} is not an EC private key")
            self._key = loaded
        else:
            self._key = ec.generate_private_key(ec.SECP256R1())
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                self._key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = "dev-" + hashlib.sha256(der).hexdigest()[:16]

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}

    def issue(self, user_id: str, name: str = "Developer") -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "iss": LINE_ISSUER,
            "aud": DEV_CHANNEL_ID,
            "sub": user_id,
            "name": name,
            "iat": now,
            "exp": now + DEV_TOKEN_TTL,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _signer() -> DevSigner:
    return current_app.extensions["liff"].dev_signer


@dev_liff.get("/jwks.json")
def jwks() -> Response:
    return jsonify(_signer().jwks())


@dev_liff.post("/token")
def token() -> Response:
    """An ID token for a development LINE user (a new random one unless `user_id` is given)."""
    body = request.get_json(silent=True) or {}
    user_id = str(body.get("user_id") or "") if isinstance(body, dict) else ""
    if not _USER_ID.match(user_id):
        user_id = "U" + secrets.token_hex(16)
    return jsonify(id_token=_signer().issue(user_id), user_id=user_id)


@dev_liff.post("/demo-qrs")
def demo_qrs() -> Response:
    """The demo clinic's counter QR links, one per service it offers, freshly signed (the
    rotating kind, so a just-registered, unverified link can use them): what the LIFF mock's
    scanner hands the page, since it has no camera."""
    session, svc = db_session(), services()
    facility = session.scalar(select(Facility).where(Facility.hcode == DEMO_HCODE))
    if facility is None:  # no `authencode demo` data: nothing to offer
        return jsonify(qrs=[])
    qrs = []
    for service in facilities.offered(session, facility):
        token, _ = qr_tokens.sign_display(session, svc.protector, facility, service.code)
        qrs.append(
            {
                "url": qr_tokens.qr_url(svc.settings.public_base_url, token),
                "hcode": facility.hcode,
                "facility_name": facility.name,
                "service_code": service.code,
                "service_name_th": service.name_th,
                "service_name_en": service.name_en,
            }
        )
    return jsonify(qrs=qrs)
