"""The HTTP bench's workload: what it seeds (facilities, registry persons, consented LINE
users registered for themselves, clinic QR posters) and the requests wrk replays (signed
webhook bodies, LIFF code requests), one a line. Measuring and reporting: ``bench_http.py``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.services import consent, line_accounts, link_trust, qr_tokens, registration
from tests.support.factories import cid_from_number, make_facility, make_person
from tests.support.liff import JwksServer

DATA_KEY = "q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E="
CHANNEL_SECRET = "bench-channel-secret"
ACCESS_TOKEN = "bench-access-token"
FACILITIES = (
    ("10675", "รพ.สต.บ้านทดสอบ"),
    ("10676", "โรงพยาบาลทดสอบอำเภอเมือง"),
    ("10677", "รพ.สต.บ้านหนองบัว"),
    ("10678", "รพ.สต.บ้านโคกสูง"),
)
SERVICES = ("PG0060001", "PG0090001", "PG0150001")
TEXTS = (
    "สิทธิการรักษาของฉันคืออะไร",
    "วิธีขอรหัสเข้ารับบริการ",
    "สวัสดีค่ะ",
    "เบอร์โทรสายด่วน",
    "ลงทะเบียนอย่างไร",
    "authen code คืออะไร",
    "ขอบคุณครับ",
)


@dataclass
class Seeded:
    users: list[tuple[str, int]] = field(default_factory=list)  # (LINE user id, self link id)
    posters: list[str] = field(default_factory=list)  # clinic QR URLs, one per facility service


def user_id(n: int) -> str:
    return "U" + hashlib.sha256(f"bench-user-{n}".encode()).hexdigest()[:32]


def seed(url: str, persons: int, public_base_url: str) -> Seeded:
    """Facilities, registry persons, and one consented LINE account registered for each."""
    protector = DataProtector(base64.b64decode(DATA_KEY))
    policy = registration.RegistrationPolicy()
    db = Database(url)
    seeded = Seeded()
    try:
        with db.transaction() as session:
            facilities = [
                make_facility(session, hcode, name, services=SERVICES) for hcode, name in FACILITIES
            ]
            for facility in facilities:
                for service in SERVICES:
                    token = qr_tokens.sign_poster(session, protector, facility, service)
                    seeded.posters.append(qr_tokens.qr_url(public_base_url, token))
        for start in range(0, persons, 250):
            with db.transaction() as session:
                for n in range(start, min(persons, start + 250)):
                    cid = cid_from_number(n + 1)
                    make_person(
                        session, protector, cid, first_name_th=f"ทดสอบ{n}", birth_year=1950 + n % 50
                    )
                    account, _ = line_accounts.follow(session, user_id(n))
                    consent.accept(session, account, consent.CONSENT_VERSION, channel="liff")
                    link = registration.register_self(
                        session,
                        protector,
                        account,
                        cid,
                        f"08{n:08d}",
                        f"{1950 + n % 50}-05-17",
                        policy,
                    )
                    # the workload scans posters: the registry office verified everyone
                    link_trust.verify_link(session, link, method="registry", actor="cli")
                    seeded.users.append((account.line_user_id, link.id))
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    finally:
        db.dispose()
    return seeded


def sign(body: bytes) -> str:
    return base64.b64encode(
        hmac.new(CHANNEL_SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()


def webhook_lines(seeded: Seeded, count: int, run: str = "BENCH") -> Iterator[str]:
    """Signed one-event webhook bodies, as LINE sends them: a text message from a user (event
    ids and reply tokens distinct per ``run``)."""
    users = seeded.users
    for k in range(count):
        event = {
            "type": "message",
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": users[k % len(users)][0]},
            "webhookEventId": f"01{run}{k:019d}",
            "deliveryContext": {"isRedelivery": False},
            "replyToken": f"{run.lower()}-rt-{k}",
            "message": {
                "id": str(700_000_000_000 + k),
                "type": "text",
                "text": TEXTS[k % len(TEXTS)],
                "quoteToken": f"q{k}",
            },
        }
        body = json.dumps(
            {"destination": "U" + "0" * 32, "events": [event]},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        yield f"/line/webhook\tX-Line-Signature\t{sign(body.encode())}\t{body}"


def issuance_lines(seeded: Seeded, jwks: JwksServer) -> Iterator[str]:
    """One code request per person and clinic QR: persons vary fastest."""
    tokens = [jwks.token(uid, expires_in=6 * 3600) for uid, _ in seeded.users]
    for poster in seeded.posters:
        for (_, link_id), token in zip(seeded.users, tokens, strict=True):
            body = json.dumps({"member_id": link_id, "scanned": poster}, separators=(",", ":"))
            yield f"/liff/api/codes\tAuthorization\tBearer {token}\t{body}"


def write_lines(path: Path, lines: Iterator[str]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
            n += 1
    return n
